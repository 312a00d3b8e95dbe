"""SLA evaluation throughput: 100,000 tickets of about 8 events, one core.

Evaluates every ticket under the default policy (24/7) and under a business
calendar policy, and prints evaluations per second. There is no peer library
that evaluates SLA clocks from an event log, so the figure stands against the
target of 50,000 evaluations a second.

Usage: ``python benchmarks/sla.py [N]``.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _table import table

from carekit import BusinessCalendar, Channel, Lifecycle, Metric, Priority, SlaPolicy, Ticket

PATHS = [
    [
        "agent_reply",
        "wait_on_customer",
        "customer_reply",
        "agent_reply",
        "customer_reply",
        "agent_reply",
        "resolve",
    ],
    ["assign", "agent_reply", "hold", "resume", "set_priority", "agent_reply", "resolve"],
    ["agent_reply", "customer_reply", "agent_reply", "resolve", "reopen", "agent_reply", "resolve"],
    [
        "assign",
        "add_note",
        "agent_reply",
        "customer_reply",
        "wait_on_customer",
        "customer_reply",
        "agent_reply",
    ],
]


def make_tickets(n: int) -> list[Ticket]:
    rng = random.Random(1)
    lifecycle = Lifecycle()
    base = datetime(2026, 3, 2, tzinfo=UTC)
    tickets = []
    for i in range(n):
        at = base + timedelta(seconds=rng.randrange(0, 30 * 86_400))
        t = Ticket.open(f"T-{i}", channel=rng.choice(list(Channel)), customer_id="c", at=at)
        for trigger in rng.choice(PATHS):
            at += timedelta(seconds=rng.randrange(20, 8 * 3600))
            data: dict[str, Any] = {"agent": "a"} if trigger == "assign" else {}
            if trigger == "set_priority":
                data = {"priority": rng.choice(list(Priority))}
            t = lifecycle.apply(t, trigger, at=at, **data)
        tickets.append(t)
    return tickets


def run(policy: SlaPolicy, tickets: list[Ticket], now: datetime) -> tuple[float, int]:
    gc.collect()
    gc.disable()
    try:
        t = time.perf_counter()
        breached = sum(policy.evaluate(ticket, now=now).breached for ticket in tickets)
        elapsed = time.perf_counter() - t
    finally:
        gc.enable()
    return elapsed, breached


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    tickets = make_tickets(n)
    events = sum(len(t.events) for t in tickets) / n
    now = datetime(2026, 4, 15, tzinfo=UTC)
    office = BusinessCalendar("Asia/Jakarta", hours={"mon-fri": ["08:00-12:00", "13:00-17:00"]})
    business = SlaPolicy(
        "office hours",
        {
            Metric.FIRST_RESPONSE: timedelta(hours=8),
            Metric.NEXT_RESPONSE: timedelta(hours=8),
            Metric.PERIODIC_UPDATE: timedelta(hours=16),
            Metric.RESOLUTION: timedelta(hours=40),
        },
        office,
    )
    rows = []
    for policy in (SlaPolicy.default(), business):
        elapsed, breached = run(policy, tickets, now)
        rows.append(
            (
                policy.name,
                n,
                f"{events:.1f}",
                elapsed,
                n / elapsed,
                elapsed / n * 1e6,
                breached,
                n / elapsed / 50_000,
            )
        )
    print(
        table(
            [
                "policy",
                "tickets",
                "events/ticket",
                "seconds",
                "evaluations/s",
                "µs each",
                "breached",
                "x target",
            ],
            rows,
        )
    )
    print("\n(x target: evaluations per second divided by the 50,000 a second asked for)")


if __name__ == "__main__":
    main()
