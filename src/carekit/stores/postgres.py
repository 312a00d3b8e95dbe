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

import contextlib
import re
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from carekit._check import check_count, checked
from carekit._lifecycle import Lifecycle
from carekit._model import CareEvent, Ticket
from carekit._time import to_utc
from carekit.campaigns._planning import SentTouch, Touch
from carekit.exceptions import (
    CarekitError,
    ConcurrentUpdate,
    InvalidValue,
    JobNotFound,
    MissingExtra,
    SchemaError,
    StoreError,
    TicketExists,
    TicketNotFound,
)
from carekit.stores._codec import check_ticket_id
from carekit.stores._rows import JOB_COLUMNS as _JOB_COLUMNS
from carekit.stores._rows import (
    care_event,
    event_rows,
    job_row,
    outbox_row,
    stored_ticket,
    touch,
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

SCHEMA_VERSION = 1
"""The version of the PostgreSQL schema this carekit writes."""

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TABLES = """
CREATE TABLE IF NOT EXISTS {s}.tickets (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    next_due_at DOUBLE PRECISION,
    lease_until DOUBLE PRECISION,
    n BIGSERIAL
);
CREATE INDEX IF NOT EXISTS tickets_next_due ON {s}.tickets (next_due_at, id)
    WHERE next_due_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS {s}.ticket_events (
    ticket_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT,
    status_before TEXT NOT NULL,
    status_after TEXT NOT NULL,
    data TEXT NOT NULL,
    roles TEXT,
    PRIMARY KEY (ticket_id, seq)
);
CREATE TABLE IF NOT EXISTS {s}.outbox (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    event_id TEXT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.jobs (
    key TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    occurrence TEXT NOT NULL,
    due_at DOUBLE PRECISION NOT NULL,
    template TEXT NOT NULL,
    channel TEXT,
    fields TEXT NOT NULL,
    transactional INTEGER NOT NULL,
    grp TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    lease_until DOUBLE PRECISION,
    enrolled_at DOUBLE PRECISION NOT NULL,
    outcome TEXT,
    reason TEXT,
    done_at DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_due ON {s}.jobs (due_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS jobs_sent ON {s}.jobs (customer_id, done_at) WHERE outcome = 'sent';
"""


def _psycopg() -> Any:
    try:
        import psycopg  # noqa: PLC0415 - an optional extra, imported when a store is made
        import psycopg_pool  # noqa: PLC0415, F401
    except ImportError as exc:
        raise MissingExtra("postgres", "psycopg") from exc
    return psycopg


def _schema_name(schema: str) -> str:
    if not isinstance(schema, str) or not _NAME.match(schema):
        raise InvalidValue("schema", schema, "a PostgreSQL name: a-z, 0-9 and _, at most 63")
    return schema


@contextlib.contextmanager
def _faults(store: str, action: str) -> Iterator[None]:
    """PostgreSQL's errors as StoreError; a value it cannot keep as InvalidValue."""
    psycopg = _psycopg()
    try:
        yield
    except CarekitError:
        raise
    except psycopg.errors.DataError as exc:
        raise InvalidValue("text", str(exc).splitlines()[0], "text PostgreSQL can keep") from exc
    except UnicodeEncodeError as exc:
        raise InvalidValue("text", exc.object, "text without lone surrogates") from exc
    except (psycopg.Error, OSError) as exc:
        raise StoreError(store, action, " ".join(str(exc).split()) or type(exc).__name__) from exc


def _pool(dsn_or_pool: str | ConnectionPool[Any], where: str) -> tuple[ConnectionPool[Any], bool]:
    """The pool to use, and whether the store made it (and closes it)."""
    _psycopg()
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    if isinstance(dsn_or_pool, ConnectionPool):
        return dsn_or_pool, False
    if not isinstance(dsn_or_pool, str):
        raise InvalidValue("dsn", dsn_or_pool, "a DSN (postgresql://...) or a ConnectionPool")
    psycopg = _psycopg()
    with _faults(where, "connect"):
        with psycopg.connect(dsn_or_pool, connect_timeout=10):  # a server that is not there
            pass  # fails here, at once and with its reason, not after the pool's retries
        pool: ConnectionPool[Any] = ConnectionPool(
            dsn_or_pool,
            min_size=1,
            max_size=8,
            open=True,
            timeout=30.0,
            check=ConnectionPool.check_connection,  # after a server restart: a fresh one
            reconnect_timeout=60.0,
        )
        pool.wait(timeout=30.0)
    return pool, True


@checked
def upgrade(dsn_or_pool: Any, schema: str = "carekit") -> int:
    """Create or migrate carekit's tables under ``schema``; return the version found before.

    Runs under an advisory lock, so workers starting together upgrade once.

    Raises:
        SchemaError: the schema was written by a newer carekit.
        StoreError: the database failed or cannot be reached.
    """
    name = _schema_name(schema)
    pool, own = _pool(dsn_or_pool, name)
    try:
        with _faults(name, "upgrade the schema"), pool.connection() as conn:
            return _upgrade(conn, name)
    finally:
        if own:
            pool.close()


def _upgrade(conn: Connection[Any], schema: str) -> int:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id(schema),))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.carekit_meta "
            "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        row = conn.execute(
            f"SELECT value FROM {schema}.carekit_meta WHERE key = 'schema_version'"
        ).fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise SchemaError(f"schema {schema}", found, SCHEMA_VERSION)
        for statement in filter(str.strip, _TABLES.format(s=schema).split(";")):
            conn.execute(statement)
        conn.execute(
            f"INSERT INTO {schema}.carekit_meta VALUES ('schema_version', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
    return found


def _lock_id(schema: str) -> int:
    return zlib.crc32(f"carekit:{schema}".encode())


def _check_version(conn: Connection[Any], schema: str) -> None:
    row = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = 'carekit_meta'",
        (schema,),
    ).fetchone()
    if row is None:
        raise StoreError(
            f"schema {schema}",
            "open the store",
            "carekit's tables are not there: run 'python -m carekit db upgrade --dsn ...' "
            "or make the store with create=True",
        )
    found = conn.execute(
        f"SELECT value FROM {schema}.carekit_meta WHERE key = 'schema_version'"
    ).fetchone()
    version = int(found[0]) if found else 0
    if version != SCHEMA_VERSION:
        if version > SCHEMA_VERSION:
            raise SchemaError(f"schema {schema}", version, SCHEMA_VERSION)
        raise StoreError(
            f"schema {schema}",
            "open the store",
            f"the schema is at version {version}: run 'python -m carekit db upgrade'",
        )


