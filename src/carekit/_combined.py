"""Calendars combined: open when all are (an agent's shift and the support hours), or any.

A :class:`CombinedCalendar` is a :class:`~carekit.BusinessCalendar` whose working
spans are the intersection (or union) of its calendars' spans in UTC, laid out
year by year like any calendar's: the same arithmetic (``add``, ``between``,
``next_open``, ``last_open``, ``spans``) applies to it, and the SLA engine and
the escalation rules take it wherever they take a calendar. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from carekit._calendar import BusinessCalendar, Closure, _jan1
from carekit._check import checked
from carekit.exceptions import CalendarError

__all__ = ["CombinedCalendar"]

_LOOK = 3  # years searched for working time before a calendar is called closed for good


def _merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _both(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


class CombinedCalendar(BusinessCalendar):
    """Open when all of ``calendars`` are open (``how="all"``), or when any is (``"any"``).

    Args:
        calendars: two or more calendars, in any zones.
        how: ``"all"`` (the intersection: an agent on shift *and* the desk open)
            or ``"any"`` (the union: one of two teams on duty).
        name: a label used in explanations.

    Business days (:meth:`add_days`, :meth:`works_on`) are the dates, in the
    first calendar's zone, with some working time.

    Examples:
        >>> from datetime import UTC, datetime
        >>> desk = BusinessCalendar("Asia/Jakarta", hours={"mon-fri": "08:00-17:00"})
        >>> agent = BusinessCalendar("Europe/Amsterdam", hours={"mon-fri": "09:00-17:00"})
        >>> both = CombinedCalendar([desk, agent])
        >>> [(f"{a:%H:%M}", f"{b:%H:%M}") for a, b in both.spans(
        ...     datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))]
        [('08:00', '10:00')]

        (09:00 in Amsterdam is 08:00 UTC; 17:00 in Jakarta is 10:00 UTC.)
    """

    @checked
    def __init__(
        self,
        calendars: Sequence[BusinessCalendar],
        *,
        how: Literal["all", "any"] = "all",
        name: str | None = None,
    ) -> None:
        if len(calendars) < 2:
            raise CalendarError("calendars", list(calendars), "needs two calendars or more")
        first = calendars[0]
        joined = (" and " if how == "all" else " or ").join(c.name for c in calendars)
        super().__init__(first.timezone, hours={}, name=name or joined)
        self.calendars = tuple(calendars)
        self.how = how

    def __repr__(self) -> str:
        return f"CombinedCalendar({self.name!r})"

    def _block(self, year: int) -> list[tuple[float, float]]:
        spans = self._blocks.get(year)
        if spans is None:
            lo, hi = _jan1(year), _jan1(year + 1)
            parts = []
            for calendar in self.calendars:
                own = [sp for y in (year - 1, year, year + 1) for sp in calendar._block(y)]
                parts.append(
                    [(max(s, lo), min(e, hi)) for s, e in _merged(own) if s < hi and e > lo]
                )
            if self.how == "all":
                spans = parts[0]
                for other in parts[1:]:
                    spans = _both(spans, other)
            else:
                spans = _merged([sp for part in parts for sp in part])
            self._blocks[year] = spans
            if len(self._blocks) > 12:  # as many as a calendar keeps
                del self._blocks[next(iter(self._blocks))]
        return spans

    def _block_total(self, year: int) -> float:
        return sum(e - s for s, e in self._block(year))

    def _opens_again(self, x: float, *, forward: bool) -> None:
        year = datetime.fromtimestamp(x, UTC).year
        years = range(year, year + _LOOK) if forward else range(year - _LOOK + 1, year + 1)
        if not any(self._block(y) for y in years):
            where = "after" if forward else "before"
            raise CalendarError(
                "calendar", self.name, f"has no working time in the {_LOOK} years {where} {year}"
            )

    @checked
    def in_zone(self, timezone: str) -> BusinessCalendar:
        """Each calendar on the wall clock of ``timezone``, combined the same way."""
        moved = [calendar.in_zone(timezone) for calendar in self.calendars]
        return CombinedCalendar(moved, how=self.how, name=f"{self.name} in {timezone}")

    def _holiday(self, day: date) -> str | None:
        names = [calendar.holiday(day) for calendar in self.calendars]
        found = [name for name in names if name is not None]
        if self.how == "all" or len(found) == len(names):
            return found[0] if found else None  # closed for it in one (all) or every (any)
        return None

    @checked
    def works_on(self, day: date) -> bool:
        """Whether the date (in the first calendar's zone) has some working time."""
        return self._works_on(day)

    def _works_on(self, day: date) -> bool:
        start = datetime.combine(day, time(), tzinfo=self._tz)
        return bool(self.spans(start, start + timedelta(days=1)))

    @checked
    def why_closed(self, at: datetime) -> Closure | None:
        """The first closed calendar's reason, with the combined calendar's next opening."""
        if self.is_open(at):
            return None
        try:
            opens: datetime | None = self.next_open(at)
        except CalendarError:
            opens = None
        for calendar in self.calendars:
            found = calendar.why_closed(at)
            if found is not None:
                return Closure(found.reason, found.name, opens)
        return Closure("outside_hours", None, opens)  # each is open, never at once
