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
from typing import Any, ClassVar, Literal

import attrs

from carekit._calendar import BusinessCalendar
from carekit._model import Channel, Priority, Status, Ticket, as_channel, as_priority, new_ticket
from carekit._sla_report import Change, ClockState, Metric, SlaClock, SlaReport, new_clock
from carekit._time import to_utc
from carekit.exceptions import PolicyError

__all__ = ["DEFAULT_PAUSE_ON", "SlaPolicy", "Target", "TargetKey"]

_RESOLVED = frozenset({Status.RESOLVED, Status.CLOSED})


def _warn_at(value: Iterable[float]) -> tuple[float, ...]:
    fractions = tuple(sorted(float(f) for f in value))
    for f in fractions:
        if not 0 < f < 1:
            raise PolicyError("warn_at", f, "is not a fraction between 0 and 1 (e.g. 0.75)")
    return fractions


def _positive(_: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value < timedelta(seconds=1):
        raise PolicyError(attribute.name, value, "is not a duration of at least one second")


@attrs.frozen
class Target:
    """A response-time target: ``duration`` of working time in a calendar.

    Attributes:
        duration: the working time allowed (second precision; 30 s is fine).
        calendar: the calendar it counts in; ``None`` means the policy's.
        warn_at: fractions of the duration at which a live clock is "at risk".
    """

    duration: timedelta = attrs.field(validator=_positive)
    calendar: BusinessCalendar | None = attrs.field(default=None, eq=False)
    warn_at: tuple[float, ...] = attrs.field(default=(0.75,), converter=_warn_at)


@attrs.frozen
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

    agent_reply_kinds: ClassVar[frozenset[str]] = frozenset({"agent_reply"})
    """Event kinds that count as a public agent response."""
    customer_message_kinds: ClassVar[frozenset[str]] = frozenset({"customer_reply"})
    """Event kinds that are a customer writing in (besides ``created``)."""
    change_kinds: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"set_priority": "priority", "set_channel": "channel"}
    )
    """Event kinds that change a field targets depend on, and that field."""

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
        self._paused_in = {
            m: (s | _RESOLVED if m is Metric.RESOLUTION and reopen == "resume" else s)
            for m, s in self.pause_on.items()
        }
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

    def target_for(self, metric: Metric, ticket: Ticket) -> tuple[Target, str] | None:
        """The target for ``metric`` on ``ticket`` and the key it came from, or ``None``.

        The most specific key wins: channel and priority, then channel, then
        priority, then any. ``ticket`` carries the priority and channel in
        force at the moment that matters (the cycle's stop, or now).
        """
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

    # -- evaluation ---------------------------------------------------------------

    def evaluate(self, ticket: Ticket, *, now: datetime) -> SlaReport:
        """Evaluate every metric of ``ticket`` at ``now``; pure.

        ``now`` earlier than an event is allowed: events after ``now`` are ignored.
        """
        now_dt = to_utc(now, "now")
        log = _Log(ticket, now_dt.timestamp(), self)
        cycles: dict[Metric, tuple[SlaClock, ...]] = {}
        target_for = self.target_for
        steady = not log.changes  # the target is the same for every cycle
        make = self._clock
        for metric in self._metrics:
            found = target_for(metric, ticket) if steady else None
            if steady and found is None:
                continue  # no target for this ticket, whatever its cycles
            clocks = []
            for n, (start, stop) in enumerate(log.cycles(metric), 1):
                clock = make(log, metric, n, start, stop, found)
                if clock is not None:
                    clocks.append(clock)
            if clocks:
                cycles[metric] = tuple(clocks)
        return SlaReport(ticket.id, self.name, now_dt, cycles)

    def _clock(  # noqa: PLR0912, PLR0917 - one flat pass: the hot path of every evaluation
        self,
        log: _Log,
        metric: Metric,
        cycle: int,
        start: float,
        stop: float | None,
        found: tuple[Target, str] | None,
    ) -> SlaClock | None:
        now = log.now
        end = now if stop is None else stop
        changes: tuple[Change, ...] = ()
        if found is None:  # the target may differ per cycle: read it as of the cycle's end
            as_of, changes = log.as_of(end, start)
            found = self.target_for(metric, as_of)
            if found is None:
                return None
        target, source = found
        calendar = target.calendar or self.calendar
        paused_in = self._paused_in[metric]
        segments, pauses = log.split(start, end, paused_in)
        limit = target.duration.total_seconds()
        elapsed = 0.0
        due: float | None = None
        if calendar._always:
            for a, b in segments:
                w = b - a
                if due is None and elapsed + w >= limit:
                    due = a + (limit - elapsed)
                elapsed += w
            between = _plain_between
        else:
            between = calendar.between_seconds
            for a, b in segments:
                w = between(a, b)
                if due is None and elapsed + w >= limit:
                    due = calendar.add_seconds(a, limit - elapsed) if limit > elapsed else a
                elapsed += w
        paused_now = stop is None and not paused_in.isdisjoint(log.visited)
        paused_now = paused_now and log.status_at(end) in paused_in
        if due is None:
            due = calendar.add_seconds(end, limit - elapsed)
        paused_total = 0.0
        spans: tuple[tuple[float, float | None, str, float], ...] = ()
        if pauses:
            listed = []
            for a, b, status in pauses:
                w = between(a, b)
                paused_total += w
                listed.append((a, None if paused_now and b == end else b, status, w))
            spans = tuple(listed)
        if stop is not None:
            state = ClockState.BREACHED if elapsed > limit else ClockState.MET
        elif paused_now:
            state = ClockState.PAUSED
        else:
            state = ClockState.BREACHED if elapsed > limit else ClockState.RUNNING
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
            now,
            tuple(segments),
            spans,
            changes,
        )


