from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit import BusinessCalendar, country_holidays
from carekit.exceptions import (
    CalendarError,
    InvalidType,
    MissingExtra,
    NaiveDatetimeError,
    UnknownTimezoneError,
)

from .reference_calendar import ReferenceCalendar

H = timedelta(hours=1)
JAKARTA_HOURS = {"mon-fri": ["08:00-17:00"]}
JAKARTA_HOLIDAYS = [date(2026, 3, 19), date(2026, 3, 20), date(2026, 8, 17)]
TWO_SHIFTS = {"mon-fri": ["06:00-14:00", "14:00-22:00"], "sat": ["08:00-12:00"]}
OVERNIGHT = {"mon-fri": ["22:00-06:00"]}
# Shifts across the hours that DST skips or repeats (Sunday nights, both zones)
NY_HOURS = {"mon-fri": ["09:00-17:00"], "sun": ["00:30-02:30", "03:00-05:00"]}
BERLIN_HOURS = {"mon-sat": ["07:00-12:00", "13:00-19:30"], "sun": ["01:00-04:00"]}

CASES = {
    "jakarta": ("Asia/Jakarta", JAKARTA_HOURS, JAKARTA_HOLIDAYS),
    "two_shifts": ("Asia/Jakarta", TWO_SHIFTS, [date(2026, 12, 25)]),
    "overnight": ("Europe/Berlin", OVERNIGHT, [date(2026, 3, 30)]),
    "new_york": ("America/New_York", NY_HOURS, [date(2026, 11, 26)]),
    "berlin": ("Europe/Berlin", BERLIN_HOURS, []),
}


