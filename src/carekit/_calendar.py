"""Business calendars: when a desk works, and working-time arithmetic over it.

Theory of operation
-------------------
A calendar is defined in wall-clock terms in its own zone: working intervals
per weekday ("08:00"-"17:00"; several per day; "24:00" closes a day; an end
before the start crosses midnight), whole-day holidays, and per-date
overrides. An interval belongs to the date it starts on, so a holiday removes
the shifts that *start* on it.

**Definition.** An instant is working time exactly when its wall-clock time in
the calendar's zone falls inside one of the intervals of its date (or inside
the part of the previous date's overnight shift that runs past midnight). That
one rule settles DST: a day that loses an hour has one hour less inside an
interval spanning the gap; a day that gains one has one more; a boundary that
falls in a gap takes effect when the clocks jump.

**Speed.** For each year that a query touches, the intervals are turned into
UTC epoch-second spans once (splitting each at the zone's offset changes),
merged, and their cumulative working seconds recorded. Then
``W(x)`` (working seconds from the window's origin to ``x``) is one bisect,
``between(a, b) = W(b) - W(a)`` and ``add(a, d)`` is the bisect that finds
where ``W`` reaches ``W(a) + d``. The cost does not depend on the span.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any

import attrs

from carekit._time import zone
from carekit.exceptions import CalendarError, InvalidValue, NaiveDatetimeError

__all__ = ["WEEKDAYS", "BusinessCalendar", "IntervalSpec"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = 86_400
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: wall-clock epoch
_HORIZON_YEARS = 10  # how far add() looks for working time before giving up

IntervalSpec = str | Sequence[str]
"""An interval as ``"08:00-17:00"`` or as a pair ``("08:00", "17:00")``."""

_HHMM = re.compile(r"^([0-2]\d):([0-5]\d)$")
_Span = tuple[int, int]  # minutes from the start of the day; the end may pass 1440


def _minutes(text: object, where: str, spec: object, *, end: bool) -> int:
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(where, spec, f"has {text!r}, which is not a time as 'HH:MM'")
    hours, minutes = int(match[1]), int(match[2])
    value = hours * 60 + minutes
    if value > 1440 or (value == 1440 and not end):
        raise CalendarError(
            where, spec, f"has {text!r}: times run from 00:00 to 24:00 (24:00 only as an end)"
        )
    return value


def _span(spec: object, where: str) -> _Span:
    if isinstance(spec, str):
        parts: Sequence[object] = spec.split("-")
    elif isinstance(spec, Sequence) and not isinstance(spec, str | bytes):
        parts = list(spec)
    else:
        raise CalendarError(where, spec, "is not an interval such as '08:00-17:00'")
    if len(parts) != 2:
        raise CalendarError(where, spec, "is not an interval such as '08:00-17:00'")
    start = _minutes(parts[0], where, spec, end=False)
    end = _minutes(parts[1], where, spec, end=True)
    if start == end:
        raise CalendarError(where, spec, "is empty (start equals end)")
    if end < start:  # crosses midnight: runs into the next day
        end += 1440
    return (start, end)


def _spans(specs: object, where: str) -> tuple[_Span, ...]:
    if isinstance(specs, str):
        specs = [s.strip() for s in specs.split(",") if s.strip()]
    if not isinstance(specs, Iterable):
        raise CalendarError(where, specs, "is not a list of intervals")
    spans = sorted(_span(spec, where) for spec in specs)
    for (s1, e1), (s2, e2) in pairwise(spans):
        if s2 < e1:
            raise CalendarError(
                where, f"{_fmt((s2, e2))}", f"overlaps {_fmt((s1, e1))} on the same day"
            )
    return tuple(spans)


def _fmt(span: _Span) -> str:
    s, e = span
    e = e - 1440 if e > 1440 else e
    return f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"


def _weekday(key: object) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str):
        name = key.strip().lower()
        for i, day in enumerate(WEEKDAYS):
            if name in {day, day[:3]}:
                return i
    raise CalendarError("hours", key, "is not a weekday (monday..sunday, mon..sun or 0..6)")


def _weekday_keys(key: object) -> list[int]:
    if isinstance(key, str) and "-" in key:  # a range such as "mon-fri"
        first, last = (_weekday(k) for k in key.split("-", 1))
        return (
            list(range(first, last + 1)) if first <= last else [*range(first, 7), *range(last + 1)]
        )
    return [_weekday(key)]


def _as_date(value: object, where: str) -> date:
    if isinstance(value, datetime):
        raise CalendarError(where, value, "is a datetime; give a date")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError(where, value, "is not a date (YYYY-MM-DD)")


def _seconds(at: datetime, name: str) -> float:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError(at, name)
    return at.timestamp()


def _duration(value: timedelta, name: str) -> float:
    if not isinstance(value, timedelta):
        raise InvalidValue(name, value, "a timedelta, such as timedelta(hours=4)")
    return value.total_seconds()


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@attrs.frozen
class _Window:
    """Working spans in UTC epoch seconds over whole years, with cumulative sums."""

    first_year: int
    last_year: int
    lo: float  # the window covers [lo, hi)
    hi: float
    starts: tuple[float, ...]
    ends: tuple[float, ...]
    cum: tuple[float, ...]  # working seconds before span i
    cum_end: tuple[float, ...]  # working seconds up to the end of span i

    def work(self, x: float) -> float:
        """Working seconds from the window's origin to ``x``."""
        i = bisect_right(self.starts, x) - 1
        if i < 0:
            return 0.0
        end = self.ends[i]
        return self.cum[i] + (x if x < end else end) - self.starts[i]

    total: float  # working seconds in the whole window


