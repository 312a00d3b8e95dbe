"""The ticket lifecycle: one trigger table, shared by every ticket.

Theory of operation
-------------------
What a trigger means is declared once, in a table of :class:`TriggerSpec`
rows (:data:`DEFAULT_TRIGGERS`, laid out one row a trigger): its name, the
moves it makes (``from -> to``; :data:`SAME` keeps the status), the data it
requires, the ticket fields it sets, and its :class:`~carekit.Role` for
everything downstream. The SLA engine, the escalation triggers, the KPIs, the
desk and the simulator read roles, never trigger names, so a subclass that
adds a trigger with a role is understood everywhere at once.

The first time a :class:`Lifecycle` class is used, its rows are handed to the
``transitions`` library (a ``Machine`` with no model, which validates states
and moves) and compiled into a table ``(status, trigger) -> edges``. Each edge
carries the roles its events are stamped with: the row's role, plus
``RESOLUTION`` when the move enters a done state from a live one and
``REOPEN`` when it leaves one (so ``customer_reply`` on a resolved ticket is a
reopening too). From then on :meth:`Lifecycle.apply` is a dictionary look-up,
the guards, a data check and one new event and ticket: no ``Machine`` per
ticket and no attribute ever written onto a :class:`~carekit.Ticket`.

Promises:

* :meth:`Lifecycle.apply` returns a new ticket with exactly one event appended,
  or raises :class:`~carekit.exceptions.InvalidTransition` and changes nothing.
* A ticket's ``status``, ``priority``, ``channel``, ``assignee`` and ``tags``
  always equal :meth:`Lifecycle.replay` of its events.
* Every event carries its roles; the log alone says what happened.
* Events are in time order: an event dated before the ticket's last event is
  refused.

Hosts extend the table by subclassing: override :meth:`Lifecycle.states` and
:meth:`Lifecycle.triggers` (call ``super()`` and add rows; a row whose name is
already declared adds its moves to that trigger), and write guards as methods
``guard(self, ticket, data) -> bool``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

import attrs
from transitions import Machine

from carekit._check import checked, typed_fields
from carekit._model import (
    CAREKIT_ACTOR,
    Role,
    Status,
    Ticket,
    TicketEvent,
    as_channel,
    as_priority,
    new_event,
    new_ticket,
)
from carekit._time import to_utc
from carekit.exceptions import (
    InvalidTransition,
    InvalidTriggerData,
    InvalidValue,
    LifecycleDefinitionError,
    TransitionRefused,
    UnknownTrigger,
)

__all__ = ["DEFAULT_TRIGGERS", "NOT_FINAL", "SAME", "Lifecycle", "Move", "TriggerSpec"]

Converter = Callable[[Any], Any]

SAME = "="
"""A move's destination that keeps the status."""
NOT_FINAL = "*"
"""A move's source standing for every state except the final ones (``closed``)."""


