"""Opening hours as people write them: times of day, intervals, weekdays, breaks, holidays.

Parsing only; :mod:`carekit._calendar` does the arithmetic. A time is
``"HH:MM"`` or ``"HH:MM:SS"``; an interval ``"08:00-17:00"`` or a pair; an end
before its start crosses midnight. Every error is a ``CalendarError`` naming
where it was found (the weekday, the date, ``breaks``, ``holidays``). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from itertools import pairwise
from typing import Protocol

from carekit.exceptions import CalendarError

__all__ = [
    "WEEKDAYS",
    "HolidayFeed",
    "Span",
    "as_date",
    "fmt",
    "holiday_table",
    "length",
    "spans",
    "subtract",
    "weekday_keys",
    "weekday_table",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY = 86_400

Span = tuple[int, int]
"""Seconds from the start of the day; the end may pass 86,400 (an overnight shift)."""


class HolidayFeed(Protocol):
    """A source of holidays asked year by year (an iCalendar feed, a country's list).

    A calendar asks it once per year it needs, and keeps the answer.
    """

    def __call__(self, year: int, /) -> Mapping[date, str]:
        """The holidays of ``year`` (dates with their names)."""
        ...


_TIME = re.compile(r"^([0-2]\d):([0-5]\d)(?::([0-5]\d))?$")
_YEARLY = re.compile(r"^(?:--)?(\d\d)-(\d\d)$")


def _seconds(text: object, where: str, spec: object, *, end: bool) -> int:
    match = _TIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(where, spec, f"has {text!r}, which is not a time as 'HH:MM[:SS]'")
    value = int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3] or 0)
    if value > DAY or (value == DAY and not end):
        raise CalendarError(
            where, spec, f"has {text!r}: times run from 00:00 to 24:00 (24:00 only as an end)"
        )
    return value


def _span(spec: object, where: str) -> Span:
    if isinstance(spec, str):
        parts: Sequence[object] = spec.split("-")
    elif isinstance(spec, Sequence) and not isinstance(spec, str | bytes):
        parts = list(spec)
    else:
        raise CalendarError(where, spec, "is not an interval such as '08:00-17:00'")
    if len(parts) != 2:
        raise CalendarError(where, spec, "is not an interval such as '08:00-17:00'")
    start = _seconds(parts[0], where, spec, end=False)
    end = _seconds(parts[1], where, spec, end=True)
    if start == end:
        raise CalendarError(where, spec, "is empty (start equals end)")
    if end < start:  # crosses midnight: runs into the next day
        end += DAY
    return (start, end)


def spans(specs: object, where: str) -> tuple[Span, ...]:
    """The intervals of ``specs`` (a list, or one string of comma-separated intervals)."""
    if isinstance(specs, str):
        specs = [s.strip() for s in specs.split(",") if s.strip()]
    if not isinstance(specs, Iterable):
        raise CalendarError(where, specs, "is not a list of intervals")
    found = sorted(_span(spec, where) for spec in specs)
    for (s1, e1), (s2, e2) in pairwise(found):
        if s2 < e1:
            raise CalendarError(where, fmt((s2, e2)), f"overlaps {fmt((s1, e1))} on the same day")
    return tuple(found)


def _clock(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if s else f"{h:02d}:{m:02d}"


def fmt(span: Span) -> str:
    """``"08:00-17:00"`` (``"08:00:30-17:00"`` when a time has seconds)."""
    s, e = span
    return f"{_clock(s)}-{_clock(e - DAY if e > DAY else e)}"


def length(found: Sequence[Span]) -> int:
    """The seconds the spans cover."""
    return sum(e - s for s, e in found)


def subtract(found: Sequence[Span], breaks: Sequence[Span]) -> tuple[Span, ...]:
    """``found`` without ``breaks``; a break also applies past midnight to an overnight shift."""
    cuts = sorted([*breaks, *((s + DAY, e + DAY) for s, e in breaks)])
    out: list[Span] = []
    for start, end in found:
        at = start
        for cut_s, cut_e in cuts:
            if cut_e <= at or cut_s >= end:
                continue
            if cut_s > at:
                out.append((at, cut_s))
            at = max(at, cut_e)
        if at < end:
            out.append((at, end))
    return tuple(out)


def _weekday(key: object, where: str) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str):
        name = key.strip().lower()
        for i, day in enumerate(WEEKDAYS):
            if name in {day, day[:3]}:
                return i
    raise CalendarError(where, key, "is not a weekday (monday..sunday, mon..sun or 0..6)")


def weekday_keys(key: object, where: str = "hours") -> list[int]:
    """The weekdays ``key`` names: one (``"mon"``, ``0``) or a range (``"mon-fri"``)."""
    if isinstance(key, str) and "-" in key:
        first, last = (_weekday(k, where) for k in key.split("-", 1))
        return (
            list(range(first, last + 1)) if first <= last else [*range(first, 7), *range(last + 1)]
        )
    return [_weekday(key, where)]


def weekday_table(table: object, where: str) -> tuple[tuple[Span, ...], ...]:
    """Intervals per weekday from a mapping of weekday keys; a day not named has none."""
    if not isinstance(table, Mapping):
        raise CalendarError(where, table, "is not a mapping of weekdays to intervals")
    week: list[tuple[Span, ...]] = [() for _ in WEEKDAYS]
    named: set[int] = set()
    for key, specs in table.items():
        for day in weekday_keys(key, where):
            if day in named:
                raise CalendarError(WEEKDAYS[day], specs, f"is given twice in {where}")
            named.add(day)
            week[day] = spans(specs, WEEKDAYS[day] if where == "hours" else f"{where}.{key}")
    return tuple(week)


def as_date(value: object, where: str) -> date:
    """A date from a date or ``"YYYY-MM-DD"``; a datetime is refused."""
    if isinstance(value, datetime):
        raise CalendarError(where, value, "is a datetime; give a date")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError(where, value, "is not a date (YYYY-MM-DD, or MM-DD every year)")


def _yearly(value: object) -> tuple[int, int] | None:
    match = _YEARLY.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    month, day = int(match[1]), int(match[2])
    try:
        date(2000, month, day)  # a leap year: 02-29 is a date (only in leap years)
    except ValueError:
        return None
    return (month, day)


def holiday_table(
    holidays: object,
) -> tuple[dict[date, str], dict[tuple[int, int], str], list[HolidayFeed]]:
    """One-off dates, yearly dates (month, day) and feeds, each with its name.

    ``holidays`` is a list (of dates, ``"YYYY-MM-DD"``, ``"MM-DD"`` for every
    year, or feeds) or a mapping of those dates to names.
    """
    if isinstance(holidays, str | bytes) or not isinstance(holidays, Iterable):
        raise CalendarError("holidays", holidays, "is not a list of dates or a mapping to names")
    named: Mapping[object, object] = (
        holidays if isinstance(holidays, Mapping) else dict.fromkeys(holidays, "holiday")
    )
    once: dict[date, str] = {}
    yearly: dict[tuple[int, int], str] = {}
    feeds: list[HolidayFeed] = []
    for key, name in named.items():
        if callable(key):
            feeds.append(key)
            continue
        if not isinstance(name, str) or not name:
            raise CalendarError("holidays", key, f"has no name for the holiday (got {name!r})")
        every = _yearly(key)
        if every is not None:
            yearly[every] = name
        else:
            once[as_date(key, "holidays")] = name
    return once, yearly, feeds
