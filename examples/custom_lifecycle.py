"""Extend the lifecycle by subclassing: a vendor-wait state, a trigger and a guard.

A shop's desk often waits on a courier or a manufacturer. This lifecycle adds
``waiting_on_vendor`` (entered with ``wait_on_vendor``, left with ``resume``
or when the vendor answers) and a guard that refuses to close a ticket while a
refund is still marked open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from carekit import Lifecycle, Move, Role, Status, Ticket, TriggerSpec
from carekit.exceptions import InvalidTransition

WAITING_ON_VENDOR = "waiting_on_vendor"


class ShopLifecycle(Lifecycle):
    """The default graph plus a vendor wait and a refund guard on close."""

    @classmethod
    def states(cls) -> tuple[str, ...]:
        """The built-in states and ``waiting_on_vendor``."""
        return (*super().states(), WAITING_ON_VENDOR)

    @classmethod
    def triggers(cls) -> list[TriggerSpec]:
        """The built-in rows with a guarded close, and the vendor wait's rows and moves.

        A row whose name is already declared adds its moves to that trigger and
        keeps its role: ``resume`` stays a resume, ``resolve`` a resolution.
        """
        rows = [r for r in super().triggers() if r.name != "close"]
        return [
            *rows,
            TriggerSpec(
                "close", [Move(Status.RESOLVED, Status.CLOSED, unless="refund_open")], Role.CLOSE
            ),
            TriggerSpec("wait_on_vendor", [Move((Status.OPEN, Status.ON_HOLD), WAITING_ON_VENDOR)]),
            # the vendor's answer is news the customer is waiting for: an agent reply
            TriggerSpec("vendor_reply", [Move(WAITING_ON_VENDOR, Status.OPEN)], Role.AGENT_REPLY),
            TriggerSpec("resume", [Move(WAITING_ON_VENDOR, Status.OPEN)]),
            TriggerSpec("customer_reply", [Move(WAITING_ON_VENDOR)]),
            TriggerSpec("resolve", [Move(WAITING_ON_VENDOR, Status.RESOLVED)]),
        ]

    def refund_open(self, ticket: Ticket, data: Mapping[str, Any]) -> bool:
        """A guard: true while the ticket's last refund event says it is open."""
        refunds = [e for e in ticket.events if e.kind == "add_note" and "refund" in e.data]
        return bool(refunds) and refunds[-1].data["refund"] == "open"


def main() -> Ticket:
    """Drive one ticket through the vendor wait and show the guard at work."""
    lifecycle = ShopLifecycle()
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    step = timedelta(hours=1)
    ticket = Ticket.open("T-7", channel="whatsapp", customer_id="cust-7", at=at)
    ticket = lifecycle.apply(ticket, "agent_reply", at=at + step)
    ticket = lifecycle.apply(ticket, "wait_on_vendor", at=at + 2 * step)
    print(f"{ticket.id}: {ticket.status}; allowed: {', '.join(lifecycle.allowed(ticket))}")
    ticket = lifecycle.apply(ticket, "vendor_reply", at=at + 3 * step)
    ticket = lifecycle.apply(ticket, "add_note", at=at + 4 * step, refund="open")
    ticket = lifecycle.apply(ticket, "resolve", at=at + 5 * step)
    try:
        lifecycle.apply(ticket, "close", at=at + 6 * step)
    except InvalidTransition as refused:
        print(f"refused: {refused.reason}")
    ticket = lifecycle.apply(ticket, "add_note", at=at + 7 * step, refund="paid")
    ticket = lifecycle.apply(ticket, "close", at=at + 8 * step)
    print(f"{ticket.id}: {ticket.status}")
    return ticket


if __name__ == "__main__":
    main()
