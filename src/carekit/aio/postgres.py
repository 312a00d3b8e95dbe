"""PostgreSQL stores for async hosts, on psycopg's async API (``carekit[postgres]``).

They run the very steps of the sync stores (:mod:`carekit.stores._pg`: the
same SQL, rows, locks, leases and announcements), awaiting each statement on
an ``AsyncConnection`` from a ``psycopg_pool.AsyncConnectionPool``. A sync
and an async store can share one schema: several web servers on asyncio and
several sync workers, say.

Open a store before use, and close it after::

    async with AsyncPostgresTicketStore(dsn, schema="carekit", create=True) as store:
        desk = AsyncDesk(store, ...)

or ``store = AsyncPostgresTicketStore(dsn); await store.open()`` ... ``await
store.close()``. A store used before it is open raises
:class:`~carekit.exceptions.StoreError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from carekit._check import checked
from carekit._effects import Steps, drive_async
from carekit._lifecycle import Lifecycle
from carekit._model import CareEvent, Channel, Ticket
from carekit.campaigns._history import JobEntry, Outcome
from carekit.campaigns._planning import SentTouch, Touch
from carekit.exceptions import InvalidValue, StoreError
from carekit.stores._pg import (
    JobSql,
    Sql,
    TicketSql,
    check_version,
    faults,
    idle_input,
    psycopg,
    schema_name,
    upgrade_steps,
)

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

__all__ = ["AsyncPostgresJobStore", "AsyncPostgresTicketStore"]

T = TypeVar("T")


async def _pool(dsn_or_pool: Any, where: str) -> tuple[AsyncConnectionPool[Any], bool]:
    """The pool to use, and whether the store made it (and closes it)."""
    pg = psycopg()
    from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415

    if isinstance(dsn_or_pool, AsyncConnectionPool):
        return dsn_or_pool, False
    if not isinstance(dsn_or_pool, str):
        raise InvalidValue("dsn", dsn_or_pool, "a DSN (postgresql://...) or an AsyncConnectionPool")
    with faults(where, "connect"):
        probe = await pg.AsyncConnection.connect(dsn_or_pool, connect_timeout=10)
        await probe.close()  # a server that is not there fails at once, with its reason
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            dsn_or_pool,
            min_size=1,
            max_size=8,
            open=False,
            timeout=30.0,
            kwargs={
                "autocommit": True,
                "application_name": "carekit",
            },  # no BEGIN/COMMIT for one statement
            check=_check,  # after a server restart: a fresh connection
            reconnect_timeout=60.0,
        )
        await pool.open(wait=True, timeout=30.0)
    return pool, True


async def _check(conn: AsyncConnection[Any]) -> None:
    """The pool's check: a real one only for a connection that got input while idle."""
    if idle_input(conn.fileno()):
        from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415

        await AsyncConnectionPool.check_connection(conn)


