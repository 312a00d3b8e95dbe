"""A defective blender, from complaint to the care that follows it.

Siti (Jakarta, Indonesian) emails that her blender arrived broken. The desk
misses the urgent reply target, refunds her and resolves the ticket; then
proactive care takes over: a satisfaction survey, an apology with a voucher
because a target was breached, care tips for her replacement purchase, an
invitation to the loyalty programme, and a birthday greeting months later,
each at a good local hour, in Indonesian, once.
"""

from __future__ import annotations

from datetime import date, timedelta

import pendulum

from carekit import (
    AtBreach,
    Channel,
    Customer,
    Desk,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
    Ticket,
)
from carekit.campaigns import CampaignScheduler, CareEvent
from carekit.campaigns.recipes import MARKETING_CAP, all_recipes
from carekit.i18n import Message, Money
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingHandler

JAKARTA = "Asia/Jakarta"


class PrintingSender:
    """The shop's sender: here it prints each message (and de-duplicates on the key)."""

    def __init__(self) -> None:
        self.sent: dict[str, Message] = {}

    def send(self, message: Message, *, customer: Customer, channel: Channel, key: str) -> None:
        """Print the message once per key."""
        if key in self.sent:
            return
        self.sent[key] = message
        print(f"  -> {channel} to {customer.name} [{message.locale}] {message.subject}")
        print(f"     {message.body}")


def main() -> PrintingSender:
    """Run the journey and return the sender with everything it sent."""
    siti = Customer(
        "siti",
        name="Siti",
        locale="id",
        timezone=JAKARTA,
        birthday=date(1991, 11, 2),
        consent={"email", "whatsapp"},
        preferred_channel="whatsapp",
    )
    directory = InMemoryDirectory([siti])
    clock = ManualClock(pendulum.datetime(2026, 3, 2, 20, 15, tz=JAKARTA))
    sender = PrintingSender()
    care = CampaignScheduler(
        all_recipes(),
        InMemoryJobStore(),
        sender,
        directory,
        clock=clock,
        caps=[MARKETING_CAP],
        fields={"shop": "Toko Sejahtera", "link": "https://toko.example"},
    )
    breach = EscalationLevel("breach", AtBreach(Metric.FIRST_RESPONSE), [Notify("supervisor")])

    def voucher(kind: str, _ticket: Ticket) -> dict[str, object]:
        """The shop's apology voucher, carried by the desk's breach care event."""
        if kind != "sla_breached":
            return {}
        return {"voucher_code": "MAAF50", "voucher_value": Money(50000)}

    desk = Desk(
        InMemoryTicketStore(),
        clock=clock,
        escalation=EscalationPolicy([breach]),
        handler=RecordingHandler(),
        directory=directory,
        care_data=voucher,
    )

    def advance(by: timedelta) -> None:
        clock.advance(by)
        for decision in desk.tick():
            print(f"  !! escalation {decision.key}")
        desk.drain_events(care.handle)  # opened, resolved, breached: from the desk's outbox
        care.run_due()

    print("20:15 WIB: the complaint arrives by email, marked urgent (1 h first response)")
    desk.open("T-77", channel="email", customer_id="siti", priority="urgent", order="INV-2026-0301")
    advance(timedelta(hours=2))
    print("22:15 WIB: the reply comes late; the refund is agreed, the ticket resolved")
    desk.apply("T-77", "agent_reply", actor="dewi")
    desk.apply("T-77", "add_note", actor="dewi", refund=Money(450000))
    desk.apply("T-77", "resolve", actor="dewi")
    desk.drain_events(care.handle)
    print("the survey waits for the morning (send window 09:00-20:00 in her zone)")
    advance(timedelta(hours=12))
    print("she buys a replacement blender: her third order")
    care.handle(
        CareEvent(
            "purchase",
            "siti",
            clock.now(),
            id="INV-2026-0303",
            data={"product": "Blender Pro", "order_count": 3, "link": "https://toko.example/tips"},
        )
    )
    for _ in range(8):
        advance(timedelta(days=1))
    print("months later: her birthday")
    clock.set(pendulum.datetime(2026, 10, 25, 8, 0, tz=JAKARTA))
    care.schedule([siti])
    for _ in range(9 * 4):  # a worker runs all day (here: every six hours); a greeting
        advance(timedelta(hours=6))  # expires if it cannot go out on the day itself
    return sender


if __name__ == "__main__":
    main()
