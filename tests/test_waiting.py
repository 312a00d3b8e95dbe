"""Waiting tickets: the out-of-hours acknowledgement says when the desk opens and when to expect
a reply, computed from the SLA policy, in the customer's language; over the in-memory and
SQLite stores."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit import BusinessCalendar, Customer, Desk, Lifecycle, Metric, SlaPolicy, Target, Ticket
from carekit.campaigns import CampaignScheduler, CareEvent
from carekit.campaigns.recipes import out_of_hours_acknowledgement
from carekit.exceptions import InvalidValue
from carekit.protocols import TicketStore
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.stores.sqlite import SqliteTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingSender
from carekit.waiting import FollowUpPolicy, FollowUpRule

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


# -- follow-ups --------------------------------------------------------------------------------

LIFE = Lifecycle()
MONDAY_9 = pendulum.datetime(2026, 3, 2, 9, 0, tz=JAKARTA)


def waiting(channel: str = "email", at: datetime = MONDAY_9) -> Ticket:
    t = Ticket.open("T-9", channel=channel, customer_id="siti", at=at - timedelta(minutes=30))
    if channel == "whatsapp":
        t = LIFE.apply(t, "customer_reply", at=at - timedelta(minutes=20), actor="siti")
    return LIFE.apply(t, "wait_on_customer", at=at, actor="ana")


def test_nudges_then_a_resolution_in_working_time() -> None:
    policy = FollowUpPolicy(calendar=HOURS)  # 24 h, 48 h, resolve at 72 h of working time
    t = waiting()
    assert policy.decide(t, now=MONDAY_9 + timedelta(hours=8)) == ()
    first = policy.next_due(t)
    assert first == pendulum.datetime(2026, 3, 4, 15, 0, tz=JAKARTA)  # 24 working hours (9 a day)
    [nudge] = policy.decide(t, now=first)
    assert (nudge.action, nudge.number, nudge.template) == ("nudge", 1, "nudge")
    assert policy.decide(t, now=first, fired={nudge.key}) == ()
    second = policy.next_due(t, fired={nudge.key})
    assert second is not None
    assert second > first
    # a tick that missed the first nudge sends only the latest one, and the first is then moot
    [late] = policy.decide(t, now=second)
    assert late.number == 2
    end = policy.next_due(t, fired={late.key})
    assert end is not None
    assert end > second  # the resolution, not nudge 1
    [resolve] = policy.decide(t, now=end + timedelta(days=30))  # a resolution makes nudges moot
    assert (resolve.action, resolve.template) == ("resolve", "auto_resolved")
    # the customer answered: nothing is owed any more
    answered = LIFE.apply(t, "customer_reply", at=MONDAY_9 + timedelta(hours=1), actor="siti")
    assert policy.next_due(answered) is None


def test_resolved_tickets_are_closed_and_a_new_wait_owes_new_nudges() -> None:
    policy = FollowUpPolicy(
        FollowUpRule(nudges=[], resolve_after=None, close_after=timedelta(days=3))
    )
    t = waiting()
    assert policy.next_due(t) is None  # no nudge, no resolution in this rule
    done = LIFE.apply(t, "resolve", at=MONDAY_9 + timedelta(hours=1), actor="ana")
    [close] = policy.decide(done, now=MONDAY_9 + timedelta(days=3, hours=1))
    assert (close.action, close.template) == ("close", None)
    again = LIFE.apply(waiting(), "customer_reply", at=MONDAY_9 + timedelta(hours=1), actor="siti")
    again = LIFE.apply(again, "wait_on_customer", at=MONDAY_9 + timedelta(hours=2), actor="ana")
    nudging = FollowUpPolicy()
    keys = {f.key for f in nudging._owed(waiting())} & {f.key for f in nudging._owed(again)}
    assert keys == set()  # each wait has its own keys


def test_on_whatsapp_a_nudge_goes_before_the_window_closes() -> None:
    policy = FollowUpPolicy(calendar=HOURS, lead=timedelta(hours=1))
    t = waiting("whatsapp")
    nudge = policy.next_due(t)
    # the customer wrote at 08:40: the window closes Tuesday 08:40, the nudge goes at 07:40
    assert nudge == pendulum.datetime(2026, 3, 3, 7, 40, tz=JAKARTA)
    [decided] = policy.decide(t, now=nudge)
    assert decided.reason.endswith("before the WhatsApp window closes")


def test_rules_per_channel_and_priority_and_bad_rules() -> None:
    chat = FollowUpRule(nudges=[timedelta(minutes=10)], resolve_after=timedelta(minutes=30))
    policy = FollowUpPolicy(rules={("chat", None): chat})
    assert policy.rule_for(waiting("chat")) is chat
    assert policy.rule_for(waiting("email")) == FollowUpRule()
    with pytest.raises(InvalidValue, match="resolve_after"):
        FollowUpRule(nudges=[timedelta(hours=80)])
    with pytest.raises(InvalidValue, match="increasing"):
        FollowUpRule(nudges=[timedelta(hours=2), timedelta(hours=1)])
    with pytest.raises(InvalidValue, match="close_after"):
        FollowUpRule(close_after=timedelta(0))


@settings(max_examples=100, deadline=None)
@given(
    hours=st.lists(st.integers(1, 200), min_size=1, max_size=4, unique=True).map(sorted),
    start=st.integers(0, 14 * 24),
    ticks=st.lists(st.integers(0, 60 * 24), min_size=1, max_size=20).map(sorted),
)
def test_ticking_at_any_instants_sends_each_wait_at_most_one_of_each_and_nothing_twice(
    hours: list[int], start: int, ticks: list[int]
) -> None:
    rule = FollowUpRule(nudges=[timedelta(hours=h) for h in hours[:-1]],
                        resolve_after=timedelta(hours=hours[-1]))  # fmt: skip
    policy = FollowUpPolicy(rule, calendar=HOURS)
    t = waiting(at=MONDAY_9 + timedelta(hours=start))
    fired: set[str] = set()
    numbers: list[int] = []
    for minutes in ticks:
        now = MONDAY_9 + timedelta(hours=start, minutes=minutes * 10)
        for f in policy.decide(t, now=now, fired=fired):
            assert f.key not in fired
            assert f.due_at <= now
            fired.add(f.key)
            numbers.append(f.number)
        due = policy.next_due(t, fired=fired)
        assert due is None or due > now or policy.decide(t, now=now, fired=fired) != ()
    nudges = [n for n in numbers if n]
    assert nudges == sorted(set(nudges))  # increasing: never an earlier nudge after a later one


def test_the_follow_up_messages_render_in_the_customers_language() -> None:
    from carekit.i18n import CatalogRenderer  # noqa: PLC0415

    t = waiting()
    policy = FollowUpPolicy(calendar=HOURS)
    due = policy.next_due(t)
    assert due is not None
    [nudge] = policy.decide(t, now=due)
    [resolve] = policy.decide(t, now=due + timedelta(days=30))
    fields = {"name": "Siti", "ticket_id": "T-9"}
    for decided in (nudge, resolve):
        assert decided.template is not None
        message = CatalogRenderer().render(decided.template, locale="id", fields=fields)
        assert "T-9" in message.subject + message.body
        assert message.approved is not None  # a WhatsApp twin for outside the window
    assert CatalogRenderer().render("nudge", locale="id", fields=fields).subject == (
        "Apakah Anda masih di sana?"
    )


def test_a_desk_calendar_that_never_opens_again_still_opens_tickets() -> None:
    gone = BusinessCalendar(JAKARTA, hours={}, overrides={"2026-01-05": ["08:00-09:00"]})
    policy = SlaPolicy("p", {Metric.FIRST_RESPONSE: Target(timedelta(hours=4))}, calendar=gone)
    desk = Desk(InMemoryTicketStore(), clock=ManualClock(FRIDAY_8PM), policies=policy)
    desk.open("T-1", channel="email", customer_id="siti")
    events: list[CareEvent] = []
    desk.drain_events(events.append)
    [opened] = events
    assert opened.data["desk_open"] is False
    assert "opens_at" not in opened.data
    assert "reply_by" not in opened.data
