"""Waiting tickets: the out-of-hours acknowledgement says when the desk opens and when to expect
a reply, computed from the SLA policy, in the customer's language; over the in-memory and
SQLite stores."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

from carekit import BusinessCalendar, Customer, Desk, Metric, SlaPolicy, Target
from carekit.campaigns import CampaignScheduler
from carekit.campaigns.recipes import out_of_hours_acknowledgement
from carekit.protocols import TicketStore
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.stores.sqlite import SqliteTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingSender

JAKARTA = "Asia/Jakarta"
HOURS = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, name="Jakarta desk")
POLICY = SlaPolicy("email", {Metric.FIRST_RESPONSE: Target(timedelta(hours=4))}, calendar=HOURS)
FRIDAY_8PM = pendulum.datetime(2026, 3, 6, 20, 0, tz=JAKARTA)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_ticket_opened_after_hours_gets_the_hours_and_the_reply_time(
    kind: str, tmp_path: Path
) -> None:
    store: TicketStore = (
        InMemoryTicketStore() if kind == "memory" else SqliteTicketStore(tmp_path / "t.db")
    )
    clock = ManualClock(FRIDAY_8PM)
    customers = InMemoryDirectory([
        Customer("siti", name="Siti", locale="id", timezone=JAKARTA, consent={"email"}),
        Customer("john", name="John", locale="en", timezone="Europe/London", consent={"email"}),
    ])  # fmt: skip
    desk = Desk(store, clock=clock, policies=POLICY, directory=customers)
    sender = RecordingSender()
    care = CampaignScheduler([out_of_hours_acknowledgement()], InMemoryJobStore(), sender,
                             customers, clock=clock)  # fmt: skip
    desk.open("T-1", channel="email", customer_id="siti")
    desk.open("T-2", channel="email", customer_id="john")
    desk.drain_events(care.handle)
    care.run_due()
    clock.set(pendulum.datetime(2026, 3, 9, 9, 0, tz=JAKARTA))  # Monday, open
    desk.open("T-3", channel="email", customer_id="siti")
    desk.drain_events(care.handle)
    care.run_due()
    sent = {key: message for key, (_, _, message) in sender.sent.items()}
    assert len(sent) == 2  # none for the ticket opened during the hours
    siti = next(m for m in sent.values() if m.locale.startswith("id"))
    john = next(m for m in sent.values() if m.locale.startswith("en"))
    assert siti.subject == "Kami telah menerima permintaan Anda T-1"
    assert "tutup" in siti.body
    # opens Monday 08:00 WIB; reply by 4 working hours later, Monday 12:00 WIB (05:00 in London)
    assert "12.00" in siti.body or "12:00" in siti.body
    assert "5:00" in john.body or "05:00" in john.body
    assert "{" not in siti.body + john.body  # every placeholder filled
