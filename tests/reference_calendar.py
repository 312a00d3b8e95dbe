"""A slow, obviously-correct business calendar to check the fast one against.

It applies the definition literally: an instant is working time when its wall
clock time in the calendar's zone lies in an interval of its date (or in the
part of the previous date's overnight interval past midnight). It walks
minute by minute in UTC, where nothing changes inside a minute because every
boundary and every zone transition falls on a whole minute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class ReferenceCalendar:
    def __init__(
        self,
        timezone: str,
        hours: Mapping[str, Sequence[str]],
        holidays: Sequence[date] = (),
        overrides: Mapping[date, Sequence[str]] | None = None,
    ) -> None:
        self.zone = ZoneInfo(timezone)
        self.week: dict[int, list[tuple[int, int]]] = {i: [] for i in range(7)}
        for key, specs in hours.items():
            names = key.split("-")
            first, last = DAYS.index(names[0]), DAYS.index(names[-1])
            for day in range(first, last + 1):
                self.week[day] = [self._span(s) for s in specs]
        self.holidays = set(holidays)
        self.overrides = {d: [self._span(s) for s in v] for d, v in (overrides or {}).items()}

    @staticmethod
    def _span(spec: str) -> tuple[int, int]:
        a, b = (_minutes(x) for x in spec.split("-"))
        return (a, b if b > a else b + 1440)

    def spans(self, day: date) -> list[tuple[int, int]]:
        if day in self.overrides:
            return self.overrides[day]
        if day in self.holidays:
            return []
        return self.week[day.weekday()]

    def is_open(self, instant: datetime) -> bool:
        wall = instant.astimezone(self.zone).replace(tzinfo=None)
        minute = wall.hour * 60 + wall.minute + wall.second / 60
        today = wall.date()
        if any(s <= minute < e for s, e in self.spans(today)):
            return True
        yesterday = today - timedelta(days=1)
        return any(minute + 1440 < e for _, e in self.spans(yesterday))

    def between(self, start: datetime, end: datetime) -> timedelta:
        if end < start:
            return -self.between(end, start)
        total = timedelta(0)
        t = start.astimezone(UTC)
        end = end.astimezone(UTC)
        while t < end:
            nxt = min(end, t.replace(second=0, microsecond=0) + timedelta(minutes=1))
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
            nxt = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
            if self.is_open(t):
                if nxt - t >= left:
                    return t + left
                left -= nxt - t
            t = nxt
