"""SQLite stores: the embedded, durable default (standard library ``sqlite3``).

``SqliteTicketStore`` keeps tickets as their event logs (one row per event)
plus one row per ticket with its version, its next due instant (indexed) and
the lease of the worker ticking it, in WAL mode; and an outbox of care events
written in the same transaction as the ticket. ``SqliteJobStore`` keeps
campaign jobs in the same file (or another).

Concurrency: each thread gets its own connection to the file (opened at its
first use), so one store object can be shared by the threads of a web server;
several processes share the file through SQLite's locking. Writes run in
``BEGIN IMMEDIATE`` transactions; saves are optimistic (a save based on a
stale version raises :class:`~carekit.exceptions.ConcurrentUpdate` and writes
nothing); claims lease due tickets and jobs to one worker at a time.

Faults: every SQLite failure (not a database, corrupt, read-only, full,
locked beyond the timeout) reaches the host as a
:class:`~carekit.exceptions.StoreError` with the original as its cause. The
schema is versioned and migrated when the file is opened; a file of another
application (tables, no carekit schema) is refused without being touched.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from carekit._check import check_count, checked
from carekit._lifecycle import Lifecycle
from carekit._model import CareEvent, Channel, Ticket, as_channel
from carekit._time import to_utc
from carekit.campaigns._history import JobEntry, Outcome, ending, entries, when
from carekit.campaigns._planning import SentTouch, Touch
from carekit.exceptions import (
    ConcurrentUpdate,
    InvalidValue,
    JobNotFound,
    SchemaError,
    StoreError,
    TicketExists,
    TicketNotFound,
)
from carekit.stores._codec import check_ticket_id
from carekit.stores._rows import JOB_COLUMNS as _JOB_COLUMNS
from carekit.stores._rows import (
    care_event,
    enrolment,
    event_rows,
    job_row,
    outbox_row,
    stored_ticket,
    touch,
)

__all__ = ["SCHEMA_VERSION", "SqliteJobStore", "SqliteTicketStore", "open_database"]

SCHEMA_VERSION = 4
_SCHEMA = """
CREATE TABLE IF NOT EXISTS carekit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    next_due_at REAL,
    lease_until REAL
);
CREATE INDEX IF NOT EXISTS tickets_next_due ON tickets (next_due_at)
    WHERE next_due_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    occurrence TEXT NOT NULL,
    due_at REAL NOT NULL,
    template TEXT NOT NULL,
    channel TEXT,
    fields TEXT NOT NULL,
    transactional INTEGER NOT NULL,
    grp TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    lease_until REAL,
    enrolled_at REAL NOT NULL,
    outcome TEXT,
    reason TEXT,
    done_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    history TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS inbound (
    customer_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (customer_id, channel)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS jobs_sent ON jobs (customer_id, done_at) WHERE outcome = 'sent';
CREATE TABLE IF NOT EXISTS ticket_events (
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
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    at REAL NOT NULL,
    event_id TEXT,
    data TEXT NOT NULL
);
"""
# the column each version adds to a table of the one before (new tables: made by _SCHEMA,
# whole, so a table an older file does not have yet gets no ALTER)
_MIGRATIONS = {
    2: ("ticket_events", "roles TEXT"),
    3: ("tickets", "lease_until REAL"),
    4: ("jobs", "history TEXT NOT NULL DEFAULT ''"),
}


@contextlib.contextmanager
def _faults(store: str, action: str) -> Iterator[None]:
    """Turn SQLite's errors into :class:`StoreError` (the original kept as the cause).

    A string SQLite cannot store (one with a lone surrogate, which is not UTF-8)
    is the caller's value, not the store's fault: an InvalidValue.
    """
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(store, action, str(exc)) from exc
    except UnicodeEncodeError as exc:
        bad = exc.object if isinstance(exc.object, str) else repr(exc.object)
        raise InvalidValue("text", bad, "text without lone surrogates (not UTF-8)") from exc


def _rollback(db: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):  # the real error is the one being raised
        if db.in_transaction:
            db.execute("ROLLBACK")


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection, store: str, action: str) -> Iterator[sqlite3.Connection]:
    """An immediate transaction: committed when the block ends, rolled back on any error."""
    with _faults(store, action):
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise


def _connect(path: str | Path, timeout: float = 30.0) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode with WAL and a busy timeout."""
    db = sqlite3.connect(str(path), isolation_level=None, timeout=timeout)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db


@checked
def open_database(path: str | Path, timeout: float = 30.0) -> sqlite3.Connection:
    """Connect, create or migrate the tables, and check the schema version.

    Raises:
        SchemaError: the file was written by a newer carekit.
        StoreError: not a database, a file of another application, or unusable.
    """
    where = str(path)
    with _faults(where, "open the database"):
        probe = sqlite3.connect(where, isolation_level=None, timeout=timeout)
        try:
            tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master")}
        finally:
            probe.close()
        if tables and "carekit_meta" not in tables:
            raise StoreError(
                where,
                "open the database",
                "it holds another application's tables and no carekit schema; "
                "give carekit a file of its own",
            )
        db = _connect(path, timeout)
    try:
        _upgrade(db, where)
    except BaseException:
        db.close()
        raise
    return db


def _upgrade(db: sqlite3.Connection, where: str) -> None:
    with _transaction(db, where, "upgrade the schema"):
        db.execute(
            "CREATE TABLE IF NOT EXISTS carekit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        row = db.execute("SELECT value FROM carekit_meta WHERE key='schema_version'").fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise SchemaError(where, found, SCHEMA_VERSION)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for version in range(max(found, 1) + 1, SCHEMA_VERSION + 1) if found else ():
            table, column = _MIGRATIONS[version]
            if table in tables:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        for statement in filter(str.strip, _SCHEMA.split(";")):
            db.execute(statement)
        db.execute(
            "INSERT OR REPLACE INTO carekit_meta VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )


class _Connections:
    """One connection per thread to one file, opened at the thread's first use."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []

    def adopt(self, db: sqlite3.Connection) -> None:
        self._local.db = db
        with self._lock:
            self._all.append(db)

    def get(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            with _faults(self.path, "connect"):
                db = _connect(self.path, self.timeout)
            self.adopt(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()


class SqliteTicketStore:
    """A durable :class:`~carekit.protocols.TicketStore` in one SQLite file.

    One object may be shared by threads (each gets its own connection) and
    several processes may open the same file.

    Args:
        path: the database file (created when missing).
        lifecycle: the lifecycle whose ``replay`` rebuilds tickets from their
            events (give yours if it has its own effects).
        timeout: how long a write waits for another writer's lock, in seconds.
    """

    @checked
    def __init__(
        self, path: str | Path, lifecycle: Lifecycle | None = None, *, timeout: float = 30.0
    ) -> None:
        self.path = str(path)
        self.lifecycle = lifecycle or Lifecycle()
        self._connections = _Connections(self.path, timeout)
        self._connections.adopt(open_database(path, timeout))

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        """Close every thread's connection."""
        self._connections.close()

    @checked
    def get(self, ticket_id: str) -> Ticket:
        """Load the ticket by replaying its events, or raise :class:`~carekit.TicketNotFound`."""
        try:
            check_ticket_id(ticket_id)
        except InvalidValue:
            raise TicketNotFound(ticket_id) from None  # no such id can have been saved
        with _faults(self.path, f"read ticket {ticket_id!r}"):
            rows = self._db.execute(
                "SELECT kind, at, actor, status_before, status_after, data, roles "
                "FROM ticket_events WHERE ticket_id = ? ORDER BY seq",
                (ticket_id,),
            ).fetchall()
        return stored_ticket(self.lifecycle, ticket_id, rows, self.path)

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

        ``release`` ends the caller's claim on the ticket (a tick's save);
        another writer's save leaves a claim as it is. ``rewrite_from`` says
        that the log changed from that index on (a late event was inserted):
        the stored events from there are replaced.

        Raises:
            TicketExists: ``expected_version`` is 0 and the id is taken.
            ConcurrentUpdate: the stored version is not ``expected_version``.
            InvalidValue: the store cannot keep an event exactly.
            StoreError: the database failed. Nothing is written in each case.
        """
        due = None if due_at is None else to_utc(due_at, "due_at").timestamp()
        first = expected_version if rewrite_from is None else min(rewrite_from, expected_version)
        new = event_rows(ticket, first)
        outbox = [outbox_row(e) for e in care_events]
        with _transaction(self._db, self.path, f"save ticket {ticket.id!r}") as db:
            row = db.execute("SELECT version FROM tickets WHERE id = ?", (ticket.id,)).fetchone()
            actual = row[0] if row else 0
            if expected_version == 0 and row is not None:
                raise TicketExists(ticket.id)
            if actual != expected_version or ticket.version < actual:
                raise ConcurrentUpdate(ticket.id, expected_version, actual)
            if first < actual:
                db.execute(
                    "DELETE FROM ticket_events WHERE ticket_id = ? AND seq >= ?", (ticket.id, first)
                )
            db.executemany("INSERT INTO ticket_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", new)
            db.execute(
                "INSERT INTO tickets (id, version, next_due_at) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
                "next_due_at = excluded.next_due_at" + (", lease_until = NULL" if release else ""),
                (ticket.id, ticket.version, due),
            )
            db.executemany(
                "INSERT INTO outbox (kind, customer_id, at, event_id, data) VALUES (?, ?, ?, ?, ?)",
                outbox,
            )

    @checked
    def load(self, tickets: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Bulk-insert new tickets with their due instants, in one transaction (imports).

        Raises:
            TicketExists: one of the ids is taken; nothing is written.
            NaiveDatetimeError: a due instant has no time zone; nothing is written.
        """
        rows = []
        heads = []
        for ticket, due_at in tickets:
            due = None if due_at is None else to_utc(due_at, "due_at").timestamp()
            heads.append((ticket.id, ticket.version, due))
            rows.extend(event_rows(ticket, 0))
        try:
            with _transaction(self._db, self.path, "load tickets") as db:
                db.executemany(
                    "INSERT INTO tickets (id, version, next_due_at) VALUES (?, ?, ?)", heads
                )
                db.executemany("INSERT INTO ticket_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise TicketExists("(one of the loaded ids)") from exc.__cause__
            raise

    @checked
    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[str]:
        """Lease up to ``limit`` due tickets no one holds, earliest first.

        The lease ends when the holder saves with ``release=True``, or when it
        runs out (the holder died): then the ticket is claimed again.
        """
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        with _transaction(self._db, self.path, "claim due tickets") as db:
            rows = db.execute(
                "SELECT id FROM tickets WHERE next_due_at IS NOT NULL AND next_due_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_due_at LIMIT ?",
                (cutoff, cutoff, limit),
            ).fetchall()
            until = cutoff + lease.total_seconds()
            db.executemany(
                "UPDATE tickets SET lease_until = ? WHERE id = ?", [(until, r[0]) for r in rows]
            )
        return [r[0] for r in rows]

    @checked
    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids due at or before ``now``, earliest first, claimed or not (an index range scan)."""
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        with _faults(self.path, "read the due index"):
            rows = self._db.execute(
                "SELECT id FROM tickets WHERE next_due_at IS NOT NULL AND next_due_at <= ? "
                "ORDER BY next_due_at LIMIT ?",
                (cutoff, -1 if limit is None else limit),
            ).fetchall()
        return [r[0] for r in rows]

    @checked
    def outbox(self, limit: int = 100) -> list[tuple[int, CareEvent]]:
        """Care events saved with tickets and not yet acknowledged, oldest first."""
        check_count("limit", limit)
        with _faults(self.path, "read the outbox"):
            rows = self._db.execute(
                "SELECT seq, kind, customer_id, at, event_id, data FROM outbox "
                "ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        try:
            return [
                (seq, care_event(kind, customer, at, eid, data))
                for seq, kind, customer, at, eid, data in rows
            ]
        except (ValueError, KeyError, TypeError) as exc:  # a row damaged outside carekit
            raise StoreError(self.path, "read the outbox", repr(exc)) from exc

    @checked
    def acknowledge(self, seqs: Iterable[int]) -> None:
        """Remove handled care events from the outbox."""
        with _transaction(self._db, self.path, "acknowledge care events") as db:
            db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over every stored ticket (loads each one)."""
        with _faults(self.path, "list tickets"):
            ids = [r[0] for r in self._db.execute("SELECT id FROM tickets ORDER BY rowid")]
        return (self.get(tid) for tid in ids)

    def __len__(self) -> int:
        with _faults(self.path, "count tickets"):
            return int(self._db.execute("SELECT count(*) FROM tickets").fetchone()[0])


class SqliteJobStore:
    """A durable :class:`~carekit.campaigns.JobStore` in one SQLite file (WAL).

    ``claim`` runs in an immediate transaction, so two workers (threads or
    processes) on one file never lease the same job at once; a job whose lease
    ran out (its worker died) is claimed again, with the same key.
    """

    @checked
    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = str(path)
        self._connections = _Connections(self.path, timeout)
        self._connections.adopt(open_database(path, timeout))

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        """Close every thread's connection."""
        self._connections.close()

    @checked
    def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch`` unless its key exists (idempotent)."""
        with _faults(self.path, "enqueue a job"):
            cur = self._db.execute(
                f"INSERT OR IGNORE INTO jobs ({_JOB_COLUMNS}, enrolled_at, history) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*job_row(touch), *enrolment(touch, enrolled_at)),
            )
            return cur.rowcount == 1

    @checked
    def enqueue_many(self, touches: Iterable[Touch], *, enrolled_at: datetime) -> int:
        """Add many touches in one transaction; return how many were new."""
        with _transaction(self._db, self.path, "enqueue jobs") as db:
            before = db.total_changes
            db.executemany(
                f"INSERT OR IGNORE INTO jobs ({_JOB_COLUMNS}, enrolled_at, history) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((*job_row(t), *enrolment(t, enrolled_at)) for t in touches),
            )
            return db.total_changes - before

    @checked
    def cancel(
        self, *, key: str | None = None, prefix: str | None = None, at: datetime | None = None
    ) -> int:
        """Cancel pending jobs by key or key prefix (``at``: when; default now)."""
        line = JobEntry(when(at), "cancelled").line()
        with _faults(self.path, "cancel jobs"):
            if key is not None:
                cur = self._db.execute(
                    "UPDATE jobs SET state = 'cancelled', history = history || ? "
                    "WHERE key = ? AND state = 'pending'",
                    (line, key),
                )
            else:
                low = prefix or ""
                cur = self._db.execute(
                    "UPDATE jobs SET state = 'cancelled', history = history || ? "
                    "WHERE key >= ? AND key < ? AND state = 'pending'",
                    (line, low, low + "\U0010ffff"),
                )
            return cur.rowcount

    @checked
    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs (expired leases included), earliest first."""
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        with _transaction(self._db, self.path, "claim due jobs") as db:
            rows = db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs "
                "WHERE state = 'pending' AND due_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at LIMIT ?",
                (cutoff, cutoff, limit),
            ).fetchall()
            line = JobEntry(to_utc(now, "now"), "claimed").line()
            db.executemany(
                "UPDATE jobs SET lease_until = ?, attempts = attempts + 1, "
                "history = history || ? WHERE key = ?",
                [(cutoff + lease.total_seconds(), line, r[0]) for r in rows],
            )
        return [touch(r) for r in rows]

    @checked
    def complete(self, key: str, *, outcome: str, at: datetime, reason: str = "") -> None:
        """End the job with its outcome (and ``reason``, kept with it)."""
        with _faults(self.path, "complete a job"):
            done = self._db.execute(_COMPLETE, _ending(key, outcome, reason, at))
            if done.rowcount == 0:
                raise JobNotFound(key)

    @checked
    def complete_many(self, outcomes: Iterable[Outcome], *, at: datetime) -> None:
        """End many jobs (``(key, outcome)`` or ``(key, outcome, reason)``) in one transaction.

        All of them, or none and :class:`~carekit.exceptions.JobNotFound` for the
        first unknown key.
        """
        with _transaction(self._db, self.path, "complete jobs") as db:
            for key, outcome, *reason in outcomes:
                done = db.execute(_COMPLETE, _ending(key, outcome, "".join(reason), at))
                if done.rowcount == 0:
                    raise JobNotFound(key)

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
        """Make the job due again at ``until`` (``retry``: after a failure, not a rule)."""
        again = to_utc(until, "until")
        line = JobEntry(when(at), "retry" if retry else "deferred", reason, again).line()
        with _faults(self.path, "release a job"):
            released = self._db.execute(
                "UPDATE jobs SET due_at = ?, lease_until = NULL, reason = ?, "
                "history = history || ? WHERE key = ?",
                (again.timestamp(), reason, line, check_ticket_id(key, "key")),
            )
            if released.rowcount == 0:
                raise JobNotFound(key)

    @checked
    def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's sends after ``since``."""
        with _faults(self.path, "read sends"):
            rows = self._db.execute(
                "SELECT key, grp, done_at FROM jobs "
                "WHERE customer_id = ? AND outcome = 'sent' AND done_at > ?",
                (customer_id, to_utc(since, "since").timestamp()),
            ).fetchall()
            return [
                SentTouch(k, customer_id, g, datetime.fromtimestamp(t, UTC)) for k, g, t in rows
            ]

    @checked
    def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job under ``prefix`` was last enqueued."""
        with _faults(self.path, "read enrolments"):
            row = self._db.execute(
                "SELECT max(enrolled_at) FROM jobs WHERE key >= ? AND key < ?",
                (prefix, prefix + "\U0010ffff"),
            ).fetchone()
            return None if row[0] is None else datetime.fromtimestamp(row[0], UTC)

    @checked
    def history(self, key: str) -> list[JobEntry]:
        """What happened to the job, oldest first."""
        with _faults(self.path, "read a job's history"):
            row = self._db.execute(
                "SELECT history FROM jobs WHERE key = ?", (check_ticket_id(key, "key"),)
            ).fetchone()
        if row is None:
            raise JobNotFound(key)
        return entries(row[0])

    @checked
    def note_inbound(self, customer_id: str, channel: Channel | str, at: datetime) -> None:
        """Remember the customer's message on ``channel`` (the latest is kept)."""
        with _faults(self.path, "note a customer's message"):
            self._db.execute(
                "INSERT INTO inbound VALUES (?, ?, ?) ON CONFLICT (customer_id, channel) "
                "DO UPDATE SET at = max(at, excluded.at)",
                (customer_id, as_channel(channel).value, to_utc(at, "at").timestamp()),
            )

    @checked
    def last_inbound(self, customer_id: str, channel: Channel | str) -> datetime | None:
        """When the customer last wrote on ``channel``."""
        with _faults(self.path, "read a customer's messages"):
            row = self._db.execute(
                "SELECT at FROM inbound WHERE customer_id = ? AND channel = ?",
                (customer_id, as_channel(channel).value),
            ).fetchone()
        return None if row is None else datetime.fromtimestamp(row[0], UTC)

    @checked
    def state(self, key: str) -> tuple[str, str | None, str | None]:
        """(state, outcome, last reason) of a job."""
        with _faults(self.path, "read a job"):
            row = self._db.execute(
                "SELECT state, outcome, reason FROM jobs WHERE key = ?",
                (check_ticket_id(key, "key"),),
            ).fetchone()
            if row is None:
                raise JobNotFound(key)
            return row[0], row[1], row[2]


_COMPLETE = (
    "UPDATE jobs SET state = 'done', outcome = ?, done_at = ?, lease_until = NULL, "
    "reason = coalesce(nullif(?, ''), reason), history = history || ? WHERE key = ?"
)


def _ending(key: str, outcome: str, reason: str, at: datetime) -> tuple[object, ...]:
    """The parameters of ``_COMPLETE``."""
    stamp = to_utc(at, "at")
    line = ending(outcome, reason, stamp).line()
    return outcome, stamp.timestamp(), reason, line, check_ticket_id(key, "key")
