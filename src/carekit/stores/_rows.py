"""Rows of the stores' tables, shared by the SQLite and PostgreSQL stores.

A ticket is kept as its events, one row each; care events of the outbox and
campaign jobs one row each. These functions turn values into rows and back,
so both SQL stores keep exactly the same thing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from carekit._lifecycle import Lifecycle
from carekit._model import CareEvent, Channel, Role, Ticket, as_status, new_event
from carekit._time import to_utc
from carekit.campaigns._history import JobEntry
from carekit.campaigns._planning import Touch
from carekit.exceptions import StoreError, TicketNotFound
from carekit.stores._codec import check_events, check_ticket_id, dumps, loads

__all__ = [
    "JOB_COLUMNS",
    "care_event",
    "enrolment",
    "event_rows",
    "job_row",
    "outbox_row",
    "replay",
    "stored_ticket",
    "touch",
]


def stored_ticket(
    lifecycle: Lifecycle, ticket_id: str, rows: Sequence[tuple[Any, ...]], store: str
) -> Ticket:
    """The ticket read from a store: no rows is TicketNotFound, damaged rows a StoreError."""
    if not rows:
        raise TicketNotFound(ticket_id)
    try:
        return replay(lifecycle, ticket_id, rows)
    except (ValueError, KeyError, TypeError) as exc:  # rows damaged outside carekit
        raise StoreError(store, f"read ticket {ticket_id!r}", repr(exc)) from exc


def replay(lifecycle: Lifecycle, ticket_id: str, rows: Sequence[tuple[Any, ...]]) -> Ticket:
    """The ticket of these ``ticket_events`` rows.

    Each row is (kind, at, actor, status before, status after, data, roles).
    """
    roles_for = lifecycle.roles_for
    events = [
        new_event(
            kind,
            datetime.fromisoformat(at),
            actor,
            as_status(before),
            as_status(after),
            MappingProxyType(loads(data)),
            _roles(roles) if roles is not None else roles_for(kind, before, after),
        )
        for kind, at, actor, before, after, data, roles in rows
    ]
    return lifecycle.replay(ticket_id, events)


def event_rows(ticket: Ticket, first: int) -> list[tuple[object, ...]]:
    """The ``ticket_events`` rows of the ticket's events from index ``first`` on."""
    check_ticket_id(ticket.id)
    events = ticket.events[first:]
    data = check_events(events)
    return [
        (
            ticket.id,
            seq,
            e.kind,
            e.at.isoformat(),
            e.actor,
            str(e.status_before),
            str(e.status_after),
            encoded,
            ",".join(sorted(e.roles)),
        )
        for seq, e, encoded in zip(range(first, ticket.version), events, data, strict=True)
    ]


def outbox_row(event: CareEvent) -> tuple[object, ...]:
    return (event.kind, event.customer_id, event.at.timestamp(), event.id, dumps(event.data))


def care_event(kind: str, customer: str, at: float, event_id: str | None, data: str) -> CareEvent:
    return CareEvent(kind, customer, datetime.fromtimestamp(at, UTC), id=event_id, data=loads(data))


@functools.cache
def _roles(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split(",") if r)


JOB_COLUMNS = (
    "key, campaign, customer_id, step, occurrence, due_at, template, channel, fields, "
    "transactional, grp"
)


def job_row(t: Touch) -> tuple[object, ...]:
    return (
        t.key,
        t.campaign,
        t.customer_id,
        t.step,
        t.occurrence,
        t.due_at.timestamp(),
        t.template,
        None if t.channel is None else t.channel.value,
        dumps(t.fields),
        int(t.transactional),
        t.group,
    )


def enrolment(t: Touch, enrolled_at: datetime) -> tuple[float, str]:
    """A new job's ``enrolled_at`` and the first line of its history."""
    at = to_utc(enrolled_at, "enrolled_at")
    return at.timestamp(), JobEntry(at, "enqueued", until=t.due_at).line()


def touch(row: tuple[object, ...]) -> Touch:
    key, campaign, customer, step, occurrence, due, template, channel, fields, tx, group = row
    return Touch(
        key=str(key),
        campaign=str(campaign),
        customer_id=str(customer),
        step=int(step),  # type: ignore[call-overload]
        occurrence=str(occurrence),
        due_at=datetime.fromtimestamp(float(due), UTC),  # type: ignore[arg-type]
        template=str(template),
        channel=None if channel is None else Channel(str(channel)),
        fields=loads(str(fields)),
        transactional=bool(tx),
        group=None if group is None else str(group),
    )
