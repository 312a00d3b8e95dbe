"""One ticket's tick, planned purely: what to hand over, what the desk does itself, what next.

Theory of operation
-------------------
:func:`plan_tick` takes a ticket, its policy, the escalation policy, the
lifecycle and ``now`` and returns a :class:`TickPlan`: the escalations due
(with how late they are and the ETA the customer should be told), the ticket
after the desk's own actions (``RaisePriority``, ``Reassign``) and the
records of every escalation decided (an event with the ``ESCALATION`` role
and its key), the SLA report of that ticket, its next due instant, and the
care events the save must queue (``sla_breached`` for a recorded breach).

The desk only claims, loads, plans, hands over and saves. Handlers get the
ticket *after* the desk's own actions, so an ``InformCustomer`` tells the real
new deadline. If a hand-over fails, the desk plans again with ``only`` the
escalations that went through: the failed one is neither recorded nor acted
on, and stays due. If the save meets a newer version (a web request saved the
ticket meanwhile), the desk plans again on the newer ticket with ``only`` what
it handed over, so the records land and nothing is handed over twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

import attrs

from carekit._escalation import (
    Escalation,
    EscalationPolicy,
    RaisePriority,
    Reassign,
)
from carekit._lifecycle import Lifecycle
from carekit._model import CAREKIT_ACTOR, CareEvent, Customer, Role, Ticket
from carekit._sla import SlaPolicy
from carekit._sla_report import Metric, SlaReport
from carekit._window import WHATSAPP_WINDOW
from carekit.exceptions import CalendarError

__all__ = ["CareData", "TickPlan", "care_events", "eta", "opening_hours", "plan_tick"]

CareData = Callable[[str, Ticket], Mapping[str, Any]]
"""A host hook: extra data for a care event of a kind about a ticket (a voucher code...)."""

_METRICS = {m.value: m for m in Metric}


@attrs.frozen
class TickPlan:
    """What one ticket's tick does.

    Attributes:
        ticket: the ticket after the desk's own actions and the escalation records.
        report: its SLA report at ``now``.
        escalations: the escalations to hand over, in level order.
        next_due: when the ticket is next due (``None``: nothing pending).
        care_events: what the save queues in the outbox.
    """

    ticket: Ticket
    report: SlaReport
    escalations: tuple[Escalation, ...]
    next_due: datetime | None
    care_events: tuple[CareEvent, ...]


def eta(report: SlaReport) -> datetime | None:
    """The running resolution deadline, else the earliest running deadline."""
    resolution = report.cycles(Metric.RESOLUTION)
    if resolution and resolution[-1].running:
        return resolution[-1].due_at
    return report.next_due


def plan_tick(
    ticket: Ticket,
    *,
    now: datetime,
    policy: SlaPolicy,
    escalation: EscalationPolicy,
    lifecycle: Lifecycle,
    customer: Customer | None = None,
    only: Collection[str] | None = None,
    care_data: CareData | None = None,
) -> TickPlan:
    """Plan one ticket's tick at ``now``; pure.

    Args:
        ticket: the ticket as stored.
        now: the instant of the tick.
        policy: the SLA policy chosen for the ticket.
        escalation: the escalation policy.
        lifecycle: the lifecycle that applies the desk's own actions and records.
        customer: the ticket's customer, for level conditions.
        only: when given, the keys of the escalations to keep (the others are
            left due): the desk re-plans with what it handed over.
        care_data: the host's hook for extra care-event data.
    """
    report = policy.evaluate(ticket, now=now)
    decided, later = escalation.split(ticket, report, now=now, customer=customer)
    if only is not None:
        decided = tuple(d for d in decided if d.key in only)
    updated = ticket
    at = max(now, ticket.last_event_at)
    for decision in decided:
        updated = _carry_out(lifecycle, updated, decision, at)
    changed = (updated.priority, updated.channel, updated.assignee) != (
        ticket.priority,
        ticket.channel,
        ticket.assignee,
    )
    if changed or only is not None:  # what is pending must be read again
        if changed:
            report = policy.evaluate(updated, now=now)
        next_due = escalation.next_due(updated, report, customer=customer, now=now)
    else:  # only records were added: what was pending and not decided is what is left
        next_due = later
    deadline = eta(report)
    handed = tuple(_with_eta(d, deadline) for d in decided)
    breaches = _breaches(ticket, handed, report) if handed else []
    return TickPlan(
        ticket=updated,
        report=report,
        escalations=handed,
        next_due=next_due,
        care_events=tuple(_breach_event(updated, d, now, care_data) for d in breaches),
    )


def _with_eta(d: Escalation, deadline: datetime | None) -> Escalation:
    return attrs.evolve(d, eta=deadline)


def _carry_out(lifecycle: Lifecycle, ticket: Ticket, decision: Escalation, at: datetime) -> Ticket:
    """The desk's own actions of ``decision``, then its record."""
    step = lifecycle.trigger_for
    for action in decision.actions:
        if isinstance(action, RaisePriority):
            target = action.target(ticket.priority)
            if target != ticket.priority:
                ticket = lifecycle.apply(
                    ticket,
                    step(Role.PRIORITY_CHANGE),
                    at=at,
                    actor=CAREKIT_ACTOR,
                    priority=target,
                )
        elif isinstance(action, Reassign):
            ticket = lifecycle.apply(
                ticket, step(Role.ASSIGNMENT), at=at, actor=CAREKIT_ACTOR, agent=action.to
            )
    return lifecycle.apply(
        ticket,
        step(Role.ESCALATION),
        at=at,
        actor=CAREKIT_ACTOR,
        key=decision.key,
        level=decision.level,
        metric=decision.metric,
        cycle=decision.cycle,
    )


