"""Extend escalation by subclassing: a custom trigger, a custom action, a handler.

A shop wants two things the built-ins do not do: page the on-call lead when a
ticket from a VIP has waited on the customer for over two days (a trigger of
its own), and open an incident in its own tracker (an action of its own). The
desk carries out what it can and hands the rest to the shop's handler.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from carekit import (
    Action,
    AtBreach,
    Customer,
    Desk,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationTrigger,
    Firing,
    Metric,
    Notify,
    SlaReport,
    Status,
    Ticket,
)
from carekit.stores.memory import InMemoryTicketStore
from carekit.testing import InMemoryDirectory, ManualClock


@attrs.frozen
class OpenIncident(Action):
    """A custom action: open an incident in the shop's tracker."""

    severity: str


@attrs.frozen
class StuckPending(EscalationTrigger):
    """A custom trigger: fires when a ticket has been pending for ``longer`` than this."""

    longer: timedelta

    def firing(self, ticket: Ticket, report: SlaReport) -> Firing | None:
        """``longer`` after the ticket last went pending, while it still is."""
        if ticket.status != Status.PENDING:
            return None
        since = next(e.at for e in reversed(ticket.events) if e.status_after == Status.PENDING)
        return Firing(since + self.longer, "pending", int(since.timestamp()))


class ShopHandler:
    """The shop's side: it pages people and opens incidents, once per key."""

    def __init__(self) -> None:
        self.done: dict[str, list[str]] = {}

    def handle(self, decision: Escalation, ticket: Ticket) -> None:
        """Carry out the decision's actions (idempotent on the key)."""
        if decision.key in self.done:
            return
        lines = []
        for action in decision.actions:
            if isinstance(action, Notify):
                lines.append(f"page {action.recipient} about {ticket.id}")
            elif isinstance(action, OpenIncident):
                lines.append(f"incident ({action.severity}) for {ticket.id}")
        self.done[decision.key] = lines


def main() -> ShopHandler:
    """Run the shop's ladder over two tickets and show what the handler did."""
    escalation = EscalationPolicy(
        [
            EscalationLevel(
                "vip stuck",
                StuckPending(timedelta(days=2)),
                [Notify("on_call_lead")],
                condition=lambda _ticket, c: c is not None and c.tier == "vip",
            ),
            EscalationLevel("breach", AtBreach(Metric.RESOLUTION), [OpenIncident("major")]),
        ]
    )
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    handler = ShopHandler()
    directory = InMemoryDirectory([Customer("gold", tier="vip"), Customer("plain")])
    desk = Desk(
        InMemoryTicketStore(),
        clock=clock,
        escalation=escalation,
        handler=handler,
        directory=directory,
    )
    for ticket_id, customer in (("T-1", "gold"), ("T-2", "plain")):
        desk.open(ticket_id, channel="email", customer_id=customer, priority="urgent")
        desk.apply(ticket_id, "agent_reply")
        desk.apply(ticket_id, "wait_on_customer")
    clock.advance(timedelta(days=2, minutes=1))
    desk.tick()
    for ticket_id in ("T-1", "T-2"):
        desk.apply(ticket_id, "customer_reply")
    clock.advance(timedelta(hours=9))  # urgent resolution: 8 h of counted time
    desk.tick()
    for key, lines in handler.done.items():
        print(f"{key}: {'; '.join(lines)}")
    return handler


if __name__ == "__main__":
    main()