def _states(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen(field_transformer=typed_fields)
class Move:
    """One ``from -> to`` of a trigger: the source states, the destination, the guards.

    Attributes:
        source: the states it leaves from (one or several), or ``Move.NOT_FINAL``.
        dest: the state it enters; ``Move.SAME`` (the default) keeps the status.
        conditions: names of guard methods that must all pass.
        unless: names of guard methods that must all fail.
    """

    SAME: ClassVar[str] = SAME
    """A destination that keeps the status."""
    NOT_FINAL: ClassVar[str] = NOT_FINAL
    """A source standing for every state except the final ones."""

    source: tuple[str, ...] = attrs.field(converter=_states)
    dest: str = SAME
    conditions: tuple[str, ...] = attrs.field(default=(), converter=_names)
    unless: tuple[str, ...] = attrs.field(default=(), converter=_names)


def _moves(value: Iterable[Move]) -> tuple[Move, ...]:
    return tuple(value)


def _mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen(field_transformer=typed_fields)
class TriggerSpec:
    """One row of the trigger table.

    Attributes:
        name: the trigger, as hosts apply it and as events record it.
        moves: where it may be applied and where it leads.
        role: what it means downstream (``None``: nothing beyond its moves).
        requires: data keys it needs, each with the converter that checks it
            (returns the value to store or raises
            :class:`~carekit.exceptions.InvalidValue`).
        sets: ticket fields it sets, each from a data key
            (``{"assignee": "agent"}``).
    """

    name: str
    moves: tuple[Move, ...] = attrs.field(converter=_moves)
    role: Role | None = None
    requires: Mapping[str, Converter] = attrs.field(
        factory=dict, converter=_mapping, eq=False, repr=False
    )
    sets: Mapping[str, str] = attrs.field(factory=dict, converter=_mapping)


def _key(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue("key", value, "an escalation key, a non-empty string")
    return value


def _agent(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue("agent", value, "an agent id, a non-empty string")
    return value


NEW, OPEN, PENDING, ON_HOLD, RESOLVED, CLOSED = Status
WORKING = (NEW, OPEN, PENDING, ON_HOLD)
R = Role

# fmt: off
DEFAULT_TRIGGERS: tuple[TriggerSpec, ...] = (
    #           name                moves: Move(from, to)                                    role
    TriggerSpec("assign",           [Move(WORKING)],                                         R.ASSIGNMENT,
                requires={"agent": _agent}, sets={"assignee": "agent"}),
    TriggerSpec("agent_reply",      [Move(NEW, OPEN), Move((OPEN, PENDING, ON_HOLD))],       R.AGENT_REPLY),
    TriggerSpec("customer_reply",   [Move((PENDING, RESOLVED), OPEN),
                                     Move((NEW, OPEN, ON_HOLD))],                            R.CUSTOMER_MESSAGE),
    TriggerSpec("wait_on_customer", [Move((NEW, OPEN, ON_HOLD), PENDING)],                   R.WAIT_ON_CUSTOMER),
    TriggerSpec("hold",             [Move((NEW, OPEN, PENDING), ON_HOLD)],                   R.HOLD),
    TriggerSpec("resume",           [Move((PENDING, ON_HOLD), OPEN)],                        R.RESUME),
    TriggerSpec("resolve",          [Move(WORKING, RESOLVED)],                               R.RESOLUTION),
    TriggerSpec("reopen",           [Move(RESOLVED, OPEN)],                                  R.REOPEN),
    TriggerSpec("close",            [Move(RESOLVED, CLOSED)],                                R.CLOSE),
    TriggerSpec("set_priority",     [Move(NOT_FINAL)],                                       R.PRIORITY_CHANGE,
                requires={"priority": as_priority}, sets={"priority": "priority"}),
    TriggerSpec("set_channel",      [Move(NOT_FINAL)],                                       R.CHANNEL_CHANGE,
                requires={"channel": as_channel}, sets={"channel": "channel"}),
    TriggerSpec("add_note",         [Move(NOT_FINAL)],                                       R.NOTE),
    TriggerSpec("escalate",         [Move(NOT_FINAL)],                                       R.ESCALATION,
                requires={"key": _key}),
)
"""The default trigger table, one row a trigger (see ``docs/lifecycle.md``)."""
# fmt: on

_MOVE_ROLES = frozenset({Role.RESOLUTION, Role.REOPEN})  # stamped from the move, not declared
_NO_CHANGES: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen
class _Edge:
    dest: str
    conditions: tuple[str, ...]
    unless: tuple[str, ...]
    roles: frozenset[Role]

    @property
    def guarded(self) -> bool:
        return bool(self.conditions or self.unless)


@attrs.frozen
class _Graph:
    states: tuple[str, ...]
    rows: Mapping[str, TriggerSpec]
    table: Mapping[tuple[str, str], tuple[_Edge, ...]]
    # the edge to take without consulting guards, where there is exactly one and unguarded
    direct: Mapping[tuple[str, str], _Edge]
    by_state: Mapping[str, tuple[str, ...]]
    by_role: Mapping[Role, str]
    done: frozenset[str]
    # per trigger, only where non-empty: the data it requires, the fields it sets
    required: Mapping[str, Mapping[str, Converter]]
    sets: Mapping[str, Mapping[str, str]]


def _merge(rows: Iterable[TriggerSpec], lifecycle: str) -> dict[str, TriggerSpec]:
    """Rows by name; a later row of a declared name adds its moves (and may not change its role)."""
    merged: dict[str, TriggerSpec] = {}
    for row in rows:
        first = merged.get(row.name)
        if first is None:
            merged[row.name] = row
            continue
        if row.role is not None and first.role is not None and row.role is not first.role:
            raise LifecycleDefinitionError(
                lifecycle, row.name, f"is declared with two roles: {first.role}, {row.role}"
            )
        merged[row.name] = attrs.evolve(
            first,
            moves=(*first.moves, *row.moves),
            role=first.role or row.role,
            requires={**first.requires, **row.requires},
            sets={**first.sets, **row.sets},
        )
    return merged


def _stamp(row: TriggerSpec, source: str, dest: str, done: frozenset[str]) -> frozenset[Role]:
    """The roles an event of ``row`` moving ``source -> dest`` is stamped with."""
    roles = set() if row.role is None or row.role in _MOVE_ROLES else {row.role}
    if dest in done and source not in done:
        roles.add(Role.RESOLUTION)
    elif source in done and dest not in done:
        roles.add(Role.REOPEN)
    return frozenset(roles)


class Lifecycle:
    """The ticket state machine; immutable tickets in, new tickets out.

    The default table (:data:`DEFAULT_TRIGGERS`; ``=`` keeps the status):

    ================  ==========================================  =================
    trigger           moves                                       role
    ================  ==========================================  =================
    assign            new, open, pending, on_hold -> =            assignment
    agent_reply       new -> open; open, pending, on_hold -> =    agent_reply
    customer_reply    pending, resolved -> open; others -> =      customer_message
    wait_on_customer  new, open, on_hold -> pending               wait_on_customer
    hold              new, open, pending -> on_hold               hold
    resume            pending, on_hold -> open                    resume
    resolve           new, open, pending, on_hold -> resolved     resolution
    reopen            resolved -> open                            reopen
    close             resolved -> closed                          close
    set_priority      any but closed -> =  (priority=...)         priority_change
    set_channel       any but closed -> =  (channel=...)          channel_change
    add_note          any but closed -> =  (internal)             note
    escalate          any but closed -> =  (key=...)              escalation
    ================  ==========================================  =================

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        >>> t = Ticket.open("T-1", channel="email", customer_id="c-9", at=at)
        >>> t2 = Lifecycle().apply(t, "agent_reply", at=at, actor="ana")
        >>> (t.status, t2.status, sorted(t2.events[-1].roles))
        (<Status.NEW: 'new'>, <Status.OPEN: 'open'>, [<Role.AGENT_REPLY: 'agent_reply'>])
    """

    initial: ClassVar[str] = Status.NEW
    _graphs: ClassVar[dict[type[Lifecycle], _Graph]] = {}

    # -- the definition (override in subclasses) ---------------------------------

    @classmethod
    def states(cls) -> tuple[str, ...]:
        """All states of the graph; subclasses add their own."""
        return tuple(Status)

    @classmethod
    def done_states(cls) -> frozenset[str]:
        """States in which a ticket counts as resolved (entering one is a resolution)."""
        return frozenset({Status.RESOLVED, Status.CLOSED})

    @classmethod
    def final_states(cls) -> frozenset[str]:
        """States no trigger leaves; :data:`NOT_FINAL` stands for all the others."""
        return frozenset({Status.CLOSED})

    @classmethod
    def triggers(cls) -> list[TriggerSpec]:
        """The rows of the trigger table; subclasses call ``super()`` and add rows."""
        return list(DEFAULT_TRIGGERS)

    @checked
    def effects(self, ticket: Ticket, event: TicketEvent) -> Mapping[str, Any]:
        """Return the ticket fields an event changes besides ``status``.

        By default each row's ``sets`` (field from data key). Override for
        computed fields (call ``super()``); used by :meth:`apply` and :meth:`replay`.
        """
        sets = self.graph().sets.get(event.kind)
        if sets is None:
            return _NO_CHANGES
        return {field: event.data[key] for field, key in sets.items() if key in event.data}

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
        states = tuple(_plain(s) for s in cls.states())
        rows = _merge(cls.triggers(), cls.__name__)
        done = frozenset(_plain(s) for s in cls.done_states())
        final = {_plain(f) for f in cls.final_states()}
        table = _table(rows, states, [s for s in states if s not in final], cls.initial, done)
        cls._check_guards(table)
        triggers = tuple(rows)
        return _Graph(
            states=tuple(_as_state(s) for s in states),
            rows=MappingProxyType(rows),
            table=table,
            direct={k: v[0] for k, v in table.items() if len(v) == 1 and not v[0].guarded},
            by_state={s: tuple(t for t in triggers if (s, t) in table) for s in states},
            by_role=MappingProxyType(_by_role(rows.values())),
            done=frozenset(_as_state(s) for s in done),
            required=_nonempty(rows, "requires"),
            sets=_nonempty(rows, "sets"),
        )

    @classmethod
    def _check_guards(cls, table: Mapping[tuple[str, str], tuple[_Edge, ...]]) -> None:
        for edge in (e for edges in table.values() for e in edges):
            for guard in (*edge.conditions, *edge.unless):
                if not callable(getattr(cls, guard, None)):
                    raise LifecycleDefinitionError(cls.__name__, guard, "is not a guard method")

    @classmethod
    @checked
    def trigger_for(cls, role: Role) -> str:
        """The trigger that plays ``role`` (the first row declaring it).

        Raises:
            LifecycleDefinitionError: no trigger of this lifecycle plays ``role``.
        """
        try:
            return cls.graph().by_role[role]
        except KeyError:
            raise LifecycleDefinitionError(
                cls.__name__, str(role), "is the role of no trigger"
            ) from None

    @classmethod
    @checked
    def roles_for(cls, kind: str, status_before: str, status_after: str) -> frozenset[Role]:
        """The roles an event of ``kind`` moving ``status_before -> status_after`` carries.

        Used to stamp events read from stores that did not record roles.
        """
        graph = cls.graph()
        if kind == "created":
            return frozenset({Role.CREATED})
        row = graph.rows.get(kind)
        if row is None:
            row = TriggerSpec(kind, ())
        return _stamp(row, status_before, status_after, graph.done)

    # -- using it -----------------------------------------------------------------

    def _guards_pass(self, edge: _Edge, ticket: Ticket, data: Mapping[str, Any]) -> bool:
        return all(getattr(self, g)(ticket, data) for g in edge.conditions) and not any(
            getattr(self, g)(ticket, data) for g in edge.unless
        )

    @checked
    def allowed(self, ticket: Ticket) -> tuple[str, ...]:
        """The triggers :meth:`apply` would accept now (guards checked with no data)."""
        graph = self.graph()
        return tuple(
            trigger
            for trigger in graph.by_state.get(ticket.status, ())
            if any(self._guards_pass(e, ticket, {}) for e in graph.table[(ticket.status, trigger)])
        )

    @checked
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
        return self._step(ticket, trigger, to_utc(at, "at"), actor, data)

    @checked
    def insert(
        self,
        ticket: Ticket,
        trigger: str,
        *,
        at: datetime,
        actor: str | None = None,
        **data: Any,
    ) -> Ticket:
        """Return a new ticket with the event of ``trigger`` at its place in time.

        Events are ordered by when they happened, not when they were reported:
        a late event goes before the events dated after it, and those are
        applied again after it (their statuses and roles follow). The whole log
        must still be valid. carekit's own records (events by
        :data:`~carekit._model.CAREKIT_ACTOR`, such as fired escalations) never
        block a host's event: one the new order refuses is kept as a record.

        Raises:
            InvalidTransition: the trigger is refused at its place, or it would
                make a later host event invalid. ``ticket`` is unchanged.
        """
        when = to_utc(at, "at")
        events = ticket.events
        if when >= ticket.last_event_at:
            return self._step(ticket, trigger, when, actor, data)
        if when < ticket.created_at:
            raise self._refuse(
                ticket, trigger, f"dated {when.isoformat()}, before the ticket was opened"
            )
        place = next(i for i, e in enumerate(events) if e.at > when)
        new = self._step(self.replay(ticket.id, events[:place]), trigger, when, actor, data)
        for event in events[place:]:
            try:
                new = self._step(new, event.kind, event.at, event.actor, dict(event.data))
            except InvalidTransition as refused:
                if event.actor != CAREKIT_ACTOR:
                    raise self._refuse(
                        ticket,
                        trigger,
                        f"at {when.isoformat()} it would make the later {event.kind!r} at "
                        f"{event.at.isoformat()} invalid ({refused.reason})",
                    ) from None
                new = self._keep(new, event)
        return new

    def _keep(self, ticket: Ticket, event: TicketEvent) -> Ticket:
        """Fold ``event`` as a record that changes no status (carekit's own, re-placed)."""
        kept = new_event(
            event.kind,
            event.at,
            event.actor,
            ticket.status,
            ticket.status,
            event.data,
            event.roles - _MOVE_ROLES,
        )
        return self._fold(ticket, kept)

    def _step(
        self,
        ticket: Ticket,
        trigger: str,
        when: datetime,
        actor: str | None,
        data: dict[str, Any],
    ) -> Ticket:
        graph = self.graph()
        status = ticket.status
        edges = graph.table.get((status, trigger)) if isinstance(trigger, str) else None
        if edges is None:
            if isinstance(trigger, str) and trigger in graph.rows:
                raise self._refuse(ticket, trigger, "not allowed in this status")
            raise self._refuse(ticket, trigger, "no such trigger", UnknownTrigger)
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
        event = new_event(
            trigger, when, actor, status, edge.dest, MappingProxyType(checked), edge.roles
        )
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
                raise self._refuse(ticket, trigger, f"missing data {key!r}", InvalidTriggerData)
            try:
                checked[key] = convert(data[key])
            except InvalidValue as exc:
                raise self._refuse(
                    ticket, trigger, f"bad data: {exc}", InvalidTriggerData
                ) from None
        return checked

    def _refuse(
        self,
        ticket: Ticket,
        trigger: str,
        reason: str,
        kind: type[InvalidTransition] = TransitionRefused,
    ) -> InvalidTransition:
        return kind(ticket.id, ticket.status, trigger, self.allowed(ticket), reason)

    def _fold(self, ticket: Ticket, event: TicketEvent) -> Ticket:
        if type(self).effects is _DEFAULT_EFFECTS:  # the table's own fields, without the hook
            sets = _graph_of(type(self)).sets
            changes = self.effects(ticket, event) if event.kind in sets else _NO_CHANGES
        else:
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

    @checked
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

    # -- generated documentation ---------------------------------------------------

    @classmethod
    def diagram(cls) -> str:
        """The graph as a Mermaid ``stateDiagram-v2``, generated from the table."""
        graph = cls.graph()
        lines = ["stateDiagram-v2", f"    [*] --> {cls.initial}"]
        edges: dict[tuple[str, str], list[str]] = {}
        for (source, trigger), candidates in graph.table.items():
            for edge in candidates:
                edges.setdefault((source, edge.dest), []).append(trigger)
        for (source, dest), triggers in edges.items():
            lines.append(f"    {source} --> {dest}: {', '.join(sorted(set(triggers)))}")
        lines.extend(f"    {final} --> [*]" for final in sorted(cls.final_states()))
        return "\n".join(lines) + "\n"

    @classmethod
    def table_markdown(cls) -> str:
        """The trigger table as Markdown: trigger, moves, role, required data, fields set."""
        lines = [
            "| trigger | moves | role | requires | sets |",
            "|---|---|---|---|---|",
        ]
        for row in cls.graph().rows.values():
            moves = "; ".join(_describe(move) for move in row.moves)
            requires = ", ".join(f"`{k}`" for k in row.requires) or ""
            sets = ", ".join(f"`{f}` from `{k}`" for f, k in row.sets.items()) or ""
            role = f"`{row.role}`" if row.role is not None else ""
            lines.append(f"| `{row.name}` | {moves} | {role} | {requires} | {sets} |")
        return "\n".join(lines) + "\n"


def _describe(move: Move) -> str:
    source = "any but final" if move.source == (NOT_FINAL,) else ", ".join(map(str, move.source))
    guards = [*move.conditions, *(f"not {u}" for u in move.unless)]
    return f"{source} → {move.dest}" + (f" (if {', '.join(guards)})" if guards else "")


def _nonempty(rows: Mapping[str, TriggerSpec], field: str) -> dict[str, Any]:
    """Per trigger, one of its mappings (``requires``, ``sets``), where it is not empty."""
    return {name: getattr(row, field) for name, row in rows.items() if getattr(row, field)}


def _by_role(rows: Iterable[TriggerSpec]) -> dict[Role, str]:
    """The first trigger declaring each role."""
    by_role: dict[Role, str] = {}
    for row in rows:
        if row.role is not None:
            by_role.setdefault(row.role, row.name)
    return by_role


def _table(
    rows: Mapping[str, TriggerSpec],
    states: Sequence[str],
    live: Sequence[str],
    initial: str,
    done: frozenset[str],
) -> dict[tuple[str, str], tuple[_Edge, ...]]:
    """``(status, trigger) -> edges``, through ``transitions``.

    ``transitions`` validates the states and moves (it treats Enum members as
    names, so it gets plain strings); its compiled events become the table.
    """
    specs = [_spec(row, move, live) for row in rows.values() for move in row.moves]
    machine = Machine(
        model=None,
        states=list(states),
        transitions=specs,
        initial=_plain(initial),
        auto_transitions=False,
    )
    return {
        (source, trigger): tuple(_edge(rows[trigger], source, t, done) for t in edges)
        for trigger, event in machine.events.items()
        for source, edges in event.transitions.items()
    }


def _spec(row: TriggerSpec, move: Move, live: Sequence[str]) -> dict[str, Any]:
    source = list(live) if move.source == (NOT_FINAL,) else [_plain(s) for s in move.source]
    spec: dict[str, Any] = {"trigger": row.name, "source": source, "dest": _plain(move.dest)}
    if move.conditions:
        spec["conditions"] = list(move.conditions)
    if move.unless:
        spec["unless"] = list(move.unless)
    return spec


def _edge(row: TriggerSpec, source: str, transition: Any, done: frozenset[str]) -> _Edge:
    dest = transition.dest if transition.dest is not None else source
    return _Edge(
        dest=_as_state(dest),
        conditions=tuple(_guard(c.func) for c in transition.conditions if c.target),
        unless=tuple(_guard(c.func) for c in transition.conditions if not c.target),
        roles=_stamp(row, source, dest, done),
    )


def _guard(func: object) -> str:
    if not isinstance(func, str):
        raise LifecycleDefinitionError("Lifecycle", func, "is not a guard method's name")
    return func


def _plain(state: str) -> str:
    return state.value if isinstance(state, Status) else str(state)


def _as_state(value: str) -> str:
    try:
        return Status(value)
    except ValueError:
        return value


_DEFAULT_EFFECTS = Lifecycle.effects
_graph_of = Lifecycle.graph.__func__  # type: ignore[attr-defined]