def _breaches(
    ticket: Ticket, decided: tuple[Escalation, ...], report: SlaReport
) -> list[Escalation]:
    """One decision per SLA cycle that breached and whose breach was not recorded before.

    A breach is recorded with the first escalation decided at or after it; a
    warning recorded before the breach does not count.
    """
    found: dict[tuple[str, int], tuple[Escalation, datetime]] = {}
    for decision in decided:
        if decision.metric not in _METRICS or (decision.metric, decision.cycle) in found:
            continue
        cycles = report.cycles(_METRICS[decision.metric])
        if 0 < decision.cycle <= len(cycles) and cycles[decision.cycle - 1].breached:
            clock = cycles[decision.cycle - 1]
            found[(decision.metric, decision.cycle)] = (
                decision,
                clock.instant_at(clock.target.duration),
            )
    if not found:
        return []
    recorded = [
        (e.data.get("metric"), e.data.get("cycle"), e.at)
        for e in ticket.events
        if Role.ESCALATION in e.roles
    ]
    return [
        decision
        for (metric, cycle), (decision, breach) in found.items()
        if not any(m == metric and c == cycle and at >= breach for m, c, at in recorded)
    ]


def _breach_event(
    ticket: Ticket, decision: Escalation, now: datetime, care_data: CareData | None
) -> CareEvent:
    data = {
        "ticket_id": ticket.id,
        "metric": decision.metric,
        "cycle": decision.cycle,
        **(care_data("sla_breached", ticket) if care_data else {}),
    }
    occurrence = f"{ticket.id}:{decision.metric}:{decision.cycle}"
    return CareEvent("sla_breached", ticket.customer_id, now, id=occurrence, data=data)


_LIFECYCLE_EVENTS = (
    (Role.CREATED, "ticket_opened"),
    (Role.RESOLUTION, "ticket_resolved"),
    (Role.REOPEN, "ticket_reopened"),
)
# on a channel with a reply window, each customer message (re)opens it: the scheduler is told
_WINDOW_EVENTS = (*_LIFECYCLE_EVENTS, (Role.CUSTOMER_MESSAGE, "customer_message"))


def care_events(
    ticket: Ticket, first: int, care_data: CareData | None = None, last: int | None = None
) -> tuple[CareEvent, ...]:
    """The care events of a ticket's events ``first`` to ``last``: opened, resolved, reopened.

    On WhatsApp also each customer message (``customer_message``): it reopens
    the customer's 24-hour window, which the scheduler needs to know.

    Each carries ``ticket_id`` (and the host's ``care_data``); its id is the
    ticket and the instant of the event, so a re-delivery enrols nobody twice.
    """
    out = []
    kinds = _WINDOW_EVENTS if ticket.channel is WHATSAPP_WINDOW.channel else _LIFECYCLE_EVENTS
    for event in ticket.events[first:last]:
        for role, kind in kinds:
            if role in event.roles:
                data = {
                    **event.data,  # what the host said with it (a refund, "abandoned"...)
                    "ticket_id": ticket.id,
                    "channel": str(ticket.channel),
                    **(care_data(kind, ticket) if care_data else {}),
                }
                occurrence = f"{ticket.id}@{event.at:%Y%m%dT%H%M%S}"
                out.append(CareEvent(kind, ticket.customer_id, event.at, id=occurrence, data=data))
    return tuple(out)


def opening_hours(ticket: Ticket, policy: SlaPolicy) -> dict[str, Any]:
    """What a ``ticket_opened`` care event says of the desk's hours at the opening.

    ``desk_open``; when closed, also ``opens_at`` (the first-response calendar's
    next opening) and ``reply_by`` (the first-response deadline, when the policy
    has one): what an out-of-hours acknowledgement tells the customer.
    """
    found = policy.target_for(Metric.FIRST_RESPONSE, ticket)
    calendar = (found[0].calendar if found else None) or policy.calendar
    at = ticket.created_at
    if calendar.is_open(at):
        return {"desk_open": True}
    try:
        said: dict[str, Any] = {"desk_open": False, "opens_at": calendar.next_open(at)}
    except CalendarError:  # it never opens again: nothing to promise, and the ticket opens
        return {"desk_open": False}
    if found is not None:
        clock = policy.evaluate(ticket, now=at).get(Metric.FIRST_RESPONSE)
        if clock is not None and clock.due_at is not None:
            said["reply_by"] = clock.due_at
    return said
