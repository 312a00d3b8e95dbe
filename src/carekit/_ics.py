"""Holidays from an iCalendar feed (``.ics``), the way helpdesks import public holidays.

Needs the ``ics`` extra (``icalendar``), imported when a feed is read. Every
event is a holiday named by its ``SUMMARY``, on each date it covers (``DTEND``
is exclusive, as the standard says); recurring events (``RRULE``, ``RDATE``,
``EXDATE``) are expanded year by year when a calendar asks for a year, so a
yearly rule needs no expansion by the host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from carekit._check import checked
from carekit.exceptions import CalendarError, InvalidType, MissingExtra

__all__ = ["IcsHolidays", "ics_holidays"]

_DAY = timedelta(days=1)


def _day(value: object) -> date:
    return value.date() if isinstance(value, datetime) else value  # type: ignore[return-value]


def _dates(prop: object) -> list[date]:
    """The dates of an ``EXDATE`` or ``RDATE`` property (one or several lines)."""
    lines = prop if isinstance(prop, list) else [prop] if prop is not None else []
    return [_day(d.dt) for line in lines for d in getattr(line, "dts", [])]


class IcsHolidays:
    """The holidays of an iCalendar feed, asked year by year (a :class:`HolidayFeed`).

    Build it with :func:`ics_holidays`.
    """

    def __init__(self, events: list[tuple[date, int, str, Any, list[date], list[date]]]) -> None:
        self._events = events  # (start, days, name, rule, extra dates, excluded dates)
        self._years: dict[int, dict[date, str]] = {}

    def __call__(self, year: int, /) -> Mapping[date, str]:
        """The holidays of ``year`` with their names."""
        known = self._years.get(year)
        if known is None:
            known = self._years[year] = self._expand(year)
        return known

    def _expand(self, year: int) -> dict[date, str]:
        first, last = date(year, 1, 1), date(year, 12, 31)
        found: dict[date, str] = {}
        for start, days, name, rule, extra, excluded in self._events:
            starts = [start, *extra]
            if rule is not None:
                lo = datetime.combine(first - days * _DAY, datetime.min.time())
                hi = datetime.combine(last, datetime.min.time())
                starts = [_day(d) for d in rule.between(lo, hi, inc=True)] + extra
            for begin in starts:
                if begin in excluded:
                    continue
                for k in range(days):
                    day = begin + k * _DAY
                    if first <= day <= last:
                        found.setdefault(day, name)
        return found


@checked
def ics_holidays(source: str | bytes | os.PathLike[str]) -> IcsHolidays:
    """The holidays of an iCalendar file (a path) or text, for ``BusinessCalendar(holidays=...)``.

    Raises:
        MissingExtra: ``icalendar`` is not installed (``pip install carekit[ics]``).
        CalendarError: the file cannot be read or is not iCalendar (named with it).
    """
    try:
        import icalendar  # noqa: PLC0415 - an optional extra, imported when asked for
        from dateutil.rrule import rrulestr  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError as exc:
        raise MissingExtra("ics", "icalendar") from exc
    if not isinstance(source, str | bytes | os.PathLike):
        raise InvalidType("source", source, "a path, or the iCalendar text as str or bytes")
    where = "ics"
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and not source.lstrip().startswith("BEGIN:")
    ):
        where = str(source)
        try:
            source = Path(source).read_bytes()
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "not a file name"
            raise CalendarError("ics", where, f"cannot be read: {reason}") from exc
    try:
        feed = icalendar.Calendar.from_ical(source)
        events = []
        for event in feed.walk("VEVENT"):
            start = _day(event.decoded("DTSTART"))
            end = _day(event.decoded("DTEND")) if "DTEND" in event else start + _DAY
            days = max(1, (end - start).days)
            rule = None
            if "RRULE" in event:
                raw: Any = event["RRULE"].to_ical()
                text = raw.decode() if isinstance(raw, bytes) else str(raw)
                rule = rrulestr(text, dtstart=datetime.combine(start, datetime.min.time()))
            name = str(event.get("SUMMARY", "holiday")) or "holiday"
            events.append(
                (start, days, name, rule, _dates(event.get("RDATE")), _dates(event.get("EXDATE")))
            )
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise CalendarError("ics", where, f"is not an iCalendar feed of events: {exc}") from exc
    return IcsHolidays(events)
