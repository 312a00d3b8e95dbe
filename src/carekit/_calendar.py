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
``W(x)`` (working seconds from an anchor to ``x``) is one bisect,
``between(a, b) = W(b) - W(a)`` and ``add(a, d)`` is the bisect that finds
where ``W`` reaches ``W(a) + d``. Years between two far instants enter only
through their totals (a table of one float per year, each total counted
without laying the year out), so only the years around the queried instants
are built, and a bounded number of them is kept. Every quantity is a whole
number of seconds, so the sums are exact.

**Range.** The years 1 to 9999; outside them, a ``CalendarError``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any, Literal

import attrs

from carekit._check import checked
from carekit._hours import (
    DAY,
    WEEKDAYS,
    Span,
    as_date,
    fmt,
    holiday_table,
    length,
    spans,
    subtract,
    weekday_table,
)
from carekit._time import zone
from carekit.exceptions import CalendarError, InvalidValue, NaiveDatetimeError

__all__ = ["WEEKDAYS", "BusinessCalendar", "Closure", "IntervalSpec"]

_DAY = DAY
_IDLE_YEARS = 10  # a calendar without a working day in ten years has none
_MIN_YEAR, _MAX_YEAR = 1, 9999  # the years calendars cover: all of datetime's
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_PROBE = 2 * _DAY  # how often the zone's offset is probed for a change
_WINDOWS = 8  # windows kept: each is a UTC year with its neighbours' spans
_BLOCKS = 12  # years of spans kept
_RANGE = "within the years 1 to 9999 that calendars cover"
_OFFSETS_CONSTANT_BEFORE = 1800  # no zone changes its offset before this year
_OFFSETS_RULED_FROM = 2200  # every zone follows its yearly rule from this year on


def _ordinal(year: int) -> int:
    """The ordinal of 1 January of ``year`` (any year, for bounds)."""
    y = year - 1
    return 365 * y + y // 4 - y // 100 + y // 400 + 1


def _jan1(year: int) -> float:
    """Epoch seconds of 1 January of ``year`` at 00:00 wall clock, as if in UTC."""
    return float((_ordinal(year) - _EPOCH_ORDINAL) * _DAY)


_LO, _HI = _jan1(_MIN_YEAR), _jan1(_MAX_YEAR + 1)


