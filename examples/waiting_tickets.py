"""Waiting tickets: a Friday-evening email, the acknowledgement, a late reply, the follow-ups.

A customer writes on Friday evening while the Jakarta desk is closed: she gets
an acknowledgement at once saying when the desk opens and when to expect a
reply (from the SLA policy). On Monday an agent asks her a question; the reply
is scheduled for her own business hours (she is travelling in London). She
does not answer: the follow-up policy nudges her, then resolves the ticket
with a closing message, and the messages go through the campaign scheduler.

Run it with ``python examples/waiting_tickets.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

from carekit import BusinessCalendar, Customer, Desk, Metric, SlaPolicy, Target
from carekit.campaigns import Campaign, CampaignScheduler, CareEvent, OnEvent, Step
from carekit.campaigns.recipes import ANY_TIME, out_of_hours_acknowledgement
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingSender
from carekit.waiting import FollowUpPolicy

ZONE = "Asia/Jakarta"
HOURS = BusinessCalendar(ZONE, hours={"mon-fri": "08:00-17:00"}, breaks="12:00-13:00")
POLICY = SlaPolicy("email", {Metric.FIRST_RESPONSE: Target(timedelta(hours=4))}, calendar=HOURS)
FOLLOW_UPS = FollowUpPolicy(calendar=HOURS)  # nudges at 24 h and 48 h, resolved at 72 h


def follow_up_message(action: str, template: str) -> Campaign:
    """The host's campaign for a follow-up it carried out (told as a care event)."""
    return Campaign(
        f"follow_up_{action}",
        OnEvent(f"follow_up_{action}"),
        [Step(timedelta(0), template)],
        window=ANY_TIME,  # an answer on the customer's own ticket
        transactional=True,
        group="transactional",
    )


def main() -> list[str]:
    """Run the story; return what the customer received, in order."""
    clock = ManualClock(pendulum.datetime(2026, 3, 6, 19, 30, tz=ZONE))  # Friday evening
    siti = Customer("siti", name="Siti", locale="id", timezone="Europe/London", consent={"email"})
    customers = InMemoryDirectory([siti])
    desk = Desk(InMemoryTicketStore(), clock=clock, policies=POLICY, directory=customers)
    sender = RecordingSender()
    campaigns = [
        out_of_hours_acknowledgement(),
        follow_up_message("nudge", "nudge"),
        follow_up_message("resolve", "auto_resolved"),
    ]
    care = CampaignScheduler(campaigns, InMemoryJobStore(), sender, customers, clock=clock)

    desk.open("T-7", channel="email", customer_id="siti")
    desk.drain_events(care.handle)
    care.run_due()

    clock.set(pendulum.datetime(2026, 3, 9, 9, 0, tz=ZONE))  # Monday 09:00 in Jakarta
    desk.apply("T-7", "agent_reply", actor="ana")
    print(f"ana's question reaches Siti at {desk.send_later('T-7'):%a %H:%M} UTC (08:00 in London)")
    ticket = desk.apply("T-7", "wait_on_customer", actor="ana")

    fired: set[str] = set()
    while (due := FOLLOW_UPS.next_due(ticket, fired=fired)) is not None:
        clock.set(due)
        for follow_up in FOLLOW_UPS.decide(ticket, now=due, fired=fired):
            fired.add(follow_up.key)
            if follow_up.action in {"resolve", "close"}:  # carekit's own lifecycle events
                ticket = desk.apply("T-7", follow_up.action, actor="carekit")
            if follow_up.template is not None:  # the message, through the scheduler
                event = CareEvent(f"follow_up_{follow_up.action}", "siti", due,
                                  id=follow_up.key, data={"ticket_id": "T-7"})  # fmt: skip
                care.handle(event)
                care.run_due()
            print(f"{due:%a %d %b %H:%M} UTC  {follow_up.action}: {follow_up.reason}")
    print(f"T-7 is {ticket.status}")
    received = [message.subject for _, _, message in sender.sent.values()]
    for subject in received:
        print(f"Siti received: {subject}")
    return received


if __name__ == "__main__":
    main()