def jkt(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return pendulum.datetime(year, month, day, hour, minute, second, tz="Asia/Jakarta")


@pytest.fixture
def jakarta() -> BusinessCalendar:
    return BusinessCalendar("Asia/Jakarta", hours=JAKARTA_HOURS, holidays=JAKARTA_HOLIDAYS)


def test_friday_afternoon_email_rolls_to_monday(jakarta: BusinessCalendar) -> None:
    """8 working hours from Friday 16:30: 30 min on Friday, 7.5 h on Monday."""
    due = jakarta.add(jkt(2026, 3, 6, 16, 30), 8 * H)
    assert jkt(2026, 3, 9, 15, 30) == due
    assert UTC is due.tzinfo


def test_holidays_are_skipped(jakarta: BusinessCalendar) -> None:
    """Nyepi and the day after (Thu, Fri) are closed: Wednesday 16:00 + 2 h is Monday 09:00."""
    assert jkt(2026, 3, 23, 9, 0) == jakarta.add(jkt(2026, 3, 18, 16, 0), 2 * H)
    assert not jakarta.is_open(jkt(2026, 3, 19, 10, 0))


def test_override_gives_a_date_its_own_hours() -> None:
    """A half day and a special Saturday opening replace the weekday's hours."""
    cal = BusinessCalendar(
        "Asia/Jakarta",
        hours=JAKARTA_HOURS,
        overrides={"2026-03-06": ["08:00-12:00"], date(2026, 3, 7): ["10:00-14:00"]},
    )
    assert not cal.is_open(jkt(2026, 3, 6, 13, 0))
    assert cal.is_open(jkt(2026, 3, 7, 10, 0))
    assert 8 * H == cal.between(jkt(2026, 3, 6, 0, 0), jkt(2026, 3, 8, 0, 0))


def test_split_shift_and_lunch_break() -> None:
    """Several intervals a day: a lunch break is not working time."""
    cal = BusinessCalendar("Asia/Jakarta", hours={"mon": [("08:00", "12:00"), "13:00-17:00"]})
    assert 8 * H == cal.between(jkt(2026, 3, 2, 0, 0), jkt(2026, 3, 3, 0, 0))
    assert jkt(2026, 3, 2, 13, 30) == cal.add(jkt(2026, 3, 2, 11, 30), H)


def test_overnight_shift_means_what_it_says() -> None:
    """22:00-06:00 on Monday runs into Tuesday morning; 24:00 closes a day."""
    cal = BusinessCalendar("Asia/Jakarta", hours={"mon": ["22:00-06:00"], "wed": ["18:00-24:00"]})
    assert cal.is_open(jkt(2026, 3, 3, 5, 59))  # Tuesday, before six
    assert not cal.is_open(jkt(2026, 3, 3, 6, 0))
    assert 8 * H == cal.between(jkt(2026, 3, 2, 0, 0), jkt(2026, 3, 4, 0, 0))
    assert jkt(2026, 3, 3, 1, 0) == cal.add(jkt(2026, 3, 2, 12, 0), 3 * H)
    assert 6 * H == cal.between(jkt(2026, 3, 4, 0, 0), jkt(2026, 3, 5, 0, 0))


@pytest.mark.parametrize(
    ("zone", "short_day", "long_day"),
    [
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ],
)
def test_dst_days_lose_and_gain_an_hour(zone: str, short_day: date, long_day: date) -> None:
    """An interval spanning the DST gap has one hour less; one spanning the overlap one more."""
    cal = BusinessCalendar(zone, hours={"sun": ["00:00-06:00"]})

    def day(d: date) -> timedelta:
        start = pendulum.datetime(d.year, d.month, d.day, tz=zone)
        return cal.between(start, start.add(days=1))

    assert 5 * H == day(short_day)
    assert 7 * H == day(long_day)
    assert 6 * H == day(short_day + timedelta(days=7))


def test_boundary_in_the_gap_takes_effect_when_clocks_jump() -> None:
    """A shift starting 02:30 on the spring-forward night starts at 03:00 (the jump)."""
    cal = BusinessCalendar("America/New_York", hours={"sun": ["02:30-04:00"]})
    start = pendulum.datetime(2026, 3, 8, tz="America/New_York")
    jump = pendulum.datetime(2026, 3, 8, 3, 0, tz="America/New_York")
    assert jump == cal.next_open(start)
    assert H == cal.between(start, start.add(days=1))


def test_between_is_negative_backwards(jakarta: BusinessCalendar) -> None:
    """between(b, a) == -between(a, b)."""
    a, b = jkt(2026, 3, 6, 9, 0), jkt(2026, 3, 9, 9, 0)
    assert 9 * H == jakarta.between(a, b)
    assert -9 * H == jakarta.between(b, a)


def test_add_negative_goes_back_in_working_time(jakarta: BusinessCalendar) -> None:
    """Two working hours before Monday 09:00 is Friday 16:00."""
    assert jkt(2026, 3, 6, 16, 0) == jakarta.add(jkt(2026, 3, 9, 9, 0), -2 * H)


def test_is_open_and_next_open(jakarta: BusinessCalendar) -> None:
    """Closed on Saturday; next opening is Monday 08:00; open instants return themselves."""
    saturday = jkt(2026, 3, 7, 12, 0)
    assert not jakarta.is_open(saturday)
    assert jkt(2026, 3, 9, 8, 0) == jakarta.next_open(saturday)
    monday = jkt(2026, 3, 9, 8, 0)
    assert jakarta.is_open(monday)
    assert monday == jakarta.next_open(monday)
    assert not jakarta.is_open(jkt(2026, 3, 9, 17, 0))  # the end is exclusive


def test_always_open_is_plain_arithmetic() -> None:
    """The 24/7 calendar: 30 seconds are 30 seconds, any day."""
    cal = BusinessCalendar.always_open()
    start = datetime(2026, 12, 31, 23, 59, 45, tzinfo=UTC)
    assert start + timedelta(seconds=30) == cal.add(start, timedelta(seconds=30))
    assert cal.is_always_open
    assert cal.is_open(start)


def test_second_precision(jakarta: BusinessCalendar) -> None:
    """Thirty seconds of working time are thirty seconds, not a minute."""
    start = jkt(2026, 3, 9, 16, 59, 45)
    assert jkt(2026, 3, 10, 8, 0, 15) == jakarta.add(start, timedelta(seconds=30))


def test_calendar_spans_years(jakarta: BusinessCalendar) -> None:
    """Arithmetic across the new year, far from the first query, stays exact."""
    start = jkt(2026, 12, 31, 16, 0)
    assert jkt(2027, 1, 1, 9, 0) == jakarta.add(start, 2 * H)
    assert 2 * H == jakarta.between(start, jkt(2027, 1, 1, 9, 0))
    assert jkt(2030, 6, 3, 9, 0) == jakarta.add(jkt(2030, 5, 31, 16, 0), 2 * H)


def test_no_working_time_is_an_error_not_a_hang() -> None:
    """A calendar with no hours at all raises instead of searching forever."""
    cal = BusinessCalendar("UTC", hours={})
    with pytest.raises(CalendarError, match="no working time"):
        cal.add(datetime(2026, 1, 1, tzinfo=UTC), H)


@pytest.mark.parametrize(
    ("hours", "where", "match"),
    [
        ({"mon": ["08:00-12:00", "11:00-13:00"]}, "monday", "overlaps"),
        ({"tue": ["09:00-09:00"]}, "tuesday", "empty"),
        ({"wed": ["25:00-26:00"]}, "wednesday", "not a time|24:00"),
        ({"thu": ["24:00-02:00"]}, "thursday", "24:00 only as an end"),
        ({"fri": ["8-17"]}, "friday", "not a time"),
        (
            {"mon": ["22:00-06:00"], "tue": ["05:00-09:00"]},
            "tuesday",
            "overnight shift from monday",
        ),
        ({"funday": ["08:00-12:00"]}, "hours", "not a weekday"),
    ],
)
def test_bad_definitions_name_the_day_and_interval(
    hours: dict[str, list[str]], where: str, match: str
) -> None:
    """Every bad definition raises CalendarError naming the weekday and the interval."""
    with pytest.raises(CalendarError, match=match) as info:
        BusinessCalendar("UTC", hours=hours)
    assert where == info.value.where
    assert isinstance(info.value, ValueError)


def test_unknown_zone_and_naive_datetimes_are_refused(jakarta: BusinessCalendar) -> None:
    """An unknown zone and a naive instant are typed errors."""
    with pytest.raises(UnknownTimezoneError):
        BusinessCalendar("Asia/Atlantis", hours={})
    with pytest.raises(NaiveDatetimeError):
        jakarta.add(datetime(2026, 3, 2, 9, 0), H)  # noqa: DTZ001
    with pytest.raises(NaiveDatetimeError):
        jakarta.between(jkt(2026, 3, 2), datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001


def test_country_holidays_for_indonesia() -> None:
    """The optional extra gives Indonesia's holidays: Independence Day is one."""
    days = country_holidays("ID", [2026])
    assert date(2026, 8, 17) in days
    cal = BusinessCalendar("Asia/Jakarta", hours=JAKARTA_HOURS, holidays=days)
    assert not cal.is_open(jkt(2026, 8, 17, 10, 0))


def test_missing_extra_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the holidays package the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(MissingExtra, match=r"carekit\[holidays\]") as info:
        country_holidays("ID", [2026])
    assert isinstance(info.value, ImportError)


# -- against the reference ---------------------------------------------------------

CALENDARS = {
    name: (BusinessCalendar(z, hours=h, holidays=hol), ReferenceCalendar(z, h, hol))
    for name, (z, h, hol) in CASES.items()
}
instants = st.integers(
    min_value=int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2027, 12, 31, tzinfo=UTC).timestamp()),
).map(lambda s: datetime.fromtimestamp(s, UTC))
durations = st.integers(min_value=1, max_value=60 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(CALENDARS)), start=instants, duration=durations)
def test_add_agrees_with_the_reference(name: str, start: datetime, duration: timedelta) -> None:
    """The fast add equals the minute-walking reference, DST zones included."""
    fast, slow = CALENDARS[name]
    assert slow.add(start, duration) == fast.add(start, duration)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(CALENDARS)), start=instants, span=durations)