def _plain_between(a: float, b: float) -> float:
    return b - a


class _Log:
    """A ticket's log read once into the timelines the metrics need (epoch seconds)."""

    __slots__ = (
        "agent",
        "changes",
        "customer",
        "now",
        "reopens",
        "resolves",
        "responses",
        "restart",
        "statuses",
        "ticket",
        "visited",
    )

    def __init__(self, ticket: Ticket, now: float, policy: SlaPolicy) -> None:
        self.ticket = ticket
        self.now = now
        self.restart = policy.reopen == "restart"
        agent_kinds = policy.agent_reply_kinds
        customer_kinds = policy.customer_message_kinds
        change_kinds = policy.change_kinds
        events = ticket.events
        first = events[0]
        status = first.status_after
        statuses = [(first.at.timestamp(), status)]
        agent: list[float] = []
        customer: list[float] = []
        resolves: list[float] = []
        reopens: list[float] = []
        changes: list[tuple[float, str, object]] = []
        resolved = _RESOLVED
        for event in events[1:]:
            t = event.at.timestamp()
            if t > now:
                break
            kind = event.kind
            after = event.status_after
            if after != status:
                statuses.append((t, after))
                if after in resolved:
                    if status not in resolved:
                        resolves.append(t)
                elif status == Status.RESOLVED:
                    reopens.append(t)
                status = after
            if kind in agent_kinds:
                agent.append(t)
            elif kind in customer_kinds:
                customer.append(t)
            elif kind in change_kinds:
                field = change_kinds[kind]
                changes.append((t, field, event.data[field]))
        self.statuses = statuses
        self.visited = frozenset(s for _, s in statuses)
        self.agent = agent
        self.customer = customer
        self.resolves = resolves
        self.reopens = reopens
        self.changes = changes
        self.responses: (
            tuple[list[tuple[float, float | None]], list[tuple[float, float | None]]] | None
        ) = None

    def as_of(self, end: float, start: float) -> tuple[Ticket, tuple[Change, ...]]:
        """The ticket with the priority and channel in force at ``end``, and the changes.

        The changes are those inside [start, end]: (instant, field, old value, new value).
        """
        ticket = self.ticket
        if not self.changes:
            return ticket, ()
        first = ticket.events[0].data
        priority, channel = first["priority"], first["channel"]
        changes = []
        for t, field, value in self.changes:
            if t > end:
                break
            old = priority if field == "priority" else channel
            if field == "priority":
                priority = as_priority(value)  # type: ignore[arg-type]
            else:
                channel = as_channel(value)  # type: ignore[arg-type]
            if t >= start and old != value:
                changes.append((t, field, old, value))
        if priority == ticket.priority and channel == ticket.channel:
            return ticket, tuple(changes)
        as_of = new_ticket(
            ticket.id,
            channel,
            priority,
            ticket.customer_id,
            ticket.created_at,
            ticket.status,
            ticket.assignee,
            ticket.tags,
            ticket.events,
        )
        return as_of, tuple(changes)

    def split(
        self, start: float, end: float, paused_in: frozenset[str]
    ) -> tuple[Sequence[tuple[float, float]], Sequence[tuple[float, float, str]]]:
        """Counting segments and pauses (start, end, status) of [start, end]."""
        if paused_in.isdisjoint(self.visited):
            return ((start, end),), ()
        segments: list[tuple[float, float]] = []
        pauses: list[tuple[float, float, str]] = []
        statuses = self.statuses
        last = len(statuses) - 1
        for i, (t, status) in enumerate(statuses):
            a = t if t > start else start
            b = statuses[i + 1][0] if i < last else end
            if b > end:  # noqa: PLR1730 - a plain branch is cheaper than min() here
                b = end
            if b <= a:
                continue
            if status in paused_in:
                if pauses and pauses[-1][1] == a and pauses[-1][2] == status:
                    pauses[-1] = (pauses[-1][0], b, status)
                else:
                    pauses.append((a, b, status))
            elif segments and segments[-1][1] == a:
                segments[-1] = (segments[-1][0], b)
            else:
                segments.append((a, b))
        return segments, pauses

    def status_at(self, t: float) -> str:
        """The ticket's status at ``t``."""
        status = self.statuses[0][1]
        for at, s in self.statuses:
            if at > t:
                break
            status = s
        return status

    def cycles(self, metric: Metric) -> list[tuple[float, float | None]]:
        """The (start, stop) of each cycle of ``metric``; stop is None while it runs."""
        created = self.statuses[0][0]
        if metric is Metric.FIRST_RESPONSE:
            stops = [*self.agent[:1], *self.resolves[:1]]
            return [(created, min(stops) if stops else None)]
        if metric is Metric.RESOLUTION:
            if self.restart:
                starts = [created, *self.reopens]
                out: list[tuple[float, float | None]] = []
                for s in starts:
                    stop = next((r for r in self.resolves if r >= s), None)
                    out.append((s, stop))
                return out
            resolved_now = bool(self.statuses) and self.statuses[-1][1] in _RESOLVED
            return [(created, self.resolves[-1] if resolved_now and self.resolves else None)]
        return self._response_cycles(metric)

    def _response_cycles(self, metric: Metric) -> list[tuple[float, float | None]]:
        if self.responses is None:
            self.responses = self._both_response_cycles()
        return self.responses[0] if metric is Metric.NEXT_RESPONSE else self.responses[1]

    def _both_response_cycles(  # noqa: PLR0912 - one walk, two metrics, read top to bottom
        self,
    ) -> tuple[list[tuple[float, float | None]], list[tuple[float, float | None]]]:
        """NEXT_RESPONSE and PERIODIC_UPDATE cycles, in one walk over the merged marks."""
        marks: list[tuple[float, int]] = [(t, 0) for t in self.agent]
        marks += [(t, 1) for t in self.customer]
        marks += [(t, 2) for t in self.resolves]
        marks += [(t, 3) for t in self.reopens]
        marks.sort()
        nr: list[tuple[float, float | None]] = []
        pu: list[tuple[float, float | None]] = []
        nr_start: float | None = None
        pu_start: float | None = None
        replied = resolved = False
        for t, what in marks:
            if what == 0:  # agent reply: answers the customer, and is an update
                if nr_start is not None:
                    nr.append((nr_start, t))
                    nr_start = None
                if pu_start is not None:
                    pu.append((pu_start, t))
                pu_start = None if resolved else t
                replied = True
            elif what == 1:  # customer message: waits for the next response
                if replied and nr_start is None:
                    nr_start = t
            elif what == 2:  # resolved: nothing is owed any more
                resolved = True
                if nr_start is not None:
                    nr.append((nr_start, t))
                    nr_start = None
                if pu_start is not None:
                    pu.append((pu_start, t))
                    pu_start = None
            else:  # reopened: updates are owed again
                resolved = False
                if pu_start is None:
                    pu_start = t
        if nr_start is not None:
            nr.append((nr_start, None))
        if pu_start is not None:
            pu.append((pu_start, None))
        return nr, pu