class _AsyncStore(Sql):
    """What both async stores share: the pool, opening and closing, running steps, LISTEN."""

    def __init__(self, dsn_or_pool: Any, schema: str, *, create: bool) -> None:
        self.schema = schema_name(schema)
        self.where = f"postgres schema {self.schema}"
        self._source = dsn_or_pool
        self._create = create
        self._pool: AsyncConnectionPool[Any] | None = None
        self._own = False
        self._listener: AsyncConnection[Any] | None = None
        self._listen_lock = asyncio.Lock()

    async def open(self) -> Self:
        """Connect, create or check the schema; return the store (open twice: no-op).

        Raises:
            StoreError: the database cannot be reached, or the tables are missing.
            SchemaError: the schema was written by a newer carekit.
        """
        if self._pool is None:
            self._pool, self._own = await _pool(self._source, self.where)
            try:
                if self._create:
                    await self._run("upgrade the schema", upgrade_steps, self.schema)
                await self._run("open the store", check_version, self.schema)
            except BaseException:
                await self.close()
                raise
        return self

    async def close(self) -> None:
        """Close the listener, and the pool if the store made it."""
        async with self._listen_lock:
            if self._listener is not None:
                await self._listener.close()
                self._listener = None
        if self._pool is not None and self._own:
            await self._pool.close()
        self._pool = None

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def _run(
        self, action: str, steps: Callable[..., Steps[T]], *args: Any, **kwargs: Any
    ) -> T:
        """Run ``steps`` on a pooled connection, in one transaction."""
        if self._pool is None:
            raise StoreError(self.where, action, "the store is not open: await store.open()")
        with faults(self.where, action):
            async with self._pool.connection() as conn:
                if conn.autocommit and getattr(steps, "one_statement", False):
                    return await drive_async(steps(conn, *args, **kwargs))
                async with conn.transaction():
                    return await drive_async(steps(conn, *args, **kwargs))

    async def _copy(self, cur: Any, sql: str, rows: Iterable[Sequence[object]]) -> None:
        async with cur.copy(sql) as copy:
            for row in rows:
                await copy.write_row(row)

    async def wait(self, timeout: float) -> float | None:
        """Wait until a due instant is announced or ``timeout`` seconds pass.

        As the sync stores' ``wait``: the earliest instant announced, or None;
        a failed listener is made again at the next call.
        """
        pg = psycopg()
        if self._pool is None:
            raise StoreError(self.where, "listen", "the store is not open: await store.open()")
        async with self._listen_lock:
            try:
                if self._listener is None:
                    self._listener = await pg.AsyncConnection.connect(
                        self._pool.conninfo, autocommit=True
                    )
                    await self._listener.execute(f"LISTEN {self.channel}")
                listener = self._listener
                notes = listener.notifies(timeout=max(timeout, 0.0), stop_after=1)
                dues = [float(n.payload) async for n in notes]
                dues += [float(n.payload) async for n in listener.notifies(timeout=0.0)]
            except (pg.Error, OSError, ValueError):
                if self._listener is not None:
                    await self._listener.close()
                self._listener = None
                await asyncio.sleep(min(timeout, 1.0))
                return None
        return min(dues, default=None)


