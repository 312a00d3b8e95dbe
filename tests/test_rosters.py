"""Agents' hours: a notice to an off-duty recipient goes to the on-duty fallback or waits for
their next shift, recorded on the decision; the desk hands it over once, over both stores."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pendulum
import pytest

from carekit import (
    AtBreach,
    BusinessCalendar,
    Desk,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
    SlaPolicy,
    Ticket,
)
from carekit.protocols import TicketStore
from carekit.stores.memory import InMemoryTicketStore
from carekit.stores.sqlite import SqliteTicketStore
from carekit.testing import ManualClock, RecordingHandler

JAKARTA = "Asia/Jakarta"
DAY_SHIFT = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, name="supervisor's week")
NIGHTS = BusinessCalendar(JAKARTA, hours={"mon-sun": "22:00-06:00"}, name="night shift")
ROSTERS = {"supervisor": DAY_SHIFT, "night_lead": NIGHTS}
SUNDAY_2AM = pendulum.datetime(2026, 3, 8, 2, 0, tz=JAKARTA)
MONDAY_8AM = pendulum.datetime(2026, 3, 9, 8, 0, tz=JAKARTA)


def policy(notify: Notify) -> EscalationPolicy:
    return EscalationPolicy(
        [EscalationLevel("missed", AtBreach(Metric.FIRST_RESPONSE), [notify])], rosters=ROSTERS
    )


def call(at: datetime) -> Ticket:
    return Ticket.open("C-1", channel="phone", customer_id="c", at=at - timedelta(minutes=5))


def decide(escalation: EscalationPolicy, at: datetime) -> tuple[Escalation, ...]:
    ticket = call(SUNDAY_2AM)
    report = SlaPolicy.default().evaluate(ticket, now=at)
    return escalation.decide(ticket, report, now=at)


def test_an_off_duty_recipient_hands_over_to_the_on_duty_fallback() -> None:
    [decision] = decide(policy(Notify("supervisor", fallback="night_lead")), SUNDAY_2AM)
    assert [Notify("night_lead")] == list(decision.actions)
    [note] = decision.notes
    assert note.startswith("supervisor is off duty (outside the hours until 2026-03-09 01:00 UTC)")
    assert note.endswith("told night_lead instead")


def test_without_a_fallback_on_duty_the_notice_waits_for_the_next_shift() -> None:
    escalation = policy(Notify("supervisor"))
    ticket = call(SUNDAY_2AM)
    report = SlaPolicy.default().evaluate(ticket, now=SUNDAY_2AM)
    assert () == escalation.decide(ticket, report, now=SUNDAY_2AM)
    assert escalation.next_due(ticket, report, now=SUNDAY_2AM) == MONDAY_8AM
    fell_due = escalation.next_due(ticket, report)  # without now: when it fell due
    assert fell_due is not None
    assert fell_due < SUNDAY_2AM
    monday = SlaPolicy.default().evaluate(ticket, now=MONDAY_8AM)
    [decision] = escalation.decide(ticket, monday, now=MONDAY_8AM)
    assert [Notify("supervisor")] == list(decision.actions)
    assert decision.late > timedelta(hours=29)
    assert decision.notes == ("supervisor was off duty when it fell due: told at their next shift",)
    # a fallback also off duty: the first of the two to come on
    both_off = policy(Notify("supervisor", fallback="night_lead"))
    saturday_noon = pendulum.datetime(2026, 3, 7, 12, 0, tz=JAKARTA)
    ticket = call(saturday_noon)
    report = SlaPolicy.default().evaluate(ticket, now=saturday_noon)
    assert () == both_off.decide(ticket, report, now=saturday_noon)
    night = pendulum.datetime(2026, 3, 7, 22, 0, tz=JAKARTA)
    assert both_off.next_due(ticket, report, now=saturday_noon) == night


def test_send_anyway_is_recorded_too() -> None:
    [decision] = decide(policy(Notify("supervisor", off_duty="send")), SUNDAY_2AM)
    assert [Notify("supervisor", off_duty="send")] == list(decision.actions)
    assert decision.notes[0].endswith("told all the same")


def test_a_recipient_without_a_roster_is_always_on_duty() -> None:
    [decision] = decide(policy(Notify("floor")), SUNDAY_2AM)
    assert ((), [Notify("floor")]) == (decision.notes, list(decision.actions))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_desk_waits_for_the_shift_and_hands_over_once(kind: str, tmp_path: Path) -> None:
    store: TicketStore = (
        InMemoryTicketStore() if kind == "memory" else SqliteTicketStore(tmp_path / "t.db")
    )
    clock = ManualClock(SUNDAY_2AM - timedelta(minutes=5))
    handler = RecordingHandler()
    desk = Desk(store, clock=clock, escalation=policy(Notify("supervisor")), handler=handler)
    desk.open("C-1", channel="phone", customer_id="c")
    for at in (SUNDAY_2AM, SUNDAY_2AM + timedelta(hours=3), MONDAY_8AM - timedelta(seconds=1)):
        clock.set(at)
        assert [] == desk.tick()  # the supervisor is off: nothing yet, every tick
    clock.set(MONDAY_8AM)
    [handed] = desk.tick()
    assert handed.notes == ("supervisor was off duty when it fell due: told at their next shift",)
    clock.set(MONDAY_8AM + timedelta(minutes=1))
    assert [] == desk.tick()  # once
    assert [e.key for e in handler.handled] == ["C-1/missed/first_response/1"]


def test_a_recipient_who_never_comes_on_duty_is_told_all_the_same() -> None:
    gone = BusinessCalendar(JAKARTA, hours={}, overrides={"2026-01-05": ["08:00-09:00"]})
    escalation = EscalationPolicy(
        [EscalationLevel("missed", AtBreach(Metric.FIRST_RESPONSE), [Notify("temp")])],
        rosters={"temp": gone},
    )
    [decision] = decide(escalation, SUNDAY_2AM)  # waiting would lose it
    assert [Notify("temp")] == list(decision.actions)
    assert decision.notes[0].endswith("no shift opens: told all the same")
