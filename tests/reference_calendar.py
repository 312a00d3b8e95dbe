"""A slow, obviously-correct business calendar to check the fast one against.

It applies the definition literally: an instant is working time when its wall
clock time in the calendar's zone lies in an interval of its date (or in the
part of the previous date's overnight interval past midnight), outside the
day's breaks, unless the date is a holiday (one-off or yearly ``MM-DD``) or has
an override (which wins unless told otherwise). It walks in UTC in steps of
``step`` seconds, where nothing changes inside a step: the greatest common
divisor of 60 and every boundary's seconds, since every zone transition falls
on a whole minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _seconds(text: str) -> int:
    h, m, *s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + (int(s[0]) if s else 0)


def _span(spec: str) -> tuple[int, int]:
    a, b = (_seconds(x) for x in spec.split("-"))
    return (a, b if b > a else b + 86_400)


class ReferenceCalendar:
    def __init__(
        self,
        timezone: str,
        hours: Mapping[str, Sequence[str]],
        holidays: Sequence[date] | Mapping[object, str] = (),
        overrides: Mapping[date, Sequence[str]] | None = None,
        *,
        breaks: Sequence[str] = (),
        precedence: str = "override",
    ) -> None:
        self.zone = ZoneInfo(timezone)
        self.week: dict[int, list[tuple[int, int]]] = {i: [] for i in range(7)}
        for key, specs in hours.items():
            names = key.split("-")
            first, last = DAYS.index(names[0]), DAYS.index(names[-1])
            for day in range(first, last + 1):
                self.week[day] = [_span(s) for s in specs]
        self.breaks = [_span(s) for s in breaks]
        named = holidays if isinstance(holidays, Mapping) else dict.fromkeys(holidays, "holiday")
        self.once = {k: v for k, v in named.items() if isinstance(k, date)}
        self.yearly = {k: v for k, v in named.items() if isinstance(k, str)}  # "MM-DD"
        self.overrides = {d: [_span(s) for s in v] for d, v in (overrides or {}).items()}
        self.precedence = precedence
        bounds = [b for spans in [*self.week.values(), *self.overrides.values()] for s in spans
                  for b in s] + [b for s in self.breaks for b in s]  # fmt: skip
        self.step = math.gcd(60, *bounds) if bounds else 60

    def holiday(self, day: date) -> str | None:
        return self.once.get(day) or self.yearly.get(f"{day.month:02d}-{day.day:02d}")

    def kind(self, day: date) -> str:
        """What decides the day's hours: "override", "holiday" or "week"."""
        if day in self.overrides and (self.precedence == "override" or not self.holiday(day)):
            return "override"
        return "holiday" if self.holiday(day) else "week"

    def spans(self, day: date) -> list[tuple[int, int]]:
        kind = self.kind(day)
        if kind == "override":
            return self.overrides[day]
        return [] if kind == "holiday" else self.week[day.weekday()]

    def _in_break(self, day: date, second: int) -> bool:
        return self.kind(day) == "week" and any(s <= second % 86_400 < e for s, e in self.breaks)

    def is_open(self, instant: datetime) -> bool:
        wall = instant.astimezone(self.zone).replace(tzinfo=None)
        second = wall.hour * 3600 + wall.minute * 60 + wall.second
        today = wall.date()
        if any(s <= second < e for s, e in self.spans(today)) and not self._in_break(today, second):
            return True
        yesterday = today - timedelta(days=1)
        late = second + 86_400
        return any(s <= late < e for s, e in self.spans(yesterday)) and not self._in_break(
            yesterday, late
        )

    def _walk(self, t: datetime) -> datetime:
        """The next step boundary after ``t``."""
        epoch = t.timestamp()
        return datetime.fromtimestamp((math.floor(epoch / self.step) + 1) * self.step, UTC)

    def between(self, start: datetime, end: datetime) -> timedelta:
        if end < start:
            return -self.between(end, start)
        total = timedelta(0)
        t = start.astimezone(UTC)
        end = end.astimezone(UTC)
        while t < end:
            nxt = min(end, self._walk(t))
            if self.is_open(t):
                total += nxt - t
            t = nxt
        return total

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """Forward only: the first instant where ``duration`` of working time has passed."""
        left = duration
        t = start.astimezone(UTC)
        if left <= timedelta(0):
            return t
        while True:
            nxt = self._walk(t)
            if self.is_open(t):
                if nxt - t >= left:
                    return t + left
                left -= nxt - t
            t = nxt

    def next_open(self, at: datetime) -> datetime:
        t = at.astimezone(UTC)
        while not self.is_open(t):
            t = self._walk(t)
        return t

    def last_open(self, at: datetime) -> datetime:
        """``at`` when open, else the end of the last working step before it."""
        t = at.astimezone(UTC)
        if self.is_open(t):
            return t
        base = datetime.fromtimestamp(math.floor(t.timestamp() / self.step) * self.step, UTC)
        while not self.is_open(base - timedelta(seconds=self.step)):
            base -= timedelta(seconds=self.step)
        return base

    def open_spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        out: list[tuple[datetime, datetime]] = []
        t = start.astimezone(UTC)
        while t < end:
            nxt = min(end, self._walk(t))
            if self.is_open(t):
                if out and out[-1][1] == t:
                    out[-1] = (out[-1][0], nxt)
                else:
                    out.append((t, nxt))
            t = nxt
        return out

    def add_days(self, start: datetime, days: int) -> datetime:
        """The literal rule: from the next opening (or last closing), step working dates."""
        forward = days > 0
        t = self.next_open(start) if forward else self.last_open(start)
        wall = t.astimezone(self.zone)
        day = wall.date()
        left = abs(days)
        while left:
            day += timedelta(days=1 if forward else -1)
            left -= bool(self.spans(day))
        target = datetime.combine(day, time(wall.hour, wall.minute, wall.second), self.zone)
        return self.next_open(target) if forward else self.last_open(target)

    def why_closed(self, at: datetime) -> str | None:
        if self.is_open(at):
            return None
        wall = at.astimezone(self.zone).replace(tzinfo=None)
        day = wall.date()
        kind = self.kind(day)
        if kind != "week":
            return kind
        second = wall.hour * 3600 + wall.minute * 60 + wall.second
        for d, s in ((day, second), (day - timedelta(days=1), second + 86_400)):
            if self.kind(d) == "week" and any(a <= s < b for a, b in self.week[d.weekday()]):
                return "break"
        return "outside_hours"


def combined(calendars: Sequence[ReferenceCalendar], how: str) -> Callable[[datetime], bool]:
    """Whether the combination is open at an instant, by its definition."""
    pick = all if how == "all" else any
    return lambda at: pick(c.is_open(at) for c in calendars)
