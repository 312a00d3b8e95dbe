"""SQLite stores: the embedded, durable default (standard library ``sqlite3``).

``SqliteTicketStore`` keeps tickets as their event logs (one row per event)
plus one row per ticket with its version and next due instant (indexed), in
WAL mode. Saves are optimistic: a save based on a stale version raises
:class:`~carekit.ConcurrentUpdate` and writes nothing. The schema is versioned
and checked when the file is opened.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from carekit._lifecycle import Lifecycle
from carekit._model import Channel, Role, Ticket, as_status, new_event
from carekit._time import to_utc
from carekit.campaigns._planning import SentTouch, Touch
from carekit.exceptions import ConcurrentUpdate, SchemaError, TicketNotFound
from carekit.stores._codec import dumps, loads

__all__ = ["SCHEMA_VERSION", "SqliteJobStore", "SqliteTicketStore", "open_database"]

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS carekit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    next_due_at REAL
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
    attempts INTEGER NOT NULL DEFAULT 0
);
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
"""


def _connect(path: str | Path) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode with WAL and a busy timeout."""
    db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def open_database(path: str | Path) -> sqlite3.Connection:
    """Connect, create the tables when missing, and check the schema version."""
    db = _connect(path)
    db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")  # idempotent
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute("SELECT value FROM carekit_meta WHERE key='schema_version'").fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise SchemaError(str(path), found, SCHEMA_VERSION)
        if 0 < found < 2:  # version 2 records each event's roles
            db.execute("ALTER TABLE ticket_events ADD COLUMN roles TEXT")
        if found < SCHEMA_VERSION:  # 0: a new file; later versions migrate step by step here
            db.execute(
                "INSERT OR REPLACE INTO carekit_meta VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        db.close()
        raise
    return db


class SqliteTicketStore:
    """A durable :class:`~carekit.protocols.TicketStore` in one SQLite file.

    Args:
        path: the database file (created when missing).
        lifecycle: the lifecycle whose ``replay`` rebuilds tickets from their
            events (give yours if it has its own effects).
    """

    def __init__(self, path: str | Path, lifecycle: Lifecycle | None = None) -> None:
        self.path = str(path)
        self.lifecycle = lifecycle or Lifecycle()
        self._db = open_database(path)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def get(self, ticket_id: str) -> Ticket:
        """Load the ticket by replaying its events, or raise :class:`~carekit.TicketNotFound`."""
        rows = self._db.execute(
            "SELECT kind, at, actor, status_before, status_after, data, roles FROM ticket_events "
            "WHERE ticket_id = ? ORDER BY seq",
            (ticket_id,),
        ).fetchall()
        if not rows:
            raise TicketNotFound(ticket_id)
        roles_for = self.lifecycle.roles_for
        events = [
            new_event(
                kind,
                datetime.fromisoformat(at),
                actor,
                as_status(before),
                as_status(after),
                MappingProxyType(loads(data)),
                _roles(roles) if roles is not None else roles_for(kind, before, after),
            )
            for kind, at, actor, before, after, data, roles in rows
        ]
        return self.lifecycle.replay(ticket_id, events)

    def save(
        self, ticket: Ticket, *, expected_version: int, due_at: datetime | None = None
    ) -> None:
        """Append the ticket's new events and set its due instant, if the version matches."""
        due = None if due_at is None else to_utc(due_at, "due_at").timestamp()
        new = _rows(ticket, expected_version)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT version FROM tickets WHERE id = ?", (ticket.id,)).fetchone()
            actual = row[0] if row else 0
            if actual != expected_version or ticket.version < actual:
                raise ConcurrentUpdate(ticket.id, expected_version, actual)
            db.executemany("INSERT INTO ticket_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", new)
            db.execute(
                "INSERT INTO tickets (id, version, next_due_at) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
                "next_due_at = excluded.next_due_at",
                (ticket.id, ticket.version, due),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def load(self, tickets: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Bulk-insert new tickets with their due instants, in one transaction (imports).

        Raises:
            ConcurrentUpdate: one of the ids is taken; nothing is written.
        """
        rows = []
        heads = []
        for ticket, due_at in tickets:
            heads.append(
                (ticket.id, ticket.version, None if due_at is None else due_at.timestamp())
            )
            rows.extend(_rows(ticket, 0))
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT INTO tickets (id, version, next_due_at) VALUES (?, ?, ?)", heads)
            db.executemany("INSERT INTO ticket_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            db.execute("ROLLBACK")
            raise ConcurrentUpdate("(bulk load)", 0, -1) from exc
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids due at or before ``now``, earliest first (an index range scan)."""
        cutoff = to_utc(now, "now").timestamp()
        rows = self._db.execute(
            "SELECT id FROM tickets WHERE next_due_at IS NOT NULL AND next_due_at <= ? "
            "ORDER BY next_due_at LIMIT ?",
            (cutoff, -1 if limit is None else limit),
        ).fetchall()
        return [r[0] for r in rows]

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over every stored ticket (loads each one)."""
        ids = [r[0] for r in self._db.execute("SELECT id FROM tickets ORDER BY rowid")]
        return (self.get(tid) for tid in ids)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM tickets").fetchone()[0])


def _rows(ticket: Ticket, first: int) -> list[tuple[object, ...]]:
    """The ``ticket_events`` rows of the ticket's events from index ``first`` on."""
    return [
        (
            ticket.id,
            seq,
            e.kind,
            e.at.isoformat(),
            e.actor,
            str(e.status_before),
            str(e.status_after),
            dumps(e.data),
            ",".join(sorted(e.roles)),
        )
        for seq, e in enumerate(ticket.events[first:], start=first)
    ]


@functools.cache
def _roles(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split(",") if r)


_JOB_COLUMNS = (
    "key, campaign, customer_id, step, occurrence, due_at, template, channel, fields, "
    "transactional, grp"
)


class SqliteJobStore:
    """A durable :class:`~carekit.campaigns.JobStore` in one SQLite file (WAL).

    ``claim`` runs in an immediate transaction, so two workers (threads or
    processes) on one file never lease the same job at once; a job whose lease
    ran out (its worker died) is claimed again, with the same key.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = open_database(path)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch`` unless its key exists (idempotent)."""
        cur = self._db.execute(
            f"INSERT OR IGNORE INTO jobs ({_JOB_COLUMNS}, enrolled_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*_job_row(touch), to_utc(enrolled_at, "enrolled_at").timestamp()),
        )
        return cur.rowcount == 1

    def enqueue_many(self, touches: Iterable[Touch], *, enrolled_at: datetime) -> int:
        """Add many touches in one transaction; return how many were new."""
        at = to_utc(enrolled_at, "enrolled_at").timestamp()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            db.executemany(
                f"INSERT OR IGNORE INTO jobs ({_JOB_COLUMNS}, enrolled_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((*_job_row(t), at) for t in touches),
            )
            added = db.total_changes - before
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return added

    def cancel(self, *, key: str | None = None, prefix: str | None = None) -> int:
        """Cancel pending jobs by key or key prefix."""
        if key is not None:
            cur = self._db.execute(
                "UPDATE jobs SET state = 'cancelled' WHERE key = ? AND state = 'pending'", (key,)
            )
        else:
            low = prefix or ""
            cur = self._db.execute(
                "UPDATE jobs SET state = 'cancelled' "
                "WHERE key >= ? AND key < ? AND state = 'pending'",
                (low, low + "\U0010ffff"),
            )
        return cur.rowcount

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs (expired leases included), earliest first."""
        cutoff = to_utc(now, "now").timestamp()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs "
                "WHERE state = 'pending' AND due_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at LIMIT ?",
                (cutoff, cutoff, limit),
            ).fetchall()
            db.executemany(
                "UPDATE jobs SET lease_until = ?, attempts = attempts + 1 WHERE key = ?",
                [(cutoff + lease.total_seconds(), r[0]) for r in rows],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return [_touch(r) for r in rows]

    def complete(self, key: str, *, outcome: str, at: datetime) -> None:
        """End the job with its outcome."""
        self._db.execute(
            "UPDATE jobs SET state = 'done', outcome = ?, done_at = ?, lease_until = NULL "
            "WHERE key = ?",
            (outcome, to_utc(at, "at").timestamp(), key),
        )

    def release(self, key: str, *, until: datetime, reason: str) -> None:
        """Make the job due again at ``until``."""
        self._db.execute(
            "UPDATE jobs SET due_at = ?, lease_until = NULL, reason = ? WHERE key = ?",
            (to_utc(until, "until").timestamp(), reason, key),
        )

    def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's sends after ``since``."""
        rows = self._db.execute(
            "SELECT key, grp, done_at FROM jobs "
            "WHERE customer_id = ? AND outcome = 'sent' AND done_at > ?",
            (customer_id, to_utc(since, "since").timestamp()),
        ).fetchall()
        return [SentTouch(k, customer_id, g, datetime.fromtimestamp(t, UTC)) for k, g, t in rows]

    def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job under ``prefix`` was last enqueued."""
        row = self._db.execute(
            "SELECT max(enrolled_at) FROM jobs WHERE key >= ? AND key < ?",
            (prefix, prefix + "\U0010ffff"),
        ).fetchone()
        return None if row[0] is None else datetime.fromtimestamp(row[0], UTC)

    def state(self, key: str) -> tuple[str, str | None, str | None]:
        """(state, outcome, last reason) of a job."""
        row = self._db.execute(
            "SELECT state, outcome, reason FROM jobs WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0], row[1], row[2]


def _job_row(t: Touch) -> tuple[object, ...]:
    return (
        t.key,
        t.campaign,
        t.customer_id,
        t.step,
        t.occurrence,
        t.due_at.timestamp(),
        t.template,
        None if t.channel is None else t.channel.value,
        dumps(t.fields),
        int(t.transactional),
        t.group,
    )


def _touch(row: tuple[object, ...]) -> Touch:
    key, campaign, customer, step, occurrence, due, template, channel, fields, tx, group = row
    return Touch(
        key=str(key),
        campaign=str(campaign),
        customer_id=str(customer),
        step=int(step),  # type: ignore[call-overload]
        occurrence=str(occurrence),
        due_at=datetime.fromtimestamp(float(due), UTC),  # type: ignore[arg-type]
        template=str(template),
        channel=None if channel is None else Channel(str(channel)),
        fields=loads(str(fields)),
        transactional=bool(tx),
        group=None if group is None else str(group),
    )
