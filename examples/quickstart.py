"""Quickstart: open a ticket, work it through the lifecycle, read its SLA clocks.

Run it with ``make demo`` (or ``python examples/quickstart.py``).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

from carekit import Channel, Lifecycle, Metric, Priority, SlaPolicy, Ticket
from carekit.exceptions import InvalidTransition


def main() -> Ticket:
    """Take one email ticket from arrival to close and print what happened."""
    lifecycle = Lifecycle()
    arrived = pendulum.datetime(2026, 3, 6, 16, 30, tz="Asia/Jakarta")  # a Friday afternoon

    ticket = Ticket.open(
        "T-1001",
        channel=Channel.EMAIL,
        customer_id="cust-42",
        at=arrived,
        subject="Blender arrived broken",
    )
    policy = SlaPolicy.default()  # 24 h email reply, 30 s call pickup, ...
    clock = policy.evaluate(ticket, now=arrived + timedelta(minutes=10))[Metric.FIRST_RESPONSE]
    print(f"first response due {clock.due_at:%Y-%m-%d %H:%M} UTC ({clock.state})")

    ticket = lifecycle.apply(ticket, "assign", at=arrived + timedelta(minutes=5), agent="dewi")
    ticket = lifecycle.apply(
        ticket, "agent_reply", at=arrived + timedelta(minutes=40), actor="dewi"
    )
    ticket = lifecycle.apply(ticket, "wait_on_customer", at=arrived + timedelta(minutes=41))
    ticket = lifecycle.apply(ticket, "customer_reply", at=arrived + timedelta(hours=3))
    ticket = lifecycle.apply(
        ticket, "set_priority", at=arrived + timedelta(hours=3, minutes=5), priority=Priority.HIGH
    )
    ticket = lifecycle.apply(ticket, "resolve", at=arrived + timedelta(hours=20), actor="dewi")

    try:
        lifecycle.apply(ticket, "hold", at=arrived + timedelta(hours=21))
    except InvalidTransition as refused:
        print(f"refused, ticket unchanged: {refused}\n")

    print(f"{ticket.id} is {ticket.status} (priority {ticket.priority}, agent {ticket.assignee})")
    for event in ticket.events:
        local = pendulum.instance(event.at).in_timezone("Asia/Jakarta")
        print(f"  {local:%a %H:%M} {event.kind:<16} {event.status_before} -> {event.status_after}")
    print(f"allowed now: {', '.join(lifecycle.allowed(ticket))}\n")
    print(policy.evaluate(ticket, now=arrived + timedelta(days=1)).explain())
    return ticket


if __name__ == "__main__":
    main()