def test_between_agrees_with_the_reference(name: str, start: datetime, span: timedelta) -> None:
    """The fast between equals the reference, forwards and backwards."""
    fast, slow = CALENDARS[name]
    end = start + span
    assert slow.between(start, end) == fast.between(start, end)
    assert slow.is_open(start) == fast.is_open(start)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(CALENDARS)), start=instants, d=durations, e=durations)
def test_add_round_trips_and_is_monotonic(
    name: str, start: datetime, d: timedelta, e: timedelta
) -> None:
    """between(s, add(s, d)) == d; add is monotonic in d; going back undoes going forward."""
    cal, _ = CALENDARS[name]
    due = cal.add(start, d)
    assert d == cal.between(start, due)
    assert due >= start
    lo, hi = sorted([d, e])
    assert cal.add(start, lo) <= cal.add(start, hi)
    assert cal.between(start, due) == -cal.between(due, start)
    back = cal.add(due, -d)
    assert cal.between(back, due) == d


DST_EDGES = [
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # New York springs forward
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York falls back
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Berlin springs forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Berlin falls back
]
near_dst = st.tuples(
    st.sampled_from(DST_EDGES), st.integers(min_value=-3 * 86_400, max_value=86_400)
).map(lambda p: p[0] + timedelta(seconds=p[1]))


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["new_york", "berlin", "overnight"]),
    start=near_dst,
    duration=st.integers(min_value=1, max_value=12 * 3600).map(lambda s: timedelta(seconds=s)),
)
def test_dst_nights_agree_with_the_reference(
    name: str, start: datetime, duration: timedelta
) -> None:
    """Around every transition, add and between equal the reference."""
    fast, slow = CALENDARS[name]
    assert slow.add(start, duration) == fast.add(start, duration)
    assert slow.between(start, start + duration) == fast.between(start, start + duration)


