"""Escalation: warnings before a breach and levels after it, as decisions.

Theory of operation
-------------------
An :class:`EscalationPolicy` is an ordered list of :class:`EscalationLevel`.
Each level has a trigger (``when``) that, given a ticket and its SLA report,
names the instant it fires and the *cycle* it belongs to; an optional
condition on the ticket and customer; and actions for the host.

``decide(ticket, report, now=..., fired=...)`` returns a :class:`Escalation` for
every level whose instant has come and whose key is not in ``fired``. A key is
``ticket/level/metric/cycle``, so a level fires at most once per SLA cycle: a
priority change moves the instant but not the key; a new customer message or
a reopen opens a new cycle of the metrics it restarts (and a new key).

Catch-up: decisions follow from the log, not from when they are asked for.
A cycle that breached and then stopped (or paused) between two looks still
owes its breach (``AtBreach``) and every ``AfterBreach`` whose instant came
before the stop; they are decided on the next look, with ``late`` saying how
late. A warning (``Before``) is owed only while its clock runs.
Tick intervals change latency, never outcomes. ``next_due`` gives the
earliest instant at which ``decide`` could return something new, so that the
shell only looks at tickets that are due. Both are pure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

import attrs

from carekit._calendar import BusinessCalendar
from carekit._check import checked, typed_fields
from carekit._model import Customer, Priority, Role, Status, Ticket
from carekit._sla_report import ClockState, Metric, SlaClock, SlaReport
from carekit._time import to_utc
from carekit._timeline import Timeline
from carekit._window import WHATSAPP_WINDOW, ReplyWindow, last_inbound
from carekit.exceptions import CalendarError, InvalidValue

__all__ = [
    "Action",
    "AfterBreach",
    "AtBreach",
    "Before",
    "Escalation",
    "EscalationLevel",
    "EscalationPolicy",
    "Idle",
    "InformCustomer",
    "Notify",
    "RaisePriority",
    "Reassign",
    "Reopened",
    "EscalationTrigger",
    "WindowClosing",
    "fired_keys",
]

_AGENT_ACTIVITY = frozenset({Role.AGENT_REPLY, Role.NOTE, Role.ASSIGNMENT})
_ANSWER = Role.AGENT_REPLY


# -- actions ---------------------------------------------------------------------------


@attrs.frozen
class Action:
    """Something the host (or the desk) carries out. Subclass to add your own."""


@attrs.frozen
class Notify(Action):
    """Tell someone (a role such as ``"supervisor"`` or an address) using a template.

    Attributes:
        recipient: who.
        template: the message.
        fallback: who is told instead while ``recipient`` is off duty (by the
            policy's ``rosters``) and the fallback is on duty.
        off_duty: with no fallback on duty, ``"wait"`` (the default) decides
            the level at the next opening of ``recipient`` (or the fallback),
            ``"send"`` tells ``recipient`` all the same.
    """

    recipient: str
    template: str = "escalation"
    fallback: str | None = attrs.field(default=None, kw_only=True)
    off_duty: Literal["wait", "send"] = attrs.field(default="wait", kw_only=True)


@attrs.frozen
class Reassign(Action):
    """Move the ticket to a team or tier; the desk applies it as an ``assign``."""

    to: str


@attrs.frozen
class RaisePriority(Action):
    """Raise the ticket's priority to ``to``, or one step when ``None``; the desk applies it."""

    to: Priority | None = None

    @checked
    def target(self, current: Priority) -> Priority:
        """The priority to set, from the ticket's ``current`` one (never lower)."""
        if self.to is not None:
            return max(self.to, current)
        return Priority(min(current + 1, Priority.URGENT))


@attrs.frozen
class InformCustomer(Action):
    """Tell the customer the new estimated time (the template gets ``eta``)."""

    template: str = "eta_notice"


# -- triggers --------------------------------------------------------------------------


@attrs.frozen
class Firing:
    """When a trigger fires for the current cycle: the instant and the cycle's id."""

    at: datetime
    metric: str
    cycle: int


class EscalationTrigger:
    """When a level fires. Subclass and implement :meth:`firing` for your own.

    :meth:`firings` is what the policy reads: every firing the trigger owes,
    past or pending. By default it is :meth:`firing`'s one answer; the breach
    triggers override it to owe the breach of a cycle that already stopped
    (catch-up: a breach between two ticks is still handed over, late).
    """

    @checked
    def firing(self, ticket: Ticket, report: SlaReport) -> Firing | None:
        """The instant and cycle at which this trigger fires now, or ``None`` (nothing pending)."""
        raise NotImplementedError

    @checked
    def firings(self, ticket: Ticket, report: SlaReport) -> Sequence[Firing]:
        """Every firing owed: past ones (catch-up) and the pending one, if any."""
        found = self.firing(ticket, report)
        return () if found is None else (found,)


def _live(report: SlaReport, metric: Metric) -> ClockState | None:
    if metric not in report:
        return None
    clock = report[metric]
    return clock.state if clock.running and clock.state is not ClockState.PAUSED else None


def _ticking(clock: SlaClock) -> bool:
    return clock.running and clock.state is not ClockState.PAUSED


@attrs.frozen(field_transformer=typed_fields)
class Before(EscalationTrigger):
    """Fires before a metric's deadline: at ``fraction`` of the target, or ``lead`` before it.

    ``lead`` is working time in the target's calendar. Give one of the two.
    """

    metric: Metric
    fraction: float | None = None
    lead: timedelta | None = None

    def __attrs_post_init__(self) -> None:
        if self.fraction is not None and self.lead is not None:
            raise InvalidValue("lead", self.lead, "either a fraction or a lead, not both")
        if self.fraction is None and self.lead is None:
            object.__setattr__(self, "fraction", 0.75)
        if self.fraction is not None and not 0 < self.fraction < 1:
            raise InvalidValue("fraction", self.fraction, "a fraction between 0 and 1")

    @checked
    def firing(self, ticket: Ticket, report: SlaReport) -> Firing | None:
        """At the fraction (or the lead before the deadline) of the live cycle.

        A warning is owed only while its clock runs: a clock that stopped (met
        or not) between two ticks owes none (its breach, if any, is owed by
        :class:`AtBreach`).
        """
        if _live(report, self.metric) is None:
            return None
        clock = report[self.metric]
        target = clock.target.duration
        at = target * self.fraction if self.fraction is not None else target - (self.lead or target)
        return Firing(clock.instant_at(max(at, timedelta(0))), self.metric, clock.cycle)


@attrs.frozen(field_transformer=typed_fields)
class AtBreach(EscalationTrigger):
    """Fires when the metric's live cycle breaches."""

    metric: Metric

    @checked
    def firing(self, ticket: Ticket, report: SlaReport) -> Firing | None:
        """At the deadline of the live cycle."""
        if _live(report, self.metric) is None:
            return None
        clock = report[self.metric]
        return Firing(clock.due_at, self.metric, clock.cycle)

    @checked
    def firings(self, ticket: Ticket, report: SlaReport) -> Sequence[Firing]:
        """The live cycle's deadline, and the breach of every cycle that breached and stopped."""
        owed = []
        for clock in report.cycles(self.metric):
            if _ticking(clock):
                owed.append(Firing(clock.due_at, self.metric, clock.cycle))
            elif clock.breached:  # breached, then stopped or paused: owed from then on
                owed.append(
                    Firing(clock.instant_at(clock.target.duration), self.metric, clock.cycle)
                )
        return owed


@attrs.frozen(field_transformer=typed_fields)
class AfterBreach(EscalationTrigger):
    """Fires ``delay`` of working time after the metric's live cycle breached."""

    metric: Metric
    delay: timedelta

    @checked
    def firing(self, ticket: Ticket, report: SlaReport) -> Firing | None:
        """At the deadline plus ``delay`` of counted working time."""
        if _live(report, self.metric) is None:
            return None
        clock = report[self.metric]
        return Firing(
            clock.instant_at(clock.target.duration + self.delay), self.metric, clock.cycle
        )

    @checked
    def firings(self, ticket: Ticket, report: SlaReport) -> Sequence[Firing]:
        """The live cycle's, and every stopped cycle's whose instant came before its stop."""
        owed = []
        for clock in report.cycles(self.metric):
            limit = clock.target.duration + self.delay
            if _ticking(clock) or clock.elapsed >= limit:
                owed.append(Firing(clock.instant_at(limit), self.metric, clock.cycle))
        return owed


@attrs.frozen
class Idle(EscalationTrigger):
    """Fires when no agent has acted for ``duration`` of working time while the ticket is live.

    Agent activity is an event with one of ``roles`` (by default a reply, a
    note or an assignment); only statuses in ``statuses`` count as idle
    (waiting on the customer is not idleness).
    """

    duration: timedelta
    calendar: BusinessCalendar | None = attrs.field(default=None, eq=False)
    roles: frozenset[Role] = _AGENT_ACTIVITY
    statuses: frozenset[str] = frozenset({Status.NEW, Status.OPEN})

    @checked
    def firing(self, ticket: Ticket, report: SlaReport) -> Firing | None:
        """``duration`` after the last agent activity (or the creation)."""
        if ticket.status not in self.statuses:
            return None
        since = next(
            (e.at for e in reversed(ticket.events) if not e.roles.isdisjoint(self.roles)),
            ticket.created_at,
        )
        calendar = self.calendar or BusinessCalendar.always_open()
        return Firing(calendar.add(since, self.duration), "idle", int(since.timestamp()))


@attrs.frozen
class Reopened(EscalationTrigger):
    """Fires when the ticket is reopened for the ``times``-th time."""

    times: int = 2

    @checked
    def firing(self, ticket: Ticket, report: SlaReport) -> Firing | None:
        """At the reopen that reaches ``times``, if it happened and the ticket is live."""
        reopens = [e.at for e in ticket.events if _REOPEN in e.roles]
        if len(reopens) < self.times or Timeline(ticket).done:
            return None
        return Firing(reopens[self.times - 1], "reopened", self.times)


@attrs.frozen(field_transformer=typed_fields)
class WindowClosing(EscalationTrigger):
    """Fires ``lead`` before a WhatsApp ticket's reply window closes with no agent reply.

    The window closes 24 hours (wall clock) after the customer's last message;
    after it only an approved template reaches them. The SLA deadline may be
    much later (a ticket opened on Friday at 17:00 under Monday-to-Friday hours
    is due on Monday; its window closes on Saturday at 17:00), so this warns
    while a free-form answer is still possible. Each customer message opens a
    new cycle; an agent reply after it, or a done ticket, owes nothing.
    """

    lead: timedelta = timedelta(hours=2)
    window: ReplyWindow = WHATSAPP_WINDOW

    def __attrs_post_init__(self) -> None:
        if not timedelta(0) <= self.lead < self.window.length:
            raise InvalidValue(
                "lead", self.lead, f"a lead shorter than the window's {self.window.length}"
            )

    @checked
    def firing(self, ticket: Ticket, report: SlaReport) -> Firing | None:
        """``lead`` before the window of the last unanswered customer message closes."""
        if ticket.channel is not self.window.channel:
            return None
        since = last_inbound(ticket, report.now)
        closes = self.window.closes(since)
        if since is None or closes is None or Timeline(ticket).done:
            return None
        if any(_ANSWER in e.roles and since <= e.at <= report.now for e in ticket.events):
            return None  # answered inside the window
        return Firing(closes - self.lead, "reply_window", int(since.timestamp()))


# -- levels, decisions, policy --------------------------------------------------------

Condition = Callable[[Ticket, Customer | None], bool]


def _actions(value: Iterable[Action]) -> tuple[Action, ...]:
    return tuple(value)


@attrs.frozen(field_transformer=typed_fields)
class EscalationLevel:
    """A named step: when it fires, on which tickets, and what to do.

    Attributes:
        name: unique within the policy; part of every decision's key.
        when: the trigger.
        actions: what the host (or the desk) does when it fires.
        condition: an optional predicate on ticket and customer (e.g. VIP only).
    """

    name: str
    when: EscalationTrigger = attrs.field(eq=False)
    actions: tuple[Action, ...] = attrs.field(converter=_actions)
    condition: Condition | None = attrs.field(default=None, eq=False)

    @checked
    def applies(self, ticket: Ticket, customer: Customer | None) -> bool:
        """Whether this level concerns ``ticket`` (the hook for subclasses)."""
        return self.condition is None or self.condition(ticket, customer)


@attrs.frozen
class Escalation:
    """A level that fired: what to do, for which ticket, under which idempotency key.

    Attributes:
        key: ``ticket/level/metric/cycle``; the same firing always has the same key.
        ticket_id: the ticket.
        level: the level's name.
        metric: the metric (or ``"idle"``, ``"reopened"``).
        cycle: the cycle it fired in.
        due_at: when it was due.
        actions: what to do.
        late: how long after ``due_at`` it was decided (a tick every minute
            hands a breach over up to a minute late; never not at all).
        eta: the running resolution deadline after the desk's own actions
            (else the earliest running deadline), for ``InformCustomer``.
        notes: the choices made for off-duty recipients ("supervisor is off
            duty (outside the hours) until ...: notified night_lead instead").
    """

    key: str
    ticket_id: str
    level: str
    metric: str
    cycle: int
    due_at: datetime
    actions: tuple[Action, ...]
    late: timedelta = timedelta(0)
    eta: datetime | None = None
    notes: tuple[str, ...] = ()


@checked
def fired_keys(ticket: Ticket) -> frozenset[str]:
    """The keys of the escalations recorded on ``ticket`` (its events with the escalation role)."""
    return frozenset(e.data["key"] for e in ticket.events if _RECORD in e.roles)


_RECORD = Role.ESCALATION
_REOPEN = Role.REOPEN


class EscalationPolicy:
    """Ordered escalation levels, evaluated purely against a ticket and its SLA report.

    Examples:
        >>> from datetime import UTC
        >>> from carekit import SlaPolicy
        >>> policy = EscalationPolicy([
        ...     EscalationLevel("warn", Before(Metric.FIRST_RESPONSE, 0.75), [Notify("team_lead")]),
        ...     EscalationLevel("breach", AtBreach(Metric.FIRST_RESPONSE), [Notify("supervisor")]),
        ... ])
        >>> rang = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        >>> call = Ticket.open("C-1", channel="phone", customer_id="c", at=rang)
        >>> report = SlaPolicy.default().evaluate(call, now=rang + timedelta(seconds=23))
        >>> [d.key for d in policy.decide(call, report, now=rang + timedelta(seconds=23))]
        ['C-1/warn/first_response/1']
        >>> policy.next_due(call, report, fired={"C-1/warn/first_response/1"}).isoformat()
        '2026-03-02T09:00:30+00:00'
    """

    @checked
    def __init__(
        self,
        levels: Sequence[EscalationLevel],
        *,
        rosters: Mapping[str, BusinessCalendar] | None = None,
    ) -> None:
        names = [level.name for level in levels]
        if len(set(names)) != len(names):
            raise InvalidValue("levels", names, "levels with unique names")
        self.levels = tuple(levels)
        self.rosters = dict(rosters or {})
        """When each recipient (a person, a team's role) is on duty; others always are."""

    def _on_duty(self, recipient: str, at: datetime) -> bool:
        roster = self.rosters.get(recipient)
        return roster is None or roster.is_open(at)

    def _next_shift(self, who: str, fallback: str | None, now: datetime) -> datetime | None:
        """The earliest next opening of ``who`` (or ``fallback``); ``None`` if neither opens."""
        found = []
        for name in (who, fallback):
            if name in self.rosters:
                with contextlib.suppress(CalendarError):
                    found.append(self.rosters[name].next_open(now))
        return min(found, default=None)

    def _route(
        self, actions: tuple[Action, ...], due: datetime, now: datetime
    ) -> tuple[tuple[Action, ...], tuple[str, ...], datetime | None]:
        """The actions as delivered at ``now``, with notes on off-duty recipients.

        Or, when one of them waits, the instant to wait for.
        """
        out: list[Action] = []
        notes: list[str] = []
        wait: datetime | None = None
        for action in actions:
            if not isinstance(action, Notify) or action.recipient not in self.rosters:
                out.append(action)
                continue
            who, roster = action.recipient, self.rosters[action.recipient]
            if roster.is_open(now):
                if not roster.is_open(due):
                    notes.append(f"{who} was off duty when it fell due: told at their next shift")
                out.append(action)
                continue
            why = roster.why_closed(now)
            fallback = action.fallback
            if fallback is not None and self._on_duty(fallback, now):
                out.append(attrs.evolve(action, recipient=fallback, fallback=None))
                notes.append(f"{who} is off duty ({why}): told {fallback} instead")
            elif action.off_duty == "send":
                out.append(action)
                notes.append(f"{who} is off duty ({why}): told all the same")
            else:
                opens = self._next_shift(who, fallback, now)
                if opens is None:  # nobody comes on duty again: waiting would lose it
                    out.append(action)
                    notes.append(f"{who} is off duty ({why}) and no shift opens: told all the same")
                else:
                    wait = opens if wait is None else min(wait, opens)
        if wait is not None:
            return actions, (), wait
        return tuple(out), tuple(notes), None

    @checked
    def pending(
        self,
        ticket: Ticket,
        report: SlaReport,
        *,
        fired: frozenset[str] | set[str] | None = None,
        customer: Customer | None = None,
    ) -> list[tuple[EscalationLevel, Firing, str]]:
        """Every level not yet fired in its current cycle, with its firing and key."""
        done = fired_keys(ticket) if fired is None else fired
        out = []
        for level in self.levels:
            if not level.applies(ticket, customer):
                continue
            for firing in level.when.firings(ticket, report):
                key = f"{ticket.id}/{level.name}/{firing.metric}/{firing.cycle}"
                if key not in done:
                    out.append((level, firing, key))
        return out

    @checked
    def decide(
        self,
        ticket: Ticket,
        report: SlaReport,
        *,
        now: datetime,
        fired: frozenset[str] | set[str] | None = None,
        customer: Customer | None = None,
    ) -> tuple[Escalation, ...]:
        """The decisions due at ``now`` that were not fired before, in level order."""
        decided, _ = self.split(ticket, report, now=now, fired=fired, customer=customer)
        return decided

    @checked
    def split(
        self,
        ticket: Ticket,
        report: SlaReport,
        *,
        now: datetime,
        fired: frozenset[str] | set[str] | None = None,
        customer: Customer | None = None,
    ) -> tuple[tuple[Escalation, ...], datetime | None]:
        """:meth:`decide` and, at once, the earliest instant of what is pending after those."""
        now = to_utc(now, "now")
        decided = []
        later: datetime | None = None
        for level, firing, key in self.pending(ticket, report, fired=fired, customer=customer):
            at = firing.at
            if at <= now:
                actions, notes, wait = self._route(level.actions, at, now)
                if wait is None:
                    metric, cycle = str(firing.metric), firing.cycle
                    decided.append(Escalation(key, ticket.id, level.name, metric, cycle, at,
                                              actions, now - at, notes=notes))  # fmt: skip
                    continue
                at = wait  # an off-duty recipient: decided at their next opening
            if later is None or at < later:
                later = at
        return tuple(decided), later

    @checked
    def next_due(
        self,
        ticket: Ticket,
        report: SlaReport,
        *,
        fired: frozenset[str] | set[str] | None = None,
        customer: Customer | None = None,
        now: datetime | None = None,
    ) -> datetime | None:
        """The earliest instant at which :meth:`decide` has something new, or ``None``.

        Given ``now``, a level due for an off-duty recipient counts from the
        instant it waits for.
        """
        if now is None or not self.rosters:
            pending = self.pending(ticket, report, fired=fired, customer=customer)
            return min((firing.at for _, firing, _ in pending), default=None)
        return self.split(ticket, report, now=now, fired=fired, customer=customer)[1]
