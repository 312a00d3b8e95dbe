"""Fakes for tests and examples: a manual clock and an in-memory ticket store.

These are public and supported: use them to test your own code built on carekit.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from carekit._time import to_utc
from carekit.exceptions import ConcurrentUpdate, InvalidValue, TicketNotFound
from carekit.model import Customer, Ticket

if TYPE_CHECKING:
    from carekit.escalation import Decision
    from carekit.i18n import Message
    from carekit.model import Channel

__all__ = [
    "InMemoryDirectory",
    "InMemoryTicketStore",
    "ManualClock",
    "RecordingHandler",
    "RecordingSender",
]


class ManualClock:
    """A clock that only moves when told to.

    Examples:
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
    """A :class:`~carekit.protocols.TicketStore` in a dict, with a heap as its due index.

    ``due`` costs in proportion to what is due (plus a logarithm), not to what
    is stored: entries superseded by a later save are skipped lazily.
    """

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def get(self, ticket_id: str) -> Ticket:
        """Return the ticket or raise :class:`~carekit.TicketNotFound`."""
        try:
            return self._tickets[ticket_id]
        except KeyError:
            raise TicketNotFound(ticket_id) from None

    def save(
        self, ticket: Ticket, *, expected_version: int, due_at: datetime | None = None
    ) -> None:
        """Store ``ticket`` if the stored version is ``expected_version`` (0: new)."""
        current = self._tickets.get(ticket.id)
        actual = current.version if current is not None else 0
        if actual != expected_version:
            raise ConcurrentUpdate(ticket.id, expected_version, actual)
        self._tickets[ticket.id] = ticket
        if due_at is None:
            self._due.pop(ticket.id, None)
        else:
            at = to_utc(due_at, "due_at").timestamp()
            if self._due.get(ticket.id) != at:
                self._due[ticket.id] = at
                heapq.heappush(self._heap, (at, ticket.id))
        if len(self._heap) > 2 * len(self._due) + 64:
            self._heap = [(at, tid) for tid, at in self._due.items()]
            heapq.heapify(self._heap)

    def load(self, tickets: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Bulk-insert new tickets with their due instants (for set-ups and benchmarks)."""
        for ticket, due_at in tickets:
            self._tickets[ticket.id] = ticket
            if due_at is not None:
                self._due[ticket.id] = due_at.timestamp()
        self._heap = [(at, tid) for tid, at in self._due.items()]
        heapq.heapify(self._heap)

    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids due at or before ``now``, earliest first; they stay due until saved again."""
        cutoff = to_utc(now, "now").timestamp()
        heap, current = self._heap, self._due
        taken: list[tuple[float, str]] = []
        ids: list[str] = []
        while heap and heap[0][0] <= cutoff and (limit is None or len(ids) < limit):
            at, tid = heapq.heappop(heap)
            if current.get(tid) == at and (not ids or ids[-1] != tid):
                ids.append(tid)
                taken.append((at, tid))
        for entry in taken:
            heapq.heappush(heap, entry)
        return ids

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over the stored tickets in the order they were first saved."""
        return iter(list(self._tickets.values()))

    def __len__(self) -> int:
        return len(self._tickets)


class InMemoryDirectory:
    """A :class:`~carekit.protocols.CustomerDirectory` over a dict."""

    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self.customers = {c.id: c for c in customers}

    def get(self, customer_id: str) -> Customer | None:
        """The customer, or ``None``."""
        return self.customers.get(customer_id)

    def add(self, customer: Customer) -> None:
        """Add or replace a customer."""
        self.customers[customer.id] = customer


class RecordingHandler:
    """An :class:`~carekit.protocols.EscalationHandler` that records what it is handed.

    ``fail_times`` makes it raise that many times first (to test retries);
    ``seen`` de-duplicates on the decision's key, as a real handler must.
    """

    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times = fail_times
        self.handled: list[Decision] = []
        self.seen: set[str] = set()

    def handle(self, decision: Decision, ticket: Ticket) -> None:
        """Record ``decision`` (once per key), or raise while failures are left."""
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("handler failed on purpose")
        if decision.key not in self.seen:
            self.seen.add(decision.key)
            self.handled.append(decision)


class RecordingSender:
    """A :class:`~carekit.campaigns.MessageSender` that records, de-duplicating on the key.

    ``attempts`` counts every call (a re-delivery included); ``sent`` keeps one
    entry per key, as a real sender must. ``fail_times`` makes it raise first.
    """

    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times = fail_times
        self.attempts = 0
        self.sent: dict[str, tuple[Customer, Channel, Message]] = {}

    def send(self, message: Message, *, customer: Customer, channel: Channel, key: str) -> None:
        """Record the message once per key."""
        self.attempts += 1
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("sender failed on purpose")
        self.sent.setdefault(key, (customer, channel, message))