class _Store:
    """What both stores share: the pool, the schema, opening and closing."""

    def __init__(self, dsn_or_pool: Any, schema: str, *, create: bool) -> None:
        self._listener: Connection[Any] | None = None
        self._listen_lock = threading.Lock()
        self.schema = _schema_name(schema)
        self.where = f"postgres schema {self.schema}"
        self._pool, self._own = _pool(dsn_or_pool, self.where)
        try:
            with _faults(self.where, "open the store"), self._pool.connection() as conn:
                if create:
                    _upgrade(conn, self.schema)
                _check_version(conn, self.schema)
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

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel on which saves announce due instants."""
        return f"carekit_{self.schema}"[:63]

    def _announce(self, conn: Connection[Any], due: float | None) -> None:
        """NOTIFY the due instant (delivered when the transaction commits)."""
        if due is not None:
            conn.execute("SELECT pg_notify(%s, %s)", (self.channel, repr(due)))

    def wait(self, timeout: float) -> float | None:
        """Block until a due instant is announced or ``timeout`` seconds pass.

        Returns the earliest instant announced (epoch seconds), or None. A
        listener that fails (the server restarted) is dropped and made again at
        the next call; the caller's polling covers what it missed.
        """
        psycopg = _psycopg()
        with self._listen_lock:
            try:
                if self._listener is None:
                    self._listener = psycopg.connect(self._pool.conninfo, autocommit=True)
                    self._listener.execute(f"LISTEN {self.channel}")
                listener = self._listener
                dues = [
                    float(n.payload)
                    for n in listener.notifies(timeout=max(timeout, 0.0), stop_after=1)
                ]
                dues += [float(n.payload) for n in listener.notifies(timeout=0.0)]
            except (psycopg.Error, OSError, ValueError):
                if self._listener is not None:
                    self._listener.close()
                self._listener = None
                time.sleep(min(timeout, 1.0))
                return None
        return min(dues, default=None)

    @contextlib.contextmanager
    def _transaction(self, action: str) -> Iterator[Connection[Any]]:
        with _faults(self.where, action), self._pool.connection() as conn, conn.transaction():
            yield conn


class PostgresTicketStore(_Store):
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
        try:
            check_ticket_id(ticket_id)
        except InvalidValue:
            raise TicketNotFound(ticket_id) from None
        with self._transaction(f"read ticket {ticket_id!r}") as conn:
            rows = conn.execute(
                "SELECT kind, at, actor, status_before, status_after, data, roles "
                f"FROM {self.schema}.ticket_events WHERE ticket_id = %s ORDER BY seq",
                (ticket_id,),
            ).fetchall()
        return stored_ticket(self.lifecycle, ticket_id, rows, self.where)

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
        due = None if due_at is None else to_utc(due_at, "due_at").timestamp()
        first = expected_version if rewrite_from is None else min(rewrite_from, expected_version)
        new = event_rows(ticket, first)
        outbox = [outbox_row(e) for e in care_events]
        s = self.schema
        psycopg = _psycopg()
        try:
            with self._transaction(f"save ticket {ticket.id!r}") as conn:
                row = conn.execute(
                    f"SELECT version FROM {s}.tickets WHERE id = %s FOR UPDATE", (ticket.id,)
                ).fetchone()
                actual = row[0] if row else 0
                if expected_version == 0 and row is not None:
                    raise TicketExists(ticket.id)
                if actual != expected_version or ticket.version < actual:
                    raise ConcurrentUpdate(ticket.id, expected_version, actual)
                if first < actual:
                    conn.execute(
                        f"DELETE FROM {s}.ticket_events WHERE ticket_id = %s AND seq >= %s",
                        (ticket.id, first),
                    )
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO {s}.ticket_events VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        new,
                    )
                    conn.execute(
                        f"INSERT INTO {s}.tickets (id, version, next_due_at) VALUES (%s, %s, %s) "
                        "ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
                        "next_due_at = excluded.next_due_at"
                        + (", lease_until = NULL" if release else ""),
                        (ticket.id, ticket.version, due),
                    )
                    cur.executemany(
                        f"INSERT INTO {s}.outbox (kind, customer_id, at, event_id, data) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        outbox,
                    )
                self._announce(conn, due)
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise TicketExists(ticket.id) from exc.__cause__  # a concurrent first save
            raise

    @checked
    def load(self, tickets: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Bulk-insert new tickets with their due instants, in one transaction (imports)."""
        heads = []
        rows = []
        for ticket, due_at in tickets:
            due = None if due_at is None else to_utc(due_at, "due_at").timestamp()
            heads.append((ticket.id, ticket.version, due))
            rows.extend(event_rows(ticket, 0))
        psycopg = _psycopg()
        try:
            with self._transaction("load tickets") as conn, conn.cursor() as cur:
                with cur.copy(
                    f"COPY {self.schema}.tickets (id, version, next_due_at) FROM STDIN"
                ) as copy:
                    for head in heads:
                        copy.write_row(head)
                with cur.copy(f"COPY {self.schema}.ticket_events FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise TicketExists("(one of the loaded ids)") from exc.__cause__
            raise

    @checked
    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[str]:
        """Lease up to ``limit`` due tickets no one holds, earliest first (SKIP LOCKED)."""
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        s = self.schema
        with self._transaction("claim due tickets") as conn:
            rows = conn.execute(
                f"WITH due AS (SELECT id FROM {s}.tickets "
                "WHERE next_due_at IS NOT NULL AND next_due_at <= %s "
                "AND (lease_until IS NULL OR lease_until <= %s) "
                "ORDER BY next_due_at LIMIT %s FOR UPDATE SKIP LOCKED) "
                f"UPDATE {s}.tickets t SET lease_until = %s FROM due WHERE t.id = due.id "
                "RETURNING t.id, t.next_due_at",
                (cutoff, cutoff, limit, cutoff + lease.total_seconds()),
            ).fetchall()
        return [r[0] for r in sorted(rows, key=lambda r: (r[1], r[0]))]

    @checked
    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids due at or before ``now``, earliest first, claimed or not."""
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        with self._transaction("read the due index") as conn:
            rows = conn.execute(
                f"SELECT id FROM {self.schema}.tickets "
                "WHERE next_due_at IS NOT NULL AND next_due_at <= %s "
                "ORDER BY next_due_at, id LIMIT %s",
                (cutoff, limit),
            ).fetchall()
        return [r[0] for r in rows]

    @checked
    def outbox(self, limit: int = 100) -> list[tuple[int, CareEvent]]:
        """Care events saved with tickets and not yet acknowledged, oldest first."""
        check_count("limit", limit)
        with self._transaction("read the outbox") as conn:
            rows = conn.execute(
                "SELECT seq, kind, customer_id, at, event_id, data "
                f"FROM {self.schema}.outbox ORDER BY seq LIMIT %s",
                (limit,),
            ).fetchall()
        try:
            return [(seq, care_event(k, c, at, eid, data)) for seq, k, c, at, eid, data in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(self.where, "read the outbox", repr(exc)) from exc

    @checked
    def acknowledge(self, seqs: Iterable[int]) -> None:
        """Remove handled care events from the outbox."""
        done = list(seqs)
        with self._transaction("acknowledge care events") as conn:
            conn.execute(f"DELETE FROM {self.schema}.outbox WHERE seq = ANY(%s)", (done,))

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over every stored ticket (loads each one)."""
        with self._transaction("list tickets") as conn:
            ids = [r[0] for r in conn.execute(f"SELECT id FROM {self.schema}.tickets ORDER BY n")]
        return (self.get(tid) for tid in ids)

    def __len__(self) -> int:
        with self._transaction("count tickets") as conn:
            row = conn.execute(f"SELECT count(*) FROM {self.schema}.tickets").fetchone()
        return int(row[0]) if row else 0


class PostgresJobStore(_Store):
    """A :class:`~carekit.protocols.JobStore` in PostgreSQL, for several workers.

    Args:
        dsn_or_pool: a DSN or a ``psycopg_pool.ConnectionPool``.
        schema: the PostgreSQL schema of carekit's tables.
        create: create or migrate the tables first.
    """

    @checked
    def __init__(self, dsn_or_pool: Any, *, schema: str = "carekit", create: bool = False) -> None:
        super().__init__(dsn_or_pool, schema, create=create)

    def _insert(self) -> str:
        marks = ", ".join(["%s"] * 12)
        return (
            f"INSERT INTO {self.schema}.jobs ({_JOB_COLUMNS}, enrolled_at) VALUES ({marks}) "
            "ON CONFLICT (key) DO NOTHING"
        )

    @checked
    def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch`` unless its key exists (idempotent)."""
        at = to_utc(enrolled_at, "enrolled_at").timestamp()
        with self._transaction("enqueue a job") as conn:
            cur = conn.execute(self._insert(), (*job_row(touch), at))
            self._announce(conn, touch.due_at.timestamp() if cur.rowcount == 1 else None)
            return cur.rowcount == 1

    @checked
    def enqueue_many(self, touches: Iterable[Touch], *, enrolled_at: datetime) -> int:
        """Add many touches in one transaction; return how many were new."""
        at = to_utc(enrolled_at, "enrolled_at").timestamp()
        rows = [(*job_row(t), at) for t in touches]
        if not rows:
            return 0
        s = self.schema
        with self._transaction("enqueue jobs") as conn, conn.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE {s}.jobs INCLUDING DEFAULTS) "
                "ON COMMIT DROP"
            )
            with cur.copy(f"COPY incoming ({_JOB_COLUMNS}, enrolled_at) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                f"INSERT INTO {s}.jobs ({_JOB_COLUMNS}, enrolled_at) "
                f"SELECT {_JOB_COLUMNS}, enrolled_at FROM incoming ON CONFLICT (key) DO NOTHING"
            )
            new = cur.rowcount
            self._announce(conn, min(float(r[5]) for r in rows) if new else None)  # type: ignore[arg-type]
            return new

    @checked
    def cancel(self, *, key: str | None = None, prefix: str | None = None) -> int:
        """Cancel pending jobs by key or key prefix."""
        with self._transaction("cancel jobs") as conn:
            if key is not None:
                cur = conn.execute(
                    f"UPDATE {self.schema}.jobs SET state = 'cancelled' "
                    "WHERE key = %s AND state = 'pending'",
                    (key,),
                )
            else:
                cur = conn.execute(
                    f"UPDATE {self.schema}.jobs SET state = 'cancelled' "
                    "WHERE starts_with(key, %s) AND state = 'pending'",
                    (prefix or "",),
                )
            return cur.rowcount

    @checked
    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs (expired leases included), earliest first."""
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        s = self.schema
        with self._transaction("claim due jobs") as conn:
            rows = conn.execute(
                f"WITH due AS (SELECT key FROM {s}.jobs WHERE state = 'pending' "
                "AND due_at <= %s AND (lease_until IS NULL OR lease_until <= %s) "
                "ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED) "
                f"UPDATE {s}.jobs j SET lease_until = %s, attempts = attempts + 1 "
                f"FROM due WHERE j.key = due.key RETURNING "
                + ", ".join(f"j.{c.strip()}" for c in _JOB_COLUMNS.split(",")),
                (cutoff, cutoff, limit, cutoff + lease.total_seconds()),
            ).fetchall()
        return sorted((touch(tuple(r)) for r in rows), key=lambda t: (t.due_at, t.key))

    @checked
    def complete(self, key: str, *, outcome: str, at: datetime) -> None:
        """End the job with its outcome."""
        self._update(
            "complete a job",
            "state = 'done', outcome = %s, done_at = %s, lease_until = NULL",
            (outcome, to_utc(at, "at").timestamp()),
            key,
        )

    @checked
    def release(self, key: str, *, until: datetime, reason: str) -> None:
        """Make the job due again at ``until`` (announced to waiting workers)."""
        when = to_utc(until, "until").timestamp()
        self._update(
            "release a job", "due_at = %s, lease_until = NULL, reason = %s", (when, reason), key,
            announce=when,
        )  # fmt: skip

    def _update(
        self,
        action: str,
        assignments: str,
        values: tuple[object, ...],
        key: str,
        *,
        announce: float | None = None,
    ) -> None:
        """Set ``assignments`` on the job ``key``, or raise JobNotFound; nothing else changes."""
        with self._transaction(action) as conn:
            cur = conn.execute(
                f"UPDATE {self.schema}.jobs SET {assignments} WHERE key = %s", (*values, key)
            )
            if cur.rowcount == 0:
                raise JobNotFound(key)
            self._announce(conn, announce)

    @checked
    def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's sends after ``since``."""
        after = to_utc(since, "since").timestamp()
        with self._transaction("read sends") as conn:
            rows = conn.execute(
                f"SELECT key, grp, done_at FROM {self.schema}.jobs "
                "WHERE customer_id = %s AND outcome = 'sent' AND done_at > %s",
                (customer_id, after),
            ).fetchall()
        return [SentTouch(k, customer_id, g, datetime.fromtimestamp(t, UTC)) for k, g, t in rows]

    @checked
    def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job under ``prefix`` was last enqueued."""
        with self._transaction("read enrolments") as conn:
            row = conn.execute(
                f"SELECT max(enrolled_at) FROM {self.schema}.jobs WHERE starts_with(key, %s)",
                (prefix,),
            ).fetchone()
        return None if row is None or row[0] is None else datetime.fromtimestamp(row[0], UTC)

    @checked
    def state(self, key: str) -> tuple[str, str | None, str | None]:
        """(state, outcome, last reason) of a job."""
        with self._transaction("read a job") as conn:
            row = conn.execute(
                f"SELECT state, outcome, reason FROM {self.schema}.jobs WHERE key = %s", (key,)
            ).fetchone()
        if row is None:
            raise JobNotFound(key)
        return row[0], row[1], row[2]


_COPIED = {  # table: its columns, the same in both databases
    "tickets": "id, version, next_due_at, lease_until",
    "ticket_events": "ticket_id, seq, kind, at, actor, status_before, status_after, data, roles",
    "outbox": "kind, customer_id, at, event_id, data",
    "jobs": (
        "key, campaign, customer_id, step, occurrence, due_at, template, channel, fields, "
        "transactional, grp, state, lease_until, enrolled_at, outcome, reason, done_at, attempts"
    ),
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

    name = _schema_name(schema)
    source = open_database(path)  # migrates an older file first
    pool, own = _pool(dsn_or_pool, name)
    counts: dict[str, int] = {}
    try:
        with _faults(name, "copy a SQLite desk"), pool.connection() as conn:
            _upgrade(conn, name)
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
                    with cur.copy(f"COPY {name}.{table} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    counts[table] = len(rows)
    finally:
        source.close()
        if own:
            pool.close()
    return counts
