"""The small interfaces a host application implements.

Each is a :class:`typing.Protocol`: implement the methods, no base class
needed. :mod:`carekit.testing` ships in-memory versions for tests and examples.

The ``Async...`` protocols are the same interfaces with ``async`` methods, for
:mod:`carekit.aio`: the same arguments, the same results, the same promises.
An async desk or scheduler also takes the plain (sync) directory, handler or
sender, and awaits only what is awaitable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from carekit._escalation import Escalation
    from carekit._model import CareEvent, Channel, Customer, Ticket
    from carekit._send import SendResult
    from carekit.campaigns._history import JobEntry
    from carekit.campaigns._planning import SentTouch, Touch
    from carekit.i18n import Message

__all__ = [
    "AsyncCustomerDirectory",
    "AsyncEscalationHandler",
    "AsyncJobStore",
    "AsyncMessageSender",
    "AsyncTicketStore",
    "Clock",
    "CustomerDirectory",
    "EscalationHandler",
    "JobStore",
    "MessageSender",
    "TemplateRenderer",
    "TicketStore",
]


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
    """Where tickets (with their event logs) live, with their due index and care-event outbox.

    ``save`` is optimistic: it names the version the caller loaded (``0`` for a
    ticket that is new) and raises :class:`~carekit.exceptions.ConcurrentUpdate`
    (or :class:`~carekit.exceptions.TicketExists` for a taken id), writing
    nothing, when the stored version differs. In the same transaction it
    records the ticket's next due instant (``None``: nothing pending) and
    queues ``care_events`` in the outbox. ``claim`` leases due tickets to one
    worker, so that any number of threads and processes can tick one store;
    the lease ends with the holder's save (``release=True``) or when it runs
    out. What a store cannot keep exactly it refuses at save with
    :class:`~carekit.exceptions.InvalidValue`; its own failures are
    :class:`~carekit.exceptions.StoreError`.
    """

    def get(self, ticket_id: str) -> Ticket:
        """Return the ticket or raise :class:`~carekit.exceptions.TicketNotFound`."""
        ...

    def save(
        self,
        ticket: Ticket,
        *,
        expected_version: int,
        due_at: datetime | None = None,
        care_events: Sequence[CareEvent] = (),
        release: bool = False,
        rewrite_from: int | None = None,
    ) -> None:
        """Store ``ticket``, its due instant and ``care_events`` if the version matches.

        Events are appended after ``expected_version``; ``rewrite_from`` says the
        log changed from that index on (a late event was inserted before others).
        """
        ...

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[str]:
        """Lease up to ``limit`` tickets due at ``now`` that no one holds, earliest first."""
        ...

    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """The ids of tickets whose due instant is at or before ``now``, earliest first."""
        ...

    def outbox(self, limit: int = 100) -> list[tuple[int, CareEvent]]:
        """Care events saved with tickets and not yet acknowledged, oldest first."""
        ...

    def acknowledge(self, seqs: Iterable[int]) -> None:
        """Remove handled care events (by their outbox numbers)."""
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
    ``InformCustomer``, your own). It must be idempotent on ``escalation.key``:
    after a crash the same decision can be handed over again. If it raises, the
    decision is not marked fired and is handed over again on the next tick.
    """

    def handle(self, escalation: Escalation, ticket: Ticket) -> None:
        """Carry out ``escalation`` for ``ticket``."""
        ...


@runtime_checkable
class MessageSender(Protocol):
    """Sends a rendered message to a customer on a channel.

    It must de-duplicate on ``key``: delivery is at least once, so the same
    touch may be handed over again after a crash, always with the same key.
    """

    def send(
        self, message: Message, *, customer: Customer, channel: Channel, key: str
    ) -> SendResult | None:
        """Send ``message``; a second call with the same ``key`` must not send again.

        Return :class:`~carekit.campaigns.Sent` (with the provider's id),
        :class:`~carekit.campaigns.Rejected` or :class:`~carekit.campaigns.RetryLater`;
        ``None`` counts as sent. Pass ``key`` on as the provider's idempotency key
        where it takes one.
        """
        ...


