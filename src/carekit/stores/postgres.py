"""PostgreSQL stores: several workers on several machines against one database.

``pip install carekit[postgres]`` (psycopg 3 and psycopg_pool, imported when a
store is made). The stores keep exactly what the SQLite stores keep, in the
same rows (``carekit.stores._rows``), under a PostgreSQL schema of their own
(``carekit`` unless told otherwise), with the same promises:

* saves are optimistic: the ticket's row is locked (``FOR UPDATE``), its
  version compared, and the new events, the due instant and the care events of
  the outbox are written in one transaction, or nothing is;
* ``claim`` leases due tickets and jobs with ``FOR UPDATE SKIP LOCKED``, so any
  number of workers on any number of machines never hold the same one at once,
  and a lease that ran out (its worker died) is claimed again;
* every database failure reaches the host as a
  :class:`~carekit.exceptions.StoreError` with the original as its cause; a
  value PostgreSQL cannot keep (text with NUL characters or lone surrogates) is
  an :class:`~carekit.exceptions.InvalidValue`, refused before anything is
  written.

Connections come from a ``psycopg_pool.ConnectionPool``: give the stores a
pool of your own, or a DSN (``postgresql://user@host/db``) and they make one.
One store object is shared by all the threads of a process.

The schema is versioned (table ``carekit_meta``). :func:`upgrade` creates or
migrates it; ``python -m carekit db upgrade --dsn ...`` runs it from a
deployment script, and the stores run it themselves when made with
``create=True``. A schema written by a newer carekit is refused with
:class:`~carekit.exceptions.SchemaError`; a missing one with a
:class:`~carekit.exceptions.StoreError` that says how to create it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from carekit._check import checked
from carekit._effects import Steps, drive
from carekit._lifecycle import Lifecycle
from carekit._model import CareEvent, Channel, Ticket
from carekit.campaigns._history import JobEntry, Outcome
from carekit.campaigns._planning import SentTouch, Touch
from carekit.exceptions import InvalidValue, StoreError
from carekit.stores._pg import (
    SCHEMA_VERSION,
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
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

__all__ = [
    "SCHEMA_VERSION",
    "PostgresJobStore",
    "PostgresTicketStore",
    "copy_from_sqlite",
    "upgrade",
]

T = TypeVar("T")


def _pool(dsn_or_pool: str | ConnectionPool[Any], where: str) -> tuple[ConnectionPool[Any], bool]:
    """The pool to use, and whether the store made it (and closes it)."""
    pg = psycopg()
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    if isinstance(dsn_or_pool, ConnectionPool):
        return dsn_or_pool, False
    if not isinstance(dsn_or_pool, str):
        raise InvalidValue("dsn", dsn_or_pool, "a DSN (postgresql://...) or a ConnectionPool")
    with faults(where, "connect"):
        with pg.connect(dsn_or_pool, connect_timeout=10):  # a server that is not there
            pass  # fails here, at once and with its reason, not after the pool's retries
        pool: ConnectionPool[Any] = ConnectionPool(
            dsn_or_pool,
            min_size=1,
            max_size=8,
            open=True,
            timeout=30.0,
            kwargs={
                "autocommit": True,
                "application_name": "carekit",
            },  # no BEGIN/COMMIT for one statement
            check=_check,  # after a server restart: a fresh connection
            reconnect_timeout=60.0,
        )
        pool.wait(timeout=30.0)
    return pool, True


def _check(conn: Connection[Any]) -> None:
    """The pool's check: a real one only for a connection that got input while idle."""
    if idle_input(conn.fileno()):
        from psycopg_pool import ConnectionPool  # noqa: PLC0415

        ConnectionPool.check_connection(conn)


def _copy_rows(cur: Any, sql: str, rows: Iterable[Sequence[object]]) -> None:
    with cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


@checked
def upgrade(dsn_or_pool: Any, schema: str = "carekit") -> int:
    """Create or migrate carekit's tables under ``schema``; return the version found before.

    Runs under an advisory lock, so workers starting together upgrade once.

    Raises:
        SchemaError: the schema was written by a newer carekit.
        StoreError: the database failed or cannot be reached.
    """
    name = schema_name(schema)
    pool, own = _pool(dsn_or_pool, name)
    try:
        with faults(name, "upgrade the schema"), pool.connection() as conn, conn.transaction():
            return drive(upgrade_steps(conn, name))
    finally:
        if own:
            pool.close()


