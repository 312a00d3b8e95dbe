"""The ticket lifecycle: one state graph, shared by every ticket.

Theory of operation
-------------------
The graph (states, triggers, guards) is declared once per :class:`Lifecycle`
class with the ``transitions`` library, in ``transitions`` own vocabulary
(``trigger``, ``source``, ``dest``, ``conditions``, ``unless``; ``dest="="``
keeps the status). The first time a class is used, its ``transitions.Machine``
is built with no model and compiled into a table
``(status, trigger) -> candidates``. From then on :meth:`Lifecycle.apply` is a
dictionary look-up, the guards, a data check and the creation of one event
and one new ticket: no ``Machine`` per ticket and no attribute ever written
onto a :class:`~carekit.Ticket` (tickets are frozen).

Promises:

* :meth:`Lifecycle.apply` returns a new ticket with exactly one event appended,
  or raises :class:`~carekit.InvalidTransition` and changes nothing.
* A ticket's ``status``, ``priority``, ``assignee`` and ``tags`` always equal
  :meth:`Lifecycle.replay` of its events.
* Events are in time order: an event dated before the ticket's last event is
  refused.

Hosts extend the graph by subclassing: override :meth:`Lifecycle.states`,
:meth:`Lifecycle.transitions` (call ``super()`` and add), :meth:`Lifecycle.required_data`
and write guards as methods ``guard(self, ticket, data) -> bool``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, TypedDict

import attrs
from transitions import Machine

from carekit._model import (
    Status,
    Ticket,
    TicketEvent,
    as_channel,
    as_priority,
    new_event,
    new_ticket,
)
from carekit._time import to_utc
from carekit.exceptions import InvalidTransition, InvalidValue, LifecycleDefinitionError

__all__ = ["Lifecycle", "TransitionSpec"]


class TransitionSpec(TypedDict, total=False):
    """One edge of the graph, as the ``transitions`` library spells it.

    ``trigger``, ``source`` and ``dest`` are required; ``dest="="`` keeps the
    status. ``conditions`` and ``unless`` name guard methods of the lifecycle.
    """

    trigger: str
    source: str | Sequence[str]
    dest: str
    conditions: str | Sequence[str]
    unless: str | Sequence[str]


@attrs.frozen
class _Edge:
    dest: str
    conditions: tuple[str, ...]
    unless: tuple[str, ...]

    @property
    def guarded(self) -> bool:
        return bool(self.conditions or self.unless)


@attrs.frozen
class _Graph:
    states: tuple[str, ...]
    triggers: tuple[str, ...]
    table: Mapping[tuple[str, str], tuple[_Edge, ...]]
    # the edge to take without consulting guards, where there is exactly one and unguarded
    direct: Mapping[tuple[str, str], _Edge]
    by_state: Mapping[str, tuple[str, ...]]
    required: Mapping[str, Mapping[str, Converter]]


Converter = Callable[[Any], Any]


def _key(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue("key", value, "an escalation key, a non-empty string")
    return value


def _agent(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue("agent", value, "an agent id, a non-empty string")
    return value


_OPEN_STATES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class Lifecycle:
    """The ticket state machine; immutable tickets in, new tickets out.

    The default graph (``dest`` ``=`` means the status does not change):

    ================  ==========================================  =========================
    trigger           allowed from                                status after
    ================  ==========================================  =========================
    assign            new, open, pending, on_hold                 unchanged (agent=...)
    agent_reply       new, open, pending, on_hold                 new becomes open
    customer_reply    new, open, pending, on_hold, resolved       pending/resolved -> open
    wait_on_customer  new, open, on_hold                          pending
    hold              new, open, pending                          on_hold
    resume            pending, on_hold                            open
    resolve           new, open, pending, on_hold                 resolved
    reopen            resolved                                    open
    close             resolved                                    closed
    set_priority      any but closed                              unchanged (priority=...)
    set_channel       any but closed                              unchanged (channel=...)
    add_note          any but closed (internal, not a response)   unchanged
    escalate          any but closed (records a fired escalation) unchanged (key=...)
    ================  ==========================================  =========================

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        >>> t = Ticket.open("T-1", channel="email", customer_id="c-9", at=at)
        >>> t2 = Lifecycle().apply(t, "agent_reply", at=at, actor="ana")
        >>> (t.status, t2.status, len(t2.events))
        (<Status.NEW: 'new'>, <Status.OPEN: 'open'>, 2)
    """

    initial: ClassVar[str] = Status.NEW
    _graphs: ClassVar[dict[type[Lifecycle], _Graph]] = {}

    # -- the definition (override in subclasses) ---------------------------------

    @classmethod
    def states(cls) -> tuple[str, ...]:
        """All states of the graph; subclasses add their own."""
        return tuple(Status)

    @classmethod
    def transitions(cls) -> list[TransitionSpec]:
        """The edges of the graph; subclasses call ``super()`` and add edges."""
        live = [s for s in cls.states() if s != Status.CLOSED]
        return [
            {"trigger": "assign", "source": list(_OPEN_STATES), "dest": "="},
            {"trigger": "agent_reply", "source": Status.NEW, "dest": Status.OPEN},
            {
                "trigger": "agent_reply",
                "source": [Status.OPEN, Status.PENDING, Status.ON_HOLD],
                "dest": "=",
            },
            {
                "trigger": "customer_reply",
                "source": [Status.PENDING, Status.RESOLVED],
                "dest": Status.OPEN,
            },
            {
                "trigger": "customer_reply",
                "source": [Status.NEW, Status.OPEN, Status.ON_HOLD],
                "dest": "=",
            },
            {
                "trigger": "wait_on_customer",
                "source": [Status.NEW, Status.OPEN, Status.ON_HOLD],
                "dest": Status.PENDING,
            },
            {
                "trigger": "hold",
                "source": [Status.NEW, Status.OPEN, Status.PENDING],
                "dest": Status.ON_HOLD,
            },
            {"trigger": "resume", "source": [Status.PENDING, Status.ON_HOLD], "dest": Status.OPEN},
            {"trigger": "resolve", "source": list(_OPEN_STATES), "dest": Status.RESOLVED},
            {"trigger": "reopen", "source": Status.RESOLVED, "dest": Status.OPEN},
            {"trigger": "close", "source": Status.RESOLVED, "dest": Status.CLOSED},
            {"trigger": "set_priority", "source": live, "dest": "="},
            {"trigger": "set_channel", "source": live, "dest": "="},
            {"trigger": "add_note", "source": live, "dest": "="},
            {"trigger": "escalate", "source": live, "dest": "="},
        ]

    @classmethod
    def required_data(cls) -> Mapping[str, Mapping[str, Converter]]:
        """Per trigger, the data keys it requires and the converter that checks each.

        A converter returns the value to store or raises :class:`~carekit.InvalidValue`.
        """
        return {
            "assign": {"agent": _agent},
            "set_priority": {"priority": as_priority},
            "set_channel": {"channel": as_channel},
            "escalate": {"key": _key},
        }

    def effects(self, ticket: Ticket, event: TicketEvent) -> Mapping[str, Any]:
        """Return the ticket fields an event changes besides ``status``.

        Override to make your own triggers change fields (call ``super()``);
        used both by :meth:`apply` and by :meth:`replay`.
        """
        if event.kind == "assign":
            return {"assignee": event.data["agent"]}
        if event.kind == "set_priority":
            return {"priority": event.data["priority"]}
        if event.kind == "set_channel":
            return {"channel": event.data["channel"]}
        return {}

    # -- the compiled graph -------------------------------------------------------

    @classmethod
    def graph(cls) -> _Graph:
        """The compiled graph of this class (built once, then cached)."""
        graph = Lifecycle._graphs.get(cls)
        if graph is None:
            graph = Lifecycle._graphs[cls] = cls._compile()
        return graph

    @classmethod
    def _compile(cls) -> _Graph:
        # transitions treats Enum members as named states ("NEW"): hand it plain strings.
        states = tuple(_plain(s) for s in cls.states())
        specs = [_plain_spec(spec) for spec in cls.transitions()]
        machine = Machine(
            model=None,
            states=list(states),
            transitions=specs,
            initial=_plain(cls.initial),
            auto_transitions=False,
        )
        table: dict[tuple[str, str], tuple[_Edge, ...]] = {}
        for trigger, event in machine.events.items():
            for source, edges in event.transitions.items():
                table[(source, trigger)] = tuple(
                    _Edge(
                        dest=_as_state(edge.dest if edge.dest is not None else source),
                        conditions=tuple(_guard(c.func) for c in edge.conditions if c.target),
                        unless=tuple(_guard(c.func) for c in edge.conditions if not c.target),
                    )
                    for edge in edges
                )
        for edge in (e for edges in table.values() for e in edges):
            for guard in (*edge.conditions, *edge.unless):
                if not callable(getattr(cls, guard, None)):
                    raise LifecycleDefinitionError(cls.__name__, guard, "is not a guard method")
        triggers = tuple(machine.events)
        by_state = {s: tuple(t for t in triggers if (s, t) in table) for s in states}
        return _Graph(
            states=tuple(_as_state(s) for s in states),
            triggers=triggers,
            table=table,
            direct={k: v[0] for k, v in table.items() if len(v) == 1 and not v[0].guarded},
            by_state=by_state,
            required=cls.required_data(),
        )

    # -- using it -----------------------------------------------------------------

    def _guards_pass(self, edge: _Edge, ticket: Ticket, data: Mapping[str, Any]) -> bool:
        return all(getattr(self, g)(ticket, data) for g in edge.conditions) and not any(
            getattr(self, g)(ticket, data) for g in edge.unless
        )

    def allowed(self, ticket: Ticket) -> tuple[str, ...]:
        """The triggers :meth:`apply` would accept now (guards checked with no data)."""
        graph = self.graph()
        return tuple(
            trigger
            for trigger in graph.by_state.get(ticket.status, ())
            if any(self._guards_pass(e, ticket, {}) for e in graph.table[(ticket.status, trigger)])
        )

    def apply(
        self,
        ticket: Ticket,
        trigger: str,
        *,
        at: datetime,
        actor: str | None = None,
        **data: Any,
    ) -> Ticket:
        """Return a new ticket with the event of ``trigger`` appended.

        Raises:
            InvalidTransition: the trigger is unknown, not allowed in the ticket's
                status, refused by a guard, dated before the ticket's last event,
                or its data is missing or wrong. ``ticket`` is unchanged.
            NaiveDatetimeError: ``at`` has no time zone.
        """
        graph = self.graph()
        status = ticket.status
        edges = graph.table.get((status, trigger))
        if edges is None:
            reason = (
                "no such trigger" if trigger not in graph.triggers else "not allowed in this status"
            )
            raise self._refuse(ticket, trigger, reason)
        when = to_utc(at, "at")
        last = ticket.events[-1].at if ticket.events else ticket.created_at
        if when < last:
            raise self._refuse(
                ticket,
                trigger,
                f"dated {when.isoformat()}, before the ticket's last event at {last.isoformat()}",
            )
        required = graph.required.get(trigger)
        checked = self._check_data(ticket, trigger, data, required) if required else data
        edge = graph.direct.get((status, trigger)) or next(
            (e for e in edges if self._guards_pass(e, ticket, checked)), None
        )
        if edge is None:
            raise self._refuse(ticket, trigger, "refused by a guard")
        event = new_event(trigger, when, actor, status, edge.dest, MappingProxyType(checked))
        return self._fold(ticket, event)

    def _check_data(
        self,
        ticket: Ticket,
        trigger: str,
        data: dict[str, Any],
        required: Mapping[str, Converter],
    ) -> dict[str, Any]:
        checked = dict(data)
        for key, convert in required.items():
            if key not in data:
                raise self._refuse(ticket, trigger, f"missing data {key!r}")
            try:
                checked[key] = convert(data[key])
            except InvalidValue as exc:
                raise self._refuse(ticket, trigger, f"bad data: {exc}") from None
        return checked

    def _refuse(self, ticket: Ticket, trigger: str, reason: str) -> InvalidTransition:
        return InvalidTransition(ticket.id, ticket.status, trigger, self.allowed(ticket), reason)

    def _fold(self, ticket: Ticket, event: TicketEvent) -> Ticket:
        changes = self.effects(ticket, event)
        events = (*ticket.events, event)
        if changes:  # rare: validate the changed fields through the class
            return attrs.evolve(ticket, status=event.status_after, events=events, **changes)
        return new_ticket(
            ticket.id,
            ticket.channel,
            ticket.priority,
            ticket.customer_id,
            ticket.created_at,
            event.status_after,
            ticket.assignee,
            ticket.tags,
            events,
        )

    def replay(self, ticket_id: str, events: Sequence[TicketEvent]) -> Ticket:
        """Rebuild a ticket from its events alone (the first must be ``created``).

        Stores use this to load tickets; tests use it to check that the fields
        kept on a ticket equal the fold of its log.
        """
        if not events or events[0].kind != "created":
            raise InvalidValue("events", events[:1], "a log starting with a 'created' event")
        first = events[0]
        d = first.data
        ticket = Ticket(
            id=ticket_id,
            channel=d["channel"],
            priority=d["priority"],
            customer_id=d["customer_id"],
            created_at=first.at,
            tags=d.get("tags", ()),
            events=(first,),
        )
        for event in events[1:]:
            ticket = self._fold(ticket, event)
        return ticket

    @classmethod
    def diagram(cls) -> str:
        """The graph as a Mermaid ``stateDiagram-v2``, generated from the definition."""
        graph = cls.graph()
        lines = ["stateDiagram-v2", f"    [*] --> {cls.initial}"]
        edges: dict[tuple[str, str], list[str]] = {}
        for (source, trigger), candidates in graph.table.items():
            for edge in candidates:
                edges.setdefault((source, edge.dest), []).append(trigger)
        for (source, dest), triggers in edges.items():
            lines.append(f"    {source} --> {dest}: {', '.join(sorted(set(triggers)))}")
        lines.append(f"    {Status.CLOSED} --> [*]")
        return "\n".join(lines) + "\n"


def _guard(func: object) -> str:
    if not isinstance(func, str):
        raise LifecycleDefinitionError("Lifecycle", func, "is not a guard method's name")
    return func


def _plain(state: str) -> str:
    return state.value if isinstance(state, Status) else str(state)


def _plain_spec(spec: TransitionSpec) -> dict[str, Any]:
    plain: dict[str, Any] = dict(spec)
    source = spec["source"]
    plain["source"] = _plain(source) if isinstance(source, str) else [_plain(s) for s in source]
    plain["dest"] = _plain(spec["dest"])
    return plain


def _as_state(value: str) -> str:
    try:
        return Status(value)
    except ValueError:
        return value