class BusinessCalendar:
    """When a desk works, in its own time zone, and working-time arithmetic over it.

    Args:
        timezone: the IANA zone the hours are given in.
        hours: per weekday (``"monday"``/``"mon"``/``0``, or a range ``"mon-fri"``),
            a list of intervals ``"08:00-17:00"`` or ``("08:00", "17:00")``.
            Days not named are closed.
        holidays: whole dates on which no shift starts.
        overrides: per date, the intervals that replace the weekday's (an empty
            list closes the date).
        name: a label used in explanations.

    Raises:
        CalendarError: an interval is malformed, empty, or overlaps another
            (named with its weekday or date); a holiday is not a date.
        UnknownTimezoneError: the zone is unknown.

    Examples:
        >>> cal = BusinessCalendar("Asia/Jakarta", hours={"mon-fri": ["08:00-17:00"]})
        >>> import pendulum
        >>> friday = pendulum.datetime(2026, 3, 6, 16, 30, tz="Asia/Jakarta")
        >>> due = cal.add(friday, timedelta(hours=2))  # 30 min on Friday, 90 on Monday
        >>> pendulum.instance(due).in_timezone("Asia/Jakarta").format("ddd HH:mm")
        'Mon 09:30'
    """

    def __init__(
        self,
        timezone: str = "UTC",
        *,
        hours: Mapping[Any, Any],
        holidays: Iterable[date | str] = (),
        overrides: Mapping[Any, Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.timezone = timezone
        self._tz: tzinfo = zone(timezone)
        if not isinstance(hours, Mapping):
            raise CalendarError("hours", hours, "is not a mapping of weekdays to intervals")
        week: list[tuple[_Span, ...]] = [() for _ in WEEKDAYS]
        named: dict[int, object] = {}
        for key, specs in hours.items():
            for day in _weekday_keys(key):
                if day in named:
                    raise CalendarError(WEEKDAYS[day], specs, "is given twice in hours")
                named[day] = specs
                week[day] = _spans(specs, WEEKDAYS[day])
        self._week = tuple(week)
        self.holidays = frozenset(_as_date(d, "holidays") for d in holidays)
        self._overrides = {
            _as_date(d, "overrides"): _spans(specs, f"overrides[{d}]")
            for d, specs in (overrides or {}).items()
        }
        self.name = name or f"{timezone} business hours"
        self._always = False
        self._check_midnight_spills()
        self._years: dict[int, list[tuple[float, float]]] = {}
        self._window: _Window | None = None

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        """The 24/7 calendar: every instant is working time.

        Examples:
            >>> cal = BusinessCalendar.always_open()
            >>> start = datetime(2026, 1, 1, tzinfo=UTC)
            >>> cal.add(start, timedelta(seconds=30)) - start
            datetime.timedelta(seconds=30)
        """
        cal = cls("UTC", hours={"mon-sun": ["00:00-24:00"]}, name="24/7")
        cal._always = True
        return cal

    @property
    def is_always_open(self) -> bool:
        """Whether this is the 24/7 calendar (arithmetic is then plain)."""
        return self._always

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r})"

    # -- definition ---------------------------------------------------------------

    def _day_spans(self, day: date) -> tuple[_Span, ...]:
        if day in self._overrides:
            return self._overrides[day]
        if day in self.holidays:
            return ()
        return self._week[day.weekday()]

    def _check_midnight_spills(self) -> None:
        for day in range(7):
            spill = max((e - 1440 for _, e in self._week[day] if e > 1440), default=0)
            following = self._week[(day + 1) % 7]
            if spill and following and following[0][0] < spill:
                raise CalendarError(
                    WEEKDAYS[(day + 1) % 7],
                    _fmt(following[0]),
                    f"overlaps the overnight shift from {WEEKDAYS[day]} "
                    f"(until {_fmt((0, spill))[6:]})",
                )
        for d in self._overrides:
            for first, second in ((d - timedelta(days=1), d), (d, d + timedelta(days=1))):
                spill = max((e - 1440 for _, e in self._day_spans(first) if e > 1440), default=0)
                following = self._day_spans(second)
                if spill and following and following[0][0] < spill:
                    raise CalendarError(
                        f"overrides[{second}]" if second in self._overrides else str(second),
                        _fmt(following[0]),
                        f"overlaps the overnight shift from {first}",
                    )

    # -- the precomputed window --------------------------------------------------

    def _offset_segments(self, lo: float, hi: float) -> list[tuple[float, float, float]]:
        """(start, end, offset seconds) pieces of [lo, hi) with one UTC offset each."""
        segments: list[tuple[float, float, float]] = []
        start = lo
        offset = self._offset(lo)
        probe = lo
        while probe < hi:
            nxt = min(probe + _DAY, hi)
            off = self._offset(nxt)
            if off != offset:
                a, b = probe, nxt  # the change happened in (a, b]: find it to the second
                while b - a > 1:
                    mid = (a + b) // 2
                    if self._offset(mid) == offset:
                        a = mid
                    else:
                        b = mid
                segments.append((start, b, offset))
                start, offset = b, off
            probe = nxt
        segments.append((start, hi, offset))
        return segments

    def _offset(self, seconds: float) -> float:
        off = datetime.fromtimestamp(seconds, UTC).astimezone(self._tz).utcoffset()
        return off.total_seconds() if off is not None else 0.0

    def _year_spans(self, year: int) -> list[tuple[float, float]]:
        spans = self._years.get(year)
        if spans is not None:
            return spans
        first = date(year, 1, 1)
        lo = (datetime(year, 1, 1) - _EPOCH).total_seconds() - 2 * _DAY  # noqa: DTZ001
        hi = (datetime(year + 1, 1, 1) - _EPOCH).total_seconds() + 3 * _DAY  # noqa: DTZ001
        segments = self._offset_segments(lo, hi)
        spans = []
        for n in range((date(year + 1, 1, 1) - first).days):
            day = first + timedelta(days=n)
            midnight = (day - _EPOCH.date()).days * _DAY
            for s, e in self._day_spans(day):
                wall_s, wall_e = midnight + s * 60, midnight + e * 60
                for seg_lo, seg_hi, off in segments:
                    a = max(wall_s - off, seg_lo)
                    b = min(wall_e - off, seg_hi)
                    if a < b:
                        spans.append((a, b))
        self._years[year] = spans
        return spans

    def _build(self, first_year: int, last_year: int) -> _Window:
        raw = sorted(
            span for year in range(first_year, last_year + 1) for span in self._year_spans(year)
        )
        starts: list[float] = []
        ends: list[float] = []
        for s, e in raw:
            if ends and s <= ends[-1]:  # adjacent or overlapping (a 24:00 meeting a 00:00)
                ends[-1] = max(ends[-1], e)
            else:
                starts.append(s)
                ends.append(e)
        cum: list[float] = []
        cum_end: list[float] = []
        total = 0.0
        for s, e in zip(starts, ends, strict=True):
            cum.append(total)
            total += e - s
            cum_end.append(total)
        lo = (datetime(first_year, 1, 1) - _EPOCH).total_seconds() + _DAY  # noqa: DTZ001
        hi = (datetime(last_year + 1, 1, 1) - _EPOCH).total_seconds() - _DAY  # noqa: DTZ001
        return _Window(
            first_year,
            last_year,
            lo,
            hi,
            tuple(starts),
            tuple(ends),
            tuple(cum),
            tuple(cum_end),
            total,
        )

    def _covering(self, *xs: float) -> _Window:
        w = self._window
        if w is not None and all(w.lo <= x < w.hi for x in xs):
            return w
        years = [datetime.fromtimestamp(x, UTC).year for x in xs]
        first, last = min(years) - 1, max(years) + 1
        if w is not None:
            first, last = min(first, w.first_year), max(last, w.last_year)
        w = self._window = self._build(first, last)
        return w

    def _grow(self, w: _Window, *, forward: bool) -> _Window:
        first, last = w.first_year, w.last_year
        if forward:
            last += 1
        else:
            first -= 1
        if last - first > 2 * _HORIZON_YEARS + 3:
            raise CalendarError(
                "calendar", self.name, f"has no working time within {_HORIZON_YEARS} years"
            )
        w = self._window = self._build(first, last)
        return w

    # -- queries (kept tight: these are the hot paths) ------------------------------

    def _window_for(self, x: float) -> _Window:
        w = self._window
        if w is not None and w.lo <= x < w.hi:
            return w
        return self._covering(x)

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` is working time."""
        x = _seconds(at, "at")
        if self._always:
            return True
        w = self._window_for(x)
        i = bisect_right(w.starts, x) - 1
        return i >= 0 and x < w.ends[i]

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself when open, else the instant the calendar next opens."""
        x = _seconds(at, "at")
        if self._always:
            return at
        w = self._window_for(x)
        while True:
            i = bisect_right(w.starts, x) - 1
            if i >= 0 and x < w.ends[i]:
                return at
            if i + 1 < len(w.starts):
                return _instant(w.starts[i + 1])
            w = self._grow(w, forward=True)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end``; negative when ``end`` is earlier."""
        a, b = _seconds(start, "start"), _seconds(end, "end")
        return timedelta(seconds=self.between_seconds(a, b))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of working time has passed since ``start``.

        A negative duration goes back in working time. ``add(start, 0)`` is
        ``start``. When ``start`` is outside working hours, the time starts to
        count at the next opening. The result is in UTC.
        """
        x, d = _seconds(start, "start"), _duration(duration, "duration")
        if d == 0:
            return start
        return _instant(self.add_seconds(x, d))

    def add_seconds(self, x: float, d: float) -> float:
        """:meth:`add` on epoch seconds (the hot path of the SLA engine)."""
        if self._always or d == 0:
            return x + d
        w = self._window
        if w is None or not w.lo <= x < w.hi:
            w = self._covering(x)
        starts = w.starts
        i = bisect_right(starts, x) - 1
        if i < 0:
            base = 0.0
        else:
            end = w.ends[i]
            base = w.cum[i] + (x if x < end else end) - starts[i]
        target = base + d
        if d > 0:
            if target > w.total:
                return self._add_slow(x, d)
            j = bisect_left(w.cum_end, target)
        else:
            if target < 0:
                return self._add_slow(x, d)
            j = bisect_right(w.cum, target) - 1
        return starts[j] + (target - w.cum[j])

    def _add_slow(self, x: float, d: float) -> float:
        w = self._covering(x)
        target = w.work(x) + d
        while target > w.total or target < 0:
            w = self._grow(w, forward=d > 0)
            target = w.work(x) + d
        j = bisect_left(w.cum_end, target) if d > 0 else bisect_right(w.cum, target) - 1
        return w.starts[j] + (target - w.cum[j])

    def between_seconds(self, a: float, b: float) -> float:
        """:meth:`between` on epoch seconds (the hot path of the SLA engine)."""
        if self._always:
            return b - a
        w = self._window
        if w is None or not (w.lo <= a < w.hi and w.lo <= b < w.hi):
            w = self._covering(a, b)
        return w.work(b) - w.work(a)
