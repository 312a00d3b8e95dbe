"""The one fold over a ticket's events that the SLA engine and the KPIs share.

Theory of operation
-------------------
A :class:`Timeline` reads a ticket's log once, in order, up to an instant
(``now``), and keeps what every downstream reader needs as epoch seconds:
the statuses it went through, the agent replies (with who gave them), the
customer messages, the resolutions and reopenings, and the priority and
channel changes. It reads each event's *roles* (stamped by the lifecycle's
trigger table), never trigger names, so a host's own trigger with the
``AGENT_REPLY`` role stops a first-response clock and counts as a first
response in the KPIs alike.

From those marks it derives the cycles of the response metrics: a
first response (creation to the first agent reply, or to a resolution before
any reply), next responses (a customer message after the first reply, to the
next agent reply or resolution) and periodic updates (from each agent reply or
reopening while unresolved, to the next agent reply or resolution). The SLA
engine measures those cycles against targets; the KPIs report the same
instants, so the two can never disagree about when a ticket was first
answered, resolved or reopened.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from carekit._model import Role, Ticket, as_channel, as_priority, new_ticket
from carekit._sla_report import Change

__all__ = ["Cycle", "Timeline", "changes_course", "done_at"]

Cycle = tuple[float, float | None]
"""A cycle's (start, stop) in epoch seconds; stop is ``None`` while it runs."""

# what the fold needs of an event's roles, as bits: computed once per set of roles
_AGENT, _CUSTOMER, _RESOLUTION, _REOPEN, _PRIORITY, _CHANNEL = 1, 2, 4, 8, 16, 32
_ASSIGNMENT = 64
_BITS = {
    Role.AGENT_REPLY: _AGENT,
    Role.CUSTOMER_MESSAGE: _CUSTOMER,
    Role.RESOLUTION: _RESOLUTION,
    Role.REOPEN: _REOPEN,
    Role.PRIORITY_CHANGE: _PRIORITY,
    Role.CHANNEL_CHANGE: _CHANNEL,
    Role.ASSIGNMENT: _ASSIGNMENT,
}
_FLAGS: dict[frozenset[Role], int] = {}


def _flags(roles: frozenset[Role]) -> int:
    flags = _FLAGS.get(roles)
    if flags is None:
        flags = _FLAGS[roles] = sum(_BITS.get(r, 0) for r in roles)
    return flags


def done_at(ticket: Ticket, now: float = math.inf) -> bool:
    """``Timeline(ticket, now).done`` without the fold, read from the end of the log.

    The last resolution or reopening up to ``now`` (epoch seconds) decides.
    """
    events = ticket.events
    flags_of = _FLAGS
    for i in range(len(events) - 1, 0, -1):  # the opening event never resolves
        event = events[i]
        roles = event.roles
        flags = flags_of[roles] if roles in flags_of else _flags(roles)
        if flags & (_RESOLUTION | _REOPEN) and event.at.timestamp() <= now:
            return bool(flags & _RESOLUTION)
    return False


def changes_course(ticket: Ticket) -> bool:
    """Whether an event of ``ticket`` changed its priority or channel (its targets)."""
    flags_of = _FLAGS
    for event in ticket.events:
        roles = event.roles
        if (flags_of[roles] if roles in flags_of else _flags(roles)) & (_PRIORITY | _CHANNEL):
            return True
    return False


