"""Fakes for tests and examples: a manual clock and an in-memory ticket store.

These are public and supported: use them to test your own code built on carekit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from carekit._time import to_utc
from carekit.exceptions import ConcurrentUpdate, InvalidValue, TicketNotFound
from carekit.model import Ticket

__all__ = ["InMemoryTicketStore", "ManualClock"]


class ManualClock:
    """A clock that only moves when told to.

    >>> from datetime import datetime, timedelta, timezone
    >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> clock.advance(timedelta(seconds=30)).isoformat()
    '2026-01-01T00:00:30+00:00'
    """

    def __init__(self, start: datetime) -> None:
        self._now = to_utc(start, "start")

    def now(self) -> datetime:
        """Return the clock's current instant."""
        return self._now

    def set(self, at: datetime) -> None:
        """Move the clock to ``at`` (forwards or backwards)."""
        self._now = to_utc(at, "at")

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forwards by ``by`` and return the new instant."""
        if by < timedelta(0):
            raise InvalidValue("by", by, "a duration of zero or more")
        self._now = self._now + by
        return self._now


class InMemoryTicketStore:
    """A :class:`~carekit.protocols.TicketStore` in a dict, for tests and examples."""

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}

    def get(self, ticket_id: str) -> Ticket:
        """Return the ticket or raise :class:`~carekit.TicketNotFound`."""
        try:
            return self._tickets[ticket_id]
        except KeyError:
            raise TicketNotFound(ticket_id) from None

    def save(self, ticket: Ticket, *, expected_version: int) -> None:
        """Store ``ticket`` if the stored version is ``expected_version`` (0: new)."""
        current = self._tickets.get(ticket.id)
        actual = current.version if current is not None else 0
        if actual != expected_version:
            raise ConcurrentUpdate(ticket.id, expected_version, actual)
        self._tickets[ticket.id] = ticket

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over the stored tickets in the order they were first saved."""
        return iter(list(self._tickets.values()))

    def __len__(self) -> int:
        return len(self._tickets)
