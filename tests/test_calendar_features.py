"""Breaks, named and yearly holidays, feeds, seconds, going back, business days, why closed,
combined calendars: each against the walking reference, with Hypothesis."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit import Lifecycle, Metric, SlaPolicy, Target, Ticket, load_policies, loads_policies
from carekit.calendars import BusinessCalendar, CombinedCalendar, ics_holidays
from carekit.exceptions import (
    CalendarError,
    InvalidValue,
    MissingExtra,
    PolicyError,
    PolicyFileError,
)

from .reference_calendar import ReferenceCalendar, combined

JAKARTA = "Asia/Jakarta"


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return pendulum.datetime(year, month, day, hour, minute, tz=JAKARTA)


def local(at: datetime, zone: str = JAKARTA) -> str:
    return pendulum.instance(at).in_timezone(zone).format("ddd YYYY-MM-DD HH:mm:ss")


CASES: Mapping[str, dict[str, object]] = {
    "lunch": {
        "timezone": JAKARTA,
        "hours": {"mon-fri": ["08:00-17:00"], "sat": ["09:00-12:00"]},
        "breaks": ["12:00-13:00"],
        "holidays": {"08-17": "Independence Day", "12-25": "Christmas", date(2026, 3, 19): "Nyepi"},
    },
    "seconds_berlin": {
        "timezone": "Europe/Berlin",
        "hours": {"mon-fri": ["08:00:30-12:00", "13:00-17:29:45"]},
        "breaks": ["10:15:15-10:30"],
        "holidays": {"12-25": "Christmas", "02-29": "Leap day"},
        "overrides": {date(2026, 12, 25): ["10:00-12:00"], date(2027, 1, 2): ["09:00-11:00"]},
    },
    "night_holiday_wins": {
        "timezone": "America/New_York",
        "hours": {"mon-fri": ["22:00-06:00"]},
        "breaks": ["02:00-02:30"],
        "holidays": {"07-04": "Independence Day", date(2026, 11, 26): "Thanksgiving"},
        "overrides": {date(2026, 7, 4): ["10:00-14:00"], date(2026, 7, 7): []},
        "precedence": "holiday",
    },
}


def _pair(spec: Mapping[str, object]) -> tuple[BusinessCalendar, ReferenceCalendar]:
    fast = BusinessCalendar(**spec)  # type: ignore[arg-type]
    slow = ReferenceCalendar(
        spec["timezone"],  # type: ignore[arg-type]
        spec["hours"],  # type: ignore[arg-type]
        spec.get("holidays", ()),  # type: ignore[arg-type]
        spec.get("overrides"),  # type: ignore[arg-type]
        breaks=spec.get("breaks", ()),  # type: ignore[arg-type]
        precedence=spec.get("precedence", "override"),  # type: ignore[arg-type]
    )
    return fast, slow


PAIRS = {name: _pair(spec) for name, spec in CASES.items()}
instants = st.integers(
    min_value=int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2027, 12, 31, tzinfo=UTC).timestamp()),
).map(lambda s: datetime.fromtimestamp(s, UTC))
durations = st.integers(min_value=1, max_value=30 * 3600).map(lambda s: timedelta(seconds=s))
names = st.sampled_from(sorted(PAIRS))


@settings(max_examples=100, deadline=None)
@given(name=names, start=instants, duration=durations)
def test_arithmetic_agrees_with_the_reference(
    name: str, start: datetime, duration: timedelta
) -> None:
    fast, slow = PAIRS[name]
    assert slow.is_open(start) == fast.is_open(start)
    assert slow.add(start, duration) == fast.add(start, duration)
    assert slow.between(start, start + duration) == fast.between(start, start + duration)
    back = fast.add(start, -duration)  # backward arithmetic: subtract working time
    assert fast.between(back, fast.last_open(start)) == duration


@settings(max_examples=100, deadline=None)
@given(name=names, start=instants)
def test_next_and_last_open_and_why_closed_agree_with_the_reference(
    name: str, start: datetime
) -> None:
    fast, slow = PAIRS[name]
    assert slow.next_open(start) == fast.next_open(start)
    assert slow.last_open(start) == fast.last_open(start)
    closure = fast.why_closed(start)
    assert slow.why_closed(start) == (None if closure is None else closure.reason)
    if closure is not None:
        assert closure.opens == fast.next_open(start)
        if closure.reason == "holiday":
            day = pendulum.instance(start).in_timezone(fast.timezone).date()
            assert closure.name == fast.holiday(day) is not None


@settings(max_examples=60, deadline=None)
@given(name=names, start=instants, hours=st.integers(min_value=1, max_value=72))
def test_spans_agree_with_the_reference(name: str, start: datetime, hours: int) -> None:
    fast, slow = PAIRS[name]
    end = start + timedelta(hours=hours)
    found = fast.spans(start, end)
    assert slow.open_spans(start, end) == found
    assert sum((b - a for a, b in found), timedelta()) == fast.between(start, end)


@settings(max_examples=100, deadline=None)
@given(name=names, start=instants, days=st.integers(min_value=-12, max_value=12))
def test_business_days_agree_with_the_reference(name: str, start: datetime, days: int) -> None:
    fast, slow = PAIRS[name]
    if days == 0:
        assert fast.add_days(start, 0) == start
        return
    assert slow.add_days(start, days) == fast.add_days(start, days)


# -- each feature, by example -------------------------------------------------------------


def test_a_lunch_break_is_a_break_on_working_days_only() -> None:
    cal = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, breaks="12:00-13:00",
                           overrides={date(2026, 3, 7): ["10:00-14:00"]})  # fmt: skip
    assert cal.between(wib(2026, 3, 2, 8), wib(2026, 3, 2, 17)) == timedelta(hours=8)
    assert local(cal.add(wib(2026, 3, 2, 11), timedelta(hours=2))) == "Mon 2026-03-02 14:00:00"
    assert cal.is_open(wib(2026, 3, 7, 12, 30))  # the Saturday override states its own hours
    per_day = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"},
                               breaks={"fri": ["11:30-13:00"]})  # fmt: skip
    assert per_day.is_open(wib(2026, 3, 5, 12))
    assert not per_day.is_open(wib(2026, 3, 6, 12))


def test_yearly_and_named_holidays_and_which_wins_over_an_override() -> None:
    spec = {"08-17": "Independence Day", "2026-03-19": "Nyepi", "02-29": "Leap day"}
    cal = BusinessCalendar(JAKARTA, hours={"mon-sun": "08:00-17:00"}, holidays=spec,
                           overrides={"2031-08-17": ["08:00-10:00"]})  # fmt: skip
    assert cal.holiday(date(2030, 8, 17)) == "Independence Day"  # every year, no expansion
    assert cal.holiday(date(2026, 3, 19)) == "Nyepi"
    assert cal.holiday(date(2027, 3, 19)) is None
    assert cal.holiday(date(2028, 2, 29)) == "Leap day"
    assert cal.between(wib(2027, 2, 28), wib(2027, 3, 2)) == timedelta(hours=18)  # no 29th
    assert cal.between(wib(2028, 2, 29), wib(2028, 3, 1)) == timedelta(0)
    assert cal.is_open(wib(2031, 8, 17, 9))  # the override wins by default
    closed = BusinessCalendar(
        JAKARTA,
        hours={"mon-sun": "08:00-17:00"},
        holidays=spec,
        overrides={"2031-08-17": ["08:00-10:00"]},
        precedence="holiday",
    )
    assert not closed.is_open(wib(2031, 8, 17, 9))
    assert str(closed.why_closed(wib(2031, 8, 17, 9))).startswith("a holiday (Independence Day)")


def test_a_holiday_feed_is_asked_year_by_year() -> None:
    asked: list[int] = []

    def eid(year: int) -> dict[date, str]:
        asked.append(year)
        return (
            {date(2026, 3, 20): "Idul Fitri", date(2026, 3, 21): "Idul Fitri"}
            if year == 2026
            else {}
        )

    cal = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, holidays=[eid, "12-25"])
    assert cal.holiday(date(2026, 3, 20)) == "Idul Fitri"
    assert cal.between(wib(2026, 3, 19), wib(2026, 3, 24)) == timedelta(hours=9 * 2)  # Thu, Mon
    assert cal.between(wib(2027, 3, 19), wib(2027, 3, 20)) == timedelta(hours=9)
    assert set(asked) <= {2025, 2026, 2027, 2028}
    assert 2026 in asked


def test_a_deadline_on_a_closing_is_kept_or_moved_to_the_next_opening() -> None:
    hours = {"mon-fri": "08:00-17:00"}
    keep = BusinessCalendar(JAKARTA, hours=hours)
    roll = BusinessCalendar(JAKARTA, hours=hours, end_of_shift="next_opening")
    start = wib(2026, 3, 6, 15)  # Friday
    assert local(keep.add(start, timedelta(hours=2))) == "Fri 2026-03-06 17:00:00"
    assert local(roll.add(start, timedelta(hours=2))) == "Mon 2026-03-09 08:00:00"
    assert roll.add(start, timedelta(hours=1)) == keep.add(start, timedelta(hours=1))


def test_going_back_and_listing_the_working_spans() -> None:
    cal = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, breaks="12:00-13:00")
    monday = wib(2026, 3, 9, 7)
    assert local(cal.last_open(monday)) == "Fri 2026-03-06 17:00:00"
    assert local(cal.last_open(wib(2026, 3, 9, 12, 30))) == "Mon 2026-03-09 12:00:00"
    assert local(cal.add(wib(2026, 3, 9, 9), -timedelta(hours=2))) == "Fri 2026-03-06 16:00:00"
    spans = cal.spans(wib(2026, 3, 6, 10), wib(2026, 3, 9, 9))
    assert [(local(a)[4:], local(b)[15:]) for a, b in spans] == [
        ("2026-03-06 10:00:00", "12:00:00"),
        ("2026-03-06 13:00:00", "17:00:00"),
        ("2026-03-09 08:00:00", "09:00:00"),
    ]


def test_business_days_keep_the_wall_time() -> None:
    cal = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"},
                           holidays={"2026-03-19": "Nyepi"})  # fmt: skip
    assert local(cal.add_days(wib(2026, 3, 17, 10, 15), 2)) == "Fri 2026-03-20 10:15:00"
    assert local(cal.add_days(wib(2026, 3, 20, 10, 15), -2)) == "Tue 2026-03-17 10:15:00"
    assert local(cal.add_days(wib(2026, 3, 6, 20), 1)) == "Tue 2026-03-10 08:00:00"  # after hours
    assert cal.works_on(date(2026, 3, 18))
    assert not cal.works_on(date(2026, 3, 19))


def test_why_closed_names_the_reason() -> None:
    cal = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, breaks="12:00-13:00",
                           holidays={"08-17": "Independence Day"},
                           overrides={"2026-08-18": []})  # fmt: skip
    assert cal.why_closed(wib(2026, 8, 19, 9)) is None
    reasons = {
        wib(2026, 8, 17, 9): ("holiday", "Independence Day"),
        wib(2026, 8, 18, 9): ("override", None),
        wib(2026, 8, 19, 12, 15): ("break", None),
        wib(2026, 8, 19, 20): ("outside_hours", None),
        wib(2026, 8, 22, 10): ("outside_hours", None),  # Saturday
    }
    for at, (reason, name) in reasons.items():
        closure = cal.why_closed(at)
        assert closure is not None
        assert (closure.reason, closure.name) == (reason, name)
    holiday = cal.why_closed(wib(2026, 8, 17, 9))
    assert holiday is not None
    assert holiday.opens is not None
    assert local(holiday.opens) == "Wed 2026-08-19 08:00:00"


def test_times_to_the_second() -> None:
    cal = BusinessCalendar("UTC", hours={"mon-fri": ["08:00:30-17:00:15"]})
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    assert cal.next_open(monday) == monday + timedelta(hours=8, seconds=30)
    assert cal.between(monday, monday + timedelta(days=1)) == timedelta(hours=9, seconds=-15)
    with pytest.raises(CalendarError, match="HH:MM"):
        BusinessCalendar("UTC", hours={"mon": ["08:00:60-17:00"]})


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"breaks": ["12:00"]}, "breaks"),
        ({"breaks": {"funday": ["12:00-13:00"]}}, "breaks"),
        ({"holidays": {"08-17": ""}}, "'08-17' has no name"),
        ({"holidays": ["13-40"]}, "holidays"),
        ({"holidays": "2026-08-17"}, "holidays"),
        ({"precedence": "whichever"}, "precedence"),
        ({"end_of_shift": "later"}, "end_of_shift"),
    ],
)
def test_bad_definitions_are_typed_errors_naming_the_field(
    kwargs: dict[str, object], where: str
) -> None:
    with pytest.raises((CalendarError, InvalidValue)) as info:
        BusinessCalendar("UTC", hours={"mon-fri": "08:00-17:00"}, **kwargs)  # type: ignore[arg-type]
    assert where in str(info.value)
    assert isinstance(info.value, ValueError)


# -- combined calendars ----------------------------------------------------------------------

DESK = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, breaks="12:00-13:00",
                        holidays={"08-17": "Independence Day"})  # fmt: skip
AGENT = BusinessCalendar("Europe/Amsterdam", hours={"mon-thu": "07:00-15:30", "sat": "06:00-09:00"})
REF_DESK = ReferenceCalendar(JAKARTA, {"mon-fri": ["08:00-17:00"]}, {"08-17": "Independence Day"},
                             breaks=["12:00-13:00"])  # fmt: skip
REF_AGENT = ReferenceCalendar(
    "Europe/Amsterdam", {"mon-thu": ["07:00-15:30"], "sat": ["06:00-09:00"]}
)


@settings(max_examples=80, deadline=None)
@given(start=instants, duration=durations, how=st.sampled_from(["all", "any"]))
def test_combined_calendars_agree_with_their_definition(
    start: datetime, duration: timedelta, how: str
) -> None:
    cal = CombinedCalendar([DESK, AGENT], how=how)  # type: ignore[arg-type]
    is_open = combined([REF_DESK, REF_AGENT], how)
    assert cal.is_open(start) == is_open(start)
    end = start + timedelta(hours=30)
    walked = ReferenceCalendar("UTC", {})
    walked.is_open = is_open  # type: ignore[method-assign, assignment]
    assert cal.between(start, end) == walked.between(start, end)
    due = cal.add(start, duration)
    assert cal.between(start, due) == duration
    assert due == start or is_open(due - timedelta(seconds=1))


def test_combined_calendar_explains_and_refuses_too_few() -> None:
    both = CombinedCalendar([DESK, AGENT])
    monday = wib(2026, 8, 17, 9)  # a holiday at the desk
    closure = both.why_closed(monday)
    assert closure is not None
    assert closure.reason == "holiday"
    assert both.holiday(date(2026, 8, 17)) == "Independence Day"
    assert CombinedCalendar([DESK, AGENT], how="any").holiday(date(2026, 8, 17)) is None
    assert both.works_on(date(2026, 8, 18))
    assert not both.works_on(date(2026, 8, 17))
    moved = both.in_zone("UTC")
    assert isinstance(moved, CombinedCalendar)
    assert moved.is_open(datetime(2026, 3, 3, 9, tzinfo=UTC))  # 09:00 is inside both, in UTC
    with pytest.raises(CalendarError, match="two calendars"):
        CombinedCalendar([DESK])
    never = CombinedCalendar([BusinessCalendar("UTC", hours={"mon": "08:00-09:00"}),
                              BusinessCalendar("UTC", hours={"tue": "08:00-09:00"})])  # fmt: skip
    with pytest.raises(CalendarError, match="no working time"):
        never.add(datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1))


# -- iCalendar feeds and the policy file -------------------------------------------------------

ICS = Path(__file__).parent / "data" / "holidays.ics"


def test_an_ics_feed_gives_named_and_recurring_holidays() -> None:
    feed = ics_holidays(ICS)
    cal = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, holidays=[feed])
    assert cal.holiday(date(2031, 8, 17)) == "Hari Kemerdekaan"  # RRULE:FREQ=YEARLY
    assert cal.holiday(date(2026, 3, 21)) == "Idul Fitri"  # DTEND is exclusive: two days
    assert cal.holiday(date(2026, 3, 22)) is None
    assert cal.holiday(date(2026, 3, 2)) == "Team day"  # first Monday, monthly
    assert cal.holiday(date(2026, 2, 2)) is None  # EXDATE
    assert cal.holiday(date(2028, 1, 3)) is None  # COUNT=24 ran out
    assert feed(2026) == ics_holidays(ICS.read_text())(2026)  # a path or the text itself
    with pytest.raises(CalendarError, match="cannot be read"):
        ics_holidays(ICS.parent / "missing.ics")
    with pytest.raises(CalendarError, match="not an iCalendar"):
        ics_holidays("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n")


def test_the_ics_extra_is_named_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "icalendar", None)
    with pytest.raises(MissingExtra, match=r"carekit\[ics\]"):
        ics_holidays(ICS)


def test_the_policy_file_says_all_of_it(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "id.ics").write_bytes(ICS.read_bytes())
    (tmp_path / "policies.toml").write_text(
        """