@runtime_checkable
class JobStore(Protocol):
    """Where planned touches wait until they are due.

    ``enqueue`` is idempotent on the touch's key; ``claim`` hands due jobs to
    one worker for ``lease``; ``complete`` and ``release`` end a claim.
    """

    def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch``; ``False`` (and nothing changed) if its key exists."""
        ...

    def cancel(
        self, *, key: str | None = None, prefix: str | None = None, at: datetime | None = None
    ) -> int:
        """Cancel pending jobs by key or key prefix (``at``: when; default now); return how many."""
        ...

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs, earliest first."""
        ...

    def complete(self, key: str, *, outcome: str, at: datetime, reason: str = "") -> None:
        """End a job: ``outcome`` is ``"sent"`` or ``"<ending>: <why>"``.

        ``reason`` says more (a sent touch's channel, and why not the preferred one);
        it is kept with the job and in its history.
        """
        ...

    def release(
        self,
        key: str,
        *,
        until: datetime,
        reason: str,
        at: datetime | None = None,
        retry: bool = False,
    ) -> None:
        """Give a claimed job back, due again at ``until``, because ``reason``.

        ``retry``: after a failure or a provider's "later" (not a rule such as the
        send window); the scheduler's backoff counts these.
        """
        ...

    def history(self, key: str) -> list[JobEntry]:
        """What happened to the job, oldest first; :class:`~carekit.exceptions.JobNotFound`."""
        ...

    def note_inbound(self, customer_id: str, channel: Channel | str, at: datetime) -> None:
        """Remember that the customer wrote on ``channel`` at ``at`` (the latest is kept)."""
        ...

    def last_inbound(self, customer_id: str, channel: Channel | str) -> datetime | None:
        """When the customer last wrote on ``channel``, as far as carekit was told."""
        ...

    def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's touches sent after ``since`` (for frequency caps)."""
        ...

    def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job with a key starting with ``prefix`` was last enqueued."""
        ...


@runtime_checkable
class TemplateRenderer(Protocol):
    """Turns a template name, a locale and fields into a :class:`Message`."""

    def render(
        self, template: str, *, locale: str, timezone: str, fields: Mapping[str, Any]
    ) -> Message:
        """Render ``template`` for a reader in ``locale`` and ``timezone``."""
        ...


# -- the async twins (carekit.aio) ----------------------------------------------------


@runtime_checkable
class AsyncTicketStore(Protocol):
    """:class:`TicketStore` with ``async`` methods (same arguments, results and promises)."""

    async def get(self, ticket_id: str) -> Ticket:
        """Return the ticket or raise :class:`~carekit.exceptions.TicketNotFound`."""
        ...

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
        """Store ``ticket``, its due instant and ``care_events`` if the version matches."""
        ...

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[str]:
        """Lease up to ``limit`` tickets due at ``now`` that no one holds, earliest first."""
        ...

    async def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """The ids of tickets whose due instant is at or before ``now``, earliest first."""
        ...

    async def outbox(self, limit: int = 100) -> list[tuple[int, CareEvent]]:
        """Care events saved with tickets and not yet acknowledged, oldest first."""
        ...

    async def acknowledge(self, seqs: Iterable[int]) -> None:
        """Remove handled care events (by their outbox numbers)."""
        ...

    def __aiter__(self) -> AsyncIterator[Ticket]:
        """Iterate over every stored ticket."""
        ...


@runtime_checkable
class AsyncCustomerDirectory(Protocol):
    """:class:`CustomerDirectory` with an ``async`` lookup."""

    async def get(self, customer_id: str) -> Customer | None:
        """Return the customer, or ``None`` when unknown."""
        ...


@runtime_checkable
class AsyncEscalationHandler(Protocol):
    """:class:`EscalationHandler` with an ``async`` ``handle`` (idempotent on the key)."""

    async def handle(self, escalation: Escalation, ticket: Ticket) -> None:
        """Carry out ``escalation`` for ``ticket``."""
        ...


@runtime_checkable
class AsyncMessageSender(Protocol):
    """:class:`MessageSender` with an ``async`` ``send`` (de-duplicating on ``key``)."""

    async def send(
        self, message: Message, *, customer: Customer, channel: Channel, key: str
    ) -> SendResult | None:
        """Send ``message``; a second call with the same ``key`` must not send again."""
        ...


@runtime_checkable
class AsyncJobStore(Protocol):
    """:class:`JobStore` with ``async`` methods (same arguments, results and promises)."""

    async def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch``; ``False`` (and nothing changed) if its key exists."""
        ...

    async def cancel(
        self, *, key: str | None = None, prefix: str | None = None, at: datetime | None = None
    ) -> int:
        """Cancel pending jobs by key or key prefix (``at``: when; default now); return how many."""
        ...

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs, earliest first."""
        ...

    async def complete(self, key: str, *, outcome: str, at: datetime, reason: str = "") -> None:
        """End a job: ``outcome`` is ``"sent"`` or ``"<ending>: <why>"``.

        ``reason`` says more (a sent touch's channel, and why not the preferred one);
        it is kept with the job and in its history.
        """
        ...

    async def release(
        self,
        key: str,
        *,
        until: datetime,
        reason: str,
        at: datetime | None = None,
        retry: bool = False,
    ) -> None:
        """Give a claimed job back, due again at ``until``, because ``reason``.

        ``retry``: after a failure or a provider's "later" (not a rule such as the
        send window); the scheduler's backoff counts these.
        """
        ...

    async def history(self, key: str) -> list[JobEntry]:
        """What happened to the job, oldest first; :class:`~carekit.exceptions.JobNotFound`."""
        ...

    async def note_inbound(self, customer_id: str, channel: Channel | str, at: datetime) -> None:
        """Remember that the customer wrote on ``channel`` at ``at`` (the latest is kept)."""
        ...

    async def last_inbound(self, customer_id: str, channel: Channel | str) -> datetime | None:
        """When the customer last wrote on ``channel``, as far as carekit was told."""
        ...

    async def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's touches sent after ``since`` (for frequency caps)."""
        ...

    async def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job with a key starting with ``prefix`` was last enqueued."""
        ...
