"""The domain's values: channels, priorities, statuses, events, tickets, customers.

All are frozen, slotted attrs classes (or enums). A :class:`Ticket` carries its
append-only tuple of :class:`TicketEvent`; its ``status``, ``priority``,
``assignee`` and ``tags`` are the fold of those events, kept on the ticket so
that reading them is free. :meth:`carekit.Lifecycle.replay` rebuilds a ticket
from its events alone, and the test suite checks the two always agree.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

import attrs
from babel import Locale, UnknownLocaleError

from carekit._check import checked, typed_fields
from carekit._fast import slot_setters
from carekit._time import to_utc, zone
from carekit.exceptions import InvalidType, InvalidValue

__all__ = [
    "CAREKIT_ACTOR",
    "Channel",
    "CareEvent",
    "Customer",
    "Priority",
    "Role",
    "Status",
    "Ticket",
    "TicketEvent",
    "as_channel",
    "as_priority",
    "as_status",
    "new_event",
    "new_ticket",
]


CAREKIT_ACTOR = "carekit"
"""The actor of the events carekit writes itself (escalation records, the desk's own actions)."""


class Choice(enum.StrEnum):
    """A closed set of names; an unknown name is an InvalidValue listing the known ones."""

    @classmethod
    def _missing_(cls, value: object) -> Choice:
        names = ", ".join(member.value for member in cls)
        raise InvalidValue(cls.__name__, value, f"one of {names}")


class Channel(Choice):
    """A channel a customer reaches the desk through."""

    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    WHATSAPP = "whatsapp"
    SOCIAL = "social"
    WEB = "web"


@enum.unique
class Priority(enum.IntEnum):
    """A ticket's priority; ordered, so ``Priority.HIGH > Priority.NORMAL``."""

    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def _missing_(cls, value: object) -> Priority:
        names = ", ".join(f"{member.value} ({member})" for member in cls)
        raise InvalidValue("Priority", value, f"one of {names}")


class Status(Choice):
    """The built-in ticket statuses.

    A host lifecycle may add its own states (plain strings such as
    ``"waiting_on_vendor"``); built-in ones are always these members.
    """

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    """Waiting on the customer."""
    ON_HOLD = "on_hold"
    """Waiting on a third party or another team."""
    RESOLVED = "resolved"
    CLOSED = "closed"


_STATUS_BY_VALUE: dict[str, str] = {s.value: s for s in Status}


class Role(Choice):
    """What an event means to everything downstream: SLA clocks, escalation, KPIs.

    Each lifecycle trigger declares one role in the trigger table; events are
    stamped with it, and with ``RESOLUTION`` or ``REOPEN`` when their move
    enters or leaves a done state. Nothing downstream reads trigger names.
    """

    CREATED = "created"
    """The ticket was opened (the first event)."""
    AGENT_REPLY = "agent_reply"
    """A public response by an agent: stops response clocks; agent activity."""
    CUSTOMER_MESSAGE = "customer_message"
    """The customer wrote in: owes a next response."""
    WAIT_ON_CUSTOMER = "wait_on_customer"
    """The ticket waits on the customer."""
    HOLD = "hold"
    """The ticket waits on a third party."""
    RESUME = "resume"
    """Back from waiting."""
    RESOLUTION = "resolution"
    """The ticket entered a done state (stamped from the move)."""
    REOPEN = "reopen"
    """The ticket left a done state (stamped from the move)."""
    CLOSE = "close"
    """The resolved ticket was closed for good."""
    ASSIGNMENT = "assignment"
    """An agent or team took the ticket: agent activity."""
    PRIORITY_CHANGE = "priority_change"
    """The priority changed (targets are read again)."""
    CHANNEL_CHANGE = "channel_change"
    """The channel changed (targets are read again)."""
    NOTE = "note"
    """An internal note, not a response: agent activity."""
    ESCALATION = "escalation"
    """carekit recorded a fired escalation (its ``key`` in the data)."""


def as_status(value: str) -> str:
    """Map a built-in status's value to its member; leave a host's own state as it is."""
    if not isinstance(value, str) or not value:
        raise InvalidValue("status", value, "a Status or a non-empty state name")
    return _STATUS_BY_VALUE.get(value, value)


_CHANNELS: dict[object, Channel] = {c.value: c for c in Channel}
_PRIORITIES: dict[object, Priority] = {
    **{p.value: p for p in Priority},
    **{p.name.lower(): p for p in Priority},
    **{p.name: p for p in Priority},
}


def as_channel(value: Channel | str, field: str = "channel") -> Channel:
    """Return ``value`` as a :class:`Channel` or raise :class:`InvalidValue`."""
    try:
        return _CHANNELS[value]
    except (KeyError, TypeError):
        raise InvalidValue(field, value, f"one of {list(_CHANNELS)}") from None


def as_priority(value: Priority | int | str, field: str = "priority") -> Priority:
    """Return ``value`` as a :class:`Priority` (a member, its number or its name).

    Examples:
        >>> as_priority("high"), as_priority(4)
        (<Priority.HIGH: 3>, <Priority.URGENT: 4>)
    """
    if type(value) is Priority:
        return value
    try:
        if value is True or value is False:
            raise KeyError(value)
        return _PRIORITIES[value]
    except (KeyError, TypeError):
        names = [p.name.lower() for p in Priority]
        raise InvalidValue(field, value, f"a Priority or one of {names}") from None


def _frozen_data(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is not None and not isinstance(value, Mapping):
        raise InvalidType("data", value, "a mapping of names to values")
    return MappingProxyType(dict(value or {}))


def _at(value: datetime) -> datetime:
    return to_utc(value, "at")


def _created_at(value: datetime) -> datetime:
    return to_utc(value, "created_at")


def _roles(value: Iterable[Role | str]) -> frozenset[Role]:
    try:
        return frozenset(Role(r) for r in value)
    except (ValueError, TypeError):
        raise InvalidValue("roles", value, f"roles among {[r.value for r in Role]}") from None


def _default_roles(event: TicketEvent) -> frozenset[Role]:
    from carekit._lifecycle import Lifecycle  # noqa: PLC0415 - the table lives with the lifecycle

    return Lifecycle.roles_for(event.kind, event.status_before, event.status_after)


@attrs.frozen
class TicketEvent:
    """One entry of a ticket's append-only log.

    Attributes:
        kind: what happened: ``"created"`` or the lifecycle trigger's name.
        at: when, an aware datetime stored in UTC.
        actor: who did it (an agent's id, ``"customer"``, ``"system"``), if known.
        status_before: the ticket's status before the event.
        status_after: the ticket's status after the event.
        data: the trigger's data (e.g. ``{"agent": "ana"}``), read-only.
        roles: what the event means downstream (see :class:`Role`); when not
            given, the default lifecycle's table decides from ``kind`` and the move.
    """

    kind: str
    at: datetime = attrs.field(converter=_at)
    actor: str | None = None
    status_before: str = attrs.field(default=Status.NEW, converter=as_status)
    status_after: str = attrs.field(default=Status.NEW, converter=as_status)
    data: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_data, hash=False, repr=lambda d: repr(dict(d))
    )
    roles: frozenset[Role] = attrs.field(
        default=attrs.Factory(_default_roles, takes_self=True),
        converter=_roles,
        repr=lambda r: repr(sorted(r)),
    )


_NO_TAGS: frozenset[str] = frozenset()
_CREATED = frozenset({Role.CREATED})


def new_event(  # noqa: PLR0917 - positional on purpose: the hot path
    kind: str,
    at: datetime,
    actor: str | None,
    status_before: str,
    status_after: str,
    data: Mapping[str, Any],
    roles: frozenset[Role],
) -> TicketEvent:
    """Build a :class:`TicketEvent` from values already validated, skipping converters.

    The hot paths (a lifecycle step, a replay) build events and tickets from
    parts checked at the boundary; running every converter again would cost
    more than the step itself. ``at`` must be UTC and ``data`` read-only.
    """
    event = _new(TicketEvent)
    s_kind, s_at, s_actor, s_before, s_after, s_data, s_roles = _EVENT_SETTERS
    s_kind(event, kind)
    s_at(event, at)
    s_actor(event, actor)
    s_before(event, status_before)
    s_after(event, status_after)
    s_data(event, data)
    s_roles(event, roles)
    return event


def new_ticket(  # noqa: PLR0917 - positional on purpose: the hot path
    ticket_id: str,
    channel: Channel,
    priority: Priority,
    customer_id: str,
    created_at: datetime,
    status: str,
    assignee: str | None,
    tags: frozenset[str],
    events: tuple[TicketEvent, ...],
) -> Ticket:
    """Build a :class:`Ticket` from values already validated (see :func:`new_event`)."""
    ticket = _new(Ticket)
    s_id, s_channel, s_priority, s_customer, s_created, s_status, s_assignee, s_tags, s_events = (
        _TICKET_SETTERS
    )
    s_id(ticket, ticket_id)
    s_channel(ticket, channel)
    s_priority(ticket, priority)
    s_customer(ticket, customer_id)
    s_created(ticket, created_at)
    s_status(ticket, status)
    s_assignee(ticket, assignee)
    s_tags(ticket, tags)
    s_events(ticket, events)
    return ticket


_new = object.__new__


def _tags(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _events(value: Iterable[TicketEvent]) -> tuple[TicketEvent, ...]:
    return tuple(value)


@attrs.frozen
class Ticket:
    """A customer's request, with its whole history.

    Build a new one with :meth:`Ticket.open`; change it only through
    :meth:`carekit.Lifecycle.apply`, which returns a new ticket.

    Attributes:
        id: the host's id for the ticket.
        channel: where it came in.
        priority: its current priority.
        customer_id: whose it is.
        created_at: when it was opened (UTC).
        status: its current status (a :class:`Status` member or a host's own state).
        assignee: the agent it is assigned to, if any.
        tags: free labels.
        events: the append-only log; ``events[0]`` is the ``created`` event.
    """

    id: str
    channel: Channel = attrs.field(converter=as_channel)
    priority: Priority = attrs.field(converter=as_priority)
    customer_id: str
    created_at: datetime = attrs.field(converter=_created_at)
    status: str = attrs.field(default=Status.NEW, converter=as_status)
    assignee: str | None = None
    tags: frozenset[str] = attrs.field(factory=frozenset, converter=_tags)
    events: tuple[TicketEvent, ...] = attrs.field(factory=tuple, converter=_events, repr=False)

    @property
    def version(self) -> int:
        """The number of events; stores use it for optimistic concurrency."""
        return len(self.events)

    @property
    def last_event_at(self) -> datetime:
        """When the newest event happened."""
        return self.events[-1].at if self.events else self.created_at

    @classmethod
    @checked
    def open(
        cls,
        id: str,
        *,
        channel: Channel | str,
        customer_id: str,
        at: datetime,
        priority: Priority | int | str = Priority.NORMAL,
        tags: Iterable[str] = (),
        actor: str | None = None,
        **data: Any,
    ) -> Ticket:
        """Return a NEW ticket holding its ``created`` event.

        Extra keyword arguments (a subject, an order number, ...) are kept in the
        ``created`` event's data.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = Ticket.open("T-1", channel="email", customer_id="c-9",
            ...                 at=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
            >>> (t.status, t.priority, [e.kind for e in t.events])
            (<Status.NEW: 'new'>, <Priority.NORMAL: 2>, ['created'])
        """
        if not isinstance(id, str) or not id:
            raise InvalidValue("id", id, "a non-empty string")
        when = at if type(at) is datetime and at.tzinfo is UTC else to_utc(at, "at")
        channel = as_channel(channel)
        priority = as_priority(priority)
        if not isinstance(customer_id, str) or not customer_id:
            raise InvalidValue("customer_id", customer_id, "a non-empty string")
        tags = frozenset(tags) if tags else _NO_TAGS
        data["channel"] = channel
        data["priority"] = priority
        data["customer_id"] = customer_id
        data["tags"] = tuple(sorted(tags)) if tags else ()
        created = new_event(
            "created", when, actor, Status.NEW, Status.NEW, MappingProxyType(data), _CREATED
        )
        return new_ticket(
            id, channel, priority, customer_id, when, Status.NEW, None, tags, (created,)
        )


_EVENT_SETTERS = slot_setters(TicketEvent)
_TICKET_SETTERS = slot_setters(Ticket)


def _locale(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        Locale.parse(value, sep="-" if "-" in value else "_")
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise InvalidValue("locale", value, "a known locale such as 'id', 'en', 'en_US'") from exc
    return value


def _timezone(value: str | None) -> str | None:
    if value is not None:
        zone(value)
    return value


def _consent(value: Iterable[Channel | str]) -> frozenset[Channel]:
    return frozenset(as_channel(c, "consent") for c in value)


@attrs.frozen
class Customer:
    """A customer as carekit needs to know them.

    Attributes:
        id: the host's id.
        name: how to address them.
        locale: their language, a babel locale name (``"id"``, ``"en_US"``);
            ``None`` when unknown (the desk's default applies).
        timezone: their IANA time zone (``"Asia/Jakarta"``); ``None`` when unknown
            (the desk's default zone applies, then UTC).
        tier: a free label used by policies (``"standard"``, ``"vip"``).
        birthday: their date of birth, if known.
        consent: the channels they agreed to be contacted on proactively.
        preferred_channel: where they prefer to be reached, if known.
    """

    id: str
    name: str = ""
    locale: str | None = attrs.field(default=None, converter=_locale)
    timezone: str | None = attrs.field(default=None, converter=_timezone)
    tier: str = "standard"
    birthday: date | None = None
    consent: frozenset[Channel] = attrs.field(factory=frozenset, converter=_consent)
    preferred_channel: Channel | None = attrs.field(
        default=None, converter=attrs.converters.optional(as_channel)
    )

    @checked
    def consents_to(self, channel: Channel | str) -> bool:
        """Whether the customer agreed to proactive messages on ``channel``."""
        return as_channel(channel) in self.consent


@attrs.frozen(field_transformer=typed_fields)
class CareEvent:
    """Something that happened to a customer, as the host reports it.

    Attributes:
        kind: ``"ticket_resolved"``, ``"sla_breached"``, ``"purchase"``, ``"signup"``,
            ``"ticket_opened"``, ``"unsubscribed"``, or any host kind.
        customer_id: whose event it is.
        at: when (aware; stored in UTC).
        id: the host's id for the event, used in touch keys (default: ``at``).
        data: fields for the templates (``ticket_id``, ``product``, ``voucher_code``...).
    """

    kind: str
    customer_id: str
    at: datetime = attrs.field(converter=_at)
    id: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_data, hash=False)

    @property
    def occurrence(self) -> str:
        """The event's identity within a campaign's keys."""
        return self.id or self.at.strftime("%Y%m%dT%H%M%S")