class _Store(Sql):
    """What both sync stores share: the pool, opening and closing, running steps, LISTEN."""

    def __init__(self, dsn_or_pool: Any, schema: str, *, create: bool) -> None:
        self._listener: Connection[Any] | None = None
        self._listen_lock = threading.Lock()
        self.schema = schema_name(schema)
        self.where = f"postgres schema {self.schema}"
        self._pool, self._own = _pool(dsn_or_pool, self.where)
        try:
            if create:
                self._run("upgrade the schema", upgrade_steps, self.schema)
            self._run("open the store", check_version, self.schema)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the pool if the store made it (a pool given to it stays open)."""
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        if self._own:
            self._pool.close()

    def _run(self, action: str, steps: Callable[..., Steps[T]], *args: Any, **kwargs: Any) -> T:
        """Run ``steps`` on a pooled connection, in one transaction (one statement: alone)."""
        with faults(self.where, action), self._pool.connection() as conn:
            if conn.autocommit and getattr(steps, "one_statement", False):
                return drive(steps(conn, *args, **kwargs))
            with conn.transaction():
                return drive(steps(conn, *args, **kwargs))

    def _copy(self, cur: Any, sql: str, rows: Iterable[Sequence[object]]) -> None:
        _copy_rows(cur, sql, rows)

    def wait(self, timeout: float) -> float | None:
        """Block until a due instant is announced or ``timeout`` seconds pass.

        Returns the earliest instant announced (epoch seconds), or None. A
        listener that fails (the server restarted) is dropped and made again at
        the next call; the caller's polling covers what it missed.
        """
        pg = psycopg()
        with self._listen_lock:
            try:
                if self._listener is None:
                    self._listener = pg.connect(self._pool.conninfo, autocommit=True)
                    self._listener.execute(f"LISTEN {self.channel}")
                listener = self._listener
                dues = [
                    float(n.payload)
                    for n in listener.notifies(timeout=max(timeout, 0.0), stop_after=1)
                ]
                dues += [float(n.payload) for n in listener.notifies(timeout=0.0)]
            except (pg.Error, OSError, ValueError):
                if self._listener is not None:
                    self._listener.close()
                self._listener = None
                time.sleep(min(timeout, 1.0))
                return None
        return min(dues, default=None)


class PostgresTicketStore(_Store, TicketSql):
    """A :class:`~carekit.protocols.TicketStore` in PostgreSQL, for several workers.

    Args:
        dsn_or_pool: a DSN (``postgresql://user@host/db``) or a
            ``psycopg_pool.ConnectionPool`` (not closed by the store).
        schema: the PostgreSQL schema of carekit's tables.
        lifecycle: the lifecycle whose ``replay`` rebuilds tickets.
        create: create or migrate the tables first (else they must exist).
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
    def get(self, ticket_id: str) -> Ticket:
        """Load the ticket by replaying its events, or raise :class:`~carekit.TicketNotFound`."""
        return self._run(f"read ticket {ticket_id!r}", self._get, ticket_id)

    @checked
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
        """Append the new events, set the due instant and queue ``care_events``, in one go.

        The same contract as :meth:`SqliteTicketStore.save
        <carekit.stores.sqlite.SqliteTicketStore.save>`.
        """
        self._run(
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
    def load(self, tickets: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Bulk-insert new tickets with their due instants, in one transaction (imports)."""
        self._run("load tickets", self._load, tickets)

    @checked
    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[str]:
        """Lease up to ``limit`` due tickets no one holds, earliest first (SKIP LOCKED)."""
        return self._run("claim due tickets", self._claim, now, limit, lease)

    @checked
    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids due at or before ``now``, earliest first, claimed or not."""
        return self._run("read the due index", self._due, now, limit)

    @checked
    def outbox(self, limit: int = 100) -> list[tuple[int, CareEvent]]:
        """Care events saved with tickets and not yet acknowledged, oldest first."""
        return self._run("read the outbox", self._outbox, limit)

    @checked
    def acknowledge(self, seqs: Iterable[int]) -> None:
        """Remove handled care events from the outbox."""
        self._run("acknowledge care events", self._acknowledge, seqs)

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over every stored ticket (loads each one)."""
        return (self.get(tid) for tid in self._run("list tickets", self._ids))

    def __len__(self) -> int:
        return self._run("count tickets", self._count)


class PostgresJobStore(_Store, JobSql):
    """A :class:`~carekit.protocols.JobStore` in PostgreSQL, for several workers.

    Args:
        dsn_or_pool: a DSN or a ``psycopg_pool.ConnectionPool``.
        schema: the PostgreSQL schema of carekit's tables.
        create: create or migrate the tables first.
    """

    @checked
    def __init__(self, dsn_or_pool: Any, *, schema: str = "carekit", create: bool = False) -> None:
        super().__init__(dsn_or_pool, schema, create=create)

    @checked
    def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch`` unless its key exists (idempotent)."""
        return self._run("enqueue a job", self._enqueue, touch, enrolled_at)

    @checked
    def enqueue_many(self, touches: Iterable[Touch], *, enrolled_at: datetime) -> int:
        """Add many touches in one transaction; return how many were new."""
        return self._run("enqueue jobs", self._enqueue_many, touches, enrolled_at)

    @checked
    def cancel(
        self, *, key: str | None = None, prefix: str | None = None, at: datetime | None = None
    ) -> int:
        """Cancel pending jobs by key or key prefix (``at``: when; default now)."""
        return self._run("cancel jobs", self._cancel, key, prefix, at)

    @checked
    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs (expired leases included), earliest first."""
        return self._run("claim due jobs", self._claim, now, limit, lease)

    @checked
    def complete(self, key: str, *, outcome: str, at: datetime, reason: str = "") -> None:
        """End the job with its outcome (and ``reason``, kept with it)."""
        self._run("complete a job", self._complete, key, outcome, at, reason)

    @checked
    def complete_many(self, outcomes: Iterable[Outcome], *, at: datetime) -> None:
        """End many jobs (``(key, outcome)`` or ``(key, outcome, reason)``) in one statement.

        All of them, or none and :class:`~carekit.exceptions.JobNotFound` for the
        first unknown key.
        """
        self._run("complete jobs", self._complete_many, outcomes, at)

    @checked
    def release(
        self,
        key: str,
        *,
        until: datetime,
        reason: str,
        at: datetime | None = None,
        retry: bool = False,
    ) -> None:
        """Make the job due again at ``until`` (announced to waiting workers)."""
        self._run("release a job", self._release, key, until, reason, at, retry)

    @checked
    def history(self, key: str) -> list[JobEntry]:
        """What happened to the job, oldest first."""
        return self._run("read a job's history", self._history, key)

    @checked
    def note_inbound(self, customer_id: str, channel: Channel | str, at: datetime) -> None:
        """Remember the customer's message on ``channel`` (the latest is kept)."""
        self._run("note a customer's message", self._note_inbound, customer_id, channel, at)

    @checked
    def last_inbound(self, customer_id: str, channel: Channel | str) -> datetime | None:
        """When the customer last wrote on ``channel``."""
        return self._run("read a customer's messages", self._last_inbound, customer_id, channel)

    @checked
    def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's sends after ``since``."""
        return self._run("read sends", self._sent_since, customer_id, since)

    @checked
    def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job under ``prefix`` was last enqueued."""
        return self._run("read enrolments", self._last_enrolled, prefix)

    @checked
    def state(self, key: str) -> tuple[str, str | None, str | None]:
        """(state, outcome, last reason) of a job."""
        return self._run("read a job", self._state, key)


_COPIED = {  # table: its columns, the same in both databases
    "tickets": "id, version, next_due_at, lease_until",
    "ticket_events": "ticket_id, seq, kind, at, actor, status_before, status_after, data, roles",
    "outbox": "kind, customer_id, at, event_id, data",
    "jobs": (
        "key, campaign, customer_id, step, occurrence, due_at, template, channel, fields, "
        "transactional, grp, state, lease_until, enrolled_at, outcome, reason, done_at, "
        "attempts, history"
    ),
    "inbound": "customer_id, channel, at",
}


@checked
def copy_from_sqlite(path: str, dsn_or_pool: Any, schema: str = "carekit") -> dict[str, int]:
    """Copy a SQLite desk (tickets, their events, the outbox, jobs) into PostgreSQL.

    The rows are the same in both databases, so the copy is exact: versions,
    due instants, leases and job states included. The PostgreSQL schema is
    created when missing and must hold no tickets or jobs yet. One transaction:
    all or nothing. Returns the rows copied per table.

    Raises:
        StoreError: either database failed, or the PostgreSQL schema is not empty.
    """
    from carekit.stores.sqlite import open_database  # noqa: PLC0415 - only for a copy

    name = schema_name(schema)
    source = open_database(path)  # migrates an older file first
    pool, own = _pool(dsn_or_pool, name)
    counts: dict[str, int] = {}
    try:
        with faults(name, "copy a SQLite desk"), pool.connection() as conn:
            with conn.transaction():
                drive(upgrade_steps(conn, name))
            with conn.transaction(), conn.cursor() as cur:
                for table in ("tickets", "jobs"):
                    row = cur.execute(f"SELECT count(*) FROM {name}.{table}").fetchone()
                    if row and row[0]:
                        raise StoreError(
                            f"postgres schema {name}",
                            "copy a SQLite desk",
                            f"its {table} table is not empty: copy into a new schema",
                        )
                for table, columns in _COPIED.items():
                    rows = source.execute(f"SELECT {columns} FROM {table}").fetchall()
                    _copy_rows(cur, f"COPY {name}.{table} ({columns}) FROM STDIN", rows)
                    counts[table] = len(rows)
    finally:
        source.close()
        if own:
            pool.close()
    return counts
