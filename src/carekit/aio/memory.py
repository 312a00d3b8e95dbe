"""In-memory async stores, for tests and examples of async hosts.

Each wraps its sync in-memory store (``.sync``), so both keep exactly the same
rules; the methods are coroutines and never block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta

from carekit._model import CareEvent, Channel, Ticket
from carekit.campaigns._history import JobEntry, Outcome
from carekit.campaigns._planning import SentTouch, Touch
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore

__all__ = ["AsyncInMemoryJobStore", "AsyncInMemoryTicketStore"]


class AsyncInMemoryTicketStore:
    """An :class:`~carekit.protocols.AsyncTicketStore` in memory (one process).

    Args:
        sync: the in-memory store to wrap (default: a new, empty one).
    """

    def __init__(self, sync: InMemoryTicketStore | None = None) -> None:
        self.sync = sync if sync is not None else InMemoryTicketStore()

    async def get(self, ticket_id: str) -> Ticket:
        """As :meth:`InMemoryTicketStore.get <carekit.stores.memory.InMemoryTicketStore.get>`."""
        return self.sync.get(ticket_id)

    async def save(
        self,
        ticket: Ticket,
        *,
        expected_version: int,
        due_at: datetime | None = None,
        care_events: Sequence[CareEvent] = (),
        release: bool = False,
        rewrite_from: int | None = None,
    ) -> None:
        """As :meth:`InMemoryTicketStore.save <carekit.stores.memory.InMemoryTicketStore.save>`."""
        self.sync.save(
            ticket,
            expected_version=expected_version,
            due_at=due_at,
            care_events=care_events,
            release=release,
            rewrite_from=rewrite_from,
        )

    async def load(self, tickets: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Bulk-insert new tickets with their due instants."""
        self.sync.load(tickets)

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[str]:
        """Lease up to ``limit`` due tickets no one holds, earliest first."""
        return self.sync.claim(now, limit=limit, lease=lease)

    async def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids due at or before ``now``, earliest first, claimed or not."""
        return self.sync.due(now, limit)

    async def outbox(self, limit: int = 100) -> list[tuple[int, CareEvent]]:
        """Care events saved with tickets and not yet acknowledged, oldest first."""
        return self.sync.outbox(limit)

    async def acknowledge(self, seqs: Iterable[int]) -> None:
        """Remove handled care events from the outbox."""
        self.sync.acknowledge(seqs)

    async def __aiter__(self) -> AsyncIterator[Ticket]:
        """Iterate over every stored ticket."""
        for ticket in list(self.sync):
            yield ticket

    def __len__(self) -> int:
        return len(self.sync)


class AsyncInMemoryJobStore:
    """An :class:`~carekit.protocols.AsyncJobStore` in memory (one process).

    Args:
        sync: the in-memory job store to wrap (default: a new, empty one).
    """

    def __init__(self, sync: InMemoryJobStore | None = None) -> None:
        self.sync = sync if sync is not None else InMemoryJobStore()

    async def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch`` unless its key exists (idempotent)."""
        return self.sync.enqueue(touch, enrolled_at=enrolled_at)

    async def enqueue_many(self, touches: Iterable[Touch], *, enrolled_at: datetime) -> int:
        """Add many touches; return how many were new."""
        return self.sync.enqueue_many(touches, enrolled_at=enrolled_at)

    async def cancel(
        self, *, key: str | None = None, prefix: str | None = None, at: datetime | None = None
    ) -> int:
        """Cancel pending jobs by key or key prefix."""
        return self.sync.cancel(key=key, prefix=prefix, at=at)

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs, earliest first."""
        return self.sync.claim(now, limit=limit, lease=lease)

    async def complete(self, key: str, *, outcome: str, at: datetime, reason: str = "") -> None:
        """End the job with its outcome."""
        self.sync.complete(key, outcome=outcome, at=at, reason=reason)

    async def complete_many(self, outcomes: Iterable[Outcome], *, at: datetime) -> None:
        """End many jobs: all, or none and JobNotFound."""
        self.sync.complete_many(outcomes, at=at)

    async def release(
        self,
        key: str,
        *,
        until: datetime,
        reason: str,
        at: datetime | None = None,
        retry: bool = False,
    ) -> None:
        """Make the job due again at ``until``."""
        self.sync.release(key, until=until, reason=reason, at=at, retry=retry)

    async def history(self, key: str) -> list[JobEntry]:
        """What happened to the job, oldest first."""
        return self.sync.history(key)

    async def note_inbound(self, customer_id: str, channel: Channel | str, at: datetime) -> None:
        """Remember the customer's message on ``channel``."""
        self.sync.note_inbound(customer_id, channel, at)

    async def last_inbound(self, customer_id: str, channel: Channel | str) -> datetime | None:
        """When the customer last wrote on ``channel``."""
        return self.sync.last_inbound(customer_id, channel)

    async def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's sends after ``since``."""
        return self.sync.sent_since(customer_id, since)

    async def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job under ``prefix`` was last enqueued."""
        return self.sync.last_enrolled(prefix)

    async def state(self, key: str) -> tuple[str, str | None, str | None]:
        """(state, outcome, last reason) of a job."""
        return self.sync.state(key)
