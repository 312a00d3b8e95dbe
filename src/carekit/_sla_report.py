"""What SLA evaluation returns: one clock per metric and cycle, and the report.

Clocks keep their instants as epoch seconds and turn them into datetimes on
access, so that evaluating many tickets costs little; every public attribute
is an aware UTC datetime or a timedelta.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from carekit._check import checked
from carekit._duration import format_duration
from carekit._fast import slot_setters
from carekit._model import Choice

if TYPE_CHECKING:
    from carekit._calendar import BusinessCalendar
    from carekit._sla import Target

__all__ = ["Change", "ClockState", "Metric", "Pause", "SlaClock", "SlaReport"]


class Metric(Choice):
    """The SLA metrics carekit measures."""

    FIRST_RESPONSE = "first_response"
    """From creation to the first public agent reply (for a call: the pickup)."""
    NEXT_RESPONSE = "next_response"
    """From the oldest unanswered customer message to the next agent reply."""
    PERIODIC_UPDATE = "periodic_update"
    """While unresolved, an agent reply at least every target."""
    RESOLUTION = "resolution"
    """From creation to resolution, resolved spans excluded after a reopen."""


class ClockState(Choice):
    """Where an SLA clock stands."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


Change = tuple[float, str, object, object]
"""A change inside a cycle: (epoch seconds, field, old value, new value)."""


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@attrs.frozen
class Pause:
    """A span during which a clock did not count, and why.

    Attributes:
        start: when the pause began (or the cycle began, if already paused).
        end: when it ended; ``None`` while it lasts.
        status: the ticket status that paused the clock.
        working: the working time it took out of the clock.
    """

    start: datetime
    end: datetime | None
    status: str
    working: timedelta


@attrs.frozen(eq=False)
class SlaClock:
    """One cycle of one metric, evaluated at ``now``.

    Attributes:
        metric: the metric measured.
        target: the target in force (with its calendar).
        cycle: 1 for the first cycle of the metric, 2 for the next, ...
        state: RUNNING, PAUSED, MET or BREACHED.
        target_source: which key of the policy gave the target (e.g. ``"email/high"``).
    """

    metric: Metric
    target: Target
    cycle: int
    state: ClockState
    calendar: BusinessCalendar
    target_source: str
    # (start, stop or None, due, elapsed, paused, now), epoch and working seconds
    _times: tuple[float, float | None, float, float, float, float] = attrs.field(repr=False)
    _segments: tuple[tuple[float, float], ...] = attrs.field(repr=False)
    # (start, end or None while it lasts, status, working seconds)
    _pause_spans: tuple[tuple[float, float | None, str, float], ...] = attrs.field(repr=False)
    _changes: tuple[Change, ...] = attrs.field(default=(), repr=False)

    @property
    def notes(self) -> tuple[str, ...]:
        """The changes inside the cycle that re-read the target (priority, channel)."""
        return tuple(
            f"{field} changed {old} -> {new} at {_dt(t):%Y-%m-%d %H:%M:%S} UTC: "
            "target re-read, deadline recomputed from the cycle's start"
            for t, field, old, new in self._changes
        )

    @property
    def pauses(self) -> tuple[Pause, ...]:
        """The pauses inside the cycle, oldest first."""
        return tuple(
            Pause(_dt(a), None if b is None else _dt(b), status, timedelta(seconds=w))
            for a, b, status, w in self._pause_spans
        )

    @property
    def _start(self) -> float:
        return self._times[0]

    @property
    def _stop(self) -> float | None:
        return self._times[1]

    @property
    def _due(self) -> float:
        return self._times[2]

    @property
    def _elapsed(self) -> float:
        return self._times[3]

    @property
    def _paused(self) -> float:
        return self._times[4]

    @property
    def _now(self) -> float:
        return self._times[5]

    @property
    def started_at(self) -> datetime:
        """When the cycle started."""
        return _dt(self._start)

    @property
    def stopped_at(self) -> datetime | None:
        """When the cycle stopped (a response, a resolution), or ``None``."""
        return None if self._stop is None else _dt(self._stop)

    @property
    def due_at(self) -> datetime:
        """When the target is (or was) reached in working time, pauses pushed out.

        For a paused clock this is where the deadline would fall if it
        resumed now.
        """
        return _dt(self._due)

    @property
    def elapsed(self) -> timedelta:
        """Working time counted so far (pauses excluded)."""
        return timedelta(seconds=self._elapsed)

    @property
    def remaining(self) -> timedelta:
        """Working time left before the target; negative once breached."""
        return self.target.duration - self.elapsed

    @property
    def paused_for(self) -> timedelta:
        """Working time spent paused inside the cycle."""
        return timedelta(seconds=self._paused)

    @property
    def running(self) -> bool:
        """Whether the cycle has not stopped (it may be paused)."""
        return self._stop is None

    @property
    def breached(self) -> bool:
        """Whether more working time than the target has counted (met late included)."""
        return self._times[3] > self.target.duration.total_seconds()

    @property
    def fraction(self) -> float:
        """Elapsed working time as a fraction of the target."""
        return self._elapsed / self.target.duration.total_seconds()

    @property
    def risk_stage(self) -> int:
        """How many of the target's ``warn_at`` fractions a live, unbreached clock has passed."""
        if not self.running or self.breached:
            return 0
        return sum(1 for f in self.target.warn_at if self.fraction >= f)

    @property
    def at_risk(self) -> bool:
        """Whether a live clock has passed a warning fraction but not its target."""
        return self.risk_stage > 0

    @checked
    def instant_at(self, elapsed: timedelta) -> datetime:
        """When this cycle's counted working time reaches ``elapsed``.

        Past instants come from the log; future ones assume the clock runs on
        from ``now`` without a further pause. Escalation uses it for warnings
        ("at 75%") and for leads ("1 h before the deadline").
        """
        want = elapsed.total_seconds()
        acc = 0.0
        cal = self.calendar
        for a, b in self._segments:
            w = cal._between_seconds(a, b)
            if acc + w >= want:
                return _dt(cal._add_seconds(a, want - acc) if want > acc else a)
            acc += w
        base = self._segments[-1][1] if self._segments else self._start
        return _dt(cal._add_seconds(max(base, self._now), want - acc))

    def explain(self) -> list[str]:
        """Plain lines saying why this clock stands where it does."""
        t = self.target
        head = (
            f"{self.metric} (cycle {self.cycle}): target {_allowance(t)} "
            f"[{self.target_source}] in {self.calendar.name}; started {_iso(self._start)}"
        )
        lines = [head]
        lines.extend(f"  {note}" for note in self.notes)
        for p in self.pauses:
            end = _iso(p.end.timestamp()) if p.end else "now"
            lines.append(
                f"  paused {_iso(p.start.timestamp())} to {end} ({p.status}): "
                f"+{format_duration(p.working)} of working time"
            )
        used = format_duration(self.elapsed)
        if self._stop is not None:
            lines.append(
                f"  stopped {_iso(self._stop)} after {used}: {self.state}"
                + (f" (due {_iso(self._due)})" if self.breached else "")
            )
        else:
            lines.append(
                f"  {self.state} at {_iso(self._now)}: {used} used, due {_iso(self._due)}"
                + (" (breached)" if self.breached else " (at risk)" if self.at_risk else "")
            )
        return lines


