"""Routing: a morning of chats at a shop's desk, each strategy choosing the agent.

Four agents on two shifts, with skills, languages and room for three chats
each; twelve chats arrive over the morning, some needing refunds, from
customers writing in Indonesian or English. The desk keeps the workload; each
strategy's choices and the queue are printed side by side.

Run it with ``python examples/agent_routing.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pendulum

from carekit import BusinessCalendar, Customer, Ticket
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

ZONE = "Asia/Jakarta"
EARLY = BusinessCalendar(ZONE, hours={"mon-sat": "07:00-15:00"}, breaks="11:00-11:30")
LATE = BusinessCalendar(ZONE, hours={"mon-sat": "10:00-18:00"})
TEAM = Team(
    [
        Agent("ana", skills={"refunds"}, languages={"id"}, calendar=EARLY),
        Agent("budi", languages={"id", "en"}, calendar=EARLY),
        Agent("citra", skills={"refunds"}, languages={"en"}, calendar=LATE),
        Agent("dewi", languages={"id"}, calendar=LATE),
    ]
)
START = pendulum.datetime(2026, 3, 2, 9, 0, tz=ZONE)


def arrivals() -> list[tuple[Ticket, Customer]]:
    """Twelve chats, one every twenty minutes from 09:00."""
    out = []
    for i in range(12):
        customer = Customer(f"c-{i % 5}", locale="en" if i % 3 == 0 else "id")
        tags = {"refunds"} if i % 4 == 1 else set()
        at = START + timedelta(minutes=20 * i)
        out.append((Ticket.open(f"C-{i}", channel="chat", customer_id=customer.id, at=at,
                                tags=tags), customer))  # fmt: skip
    return out


def route(strategy: Assignment) -> list[str]:
    """Who takes each chat under ``strategy``; a chat is done an hour after it is taken."""
    workload = Workload()
    taken: list[tuple[str, datetime]] = []
    chosen = []
    for ticket, customer in arrivals():
        for agent, at in list(taken):
            if at <= ticket.created_at - timedelta(hours=1):
                workload.remove(agent, "chat")
                taken.remove((agent, at))
        routed = strategy.choose(ticket, TEAM, now=ticket.created_at, workload=workload,
                                 customer=customer)  # fmt: skip
        if routed.agent is None:
            chosen.append(f"queue ({routed.reason})")
            continue
        workload.add(routed.agent, "chat", ticket.created_at)
        taken.append((routed.agent, ticket.created_at))
        chosen.append(routed.agent)
    return chosen


def main() -> dict[str, list[str]]:
    """Each strategy's choices, printed as a table."""
    strategies: dict[str, Assignment] = {
        "least loaded": LeastLoaded(),
        "round robin": RoundRobin(),
        "skills first": SkillsFirst(),
        "sticky": Sticky({"c-0": "citra", "c-1": "ana"}),
    }
    choices = {name: route(strategy) for name, strategy in strategies.items()}
    print(f"{'chat':<6}" + "".join(f"{name:<16}" for name in choices))
    for i, (ticket, customer) in enumerate(arrivals()):
        needs = "refunds" if ticket.tags else ""
        row = "".join(f"{choices[name][i][:15]:<16}" for name in choices)
        print(f"{ticket.id:<6}{row}{customer.locale} {needs}".rstrip())
    return choices


if __name__ == "__main__":
    main()