class Timeline:
    """A ticket's log read once into the marks the metrics need (epoch seconds).

    Args:
        ticket: the ticket.
        now: events after this instant (epoch seconds) are ignored.
    """

    __slots__ = (
        "_responses",
        "agent",
        "changes",
        "customer",
        "done",
        "done_statuses",
        "now",
        "reopens",
        "resolves",
        "statuses",
        "ticket",
        "visited",
    )

    def __init__(self, ticket: Ticket, now: float = math.inf) -> None:
        self.ticket = ticket
        self.now = now
        events = ticket.events
        first = events[0]
        status = first.status_after
        statuses = [(first.at.timestamp(), status)]
        agent: list[float] = []
        customer: list[float] = []
        resolves: list[float] = []
        reopens: list[float] = []
        changes: list[tuple[float, str, object]] = []
        done = False
        done_statuses: set[str] = set()
        flags_of = _FLAGS
        for event in events[1:]:
            t = event.at.timestamp()
            if t > now:
                break
            after = event.status_after
            if after != status:
                statuses.append((t, after))
                status = after
            roles = event.roles
            flags = flags_of[roles] if roles in flags_of else _flags(roles)
            if flags & _RESOLUTION:
                resolves.append(t)
                done = True
            elif flags & _REOPEN:
                reopens.append(t)
                done = False
            if done:
                done_statuses.add(after)
            if flags & _AGENT:
                agent.append(t)
            elif flags & _CUSTOMER:
                customer.append(t)
            elif flags & (_PRIORITY | _CHANNEL):
                field = "priority" if flags & _PRIORITY else "channel"
                changes.append((t, field, event.data[field]))
        self.statuses = statuses
        self.visited = frozenset(s for _, s in statuses)
        self.agent = agent
        self.customer = customer
        self.resolves = resolves
        self.reopens = reopens
        self.changes = changes
        self.done = done
        self.done_statuses = frozenset(done_statuses)
        self._responses: tuple[list[Cycle], list[Cycle]] | None = None

    # -- what happened when -----------------------------------------------------------

    @property
    def created(self) -> float:
        """When the ticket was opened."""
        return self.statuses[0][0]

    @property
    def actors(self) -> list[str | None]:
        """Who gave each agent reply, in the order of :attr:`agent`."""
        return [
            e.actor
            for e in self.ticket.events[1:]
            if _flags(e.roles) & _AGENT and e.at.timestamp() <= self.now
        ]

    @property
    def first_reply(self) -> float | None:
        """The first agent reply, if any."""
        return self.agent[0] if self.agent else None

    def status_at(self, t: float) -> str:
        """The ticket's status at ``t``."""
        status = self.statuses[0][1]
        for at, s in self.statuses:
            if at > t:
                break
            status = s
        return status

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

    # -- cycles -------------------------------------------------------------------------

    def first_response(self) -> Cycle:
        """Creation to the first agent reply, or to a resolution before any reply."""
        stops = [*self.agent[:1], *self.resolves[:1]]
        return (self.statuses[0][0], min(stops) if stops else None)

    def resolution(self, *, restart: bool) -> list[Cycle]:
        """Resolution cycles: one that resumes after reopenings, or one per reopening."""
        if restart:  # resolutions and reopenings alternate: cycle k ends at resolution k
            starts = (self.statuses[0][0], *self.reopens)
            ends = self.resolves
            return [(s, ends[k] if k < len(ends) else None) for k, s in enumerate(starts)]
        created = self.statuses[0][0]
        return [(created, self.resolves[-1] if self.done and self.resolves else None)]

    def next_responses(self) -> list[Cycle]:
        """Customer message (after the first reply) to the next agent reply or resolution."""
        return self._walk()[0]

    def periodic_updates(self) -> list[Cycle]:
        """From each agent reply or reopening while unresolved to the next reply or resolution."""
        return self._walk()[1]

    def _walk(self) -> tuple[list[Cycle], list[Cycle]]:
        if self._responses is None:
            self._responses = _response_walk(
                _marks(self.agent, self.customer, self.resolves, self.reopens)
            )
        return self._responses


_AGENT_MARK, _CUSTOMER_MARK, _RESOLVED_MARK, _REOPENED_MARK = range(4)


def _marks(
    agent: list[float], customer: list[float], resolves: list[float], reopens: list[float]
) -> list[tuple[float, int]]:
    marks = [(t, _AGENT_MARK) for t in agent]
    marks += [(t, _CUSTOMER_MARK) for t in customer]
    marks += [(t, _RESOLVED_MARK) for t in resolves]
    marks += [(t, _REOPENED_MARK) for t in reopens]
    marks.sort()
    return marks


def _response_walk(marks: list[tuple[float, int]]) -> tuple[list[Cycle], list[Cycle]]:
    """NEXT_RESPONSE and PERIODIC_UPDATE cycles, in one walk over the merged marks.

    A customer message (after the first reply) opens a next-response cycle; an
    agent reply or a resolution closes the open cycles; an agent reply opens a
    periodic-update cycle unless the ticket is resolved; a reopening opens one.
    """
    nr: list[Cycle] = []
    pu: list[Cycle] = []
    nr_start: float | None = None
    pu_start: float | None = None
    replied = resolved = False
    for t, what in marks:
        if what == _CUSTOMER_MARK:  # waits for the next response
            if replied and nr_start is None:
                nr_start = t
            continue
        if what == _REOPENED_MARK:  # updates are owed again
            resolved = False
            if pu_start is None:
                pu_start = t
            continue
        if nr_start is not None:  # an agent reply or a resolution answers what is open
            nr.append((nr_start, t))
            nr_start = None
        if pu_start is not None:
            pu.append((pu_start, t))
        if what == _AGENT_MARK:
            replied = True
            pu_start = None if resolved else t
        else:
            resolved = True
            pu_start = None
    if nr_start is not None:
        nr.append((nr_start, None))
    if pu_start is not None:
        pu.append((pu_start, None))
    return nr, pu