class AsyncPostgresTicketStore(_AsyncStore, TicketSql):
    """An :class:`~carekit.protocols.AsyncTicketStore` in PostgreSQL, for several workers.

    Args:
        dsn_or_pool: a DSN (``postgresql://user@host/db``) or a
            ``psycopg_pool.AsyncConnectionPool`` (not closed by the store).
        schema: the PostgreSQL schema of carekit's tables.
        lifecycle: the lifecycle whose ``replay`` rebuilds tickets.
        create: create or migrate the tables when opened (else they must exist).
    """

    @checked
    def __init__(
        self,
        dsn_or_pool: Any,
        *,
        schema: str = "carekit",
        lifecycle: Lifecycle | None = None,
        create: bool = False,
    ) -> None:
        self.lifecycle = lifecycle or Lifecycle()
        super().__init__(dsn_or_pool, schema, create=create)

    @checked
    async def get(self, ticket_id: str) -> Ticket:
        """Load the ticket by replaying its events, or raise :class:`~carekit.TicketNotFound`."""
        return await self._run(f"read ticket {ticket_id!r}", self._get, ticket_id)

    @checked
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
        """Append events, set the due instant, queue ``care_events``, in one transaction.

        As :meth:`PostgresTicketStore.save <carekit.stores.postgres.PostgresTicketStore.save>`.
        """
        await self._run(
            f"save ticket {ticket.id!r}",
            self._save,
            ticket,
            expected_version=expected_version,
            due_at=due_at,
            care_events=care_events,
            release=release,
            rewrite_from=rewrite_from,
        )

    @checked
    async def load(self, tickets: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Bulk-insert new tickets with their due instants, in one transaction (imports)."""
        await self._run("load tickets", self._load, tickets)

    @checked
    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[str]:
        """Lease up to ``limit`` due tickets no one holds, earliest first (SKIP LOCKED)."""
        return await self._run("claim due tickets", self._claim, now, limit, lease)

    @checked
    async def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids due at or before ``now``, earliest first, claimed or not."""
        return await self._run("read the due index", self._due, now, limit)

    @checked
    async def outbox(self, limit: int = 100) -> list[tuple[int, CareEvent]]:
        """Care events saved with tickets and not yet acknowledged, oldest first."""
        return await self._run("read the outbox", self._outbox, limit)

    @checked
    async def acknowledge(self, seqs: Iterable[int]) -> None:
        """Remove handled care events from the outbox."""
        await self._run("acknowledge care events", self._acknowledge, seqs)

    async def __aiter__(self) -> AsyncIterator[Ticket]:
        """Iterate over every stored ticket (loads each one)."""
        for ticket_id in await self._run("list tickets", self._ids):
            yield await self.get(ticket_id)

    async def count(self) -> int:
        """How many tickets are stored."""
        return await self._run("count tickets", self._count)


class AsyncPostgresJobStore(_AsyncStore, JobSql):
    """An :class:`~carekit.protocols.AsyncJobStore` in PostgreSQL, for several workers.

    Args:
        dsn_or_pool: a DSN or a ``psycopg_pool.AsyncConnectionPool``.
        schema: the PostgreSQL schema of carekit's tables.
        create: create or migrate the tables when opened.
    """

    @checked
    def __init__(self, dsn_or_pool: Any, *, schema: str = "carekit", create: bool = False) -> None:
        super().__init__(dsn_or_pool, schema, create=create)

    @checked
    async def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch`` unless its key exists (idempotent)."""
        return await self._run("enqueue a job", self._enqueue, touch, enrolled_at)

    @checked
    async def enqueue_many(self, touches: Iterable[Touch], *, enrolled_at: datetime) -> int:
        """Add many touches in one transaction; return how many were new."""
        return await self._run("enqueue jobs", self._enqueue_many, touches, enrolled_at)

    @checked
    async def cancel(
        self, *, key: str | None = None, prefix: str | None = None, at: datetime | None = None
    ) -> int:
        """Cancel pending jobs by key or key prefix (``at``: when; default now)."""
        return await self._run("cancel jobs", self._cancel, key, prefix, at)

    @checked
    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs (expired leases included), earliest first."""
        return await self._run("claim due jobs", self._claim, now, limit, lease)

    @checked
    async def complete(self, key: str, *, outcome: str, at: datetime, reason: str = "") -> None:
        """End the job with its outcome (and ``reason``, kept with it)."""
        await self._run("complete a job", self._complete, key, outcome, at, reason)

    @checked
    async def complete_many(self, outcomes: Iterable[Outcome], *, at: datetime) -> None:
        """End many jobs (``(key, outcome[, reason])``) in one statement: all, or none."""
        await self._run("complete jobs", self._complete_many, outcomes, at)

    @checked
    async def release(
        self,
        key: str,
        *,
        until: datetime,
        reason: str,
        at: datetime | None = None,
        retry: bool = False,
    ) -> None:
        """Make the job due again at ``until`` (announced to waiting workers)."""
        await self._run("release a job", self._release, key, until, reason, at, retry)

    @checked
    async def history(self, key: str) -> list[JobEntry]:
        """What happened to the job, oldest first."""
        return await self._run("read a job's history", self._history, key)

    @checked
    async def note_inbound(self, customer_id: str, channel: Channel | str, at: datetime) -> None:
        """Remember the customer's message on ``channel`` (the latest is kept)."""
        await self._run("note a customer's message", self._note_inbound, customer_id, channel, at)

    @checked
    async def last_inbound(self, customer_id: str, channel: Channel | str) -> datetime | None:
        """When the customer last wrote on ``channel``."""
        return await self._run(
            "read a customer's messages", self._last_inbound, customer_id, channel
        )

    @checked
    async def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's sends after ``since``."""
        return await self._run("read sends", self._sent_since, customer_id, since)

    @checked
    async def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job under ``prefix`` was last enqueued."""
        return await self._run("read enrolments", self._last_enrolled, prefix)

    @checked
    async def state(self, key: str) -> tuple[str, str | None, str | None]:
        """(state, outcome, last reason) of a job."""
        return await self._run("read a job", self._state, key)