def _year_of(x: float) -> int:
    """The UTC year of ``x`` (epoch seconds)."""
    year = 1970 + int(x // 31_556_952)
    while _jan1(year) > x:
        year -= 1
    while _jan1(year + 1) <= x:
        year += 1
    return year


def _days_in(year: int) -> int:
    return 366 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 365


def _instant_text(x: float) -> str:
    if _LO <= x < _HI:
        return datetime.fromtimestamp(x, UTC).isoformat()
    return f"{x:.0f} seconds from 1970"


IntervalSpec = str | Sequence[str]
"""An interval as ``"08:00-17:00"`` (seconds allowed: ``"08:00:30"``) or a pair."""


def _seconds(at: datetime, name: str) -> float:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError(at, name)
    return at.timestamp()


def _duration(value: timedelta, name: str) -> float:
    if not isinstance(value, timedelta):
        raise InvalidValue(name, value, "a timedelta, such as timedelta(hours=4)")
    return value.total_seconds()


def _instant(seconds: float) -> datetime:
    if not _LO <= seconds < _HI:
        raise CalendarError("result", _instant_text(seconds), f"is not {_RANGE}")
    return datetime.fromtimestamp(seconds, UTC)


@attrs.frozen
class _Window:
    """The working spans (UTC epoch seconds) that can touch one UTC year, with sums."""

    lo: float  # the window answers for [lo, hi)
    hi: float
    base: float  # C(year - 1): working seconds before its first span
    starts: tuple[float, ...]
    ends: tuple[float, ...]
    cum: tuple[float, ...]  # working seconds before span i (from base)
    cum_end: tuple[float, ...]  # working seconds up to the end of span i (from base)
    total: float  # working seconds in the whole window

    def work(self, x: float) -> float:
        """Working seconds from the window's first span to ``x``."""
        i = bisect_right(self.starts, x) - 1
        if i < 0:
            return 0.0
        end = self.ends[i]
        return self.cum[i] + (x if x < end else end) - self.starts[i]


@attrs.frozen
class Closure:
    """Why a calendar is closed at an instant (:meth:`BusinessCalendar.why_closed`).

    Attributes:
        reason: ``"holiday"``, ``"override"`` (the date's own hours), ``"break"``
            or ``"outside_hours"``.
        name: the holiday's name.
        opens: when the calendar opens next (``None``: never, within its years).
    """

    reason: Literal["holiday", "override", "break", "outside_hours"]
    name: str | None
    opens: datetime | None

    def __str__(self) -> str:
        said = {"holiday": f"a holiday ({self.name})", "override": "the date's own hours",
                "break": "a break", "outside_hours": "outside the hours"}[self.reason]  # fmt: skip
        until = "" if self.opens is None else f" until {self.opens:%Y-%m-%d %H:%M} UTC"
        return f"{said}{until}"


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

    @checked
    def __init__(
        self,
        timezone: str = "UTC",
        *,
        hours: Mapping[Any, Any],
        breaks: Mapping[Any, Any] | Sequence[Any] | str | None = None,
        holidays: Iterable[Any] = (),
        overrides: Mapping[Any, Any] | None = None,
        name: str | None = None,
        precedence: Literal["override", "holiday"] = "override",
        end_of_shift: Literal["keep", "next_opening"] = "keep",
    ) -> None:
        self.timezone = timezone
        self._tz: tzinfo = zone(timezone)
        if breaks is None or isinstance(breaks, Mapping):
            self._breaks = weekday_table(breaks or {}, "breaks")
        else:
            self._breaks = (spans(breaks, "breaks"),) * 7
        self._hours = weekday_table(hours, "hours")
        self._week = tuple(subtract(h, b) for h, b in zip(self._hours, self._breaks, strict=True))
        once, self._yearly, feeds = holiday_table(holidays)
        self._once = once
        self._feeds = tuple(feeds)
        self.holidays = frozenset(once)
        """The one-off holidays (dates); yearly ones and feeds are asked by :meth:`holiday`."""
        self._overrides = {
            as_date(d, "overrides"): spans(specs, f"overrides[{d}]")
            for d, specs in (overrides or {}).items()
        }
        self.name = name or f"{timezone} business hours"
        self.precedence = precedence
        """Which wins on a date that is both a holiday and an override (default: the override)."""
        self.end_of_shift = end_of_shift
        """A deadline that lands exactly on a closing: kept there, or moved to the next opening."""
        self._always = False
        self._fed: dict[int, Mapping[date, str]] = {}  # year -> the feeds' holidays
        self._check_midnight_spills()
        self._week_seconds = tuple(length(day) for day in self._week)
        self._irregular: dict[int, set[date]] = {}  # year -> its one-off holidays and overrides
        for special in once.keys() | self._overrides.keys():
            self._irregular.setdefault(special.year, set()).add(special)
        self._specials: dict[int, frozenset[date]] = {}
        self._days: dict[int, tuple[int, ...]] = {}  # year -> its working days' ordinals
        self._day_run: tuple[int, int, tuple[int, ...]] = (0, 0, ())
        self._offsets: dict[int, tuple[list[float], list[tuple[float, float, float]]]] = {}
        self._last_offsets: tuple[float, float, tuple[list[float], list[Any]]] = (
            0.0,
            0.0,
            ([], []),
        )
        self._blocks: dict[int, list[tuple[float, float]]] = {}
        self._windows: dict[int, _Window] = {}
        self._current: _Window | None = None
        self._totals: list[float] = []  # C(first_year + i)
        self._corrections: dict[int, float] = {}  # year -> what offset changes add
        self._first_year = 0

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

    @checked
    def in_zone(self, timezone: str) -> BusinessCalendar:
        """The same hours, breaks, holidays and overrides on the wall clock of ``timezone``.

        The desk's hours as a customer there lives them (see
        :meth:`carekit.Desk.send_later`).
        """
        if timezone == self.timezone:
            return self
        table = [(WEEKDAYS[d], [fmt(sp) for sp in spans]) for d, spans in enumerate(self._hours)]
        breaks = {WEEKDAYS[d]: [fmt(sp) for sp in spans] for d, spans in enumerate(self._breaks)}
        holidays: dict[object, str] = dict(self._once.items())
        holidays.update({f"{m:02d}-{d:02d}": name for (m, d), name in self._yearly.items()})
        holidays.update(dict.fromkeys(self._feeds, "holiday"))
        moved = BusinessCalendar(
            timezone,
            hours={day: spans for day, spans in table if spans},
            breaks={day: spans for day, spans in breaks.items() if spans},
            holidays=holidays,
            overrides={d: [fmt(sp) for sp in spans] for d, spans in self._overrides.items()},
            name=f"{self.name} in {timezone}",
            precedence=self.precedence,
            end_of_shift=self.end_of_shift,
        )
        moved._always = self._always
        return moved

    @property
    def is_always_open(self) -> bool:
        """Whether this is the 24/7 calendar (arithmetic is then plain)."""
        return self._always

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r})"

    # -- definition ---------------------------------------------------------------

    @checked
    def holiday(self, day: date) -> str | None:
        """The name of the holiday on ``day`` (one-off, yearly or from a feed), or ``None``."""
        return self._holiday(day)

    def _holiday(self, day: date) -> str | None:
        found = self._once.get(day) or self._yearly.get((day.month, day.day))
        if found is None and self._feeds:
            found = self._feed_year(day.year).get(day)
        return found

    def _feed_year(self, year: int) -> Mapping[date, str]:
        known = self._fed.get(year)
        if known is None:
            known = {}
            for feed in self._feeds:
                for day, name in feed(year).items():
                    known.setdefault(day, name)
            self._fed[year] = known
        return known

    def _day_spans(self, day: date) -> tuple[Span, ...]:
        override = self._overrides.get(day)
        if override is not None and (self.precedence == "override" or not self._holiday(day)):
            return override
        if self._holiday(day) is not None:
            return ()
        return self._week[day.weekday()]

    def _special(self, year: int) -> frozenset[date]:
        """The dates of ``year`` whose hours are not their weekday's (holidays, overrides)."""
        known = self._specials.get(year)
        if known is None:
            days = set(self._irregular.get(year, ()))
            for month, day in self._yearly:
                if month != 2 or day != 29 or _days_in(year) == 366:
                    days.add(date(year, month, day))
            if self._feeds:
                days.update(d for d in self._feed_year(year) if d.year == year)
            known = self._specials[year] = frozenset(days)
        return known

    def _check_midnight_spills(self) -> None:
        for day in range(7):
            spill = max((e - DAY for _, e in self._week[day] if e > DAY), default=0)
            following = self._week[(day + 1) % 7]
            if spill and following and following[0][0] < spill:
                raise CalendarError(
                    WEEKDAYS[(day + 1) % 7],
                    fmt(following[0]),
                    f"overlaps the overnight shift from {WEEKDAYS[day]} "
                    f"(until {fmt((0, spill))[6:]})",
                )
        for d in self._overrides:
            for first, second in ((d - timedelta(days=1), d), (d, d + timedelta(days=1))):
                spill = max((e - DAY for _, e in self._day_spans(first) if e > DAY), default=0)
                following = self._day_spans(second)
                if spill and following and following[0][0] < spill:
                    raise CalendarError(
                        f"overrides[{second}]" if second in self._overrides else str(second),
                        fmt(following[0]),
                        f"overlaps the overnight shift from {first}",
                    )

    # -- working time, year by year ------------------------------------------------
    #
    # Block Y holds the UTC spans of the intervals of the dates of year Y (an
    # interval belongs to the date it starts on). C(Y) is the working time of all
    # blocks before Y, counted from an arbitrary anchor year; the window of a UTC
    # year y merges blocks y-1, y and y+1, which hold every span that can touch y,
    # and starts counting at C(y-1). So W(x) = C(y-1) + the window's own count, and
    # a query costs one or two bisects however far apart its instants are. Only a
    # few windows and blocks are kept; C costs one float per year and is built
    # from block totals that need no spans (see _block_total).

    def _offset_segments(self, lo: float, hi: float) -> list[tuple[float, float, float]]:
        """(start, end, offset seconds) pieces of [lo, hi) with one UTC offset each.

        The offset is probed every two days and each change found to the second;
        no zone in the tz database changes and changes back within two days.
        """
        segments: list[tuple[float, float, float]] = []
        start = lo
        offset = self._offset(lo)
        probe = lo
        while probe < hi:
            nxt = min(probe + _PROBE, hi)
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
        if not _LO + 2 * _DAY < seconds < _HI - 2 * _DAY:  # beyond: the edge's offset
            seconds = min(max(seconds, _LO + 2 * _DAY), _HI - 2 * _DAY)
        off = datetime.fromtimestamp(seconds, self._tz).utcoffset()
        return off.total_seconds() if off is not None else 0.0

    def _segments(self, year: int) -> list[tuple[float, float, float]]:
        """(start, end, offset seconds) pieces, one UTC offset each, around block ``year``."""
        return self._offset_segments(_jan1(year) - 2 * _DAY, _jan1(year + 1) + 3 * _DAY)

    def _day_spans_utc(
        self, day: date, segments: Sequence[tuple[float, float, float]]
    ) -> list[tuple[float, float]]:
        midnight = (day.toordinal() - _EPOCH_ORDINAL) * _DAY
        spans = []
        for s, e in self._day_spans(day):
            wall_s, wall_e = midnight + s, midnight + e
            for seg_lo, seg_hi, off in segments:
                a = max(wall_s - off, seg_lo)
                b = min(wall_e - off, seg_hi)
                if a < b:
                    spans.append((a, b))
        return spans

    def _block(self, year: int) -> list[tuple[float, float]]:
        spans = self._blocks.get(year)
        if spans is None:
            spans = []
            if _MIN_YEAR <= year <= _MAX_YEAR:
                segments = self._segments(year)
                first = date(year, 1, 1).toordinal()
                for n in range(_days_in(year)):
                    spans.extend(self._day_spans_utc(date.fromordinal(first + n), segments))
            self._blocks[year] = spans
            if len(self._blocks) > _BLOCKS:
                del self._blocks[next(iter(self._blocks))]
        return spans

    def _block_total(self, year: int) -> float:
        """Working seconds of block ``year``, equal to the sum of its spans' lengths.

        The wall-clock total comes from counting weekdays and correcting for the
        year's holidays and overrides; only the dates next to a change of UTC
        offset are laid out span by span.
        """
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            return 0.0
        first = date(year, 1, 1)
        days = _days_in(year)
        seconds = 0
        for weekday in range(7):
            count = days // 7 + ((weekday - first.weekday()) % 7 < days % 7)
            seconds += count * self._week_seconds[weekday]
        for day in self._special(year):
            seconds += length(self._day_spans(day)) - length(self._week[day.weekday()])
        return seconds + self._offset_correction(year)

    def _offset_correction(self, year: int) -> float:
        """What the changes of UTC offset in block ``year`` add to its wall-clock total.

        Before 1800 no zone has changed its offset yet (the tz database's first
        change is in 1834), so nothing. From 2600 on, a zone follows its yearly
        rule (the database's last explicit change is in 2087), which repeats
        with the Gregorian calendar every 400 years: a year without holidays or
        overrides near it takes the correction of its twin in 2200-2599.
        """
        if year < _OFFSETS_CONSTANT_BEFORE:
            return 0.0
        twin = year
        if year >= _OFFSETS_RULED_FROM + 400:
            twin = _OFFSETS_RULED_FROM + (year - _OFFSETS_RULED_FROM) % 400
            if self._feeds or any(
                self._irregular.get(y) for y in (year - 1, year, year + 1, twin - 1, twin, twin + 1)
            ):
                twin = year
        known = self._corrections.get(twin)
        if known is not None:
            return known
        segments = self._segments(twin)
        near: set[date] = set()
        for (_, change, before), _after in pairwise(segments):
            local = date.fromordinal(int((change + before) // _DAY) + _EPOCH_ORDINAL)
            near.update(local + timedelta(days=k) for k in range(-2, 3))
        correction = 0.0
        for day in near:
            if day.year == twin:
                utc = sum(b - a for a, b in self._day_spans_utc(day, segments))
                correction += utc - length(self._day_spans(day))
        self._corrections[twin] = correction
        return correction

    def _cover(self, first: int, last: int) -> list[float]:
        """The table of C, made to hold C(first) .. C(last)."""
        table = self._totals
        if not table:
            table.append(0.0)
            self._first_year = first
        if first < self._first_year:
            values = []
            c = table[0]
            for year in range(self._first_year - 1, first - 1, -1):
                c -= self._block_total(year)
                values.append(c)
            table[:0] = values[::-1]
            self._first_year = first
        while self._first_year + len(table) <= last:
            table.append(table[-1] + self._block_total(self._first_year + len(table) - 1))
        return table

    def _c(self, year: int) -> float:
        """C(year): working seconds of the blocks before ``year`` (from the anchor)."""
        return self._cover(year, year)[year - self._first_year]

    def _window_of(self, year: int) -> _Window:
        w = self._windows.get(year)
        if w is None:
            raw = sorted(
                span for block in (year - 1, year, year + 1) for span in self._block(block)
            )
            starts: list[float] = []
            ends: list[float] = []
            for s, e in raw:
                if ends and s <= ends[-1]:  # adjacent (a 24:00 meeting a 00:00)
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
            w = _Window(
                _jan1(year),
                _jan1(year + 1),
                self._c(year - 1),
                tuple(starts),
                tuple(ends),
                tuple(cum),
                tuple(cum_end),
                total,
            )
            self._windows[year] = w
            if len(self._windows) > _WINDOWS:
                del self._windows[next(iter(self._windows))]
        self._current = w
        return w

    def _window_for(self, x: float) -> _Window:
        w = self._current
        if w is not None and w.lo <= x < w.hi:
            return w
        if not _LO <= x < _HI:
            raise CalendarError("at", _instant_text(x), f"is not {_RANGE}")
        return self._window_of(datetime.fromtimestamp(x, UTC).year)

    def _opens_again(self, x: float, *, forward: bool) -> None:
        """Raise unless some working time lies after (or before) ``x``."""
        if any(self._week_seconds):
            return
        day = datetime.fromtimestamp(x, UTC).date()
        edge = day - timedelta(days=1) if forward else day + timedelta(days=1)
        if not any(
            spans and (d >= edge if forward else d <= edge) for d, spans in self._overrides.items()
        ):
            where = "after" if forward else "before"
            raise CalendarError(
                "calendar", self.name, f"has no working time {where} {_instant_text(x)}"
            )

    def _block_forward(self, work: float, x: float, *, strict: bool) -> int:
        """The first year Y with C(Y+1) >= ``work`` (> when ``strict``): W reaches it there."""
        self._opens_again(x, forward=True)
        year = datetime.fromtimestamp(x, UTC).year
        table = self._cover(year - 1, year + 2)
        while not (table[-1] > work if strict else table[-1] >= work):
            last = self._first_year + len(table) - 1
            if last > _MAX_YEAR + 1:
                raise CalendarError("calendar", self.name, f"has no such working time {_RANGE}")
            table = self._cover(last, last + 1)
        i = (bisect_right if strict else bisect_left)(table, work)
        return self._first_year + i - 1

    def _block_backward(self, work: float, x: float) -> int:
        """The last year Y with C(Y) <= ``work``: going back, W falls to it there."""
        self._opens_again(x, forward=False)
        year = datetime.fromtimestamp(x, UTC).year
        table = self._cover(year - 1, year + 2)
        while table[0] > work:
            if self._first_year < _MIN_YEAR:
                raise CalendarError("calendar", self.name, f"has no such working time {_RANGE}")
            table = self._cover(self._first_year - 1, self._first_year)
        return self._first_year + bisect_right(table, work) - 1

    # -- queries (kept tight: these are the hot paths) ------------------------------

    @checked
    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` is working time."""
        return self._open(_seconds(at, "at"))

    @checked
    def next_open(self, at: datetime) -> datetime:
        """``at`` itself when open, else the instant the calendar next opens."""
        x = _seconds(at, "at")
        found = self._next_open(x)
        return at if found == x else _instant(found)

    def _next_open(self, x: float) -> float:
        if self._always:
            return x
        w = self._window_for(x)
        i = bisect_right(w.starts, x) - 1
        if i >= 0 and x < w.ends[i]:
            return x
        if i + 1 < len(w.starts):
            return w.starts[i + 1]
        work = w.base + w.work(x)
        w = self._window_of(self._block_forward(work, x, strict=True))
        return w.starts[bisect_right(w.cum_end, work - w.base)]

    @checked
    def last_open(self, at: datetime) -> datetime:
        """``at`` itself when open, else the instant the calendar last closed before it.

        The mirror of :meth:`next_open`: working time ends at a closing (the
        spans are half-open), so this is the end of the last span before ``at``.
        """
        x = _seconds(at, "at")
        found = self._last_open(x)
        return at if found == x else _instant(found)

    def _last_open(self, x: float) -> float:
        if self._always:
            return x
        w = self._window_for(x)
        i = bisect_right(w.starts, x) - 1
        if i >= 0:
            return x if x < w.ends[i] else w.ends[i]
        work = w.base + w.work(x)
        w = self._window_of(self._block_backward(work - 1e-9, x))
        return w.ends[bisect_right(w.cum_end, work - w.base) - 1]

    @checked
    def why_closed(self, at: datetime) -> Closure | None:
        """Why the calendar is closed at ``at`` (``None`` when open), and when it opens.

        The reasons, in this order: the date's override or holiday (whichever
        :attr:`precedence` lets win), a break of the shift, outside the hours.

        Examples:
            >>> cal = BusinessCalendar("Asia/Jakarta", hours={"mon-fri": "08:00-17:00"},
            ...                        breaks="12:00-13:00", holidays={"08-17": "Independence Day"})
            >>> import pendulum
            >>> str(cal.why_closed(pendulum.datetime(2026, 8, 17, 10, tz="Asia/Jakarta")))
            'a holiday (Independence Day) until 2026-08-18 01:00 UTC'
            >>> cal.why_closed(pendulum.datetime(2026, 8, 18, 12, 30, tz="Asia/Jakarta")).reason
            'break'
        """
        x = _seconds(at, "at")
        if self._open(x):
            return None
        local = datetime.fromtimestamp(x, self._tz)
        day = local.date()
        second = local.hour * 3600 + local.minute * 60 + local.second
        try:
            opens: datetime | None = _instant(self._next_open(x))
        except CalendarError:
            opens = None
        holiday = self._holiday(day)
        if day in self._overrides and (self.precedence == "override" or holiday is None):
            return Closure("override", None, opens)
        if holiday is not None:
            return Closure("holiday", holiday, opens)
        yesterday = day - timedelta(days=1)
        for d, at_second in ((day, second), (yesterday, second + DAY)):
            plain = d not in self._overrides and self._holiday(d) is None
            weekday = d.weekday()
            in_hours = plain and any(s <= at_second < e for s, e in self._hours[weekday])
            if in_hours and any(s <= at_second < e for s, e in self._breaks_of(weekday)):
                return Closure("break", None, opens)
        return Closure("outside_hours", None, opens)

    def _breaks_of(self, weekday: int) -> list[Span]:
        """The weekday's breaks, also past midnight (for an overnight shift)."""
        return [(s + k, e + k) for s, e in self._breaks[weekday] for k in (0, DAY)]

    def _open(self, x: float) -> bool:
        if self._always:
            return True
        w = self._window_for(x)
        i = bisect_right(w.starts, x) - 1
        return i >= 0 and x < w.ends[i]

    @checked
    def works_on(self, day: date) -> bool:
        """Whether some shift starts on ``day`` (after its holidays and overrides)."""
        return self._works_on(day)

    def _works_on(self, day: date) -> bool:
        return bool(self._always or self._day_spans(day))

    @checked
    def add_days(self, start: datetime, days: int) -> datetime:
        """The same wall time ``days`` working days later (earlier when negative).

        "Reply within 2 business days": a start outside working time counts from
        the next opening (going back: the last closing); the result is that wall
        time in the calendar's zone on the ``days``-th working day after (see
        :meth:`works_on`), or the next opening after it when the calendar is
        closed then (a shorter day, a break). In UTC.

        Examples:
            >>> cal = BusinessCalendar("Asia/Jakarta", hours={"mon-fri": "08:00-17:00"})
            >>> import pendulum
            >>> friday = pendulum.datetime(2026, 3, 6, 16, 30, tz="Asia/Jakarta")
            >>> due = pendulum.instance(cal.add_days(friday, 2)).in_timezone("Asia/Jakarta")
            >>> due.format("ddd D MMM HH:mm")
            'Tue 10 Mar 16:30'
        """
        x = _seconds(start, "start")
        if days == 0:
            return start
        return _instant(self._add_days(x, days))

    def _add_days(self, x: float, days: int) -> float:
        """:meth:`add_days` on epoch seconds."""
        forward = days > 0
        x = self._next_open(x) if forward else self._last_open(x)
        wall = self._wall(x)
        ordinal = int(wall // _DAY) + _EPOCH_ORDINAL
        of_day = wall - (ordinal - _EPOCH_ORDINAL) * _DAY
        target = self._step_days(ordinal, days)
        y = self._from_wall((target - _EPOCH_ORDINAL) * _DAY + of_day)
        return self._next_open(y) if forward else self._last_open(y)

    # -- business days: working dates per year, and the zone's offsets per year -----------

    def _workdays(self, year: int) -> tuple[int, ...]:
        """The ordinals of the working days of ``year``, in order."""
        known = self._days.get(year)
        if known is None:
            known = ()
            if _MIN_YEAR <= year <= _MAX_YEAR:
                first, works = date(year, 1, 1).toordinal(), self._works_on
                span = range(first, first + _days_in(year))
                known = tuple(o for o in span if works(date.fromordinal(o)))
            self._days[year] = known
            if len(self._days) > _BLOCKS:
                del self._days[next(iter(self._days))]
        return known

    def _step_days(self, ordinal: int, days: int) -> int:
        """The ordinal ``days`` working days after ``ordinal`` (before, when negative)."""
        lo, hi, run = self._day_run  # the working days of three years, kept
        if not lo <= ordinal < hi:
            year = date.fromordinal(ordinal).year
            run = self._workdays(year - 1) + self._workdays(year) + self._workdays(year + 1)
            lo, hi = _ordinal(year - 1), _ordinal(year + 2)
            self._day_run = (lo, hi, run)
        i = bisect_right(run, ordinal) + days - 1 if days > 0 else bisect_left(run, ordinal) + days
        if 0 <= i < len(run):
            return run[i]
        return self._step_years(ordinal, days)

    def _step_years(self, ordinal: int, days: int) -> int:
        year, idle = date.fromordinal(ordinal).year, 0
        while True:
            found = self._workdays(year)
            if days > 0:
                i = bisect_right(found, ordinal) + days - 1
                if i < len(found):
                    return found[i]
                days -= len(found) - bisect_right(found, ordinal)
                year += 1
            else:
                i = bisect_left(found, ordinal) + days
                if i >= 0:
                    return found[i]
                days += bisect_left(found, ordinal)
                year -= 1
            idle = 0 if found else idle + 1
            if idle > _IDLE_YEARS or not _MIN_YEAR <= year <= _MAX_YEAR:
                where = "after" if days > 0 else "before"
                said = f"has no working day in the {_IDLE_YEARS} years {where} {year}"
                raise CalendarError("calendar", self.name, said)

    def _zone_offsets(self, year: int) -> tuple[list[float], list[tuple[float, float, float]]]:
        found = self._offsets.get(year)
        if found is None:
            segments = self._segments(year)
            found = self._offsets[year] = ([lo for lo, _, _ in segments], segments)
            if len(self._offsets) > _BLOCKS:
                del self._offsets[next(iter(self._offsets))]
        return found

    def _offsets_at(self, x: float) -> tuple[list[float], list[tuple[float, float, float]]]:
        """The zone's offsets around ``x``: those of its UTC year (the last one asked, kept)."""
        lo, hi, found = self._last_offsets
        if not lo <= x < hi:
            year = _year_of(x)
            found = self._zone_offsets(year)
            self._last_offsets = (_jan1(year), _jan1(year + 1), found)
        return found

    def _wall(self, x: float) -> float:
        """``x``'s wall clock in the zone, as seconds from 1970 read as if UTC."""
        starts, segments = self._offsets_at(x)
        return x + segments[bisect_right(starts, x) - 1][2]

    def _from_wall(self, wall: float) -> float:
        """The instant of a wall-clock time, as ``fold=0`` reads it.

        The earlier of a repeated hour; past the jump for a skipped one.
        """
        _, segments = self._offsets_at(wall)
        chosen = wall - segments[0][2]
        for lo, hi, offset in segments:
            at = wall - offset
            if lo <= at:
                if at < hi:
                    return at
                chosen = at  # in a gap: the offset before it
        return chosen

    @checked
    def spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working spans between ``start`` and ``end`` (clipped to them), in UTC."""
        a, b = _seconds(start, "start"), _seconds(end, "end")
        if self._always:
            return [(_instant(a), _instant(b))] if a < b else []
        found: list[tuple[datetime, datetime]] = []
        x = a
        while x < b:
            x = self._next_open(x)
            if x >= b:
                break
            w = self._window_for(x)
            i = bisect_right(w.starts, x) - 1
            stop = min(w.ends[i], b)
            found.append((_instant(x), _instant(stop)))
            x = stop
        return found

    @checked
    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end``; negative when ``end`` is earlier."""
        a, b = _seconds(start, "start"), _seconds(end, "end")
        return timedelta(seconds=self._between_seconds(a, b))

    @checked
    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of working time has passed since ``start``.

        A negative duration goes back in working time. ``add(start, 0)`` is
        ``start``. When ``start`` is outside working hours, the time starts to
        count at the next opening. The result is in UTC.

        Raises:
            CalendarError: ``start`` or the result lies outside the years 1 to
                9999, or the calendar has no working time left in that direction.
        """
        x, d = _seconds(start, "start"), _duration(duration, "duration")
        if d == 0:
            return start
        return _instant(self._add_seconds(x, d))

    def _add_seconds(self, x: float, d: float) -> float:
        """:meth:`add` on epoch seconds (the hot path of the SLA engine)."""
        if self._always or d == 0:
            return x + d
        w = self._current
        if w is None or not w.lo <= x < w.hi:
            w = self._window_for(x)
        starts = w.starts
        i = bisect_right(starts, x) - 1
        if i < 0:
            target = d
        else:
            end = w.ends[i]
            target = w.cum[i] + (x if x < end else end) - starts[i] + d
        if d > 0:
            if target > w.total:
                target += w.base
                w = self._window_of(self._block_forward(target, x, strict=False))
                target -= w.base
            j = bisect_left(w.cum_end, target)
            if self.end_of_shift != "keep" and target == w.cum_end[j]:
                return self._next_open(w.ends[j])  # a deadline at a closing: the next opening
        else:
            if target < 0:
                target += w.base
                w = self._window_of(self._block_backward(target, x))
                target -= w.base
            j = bisect_right(w.cum, target) - 1
        return w.starts[j] + (target - w.cum[j])

    def _between_seconds(self, a: float, b: float) -> float:
        """:meth:`between` on epoch seconds (the hot path of the SLA engine)."""
        if self._always:
            return b - a
        w = self._current
        if w is not None and w.lo <= a < w.hi and w.lo <= b < w.hi:
            return w.work(b) - w.work(a)
        wa = self._window_for(a)
        work_a = wa.base + wa.work(a)
        wb = self._window_for(b)
        return wb.base + wb.work(b) - work_a
