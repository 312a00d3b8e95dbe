"""SQLite stores: the embedded, durable default (standard library ``sqlite3``).

``SqliteTicketStore`` keeps tickets as their event logs (one row per event)
plus one row per ticket with its version and next due instant (indexed), in
WAL mode. Saves are optimistic: a save based on a stale version raises
:class:`~carekit.ConcurrentUpdate` and writes nothing. The schema is versioned
and checked when the file is opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from carekit._time import to_utc
from carekit.exceptions import CarekitError, ConcurrentUpdate, TicketNotFound
from carekit.lifecycle import Lifecycle
from carekit.model import Ticket, as_status, new_event
from carekit.stores.codec import dumps, loads

__all__ = ["SCHEMA_VERSION", "SchemaError", "SqliteTicketStore"]

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS carekit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    next_due_at REAL
);
CREATE INDEX IF NOT EXISTS tickets_next_due ON tickets (next_due_at)
    WHERE next_due_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS ticket_events (
    ticket_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT,
    status_before TEXT NOT NULL,
    status_after TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (ticket_id, seq)
) WITHOUT ROWID;
"""


class SchemaError(CarekitError, RuntimeError):
    """The database file was written by an incompatible version of carekit.

    Attributes:
        found: the schema version in the file.
        supported: the version this carekit writes.
    """

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path}: schema version {found}, but this carekit supports up to {supported}: "
            "upgrade carekit to open it"
        )


def connect(path: str | Path) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode with WAL and a busy timeout."""
    db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
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
        self._db = connect(path)
        self._migrate()

    def _migrate(self) -> None:
        db = self._db
        db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")  # idempotent
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT value FROM carekit_meta WHERE key='schema_version'").fetchone()
            found = int(row[0]) if row else 0
            if found > SCHEMA_VERSION:
                raise SchemaError(self.path, found, SCHEMA_VERSION)
            if found < SCHEMA_VERSION:  # 0: a new file; later versions migrate step by step here
                db.execute(
                    "INSERT OR REPLACE INTO carekit_meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def get(self, ticket_id: str) -> Ticket:
        """Load the ticket by replaying its events, or raise :class:`~carekit.TicketNotFound`."""
        rows = self._db.execute(
            "SELECT kind, at, actor, status_before, status_after, data FROM ticket_events "
            "WHERE ticket_id = ? ORDER BY seq",
            (ticket_id,),
        ).fetchall()
        if not rows:
            raise TicketNotFound(ticket_id)
        events = [
            new_event(
                kind,
                datetime.fromisoformat(at),
                actor,
                as_status(before),
                as_status(after),
                MappingProxyType(loads(data)),
            )
            for kind, at, actor, before, after, data in rows
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
            db.executemany("INSERT INTO ticket_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", new)
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
            db.executemany("INSERT INTO ticket_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
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

    def due_at(self, ticket_id: str) -> datetime | None:
        """The due instant recorded for ``ticket_id``, if any."""
        row = self._db.execute(
            "SELECT next_due_at FROM tickets WHERE id = ?", (ticket_id,)
        ).fetchone()
        return None if row is None or row[0] is None else datetime.fromtimestamp(row[0], UTC)

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
        )
        for seq, e in enumerate(ticket.events[first:], start=first)
    ]
