"""SLA policies and their evaluation: a pure fold over a ticket's event log.

Theory of operation
-------------------
``policy.evaluate(ticket, now=...)`` reads the log once into timelines
(statuses, agent replies, customer messages, resolutions, priority and channel
changes), cuts each metric into cycles, and for each cycle:

1. picks the target in force at the cycle's end (its stop, or ``now``) with
   :meth:`SlaPolicy.target_for`, most specific key first;
2. splits the cycle into counting segments and pauses (a status in the
   metric's ``pause_on`` set pauses it);
3. sums working time over the counting segments in the target's calendar:
   that is ``elapsed``; the deadline is where the sum reaches the target, so a
   pause pushes it out by exactly the paused working time.

Nothing is stored between evaluations: the same log, policy and ``now`` give
the same report, and a later ``now`` never un-breaches a clock.

Cycles: FIRST_RESPONSE runs once, from creation to the first agent reply (or a
resolution before any reply). NEXT_RESPONSE starts at a customer message once
the first reply was given, and stops at the next agent reply or resolution.
PERIODIC_UPDATE starts at each agent reply (and at a reopen) while unresolved
and stops at the next agent reply or resolution. RESOLUTION runs from creation
to resolution; after a reopen it resumes with the resolved span excluded, or,
with ``reopen="restart"``, starts a new cycle at the reopen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

import attrs

from carekit._calendar import BusinessCalendar
from carekit._check import checked, typed_fields
from carekit._model import Channel, Priority, Status, Ticket, as_channel, as_priority
from carekit._sla_report import Change, ClockState, Metric, SlaClock, SlaReport, new_clock
from carekit._time import to_utc
from carekit._timeline import Cycle, Timeline, changes_course, done_at
from carekit._window import window_closes
from carekit.exceptions import PolicyError

__all__ = ["DEFAULT_PAUSE_ON", "SlaPolicy", "Target", "TargetKey"]


def _warn_at(value: Iterable[float]) -> tuple[float, ...]:
    fractions = tuple(sorted(float(f) for f in value))
    for f in fractions:
        if not 0 < f < 1:
            raise PolicyError("warn_at", f, "is not a fraction between 0 and 1 (e.g. 0.75)")
    return fractions


def _positive(_: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value < timedelta(seconds=1):
        raise PolicyError(attribute.name, value, "is not a duration of at least one second")


@attrs.frozen(field_transformer=typed_fields)
class Target:
    """A response-time target: ``duration`` of working time in a calendar.

    Attributes:
        duration: the working time allowed (second precision; 30 s is fine).
        calendar: the calendar it counts in; ``None`` means the policy's.
        warn_at: fractions of the duration at which a live clock is "at risk".
        business_days: set by :meth:`days`: the target is that many business
            days from the clock's start (the same wall time, see
            :meth:`~carekit.BusinessCalendar.add_days`). Each clock reads them as
            the working time in between, which its own target's ``duration``
            holds; pauses extend it as they extend any target.
    """

    duration: timedelta = attrs.field(validator=_positive)
    calendar: BusinessCalendar | None = attrs.field(default=None, eq=False)
    warn_at: tuple[float, ...] = attrs.field(default=(0.75,), converter=_warn_at)
    business_days: int | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.business_days is not None and self.business_days < 1:
            raise PolicyError("business_days", self.business_days, "is not 1 or more")

    @classmethod
    def days(
        cls,
        business_days: int,
        calendar: BusinessCalendar | None = None,
        warn_at: Iterable[float] = (0.75,),
    ) -> Target:
        """``business_days`` business days ("reply within 2 business days").

        Its ``duration`` is a placeholder (that many days) until a clock reads
        the working time from its own start.
        """
        return cls(timedelta(days=business_days), calendar, tuple(warn_at),
                   business_days=business_days)  # fmt: skip

    def read_at(self, calendar: BusinessCalendar, start: float) -> Target:
        """This target as a clock started at ``start`` (epoch seconds) reads it."""
        if self.business_days is None:
            return self
        due = calendar._add_days(start, self.business_days)
        allowed = max(1.0, calendar._between_seconds(start, due))
        return attrs.evolve(self, duration=timedelta(seconds=allowed))


@attrs.frozen(field_transformer=typed_fields)
class TargetKey:
    """Which tickets a target applies to: a metric, optionally one channel and one priority."""

    metric: Metric = attrs.field(converter=Metric)
    channel: Channel | None = attrs.field(
        default=None, converter=attrs.converters.optional(as_channel)
    )
    priority: Priority | None = attrs.field(
        default=None, converter=attrs.converters.optional(as_priority)
    )

    def __str__(self) -> str:
        parts = [str(p) for p in (self.channel, self.priority) if p is not None]
        return "/".join(parts) or "any"


DEFAULT_PAUSE_ON: Mapping[Metric, frozenset[str]] = {
    Metric.FIRST_RESPONSE: frozenset(),
    Metric.NEXT_RESPONSE: frozenset({Status.PENDING}),
    Metric.PERIODIC_UPDATE: frozenset({Status.PENDING}),
    Metric.RESOLUTION: frozenset({Status.PENDING, Status.ON_HOLD}),
}
"""By default RESOLUTION pauses while pending or on hold, NEXT_RESPONSE and
PERIODIC_UPDATE while pending, and FIRST_RESPONSE never."""


def _key(raw: object) -> TargetKey:
    if isinstance(raw, TargetKey):
        return raw
    if isinstance(raw, Metric | str):
        return TargetKey(raw)
    if isinstance(raw, tuple) and 1 <= len(raw) <= 3:
        metric, *rest = raw
        channel = next((r for r in rest if isinstance(r, Channel)), None)
        priority = next((r for r in rest if isinstance(r, Priority)), None)
        return TargetKey(metric, channel, priority)
    raise PolicyError("targets", raw, "is not a Metric, a TargetKey or (metric, channel, priority)")


class SlaPolicy:
    r"""Targets per metric (optionally per channel and priority), a calendar and pause rules.

    Args:
        name: the policy's name, shown in explanations.
        targets: ``{key: Target}``; a key is a :class:`Metric`, a :class:`TargetKey`,
            or a tuple such as ``(Metric.FIRST_RESPONSE, Channel.EMAIL, Priority.HIGH)``.
            A :class:`~datetime.timedelta` may stand for ``Target(duration)``.
        calendar: the calendar targets count in unless they name their own
            (default: 24/7).
        pause_on: per metric, the statuses in which its clock pauses
            (default: :data:`DEFAULT_PAUSE_ON`; metrics not named keep the default).
        reopen: after a reopen, RESOLUTION ``"resume"``\\ s (the resolved span
            excluded) or ``"restart"``\\ s with a new cycle.

    Subclass and override :meth:`target_for` to choose targets your own way.
    """

    @checked
    def __init__(
        self,
        name: str,
        targets: Mapping[Any, Target | timedelta],
        calendar: BusinessCalendar | None = None,
        *,
        pause_on: Mapping[Metric, Iterable[str]] | Mapping[str, Iterable[str]] | None = None,
        reopen: Literal["resume", "restart"] = "resume",
    ) -> None:
        self.name = name
        self.calendar = calendar or BusinessCalendar.always_open()
        table: dict[TargetKey, Target] = {}
        for raw, given in targets.items():
            key = _key(raw)
            target = Target(given) if isinstance(given, timedelta) else given
            if not isinstance(target, Target):
                raise PolicyError(f"targets[{key.metric}/{key}]", target, "is not a Target")
            table[key] = target
        self.targets: Mapping[TargetKey, Target] = MappingProxyType(table)
        self._by_tuple = {(k.metric, k.channel, k.priority): (t, str(k)) for k, t in table.items()}
        self._chosen: dict[tuple[Metric, Channel, Priority], tuple[Target, str] | None] = {}
        self.pause_on: dict[Metric, frozenset[str]] = dict(DEFAULT_PAUSE_ON)
        for metric, statuses in (pause_on or {}).items():
            self.pause_on[Metric(metric)] = frozenset(statuses)
        if reopen not in ("resume", "restart"):
            raise PolicyError("reopen", reopen, "is not 'resume' or 'restart'")
        self.reopen = reopen
        self._metrics = tuple(m for m in Metric if any(k.metric is m for k in self.targets))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @classmethod
    def default(cls) -> SlaPolicy:
        """The shipped standard, around the clock (see ``docs/sla.md`` for the table).

        First response: phone 30 s (the pickup), chat 1 min, WhatsApp 15 min,
        social 1 h, email and web 24 h (4 h when high, 1 h when urgent). Next
        response: chat 2 min, WhatsApp 30 min, social 2 h, email and web 24 h.
        Periodic update: urgent every 4 h, high every 24 h. Resolution: urgent
        8 h, high 24 h, normal 72 h, low 120 h.
        """
        fr, nr, pu, res = Metric
        c, p = Channel, Priority
        h = timedelta(hours=1)
        return cls(
            "default",
            {
                (fr, c.PHONE): timedelta(seconds=30),
                (fr, c.CHAT): timedelta(minutes=1),
                (fr, c.WHATSAPP): timedelta(minutes=15),
                (fr, c.SOCIAL): h,
                (fr, c.EMAIL): 24 * h,
                (fr, c.WEB): 24 * h,
                (fr, c.EMAIL, p.HIGH): 4 * h,
                (fr, c.WEB, p.HIGH): 4 * h,
                (fr, c.EMAIL, p.URGENT): h,
                (fr, c.WEB, p.URGENT): h,
                (nr, c.CHAT): timedelta(minutes=2),
                (nr, c.WHATSAPP): timedelta(minutes=30),
                (nr, c.SOCIAL): 2 * h,
                (nr, c.EMAIL): 24 * h,
                (nr, c.WEB): 24 * h,
                (pu, p.URGENT): 4 * h,
                (pu, p.HIGH): 24 * h,
                (res, p.URGENT): 8 * h,
                (res, p.HIGH): 24 * h,
                (res, p.NORMAL): 72 * h,
                (res, p.LOW): 120 * h,
            },
        )

    # -- the hook -----------------------------------------------------------------

    @checked
    def target_for(self, metric: Metric, ticket: Ticket) -> tuple[Target, str] | None:
        """The target for ``metric`` on ``ticket`` and the key it came from, or ``None``.

        The most specific key wins: channel and priority, then channel, then
        priority, then any. ``ticket`` carries the priority and channel in
        force at the moment that matters (the cycle's stop, or now).
        """
        return self._target(metric, ticket)

    def _target(self, metric: Metric, ticket: Ticket) -> tuple[Target, str] | None:
        ch, pr = ticket.channel, ticket.priority
        memo = (metric, ch, pr)
        try:
            return self._chosen[memo]
        except KeyError:
            pass
        table = self._by_tuple
        found = (
            table.get((metric, ch, pr))
            or table.get((metric, ch, None))
            or table.get((metric, None, pr))
            or table.get((metric, None, None))
        )
        self._chosen[memo] = found
        return found

    @checked
    def may_have_breached(self, ticket: Ticket, *, now: datetime) -> bool:
        """``False`` only when no clock of ``ticket`` can have breached by ``now``; cheap.

        A clock counts working time, never more than wall time: a ticket done by
        ``now`` whose whole life (creation to its last event) was shorter than each
        of its targets cannot have breached one. Otherwise (still open, a priority
        or channel change, a subclass's own ``evaluate``), ``True``: evaluate it.
        """
        return self._may_have_breached(ticket, to_utc(now, "now"))

    def _may_have_breached(self, ticket: Ticket, at: datetime) -> bool:
        kind = type(self)
        if kind.evaluate is not SlaPolicy.evaluate:
            return True  # a subclass grades its own way
        last = ticket.last_event_at
        if last > at or not done_at(ticket) or changes_course(ticket):
            return True
        target_for = self._target if kind.target_for is SlaPolicy.target_for else self.target_for
        life = last - ticket.created_at
        for metric in self._metrics:
            found = target_for(metric, ticket)
            if found is not None and (life >= found[0].duration or found[0].business_days):
                return True
        return False

    # -- evaluation ---------------------------------------------------------------

    @checked
    def evaluate(self, ticket: Ticket, *, now: datetime) -> SlaReport:
        """Evaluate every metric of ``ticket`` at ``now``; pure.

        ``now`` earlier than an event is allowed: events after ``now`` are ignored.
        """
        now_dt = to_utc(now, "now")
        log = Timeline(ticket, now_dt.timestamp())
        cycles: dict[Metric, tuple[SlaClock, ...]] = {}
        target_for = self.target_for
        steady = not log.changes  # the target is the same for every cycle
        make = self._clock
        pause_on = self._paused_in(log) if log.done_statuses else self.pause_on
        for metric in self._metrics:
            found = target_for(metric, ticket) if steady else None
            if steady and found is None:
                continue  # no target for this ticket, whatever its cycles
            clocks = []
            paused_in = pause_on[metric]
            for n, (start, stop) in enumerate(self._cycles(log, metric), 1):
                clock = make(log, metric, n, start, stop, found, paused_in)
                if clock is not None:
                    clocks.append(clock)
            if clocks:
                cycles[metric] = tuple(clocks)
        closes = window_closes(ticket, now=now_dt) if ticket.channel is Channel.WHATSAPP else None
        return SlaReport(ticket.id, self.name, now_dt, cycles, closes)

    def _cycles(self, log: Timeline, metric: Metric) -> list[Cycle]:
        if metric is _FR:
            return [log.first_response()]
        if metric is _RES:
            return log.resolution(restart=self.reopen == "restart")
        if metric is _NR:
            return log.next_responses()
        return log.periodic_updates()

    def _paused_in(self, log: Timeline) -> Mapping[Metric, frozenset[str]]:
        """The statuses that pause each metric: its ``pause_on``, and done ones when resuming."""
        if self.reopen == "restart" or not log.done_statuses:
            return self.pause_on
        done = log.done_statuses
        return {m: (s | done if m is Metric.RESOLUTION else s) for m, s in self.pause_on.items()}

    def _clock(  # noqa: PLR0917 - positional on purpose: the hot path of every evaluation
        self,
        log: Timeline,
        metric: Metric,
        cycle: int,
        start: float,
        stop: float | None,
        found: tuple[Target, str] | None,
        paused_in: frozenset[str],
    ) -> SlaClock | None:
        end = log.now if stop is None else stop
        changes: tuple[Change, ...] = ()
        if found is None:  # the target may differ per cycle: read it as of the cycle's end
            as_of, changes = log.as_of(end, start)
            found = self.target_for(metric, as_of)
            if found is None:
                return None
        target, source = found
        calendar = target.calendar or self.calendar
        if target.business_days is not None:
            target = target.read_at(calendar, start)
        segments, pauses = log.split(start, end, paused_in)
        limit = target.duration.total_seconds()
        elapsed, due = _measure(calendar, segments, limit, end)
        paused_now = (
            stop is None
            and not paused_in.isdisjoint(log.visited)
            and log.status_at(end) in paused_in
        )
        paused_total, spans = (
            _pause_spans(calendar, pauses, end if paused_now else None) if pauses else (0.0, ())
        )
        if stop is not None:
            state = _BREACHED if elapsed > limit else _MET
        elif paused_now:
            state = _PAUSED
        else:
            state = _BREACHED if elapsed > limit else _RUNNING
        return new_clock(
            metric,
            target,
            cycle,
            state,
            calendar,
            source,
            start,
            stop,
            due,
            elapsed,
            paused_total,
            log.now,
            tuple(segments),
            spans,
            changes,
        )


_FR, _NR, _PU, _RES = Metric
_MET, _BREACHED, _RUNNING, _PAUSED = (
    ClockState.MET,
    ClockState.BREACHED,
    ClockState.RUNNING,
    ClockState.PAUSED,
)


def _measure(
    calendar: BusinessCalendar, segments: Sequence[tuple[float, float]], limit: float, end: float
) -> tuple[float, float]:
    """Working time over the counting segments, and the instant it reaches ``limit``.

    The instant is in the log when the limit was reached inside a segment, else
    projected from ``end`` as if the clock ran on.
    """
    elapsed = 0.0
    due: float | None = None
    if calendar._always:
        for a, b in segments:
            w = b - a
            if due is None and elapsed + w >= limit:
                due = a + (limit - elapsed)
            elapsed += w
        return elapsed, (end + limit - elapsed) if due is None else due
    between = calendar._between_seconds
    for a, b in segments:
        w = between(a, b)
        if due is None and elapsed + w >= limit:
            due = calendar._add_seconds(a, limit - elapsed) if limit > elapsed else a
        elapsed += w
    return elapsed, calendar._add_seconds(end, limit - elapsed) if due is None else due


def _pause_spans(
    calendar: BusinessCalendar,
    pauses: Sequence[tuple[float, float, str]],
    open_end: float | None,
) -> tuple[float, tuple[tuple[float, float | None, str, float], ...]]:
    """Paused working time and the pause spans; a span ending at ``open_end`` is still open."""
    if not pauses:
        return 0.0, ()
    between = _plain_between if calendar._always else calendar._between_seconds
    total = 0.0
    listed = []
    for a, b, status in pauses:
        w = between(a, b)
        total += w
        listed.append((a, None if b == open_end else b, status, w))
    return total, tuple(listed)


def _plain_between(a: float, b: float) -> float:
    return b - a