def _iso(seconds: float) -> str:
    return _dt(seconds).strftime("%Y-%m-%d %H:%M:%S UTC")


@attrs.frozen
class SlaReport(Mapping[Metric, SlaClock]):
    """The SLA clocks of one ticket at ``now``: ``report[Metric.FIRST_RESPONSE]``.

    Indexing gives the latest cycle of a metric; :meth:`cycles` gives all of
    them. A metric without a target is absent.

    Attributes:
        ticket_id: the ticket evaluated.
        policy: the name of the policy used.
        now: the instant of the evaluation.
        window_closes: for a WhatsApp ticket, when its customer-service window
            closes (24 hours after the customer's last message, wall clock): after
            it, only an approved template may reach the customer. ``None`` for
            other channels.
    """

    ticket_id: str
    policy: str
    now: datetime
    _cycles: Mapping[Metric, tuple[SlaClock, ...]]
    window_closes: datetime | None = None

    def __getitem__(self, metric: Metric) -> SlaClock:
        return self._cycles[metric][-1]

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._cycles)

    def __len__(self) -> int:
        return len(self._cycles)

    @checked
    def cycles(self, metric: Metric) -> tuple[SlaClock, ...]:
        """Every cycle of ``metric``, oldest first (empty when it has no target)."""
        return self._cycles.get(metric, ())

    def all_clocks(self) -> Iterator[SlaClock]:
        """Every cycle of every metric."""
        for clocks in self._cycles.values():
            yield from clocks

    @property
    def breached(self) -> bool:
        """Whether any cycle of any metric is breached."""
        return any(c.breached for c in self.all_clocks())

    @property
    def next_due(self) -> datetime | None:
        """The earliest deadline among clocks still running (not paused), if any."""
        dues = [c.due_at for c in self.all_clocks() if c.state is ClockState.RUNNING]
        return min(dues, default=None)

    def explain(self) -> str:
        """Why each deadline is what it is: the target, the calendar, each pause, each change."""
        lines = [
            f"ticket {self.ticket_id} under policy {self.policy!r} at {_iso(self.now.timestamp())}"
        ]
        for clock in self.all_clocks():
            lines.extend(clock.explain())
        if self.window_closes is not None:
            state = "closes" if self.now < self.window_closes else "closed"
            lines.append(
                f"  whatsapp window {state} at {_iso(self.window_closes.timestamp())} "
                "(24 h after the customer's last message; then templates only)"
            )
        return "\n".join(lines)


_CLOCK_SETTERS = slot_setters(SlaClock)


def new_clock(  # noqa: PLR0917 - positional on purpose: the hot path
    metric: Metric,
    target: Target,
    cycle: int,
    state: ClockState,
    calendar: BusinessCalendar,
    target_source: str,
    start: float,
    stop: float | None,
    due: float,
    elapsed: float,
    paused: float,
    now: float,
    segments: tuple[tuple[float, float], ...],
    pause_spans: tuple[tuple[float, float | None, str, float], ...],
    changes: tuple[Change, ...],
) -> SlaClock:
    """Build a :class:`SlaClock` from its fields, skipping attrs' ``__init__``."""
    clock = object.__new__(SlaClock)
    (s_metric, s_target, s_cycle, s_state, s_calendar, s_source, s_times, s_segments, s_spans,
     s_changes) = _CLOCK_SETTERS  # fmt: skip
    s_metric(clock, metric)
    s_target(clock, target)
    s_cycle(clock, cycle)
    s_state(clock, state)
    s_calendar(clock, calendar)
    s_source(clock, target_source)
    s_times(clock, (start, stop, due, elapsed, paused, now))
    s_segments(clock, segments)
    s_spans(clock, pause_spans)
    s_changes(clock, changes)
    return clock


def _allowance(target: Target) -> str:
    if target.business_days is None:
        return format_duration(target.duration)
    days = f"{target.business_days} business day{'s' if target.business_days != 1 else ''}"
    return f"{days} ({format_duration(target.duration)} of working time)"