[calendars.jakarta]
timezone = "Asia/Jakarta"
hours = { "mon-fri" = ["08:00:30-17:00"] }
breaks = ["12:00-13:00"]
holidays = { "2026-03-19" = "Nyepi", "12-25" = "Christmas" }
ics = "feeds/id.ics"
overrides = { "2026-12-25" = ["09:00-11:00"] }
precedence = "holiday"
end_of_shift = "next_opening"
""",
        encoding="utf-8",
    )
    cal = load_policies(tmp_path / "policies.toml").calendars["jakarta"]
    assert cal.holiday(date(2026, 3, 19)) == "Nyepi"
    assert cal.holiday(date(2030, 8, 17)) == "Hari Kemerdekaan"
    assert not cal.is_open(wib(2026, 12, 25, 10))  # the holiday wins, as the file says
    assert not cal.is_open(wib(2026, 3, 2, 12, 30))  # the break
    assert cal.next_open(wib(2026, 3, 3, 7)) == wib(2026, 3, 3, 8) + timedelta(seconds=30)
    assert local(cal.add(wib(2026, 3, 6, 16), timedelta(hours=1))) == "Mon 2026-03-09 08:00:30"


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ('precedence = "whichever"', "calendars.j.precedence"),
        ("end_of_shift = 3", "calendars.j.end_of_shift"),
        ('breaks = ["12:00"]', "calendars.j.breaks[0]"),
        ('breaks = { funday = ["12:00-13:00"] }', "calendars.j.breaks.funday"),
        ('holidays = ["13-40"]', "calendars.j.holidays[0]"),
        ('holidays = { "08-17" = "" }', "calendars.j.holidays.08-17"),
        ('ics = "missing.ics"', "calendars.j.ics"),
        ("ics = 3", "calendars.j.ics"),
        ('brakes = ["12:00-13:00"]', "calendars.j.brakes"),
    ],
)
def test_the_policy_file_names_each_new_field_in_its_errors(line: str, path: str) -> None:
    hours = 'hours = { "mon-fri" = ["08:00-17:00"] }'
    text = f'[calendars.j]\ntimezone = "Asia/Jakarta"\n{hours}\n{line}\n'
    with pytest.raises(PolicyFileError) as info:
        loads_policies(text)
    assert path in [e.path for e in info.value.errors]


# -- business days in SLA targets -------------------------------------------------------------


def test_a_target_in_business_days_is_due_at_the_same_wall_time() -> None:
    cal = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"},
                           holidays={"2026-03-19": "Nyepi"})  # fmt: skip
    policy = SlaPolicy("days", {Metric.FIRST_RESPONSE: Target.days(2)}, calendar=cal)
    opened = wib(2026, 3, 18, 16, 30)  # Wednesday; Thursday is Nyepi
    ticket = Ticket.open("T-1", channel="email", customer_id="c", at=opened)
    clock = policy.evaluate(ticket, now=opened)[Metric.FIRST_RESPONSE]
    assert clock.due_at == wib(2026, 3, 23, 16, 30)  # Friday, then Monday
    assert clock.target.duration == timedelta(hours=18)  # the working time in between
    assert "target 2 business days (18h of working time)" in "\n".join(clock.explain())
    late = Lifecycle().apply(ticket, "agent_reply", at=wib(2026, 3, 23, 16, 31), actor="ana")
    assert policy.evaluate(late, now=wib(2026, 3, 24))[Metric.FIRST_RESPONSE].breached
    assert policy.may_have_breached(late, now=wib(2026, 3, 24))  # never skipped
    in_time = Lifecycle().apply(ticket, "agent_reply", at=wib(2026, 3, 23, 16, 29), actor="ana")
    assert not policy.evaluate(in_time, now=wib(2026, 3, 24))[Metric.FIRST_RESPONSE].breached
    with pytest.raises(PolicyError, match="business_days"):
        Target(timedelta(hours=1), business_days=0)


def test_the_policy_file_takes_business_days() -> None:
    policies = loads_policies(
        '[calendars.j]\ntimezone = "Asia/Jakarta"\nhours = { "mon-fri" = ["08:00-17:00"] }\n'
        '[policies.p]\ncalendar = "j"\n[policies.p.targets]\n'
        'first_response = "2 business days"\nresolution = { duration = "1 business day" }\n'
    )
    targets = {str(k.metric): t for k, t in policies.policies["p"].targets.items()}
    assert (targets["first_response"].business_days, targets["resolution"].business_days) == (2, 1)
    with pytest.raises(PolicyFileError, match="2 business days"):
        loads_policies('[policies.p.targets]\nfirst_response = "0 business days"\n')


@settings(max_examples=100, deadline=None)
@given(name=names, start=instants, duration=durations)
def test_next_opening_differs_from_keep_only_on_a_closing(
    name: str, start: datetime, duration: timedelta
) -> None:
    keep, _ = PAIRS[name]
    roll = BusinessCalendar(**CASES[name], end_of_shift="next_opening")  # type: ignore[arg-type]
    kept, rolled = keep.add(start, duration), roll.add(start, duration)
    if keep.is_open(kept):
        assert rolled == kept  # landed inside a span: the same
    else:
        assert rolled == keep.next_open(kept)  # landed on a closing: its next opening
    assert roll.between(start, rolled) == duration
