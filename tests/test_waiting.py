"""Waiting tickets: the out-of-hours acknowledgement says when the desk opens and when to expect
a reply, computed from the SLA policy, in the customer's language; over the in-memory and
SQLite stores."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
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


def test_send_later_waits_for_the_customers_own_business_hours() -> None:
    hours = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, breaks="12:00-13:00",
                             holidays={"12-25": "Christmas"})  # fmt: skip
    policy = SlaPolicy("email", {Metric.FIRST_RESPONSE: Target(timedelta(hours=4))}, calendar=hours)
    customers = InMemoryDirectory([Customer("john", timezone="Europe/London"), Customer("siti")])
    clock = ManualClock(pendulum.datetime(2026, 3, 6, 10, 0, tz=JAKARTA))  # Friday, 03:00 London
    desk = Desk(InMemoryTicketStore(), clock=clock, policies=policy, directory=customers)
    desk.open("T-1", channel="email", customer_id="john")
    desk.open("T-2", channel="email", customer_id="siti")  # no zone: the desk's own hours
    assert desk.send_later("T-1") == pendulum.datetime(2026, 3, 6, 8, 0, tz="Europe/London")
    assert desk.send_later("T-2") == clock.now()  # open now
    lunch = pendulum.datetime(2026, 3, 6, 12, 30, tz="Europe/London")
    assert desk.send_later("T-1", now=lunch) == pendulum.datetime(
        2026, 3, 6, 13, tz="Europe/London"
    )
    london = hours.in_zone("Europe/London")
    assert london.holiday(pendulum.date(2027, 12, 25)) == "Christmas"
    assert london.in_zone(JAKARTA).between(
        pendulum.datetime(2026, 3, 2, tz=JAKARTA), pendulum.datetime(2026, 3, 9, tz=JAKARTA)
    ) == hours.between(
        pendulum.datetime(2026, 3, 2, tz=JAKARTA), pendulum.datetime(2026, 3, 9, tz=JAKARTA)
    )


def test_the_async_desk_says_the_same() -> None:
    from carekit.aio import AsyncDesk, AsyncInMemoryTicketStore  # noqa: PLC0415
    from tests.test_aio import AsyncDirectory  # noqa: PLC0415

    async def later() -> datetime:
        customers = AsyncDirectory([Customer("john", timezone="Europe/London")])
        clock = ManualClock(FRIDAY_8PM)
        desk = AsyncDesk(AsyncInMemoryTicketStore(), clock=clock, policies=POLICY,
                         directory=customers)  # fmt: skip
        await desk.open("T-1", channel="email", customer_id="john")
        return await desk.send_later("T-1")

    # Friday 13:00 in London: inside the desk's hours on London's wall clock
    assert asyncio.run(later()) == FRIDAY_8PM