def test_wrong_types_are_typed_errors() -> None:
    """hours=None, a number for a duration, a string for an instant: InvalidType, naming it."""
    calendar = BusinessCalendar.always_open()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: BusinessCalendar(hours=None), "hours"),  # type: ignore[arg-type]
        (lambda: calendar.add(start, 3600), "duration"),  # type: ignore[arg-type]
        (lambda: calendar.between("2026-03-02", start), "start"),  # type: ignore[arg-type]
        (lambda: BusinessCalendar(hours={}, holidays="2026-01-01"), "holidays"),
    ]
    for call, field in calls:
        with pytest.raises(InvalidType) as info:
            call()
        assert field == info.value.field
        assert isinstance(info.value, TypeError)
    with pytest.raises(NaiveDatetimeError):
        calendar.between(datetime(2026, 3, 2), start)  # noqa: DTZ001 - naive on purpose


# -- the years calendars cover, and work that does not grow with the span ------------


def weekday_hours_reference(start: datetime, hours: int) -> datetime:
    """Mon-Fri 08:00-17:00 UTC, walked day by day: 9 working hours a weekday."""
    day, left = start.date(), timedelta(hours=hours)
    opening = max(start, datetime.combine(day, datetime.min.time(), UTC) + 8 * H)
    while True:
        if day.weekday() < 5:
            closing = datetime.combine(day, datetime.min.time(), UTC) + 17 * H
            if opening < closing:
                if closing - opening >= left:
                    return opening + left
                left -= closing - opening
        day += timedelta(days=1)
        opening = datetime.combine(day, datetime.min.time(), UTC) + 8 * H


def test_sixty_thousand_hours_are_found_not_refused() -> None:
    """26 years of working time: "no working time within 10 years" before."""
    cal = BusinessCalendar("UTC", hours={"mon-fri": ["08:00-17:00"]})
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    due = cal.add(start, 60_000 * H)
    assert weekday_hours_reference(start, 60_000) == due
    assert 60_000 * H == cal.between(start, due)
    assert start == cal.add(due, -60_000 * H)


@pytest.mark.parametrize(
    "zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Berlin"]
)
@pytest.mark.parametrize(
    "at",
    [
        datetime(1, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2, 3, 1, 12, 0, tzinfo=UTC),
        datetime(9998, 6, 1, 12, 0, tzinfo=UTC),
        datetime(9999, 12, 20, 12, 0, tzinfo=UTC),
    ],
)
def test_the_first_and_last_years_work(zone: str, at: datetime) -> None:
    """Years 1-2 and 9998-9999 raised ValueError('year 0 is out of range') before."""
    cal = BusinessCalendar(zone, hours={"mon-fri": ["08:00-17:00"]})
    due = cal.add(at, 20 * H)
    assert 20 * H == cal.between(at, due)
    assert cal.is_open(cal.next_open(at))
    assert at <= cal.next_open(at) <= due


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda cal: cal.add(datetime(9999, 12, 30, tzinfo=UTC), 100 * H), "calendar"),
        (lambda cal: cal.add(datetime(1, 1, 3, tzinfo=UTC), -100 * H), "calendar"),
        (lambda cal: cal.next_open(datetime(9999, 12, 31, 20, tzinfo=UTC)), "calendar"),
        (
            lambda cal: cal.is_open(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
            "at",
        ),
    ],
)
def test_beyond_the_covered_years_is_a_calendar_error(call: Any, where: str) -> None:
    """A result or an instant outside the years 1 to 9999: CalendarError, never ValueError."""
    cal = BusinessCalendar("Europe/Berlin", hours={"mon-fri": ["08:00-17:00"]})
    with pytest.raises(CalendarError, match="years 1 to 9999") as info:
        call(cal)
    assert where == info.value.where


