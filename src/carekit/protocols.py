"""The small interfaces a host application implements.

Each is a :class:`typing.Protocol`: implement the methods, no base class
needed. :mod:`carekit.testing` ships in-memory versions for tests and examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from carekit.model import Customer, Ticket

if TYPE_CHECKING:
    from carekit.escalation import Decision

__all__ = ["Clock", "CustomerDirectory", "EscalationHandler", "TicketStore"]


@runtime_checkable
class Clock(Protocol):
    """A callable source of the current time, injected into the shell.

    The pure core never reads a clock; only the shell does, so tests use
    :class:`carekit.testing.ManualClock` instead of patching global time.
    """

    def now(self) -> datetime:
        """Return the current instant as a timezone-aware datetime."""
        ...


@runtime_checkable
class TicketStore(Protocol):
    """Where tickets (with their event logs) live.

    ``save`` is optimistic: it names the version the caller loaded (``0`` for a
    ticket that is new) and raises :class:`~carekit.ConcurrentUpdate`, writing
    nothing, when the stored version differs. It also records the ticket's next
    due instant (``None``: nothing pending), which ``due`` reads from an index,
    so that a desk's tick costs what is due, not what is open.
    """

    def get(self, ticket_id: str) -> Ticket:
        """Return the ticket or raise :class:`~carekit.TicketNotFound`."""
        ...

    def save(
        self, ticket: Ticket, *, expected_version: int, due_at: datetime | None = None
    ) -> None:
        """Store ``ticket`` and its due instant if the stored version is ``expected_version``."""
        ...

    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """The ids of tickets whose due instant is at or before ``now``, earliest first."""
        ...

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over every stored ticket."""
        ...


@runtime_checkable
class CustomerDirectory(Protocol):
    """Where the host keeps its customers (for time zones, languages, tiers, consent)."""

    def get(self, customer_id: str) -> Customer | None:
        """Return the customer, or ``None`` when unknown."""
        ...


@runtime_checkable
class EscalationHandler(Protocol):
    """A callable-like object that carries out an escalation decision for the host.

    It gets the actions the desk cannot carry out itself (``Notify``,
    ``InformCustomer``, your own). It must be idempotent on ``decision.key``:
    after a crash the same decision can be handed over again. If it raises, the
    decision is not marked fired and is handed over again on the next tick.
    """

    def handle(self, decision: Decision, ticket: Ticket) -> None:
        """Carry out ``decision`` for ``ticket``."""
        ...
