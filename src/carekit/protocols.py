"""The small interfaces a host application implements.

Each is a :class:`typing.Protocol`: implement the methods, no base class
needed. :mod:`carekit.testing` ships in-memory versions for tests and examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol, runtime_checkable

from carekit.model import Ticket

__all__ = ["Clock", "TicketStore"]


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
    nothing, when the stored version differs.
    """

    def get(self, ticket_id: str) -> Ticket:
        """Return the ticket or raise :class:`~carekit.TicketNotFound`."""
        ...

    def save(self, ticket: Ticket, *, expected_version: int) -> None:
        """Store ``ticket`` if the stored version is ``expected_version``."""
        ...

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over every stored ticket."""
        ...
