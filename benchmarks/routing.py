"""Routing at scale: choosing an agent among 500 (skills, languages, channels, capacity,
shift calendars) for 10,000 tickets, with each strategy.

Ten shift calendars in three zones; each agent has 1-3 of 8 skills, 1-2 of 3
languages, 2-6 channels; tickets arrive over a week (a tenth of them need a
skill) and the chosen agent's workload grows (a ticket is done after 10
decisions). The target is the issue's: under 50 µs per decision on this machine,
with the cost stated per agent. No peer library makes this decision: helpdesks
(Zammad, Chatwoot, FreeScout) route inside their own servers.

Usage: ``python benchmarks/routing.py [tickets] [agents]``.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from datetime import UTC, datetime, timedelta

from _table import table

from carekit import BusinessCalendar, Channel, Customer, Ticket
from carekit.routing import (
    Agent,
    Assignment,
    LeastLoaded,
    RoundRobin,
    SkillsFirst,
    Sticky,
    Team,
    Workload,
)

SKILLS = ["billing", "refunds", "tech", "shipping", "returns", "vip", "b2b", "fraud"]
START = datetime(2026, 3, 2, tzinfo=UTC)


def shifts() -> list[BusinessCalendar]:
    zones = ["Asia/Jakarta", "Asia/Makassar", "Europe/Amsterdam"]
    hours = [{"mon-fri": "08:00-17:00"}, {"mon-sat": "14:00-22:00"}, {"mon-sun": "22:00-06:00"},
             {"tue-sat": "07:00-15:00"}]  # fmt: skip
    return [
        BusinessCalendar(zones[i % 3], hours=hours[i % 4], breaks="12:00-12:30", name=f"shift {i}")
        for i in range(10)
    ]


def team(n: int, rng: random.Random) -> Team:
    calendars = shifts()
    return Team(
        [
            Agent(
                f"agent-{i}",
                skills=rng.sample(SKILLS, rng.randint(1, 3)),
                languages=rng.sample(["id", "en", "jv"], rng.randint(1, 2)),
                channels=rng.sample(list(Channel), rng.randint(2, 6)),
                calendar=rng.choice(calendars),
            )
            for i in range(n)
        ]
    )


def tickets(n: int, rng: random.Random) -> list[tuple[Ticket, Customer, datetime]]:
    out = []
    for i in range(n):
        at = START + timedelta(seconds=rng.randrange(7 * 86_400))
        tags = [rng.choice(SKILLS)] if rng.random() < 0.1 else []
        customer = Customer(f"c-{rng.randrange(2000)}", locale=rng.choice(["id", "en", "jv"]))
        t = Ticket.open(f"T-{i}", channel=rng.choice(list(Channel)), customer_id=customer.id,
                        at=at, tags=tags)  # fmt: skip
        out.append((t, customer, at))
    return sorted(out, key=lambda x: x[2])


def run(
    strategy: Assignment, crew: Team, work: list[tuple[Ticket, Customer, datetime]]
) -> tuple[float, int]:
    """Seconds for every decision (the workload kept as a host would), and how many queued."""
    load = Workload()
    held: deque[tuple[str, Channel]] = deque()
    queued = 0
    started = time.perf_counter()
    for ticket, customer, at in work:
        routed = strategy.choose(ticket, crew, now=at, workload=load, customer=customer)
        if routed.agent is None:
            queued += 1
            continue
        load.add(routed.agent, ticket.channel, at)
        held.append((routed.agent, ticket.channel))
        if len(held) > 10:
            load.remove(*held.popleft())
    return time.perf_counter() - started, queued


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    agents = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    rng = random.Random(11)
    crew = team(agents, rng)
    work = tickets(n, rng)
    previous = {f"c-{i}": f"agent-{rng.randrange(agents)}" for i in range(2000)}
    rows = []
    for strategy in (LeastLoaded(), RoundRobin(), SkillsFirst(), Sticky(previous)):
        seconds, queued = run(strategy, crew, work)
        per = seconds / n * 1e6
        each = f"{per / agents * 1e3:.0f} ns"
        rows.append([type(strategy).__name__, f"{n:,}", f"{per:.1f} µs", each, f"{queued:,}",
                     "under 50 µs"])  # fmt: skip
    print(f"{agents} agents, 10 shift calendars; µs per decision, and per agent considered\n")
    print(table(["strategy", "tickets", "per decision", "per agent", "queued", "target"], rows))


if __name__ == "__main__":
    main()
