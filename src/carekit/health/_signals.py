"""Churn signals: small named measures of one customer's recent history, each explaining itself.

A :class:`Signal` reads a customer's :class:`History` (their tickets' event
logs, their survey answers, their orders) over a window ending ``now`` and
returns a :class:`Reading`: the value, a *risk* between 0 (healthy) and 1 (as
bad as it gets) and a sentence ("3 SLA breaches in 30 days"). Its ``weight``
is the points it can take off the health score (the weights of a model add up
to 100). Subclass :class:`Signal` for your own: set ``name`` and implement
:meth:`Signal.measure`. Pure.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import ClassVar

import attrs

from carekit._check import typed_fields
from carekit._duration import format_duration
from carekit._model import CareEvent, Role, Ticket
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit._timeline import done_at
from carekit.exceptions import InvalidValue
from carekit.health._clv import Order

__all__ = [
    "DEFAULT_SIGNALS",
    "BadCsat",
    "Counted",
    "FallingOrders",
    "History",
    "NpsDetractor",
    "OldestOpenTicket",
    "PurchaseGap",
    "Reading",
    "Reassignments",
    "Reopenings",
    "RepeatContacts",
    "Signal",
    "SlaBreaches",
]


def _tuple_of_tickets(value: Iterable[Ticket]) -> tuple[Ticket, ...]:
    return tuple(value)


def _tuple_of_events(value: Iterable[CareEvent]) -> tuple[CareEvent, ...]:
    return tuple(value)


def _tuple_of_orders(value: Iterable[Order]) -> tuple[Order, ...]:
    return tuple(sorted(value, key=lambda o: o.at))


@attrs.frozen(field_transformer=typed_fields)
class History:
    """What carekit knows of one customer: tickets, survey answers and orders.

    Attributes:
        customer_id: whose.
        tickets: their tickets (with their event logs).
        answers: their survey answers: care events ``csat_rated`` and
            ``nps_answered`` with a ``score`` in their data.
        orders: their orders, as the host knows them.
    """

    customer_id: str
    tickets: tuple[Ticket, ...] = attrs.field(default=(), converter=_tuple_of_tickets)
    answers: tuple[CareEvent, ...] = attrs.field(default=(), converter=_tuple_of_events)
    orders: tuple[Order, ...] = attrs.field(default=(), converter=_tuple_of_orders)


class Reading:
    """What one signal found.

    Attributes:
        signal: its name.
        value: what it measured (a count, days, a ratio).
        risk: 0 (healthy) to 1 (as bad as it gets).
        sentence: the finding in words.

    Frozen, compared and hashed by those four. :meth:`later` makes one whose
    sentence is written when first read: scoring a million customers reads few
    sentences, and writing them was most of the cost of a reading.
    """

    __slots__ = ("_args", "_say", "_sentence", "risk", "signal", "value")

    signal: str
    value: float
    risk: float
    _sentence: str | None
    _say: Callable[..., str] | None
    _args: tuple[object, ...]

    def __init__(self, signal: str, value: float, risk: float, sentence: str) -> None:
        for name, held in (("signal", signal), ("value", value), ("risk", risk),
                           ("_sentence", sentence), ("_say", None), ("_args", ())):  # fmt: skip
            object.__setattr__(self, name, held)

    @classmethod
    def later(
        cls, signal: str, value: float, risk: float, say: Callable[..., str], *args: object
    ) -> Reading:
        """A reading whose sentence is ``say(*args)``, written when first read."""
        made = cls.__new__(cls)
        put = object.__setattr__
        put(made, "signal", signal)
        put(made, "value", value)
        put(made, "risk", risk)
        put(made, "_sentence", None)
        put(made, "_say", say)
        put(made, "_args", args)
        return made

    @property
    def sentence(self) -> str:
        """The finding in words (``"3 SLA breaches in 30 days"``)."""
        said: str | None = self._sentence
        if said is None:
            said = self._say(*self._args)  # type: ignore[misc]  # set by later()
            object.__setattr__(self, "_sentence", said)
            object.__setattr__(self, "_args", ())
        return said

    def _key(self) -> tuple[str, float, float, str]:
        return (self.signal, self.value, self.risk, self.sentence)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Reading(signal={self.signal!r}, value={self.value!r}, risk={self.risk!r}, "
                f"sentence={self.sentence!r})")  # fmt: skip

    def __reduce__(self) -> tuple[type[Reading], tuple[str, float, float, str]]:
        return (Reading, self._key())

    def __setattr__(self, name: str, value: object) -> None:
        raise attrs.exceptions.FrozenInstanceError

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError


def _share(value: float, limit: float) -> float:
    return 0.0 if limit <= 0 else max(0.0, min(1.0, value / limit))


@functools.lru_cache(maxsize=4096)
def _days(value: timedelta) -> str:
    """A span in words a reader takes in at once: whole days, or hours, rounded."""
    if value >= timedelta(days=2):
        return f"{round(value / timedelta(days=1))} days"
    if value >= timedelta(hours=2):
        return f"{round(value / timedelta(hours=1))} hours"
    return format_duration(value)


def _weight(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= 100:
        raise InvalidValue(attribute.name, value, "points between 0 and 100")


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class Signal:
    """A churn signal. Subclass: set ``name`` and implement :meth:`measure`.

    Attributes:
        weight: the points it can take off the score (a model's weights add up to 100).
    """

    name: ClassVar[str] = "signal"
    needs: ClassVar[str | None] = None
    """The part of the history it reads (``"tickets"``, ``"answers"``, ``"orders"``): a
    model reuses one reading for every customer with none of it. ``None``: always measured."""
    weight: float = attrs.field(default=10.0, validator=_weight)

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> Reading:
        """Read ``history`` over ``window`` before ``now`` (``policy`` grades SLA clocks)."""
        raise NotImplementedError


def _in(at: datetime, now: datetime, window: timedelta) -> bool:
    return now - window < at <= now


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class Counted(Signal):
    """A signal that counts things in the window: ``limit`` of them is the worst.

    Subclass: set ``name``, ``needs``, ``nouns`` (the singular and the plural, for
    the sentence) and implement :meth:`count`.
    """

    nouns: ClassVar[tuple[str, str]] = ("thing", "things")
    limit: int = 1

    def count(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> int:
        """How many there are in the window."""
        raise NotImplementedError

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> Reading:
        """The count, its share of ``limit``, and ``"3 <nouns> in 30 days"``."""
        count = self.count(history, now=now, window=window, policy=policy)
        return Reading.later(self.name, count, _share(count, self.limit),
                             _counted, count, self.nouns, window)  # fmt: skip


def _counted(count: int, nouns: tuple[str, str], window: timedelta) -> str:
    return f"{count} {nouns[count != 1]} in {_days(window)}"


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class SlaBreaches(Counted):
    """SLA clocks breached on tickets opened in the window; ``limit`` of them is the worst."""

    name: ClassVar[str] = "sla_breaches"
    needs: ClassVar[str | None] = "tickets"
    nouns: ClassVar[tuple[str, str]] = ("SLA breach", "SLA breaches")
    weight: float = attrs.field(default=15.0, validator=_weight)
    limit: int = 3

    def count(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> int:
        """Breached cycles of every metric, as the policy grades them at ``now``."""
        count = 0
        for ticket in history.tickets if policy is not None else ():
            if _in(ticket.created_at, now, window):
                chosen: SlaPolicy = policy._select(ticket)  # type: ignore[union-attr]
                if not chosen._may_have_breached(ticket, now):
                    continue  # done well within its targets: nothing to grade
                report = chosen.evaluate(ticket, now=now)
                count += sum(clock.breached for clock in report.all_clocks())
        return count


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class Reopenings(Counted):
    """Tickets reopened in the window (the answer did not hold); ``limit`` is the worst."""

    name: ClassVar[str] = "reopenings"
    needs: ClassVar[str | None] = "tickets"
    nouns: ClassVar[tuple[str, str]] = ("reopened ticket", "reopened tickets")
    weight: float = attrs.field(default=10.0, validator=_weight)
    limit: int = 2

    def count(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> int:
        """Events with the reopen role in the window."""
        return sum(
            1
            for ticket in history.tickets
            for event in ticket.events
            if Role.REOPEN in event.roles and _in(event.at, now, window)
        )


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class Reassignments(Counted):
    """Hand-overs between agents in the window (after each ticket's first assignment)."""

    name: ClassVar[str] = "reassignments"
    needs: ClassVar[str | None] = "tickets"
    nouns: ClassVar[tuple[str, str]] = ("reassignment", "reassignments")
    weight: float = attrs.field(default=5.0, validator=_weight)
    limit: int = 3

    def count(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> int:
        """Assignments after a ticket's first one, in the window."""
        count = 0
        for ticket in history.tickets:
            assignments = [e.at for e in ticket.events if Role.ASSIGNMENT in e.roles]
            count += sum(_in(at, now, window) for at in assignments[1:])
        return count


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class RepeatContacts(Signal):
    """Tickets opened within ``within`` of an earlier one about the same issue.

    The same issue: a shared tag, or any earlier ticket when neither has tags.
    A repeat contact means the first answer did not settle it.
    """

    name: ClassVar[str] = "repeat_contacts"
    needs: ClassVar[str | None] = "tickets"
    weight: float = attrs.field(default=10.0, validator=_weight)
    within: timedelta = timedelta(days=7)
    limit: int = 2

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> Reading:
        """Repeat contacts opened in the window."""
        opened = sorted(history.tickets, key=lambda t: t.created_at)
        count = 0
        for i, ticket in enumerate(opened):
            if not _in(ticket.created_at, now, window):
                continue
            count += any(
                ticket.created_at - before.created_at <= self.within
                and (ticket.tags & before.tags or not (ticket.tags or before.tags))
                for before in opened[:i]
            )
        return Reading.later(self.name, count, _share(count, self.limit),
                             _repeats, count, self.within)  # fmt: skip


def _repeats(count: int, within: timedelta) -> str:
    plural = "s" if count != 1 else ""
    return f"{count} repeat contact{plural} within {_days(within)} of an earlier one"


def _scores(history: History, kind: str, now: datetime, window: timedelta) -> list[float]:
    return [
        float(e.data["score"])
        for e in history.answers
        if e.kind == kind
        and _in(e.at, now, window)
        and isinstance(e.data.get("score"), int | float)
    ]


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class BadCsat(Signal):
    """Survey answers of ``bad`` or less on the 1-5 scale in the window."""

    name: ClassVar[str] = "bad_csat"
    needs: ClassVar[str | None] = "answers"
    weight: float = attrs.field(default=15.0, validator=_weight)
    bad: int = 2
    limit: int = 1

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> Reading:
        """Bad CSAT answers in the window."""
        count = sum(s <= self.bad for s in _scores(history, "csat_rated", now, window))
        return Reading.later(self.name, count, _share(count, self.limit),
                             _bad_answers, count, self.bad, window)  # fmt: skip


def _bad_answers(count: int, bad: int, window: timedelta) -> str:
    return f"{count} bad survey answer{'s' if count != 1 else ''} (1-{bad} of 5) in {_days(window)}"


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class NpsDetractor(Signal):
    """The latest NPS answer in the window is a detractor's (0-6)."""

    name: ClassVar[str] = "nps_detractor"
    needs: ClassVar[str | None] = "answers"
    weight: float = attrs.field(default=10.0, validator=_weight)

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> Reading:
        """The latest NPS answer: 1 if 0-6, else 0."""
        answers = _scores(history, "nps_answered", now, window)
        if not answers:
            return Reading.later(self.name, 0, 0.0, _no_nps, window)
        latest = answers[-1]
        return Reading.later(self.name, latest, float(latest <= 6), _nps, latest)


def _no_nps(window: timedelta) -> str:
    return f"no NPS answer in {_days(window)}"


def _nps(latest: float) -> str:
    return f"NPS answer {latest:g}: {'a detractor' if latest <= 6 else 'not a detractor'}"


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class OldestOpenTicket(Signal):
    """How long the customer's oldest unresolved ticket has waited; ``limit`` is the worst."""

    name: ClassVar[str] = "oldest_open_ticket"
    needs: ClassVar[str | None] = "tickets"
    weight: float = attrs.field(default=10.0, validator=_weight)
    limit: timedelta = timedelta(days=7)

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> Reading:
        """The age of the oldest ticket not done at ``now``."""
        stamp = now.timestamp()
        open_since = [
            t.created_at for t in history.tickets if t.created_at <= now and not done_at(t, stamp)
        ]
        if not open_since:
            return Reading(self.name, 0, 0.0, "no open ticket")
        age = now - min(open_since)
        return Reading.later(self.name, age / timedelta(days=1), _share(age / self.limit, 1),
                             _waited, age)  # fmt: skip


def _waited(age: timedelta) -> str:
    return f"the oldest open ticket has waited {_days(age)}"


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class PurchaseGap(Signal):
    """Time since the last purchase against the customer's own rhythm (their mean gap).

    At the rhythm the risk is 0; at ``worst`` times it (or more), 1.
    """

    name: ClassVar[str] = "purchase_gap"
    needs: ClassVar[str | None] = "orders"
    weight: float = attrs.field(default=15.0, validator=_weight)
    worst: float = 3.0

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> Reading:
        """``(now - last order) / mean gap between orders``; needs two orders."""
        orders = history.orders  # sorted by time
        if orders and orders[-1].at > now:
            orders = tuple(o for o in orders if o.at <= now)
        if len(orders) < 2:
            return Reading(self.name, 0, 0.0, "no purchase rhythm yet (fewer than 2 orders)")
        last = orders[-1].at
        rhythm = (last - orders[0].at) / (len(orders) - 1)  # the mean gap
        since = now - last
        ratio = since / rhythm if rhythm else 0.0
        risk = _share(ratio - 1, self.worst - 1)
        return Reading.later(self.name, ratio, risk, _gap, since, ratio, rhythm)


def _gap(since: timedelta, ratio: float, rhythm: timedelta) -> str:
    return f"{_days(since)} since the last purchase, {ratio:.1f} times the usual {_days(rhythm)}"


@attrs.frozen(kw_only=True, field_transformer=typed_fields)
class FallingOrders(Signal):
    """Order value in the window against the window before it.

    A fall of ``worst`` or more (a share: 0.5 is half) is the worst.
    """

    name: ClassVar[str] = "falling_orders"
    needs: ClassVar[str | None] = "orders"
    weight: float = attrs.field(default=10.0, validator=_weight)
    worst: float = 0.5

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: PolicySelector | None
    ) -> Reading:
        """The fall in order value from the previous window to this one."""
        middle, start = now - window, now - 2 * window
        recent = before = 0.0
        for order in history.orders:  # one pass
            if middle < order.at <= now:
                recent += float(order.amount)
            elif start < order.at <= middle:
                before += float(order.amount)
        if before <= 0:
            return Reading.later(self.name, 0, 0.0, _no_orders, window)
        fall = max(0.0, 1 - recent / before)
        return Reading.later(self.name, fall, _share(fall, self.worst), _fall, fall, window)


def _no_orders(window: timedelta) -> str:
    return f"no orders in the {_days(window)} before"


def _fall(fall: float, window: timedelta) -> str:
    return f"order value down {fall:.0%} on the {_days(window)} before"


DEFAULT_SIGNALS: tuple[Signal, ...] = (
    SlaBreaches(),
    Reopenings(),
    Reassignments(),
    RepeatContacts(),
    BadCsat(),
    NpsDetractor(),
    OldestOpenTicket(),
    PurchaseGap(),
    FallingOrders(),
)
"""The shipped signals with their default weights (15, 10, 5, 10, 15, 10, 10, 15, 10: 100)."""