def test_a_far_query_leaves_no_window_behind() -> None:
    """One query in 2300 kept a 277-year window before; now a few years stay built."""
    cal = BusinessCalendar("Europe/Berlin", hours={"mon-fri": ["08:00-17:00"]})
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    far = cal.between(start, datetime(2526, 3, 2, 9, 0, tzinfo=UTC))
    assert far == timedelta(days=48916, hours=19)
    cal.is_open(datetime(2300, 1, 1, tzinfo=UTC))
    assert len(cal._windows) <= 8
    assert len(cal._blocks) <= 12
    assert 2 * H == cal.between(start, start + 2 * H)


def test_no_working_time_before_is_an_error_too() -> None:
    """Only overrides in 2026: nothing after them, nothing before them."""
    cal = BusinessCalendar("UTC", hours={}, overrides={"2026-03-02": ["08:00-12:00"]})
    assert datetime(2026, 3, 2, 8, tzinfo=UTC) == cal.next_open(datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(CalendarError, match="no working time after"):
        cal.add(datetime(2026, 6, 1, tzinfo=UTC), H)
    with pytest.raises(CalendarError, match="no working time before"):
        cal.add(datetime(2025, 6, 1, tzinfo=UTC), -H)
    assert datetime(2026, 3, 2, 11, tzinfo=UTC) == cal.add(datetime(2027, 1, 1, tzinfo=UTC), -H)


FAR_ZONES = ["Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "Africa/Casablanca"]
far_instants = st.integers(
    min_value=int(datetime(1900, 1, 1, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2200, 1, 1, tzinfo=UTC).timestamp()),
).map(lambda s: datetime.fromtimestamp(s, UTC))


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(FAR_ZONES), a=far_instants, b=far_instants, c=far_instants)
def test_year_totals_agree_with_the_spans_they_stand_for(
    zone: str, a: datetime, b: datetime, c: datetime
) -> None:
    """Counting across years (totals without spans) equals laying the spans out.

    between is additive over any split, and each year's counted total equals the
    sum of its spans, in zones whose offsets change at odd times.
    """
    cal = BusinessCalendar(
        zone,
        hours={"mon-fri": ["08:00-12:00", "13:00-17:00"], "sat": ["22:00-06:00"]},
        holidays=[date(1999, 12, 31), date(2026, 3, 30)],
        overrides={date(2026, 3, 29): ["06:00-23:00"], date(2100, 1, 1): []},
    )
    assert cal.between(a, c) == cal.between(a, b) + cal.between(b, c)
    for year in {a.year, b.year, c.year}:
        assert cal._block_total(year) == sum(e - s for s, e in cal._block(year))


@settings(max_examples=80, deadline=None)
@given(
    zone=st.sampled_from([*FAR_ZONES, "America/New_York", "Pacific/Chatham"]),
    year=st.one_of(
        st.integers(1, 9999),
        st.sampled_from([1, 2, 1799, 1800, 1834, 2087, 2199, 2200, 2599, 2600, 9998, 9999]),
    ),
)
def test_counted_years_equal_their_spans_in_every_era(zone: str, year: int) -> None:
    """Before 1800 (no zone has changed yet), the tz database's years, and from 2600 on
    (each year its twin's correction, 400 years earlier): counted total == laid-out spans."""
    cal = BusinessCalendar(
        zone,
        hours={"mon-fri": ["08:00-12:00", "13:00-17:00"], "sun": ["22:00-03:00"]},
        holidays=[date(2605, 3, 29), date(2999, 10, 27)],
        overrides={date(2205, 3, 29): ["01:00-04:00"]},
    )
    assert cal._block_total(year) == sum(e - s for s, e in cal._block(year))
