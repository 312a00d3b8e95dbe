"""Customer health and CLV at scale: scoring customers from their event logs, CLV per customer.

Scoring: a base of customers of whom a fifth had a ticket in the window (an email
ticket answered, one in twenty breached, one in ten reopened), one in ten answered
a survey, and every one has 0-6 orders at their own rhythm; each is scored with the
default model (nine signals, the SLA ones graded by the default policy). CLV: the
BG/NBD and Gamma-Gamma models with the CDNOW parameters, a year in 4-week steps at
1% per step, for every customer with NumPy (``clv_many``, the clv extra) and for a
tenth of them in pure Python (carekit's core needs no NumPy).

No peer is named for these; the targets are the issue's: scoring 1,000,000
customers under 30 s on this machine, with the cost per customer stated.

Usage: ``python benchmarks/health.py [customers]`` (default 1,000,000).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta

from _table import table

from carekit import Lifecycle, SlaPolicy, Ticket
from carekit.campaigns import CareEvent
from carekit.health import (
    BgNbd,
    GammaGamma,
    HealthModel,
    History,
    Order,
    Predictive,
    health_report,
    summarise,
)

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)


def histories(n: int, seed: int = 7) -> list[History]:
    """``n`` customers' histories, built once (not timed)."""
    rng = random.Random(seed)
    life = Lifecycle()
    out = []
    for i in range(n):
        cid = f"c-{i}"
        tickets: list[Ticket] = []
        if rng.random() < 0.2:
            opened = NOW - rng.uniform(1, 29) * DAY
            t = Ticket.open(f"T-{i}", channel="email", customer_id=cid, at=opened)
            late = timedelta(hours=30) if rng.random() < 0.05 else timedelta(hours=2)
            t = life.apply(t, "agent_reply", at=opened + late, actor="ana")
            t = life.apply(t, "resolve", at=opened + late + timedelta(hours=1), actor="ana")
            if rng.random() < 0.1:
                t = life.apply(t, "customer_reply", at=opened + 2 * DAY, actor=cid)
            tickets.append(t)
        answers = (
            [CareEvent("csat_rated", cid, NOW - 2 * DAY, data={"score": rng.randint(1, 5)})]
            if rng.random() < 0.1
            else []
        )
        rhythm = rng.uniform(10, 60) * DAY
        last = NOW - rhythm * rng.choice((0.5, 1.0, 2.5))
        orders = [Order(last - rhythm * k, 100) for k in range(rng.randrange(0, 7))]
        out.append(History(cid, tickets, answers, orders))
    return out


def score(customers: list[History]) -> tuple[float, float, float, float]:
    """Every customer scored as a stream into the health report (score_all ->
    health_report), the same with every score kept in a list, and the cost per
    customer with and without a ticket (scores dropped)."""
    model = HealthModel(policy=SlaPolicy.default())
    started = time.perf_counter()
    report = health_report(model.score_all(customers, now=NOW))
    streamed = time.perf_counter() - started
    assert sum(report.distribution["all"].values()) == len(customers)
    started = time.perf_counter()
    kept = list(model.score_all(customers, now=NOW))
    every = time.perf_counter() - started
    del kept
    costs = []
    for part in ([h for h in customers if h.tickets], [h for h in customers if not h.tickets]):
        started = time.perf_counter()
        for history in part:
            model.score(history, now=NOW)
        costs.append((time.perf_counter() - started) / max(len(part), 1))
    return streamed, every, costs[0], costs[1]


def clv(n: int, *, vectorised: bool) -> tuple[float, float]:
    """The CLV of ``n`` customers, with NumPy (array by array) or in pure Python."""
    both = Predictive(BgNbd(0.243, 4.414, 0.793, 2.426, unit=WEEK), GammaGamma(6.25, 3.74, 15.44))
    rng = random.Random(3)
    summaries = []
    for _ in range(n):
        orders = [Order(NOW - rng.uniform(0, 39) * WEEK, rng.uniform(5, 80))
                  for _ in range(rng.randrange(1, 5))]  # fmt: skip
        found = summarise(orders, now=NOW, unit=WEEK)
        assert found is not None
        summaries.append(found)
    started = time.perf_counter()
    values = both.clv_many(summaries, horizon=52 * WEEK, step=4 * WEEK, discount=0.01,
                           margin_rate=0.3, vectorised=vectorised)  # fmt: skip
    return time.perf_counter() - started, sum(values) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    customers = histories(n)
    with_tickets = sum(bool(h.tickets) for h in customers)
    streamed, kept, with_one, without = score(customers)
    del customers
    plain_n = max(n // 10, 1)
    plain_seconds, plain_mean = clv(plain_n, vectorised=False)
    numpy_seconds, numpy_mean = clv(n, vectorised=True)
    rows = [
        ["health score (9 signals), streamed into the report", f"{n:,}", f"{streamed:.1f} s",
         f"{streamed / n * 1e6:.1f} µs", f"{with_tickets:,} with a ticket",
         "under 30 s for 1,000,000"],
        ["health score, every score kept in a list", f"{n:,}", f"{kept:.1f} s",
         f"{kept / n * 1e6:.1f} µs", "", ""],
        ["CLV, 13 steps, NumPy arrays", f"{n:,}", f"{numpy_seconds:.1f} s",
         f"{numpy_seconds / n * 1e6:.2f} µs", f"mean {numpy_mean:.2f}", ""],
        ["CLV, 13 steps, pure Python", f"{plain_n:,}", f"{plain_seconds:.1f} s",
         f"{plain_seconds / plain_n * 1e6:.1f} µs", f"mean {plain_mean:.2f}",
         f"x{plain_seconds / plain_n / (numpy_seconds / n):.0f} the NumPy cost"],
    ]  # fmt: skip
    print(table(["", "customers", "time", "per customer", "", "target"], rows))
    print(
        f"\nper customer: {with_one * 1e6:.1f} µs with a ticket (its SLA graded), "
        f"{without * 1e6:.1f} µs without; keeping every score costs the garbage "
        "collector's walks over the histories and the scores held in memory"
    )


if __name__ == "__main__":
    main()
