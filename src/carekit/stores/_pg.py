"""What the sync and the async PostgreSQL stores share: the schema, the SQL, the decisions.

Every store operation is written once, as steps (:mod:`carekit._effects`) over a
connection: it yields each statement as a call on that connection and gets the
cursor back. :mod:`carekit.stores.postgres` runs the steps on psycopg's sync
connections, :mod:`carekit.aio.postgres` awaits them on its async ones; both
only open the transaction, drive the steps and close it. What psycopg raises
becomes a :class:`~carekit.exceptions.StoreError` (or an
:class:`~carekit.exceptions.InvalidValue` for text PostgreSQL cannot keep) in
:func:`faults`, for both.
"""

from __future__ import annotations

import contextlib
import re
import select
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from carekit._check import check_count
from carekit._effects import Call, Steps
from carekit._lifecycle import Lifecycle
from carekit._model import CareEvent, Channel, Ticket, as_channel
from carekit._time import to_utc
from carekit.campaigns._history import JobEntry, Outcome, ending, entries, when
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
from carekit.stores._rows import (
    JOB_COLUMNS,
    care_event,
    enrolment,
    event_rows,
    job_row,
    outbox_row,
)
from carekit.stores._rows import stored_ticket as ticket_from_rows
from carekit.stores._rows import touch as touch_from_row

__all__ = [
    "SCHEMA_VERSION",
    "JobSql",
    "Sql",
    "TicketSql",
    "check_version",
    "faults",
    "idle_input",
    "one_statement",
    "psycopg",
    "schema_name",
    "upgrade_steps",
]

SCHEMA_VERSION = 2
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
    attempts INTEGER NOT NULL DEFAULT 0,
    history TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_due ON {s}.jobs (due_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS jobs_sent ON {s}.jobs (customer_id, done_at) WHERE outcome = 'sent';
CREATE TABLE IF NOT EXISTS {s}.inbound (
    customer_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (customer_id, channel)
);
"""


# what each version changes in the tables of the one before (new tables: made by _TABLES).
# Run only when upgrading from an older version: an ALTER TABLE takes an exclusive lock,
# and workers open their stores with create=True while others claim.
_MIGRATIONS = {
    2: ("ALTER TABLE {s}.jobs ADD COLUMN IF NOT EXISTS history TEXT NOT NULL DEFAULT ''",),
}


def psycopg() -> Any:
    """The psycopg module, or :class:`~carekit.exceptions.MissingExtra`."""
    try:
        import psycopg  # noqa: PLC0415 - an optional extra, imported when a store is made
        import psycopg_pool  # noqa: PLC0415, F401
    except ImportError as exc:
        raise MissingExtra("postgres", "psycopg") from exc
    return psycopg


def schema_name(schema: object) -> str:
    """``schema`` if it is a plain PostgreSQL name, else :class:`~carekit.InvalidValue`."""
    if not isinstance(schema, str) or not _NAME.match(schema):
        raise InvalidValue("schema", schema, "a PostgreSQL name: a-z, 0-9 and _, at most 63")
    return schema


@contextlib.contextmanager
def faults(store: str, action: str) -> Iterator[None]:
    """PostgreSQL's errors as StoreError; a value it cannot keep as InvalidValue."""
    pg = psycopg()
    try:
        yield
    except CarekitError:
        raise
    except pg.errors.DataError as exc:
        raise InvalidValue("text", str(exc).splitlines()[0], "text PostgreSQL can keep") from exc
    except UnicodeEncodeError as exc:
        raise InvalidValue("text", exc.object, "text without lone surrogates") from exc
    except (pg.Error, OSError) as exc:
        raise StoreError(store, action, " ".join(str(exc).split()) or type(exc).__name__) from exc


F = TypeVar("F", bound=Callable[..., Any])


def one_statement(steps: F) -> F:
    """Mark steps that run one SQL statement: atomic alone, so no BEGIN/COMMIT round trips."""
    steps.one_statement = True  # type: ignore[attr-defined]
    return steps


def idle_input(fileno: int) -> bool:
    """Whether an idle connection's socket has input: the server closed it (a restart).

    The pools' check: a connection that got nothing while idle is used as it is
    (no round trip); one that got something is checked for real.
    """
    readable, _, _ = select.select([fileno], [], [], 0)
    return bool(readable)


def _lock_id(schema: str) -> int:
    return zlib.crc32(f"carekit:{schema}".encode())


def _one(conn: Any, sql: str, params: Sequence[object] = ()) -> Steps[Any]:
    """Run ``sql`` and return its first row (or None)."""
    cur = yield Call(conn.execute, sql, params)
    return (yield Call(cur.fetchone))


def _all(conn: Any, sql: str, params: Sequence[object] = ()) -> Steps[list[Any]]:
    """Run ``sql`` and return its rows."""
    cur = yield Call(conn.execute, sql, params)
    rows: list[Any] = yield Call(cur.fetchall)
    return rows


def upgrade_steps(conn: Any, schema: str) -> Steps[int]:
    """Create or migrate the tables (in the caller's transaction); return the version before."""
    yield Call(conn.execute, "SELECT pg_advisory_xact_lock(%s)", (_lock_id(schema),))
    yield Call(conn.execute, f"CREATE SCHEMA IF NOT EXISTS {schema}")
    yield Call(
        conn.execute,
        f"CREATE TABLE IF NOT EXISTS {schema}.carekit_meta "
        "(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )
    row = yield from _one(
        conn, f"SELECT value FROM {schema}.carekit_meta WHERE key = 'schema_version'"
    )
    found = int(row[0]) if row else 0
    if found > SCHEMA_VERSION:
        raise SchemaError(f"schema {schema}", found, SCHEMA_VERSION)
    for version in range(found + 1, SCHEMA_VERSION + 1) if found else ():
        for statement in _MIGRATIONS[version]:
            yield Call(conn.execute, statement.format(s=schema))
    for statement in filter(str.strip, _TABLES.format(s=schema).split(";")):
        yield Call(conn.execute, statement)
    yield Call(
        conn.execute,
        f"INSERT INTO {schema}.carekit_meta VALUES ('schema_version', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(SCHEMA_VERSION),),
    )
    return found


def check_version(conn: Any, schema: str) -> Steps[None]:
    """Refuse a missing schema (StoreError, with how to make it) or a newer one (SchemaError)."""
    row = yield from _one(
        conn,
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = 'carekit_meta'",
        (schema,),
    )
    if row is None:
        raise StoreError(
            f"schema {schema}",
            "open the store",
            "carekit's tables are not there: run 'python -m carekit db upgrade --dsn ...' "
            "or make the store with create=True",
        )
    found = yield from _one(
        conn, f"SELECT value FROM {schema}.carekit_meta WHERE key = 'schema_version'"
    )
    version = int(found[0]) if found else 0
    if version != SCHEMA_VERSION:
        if version > SCHEMA_VERSION:
            raise SchemaError(f"schema {schema}", version, SCHEMA_VERSION)
        raise StoreError(
            f"schema {schema}",
            "open the store",
            f"the schema is at version {version}: run 'python -m carekit db upgrade'",
        )


def _stamp(value: datetime | None, name: str) -> float | None:
    return None if value is None else to_utc(value, name).timestamp()


class Sql:
    """The schema a store works in, its announcements, and how it copies rows in.

    A shell sets ``schema`` and ``where`` and gives ``_copy(cursor, sql, rows)``.
    """

    schema: str
    where: str

    def _copy(self, cur: Any, sql: str, rows: Iterable[Sequence[object]]) -> Any:
        """COPY ``rows`` in with ``sql`` (sync or async: the shell's own)."""
        raise NotImplementedError

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel on which saves announce due instants."""
        return f"carekit_{self.schema}"[:63]

    def _announce(self, conn: Any, due: float | None) -> Steps[None]:
        """NOTIFY the due instant (delivered when the transaction commits)."""
        if due is not None:
            yield Call(conn.execute, "SELECT pg_notify(%s, %s)", (self.channel, repr(due)))


class TicketSql(Sql):
    """The ticket store's operations, as steps over a connection in a transaction."""

    lifecycle: Lifecycle

    @one_statement
    def _get(self, conn: Any, ticket_id: str) -> Steps[Ticket]:
        try:
            check_ticket_id(ticket_id)
        except InvalidValue:
            raise TicketNotFound(ticket_id) from None
        rows = yield from _all(
            conn,
            "SELECT kind, at, actor, status_before, status_after, data, roles "
            f"FROM {self.schema}.ticket_events WHERE ticket_id = %s ORDER BY seq",
            (ticket_id,),
        )
        return ticket_from_rows(self.lifecycle, ticket_id, rows, self.where)

    def _save(
        self,
        conn: Any,
        ticket: Ticket,
        *,
        expected_version: int,
        due_at: datetime | None,
        care_events: Sequence[CareEvent],
        release: bool,
        rewrite_from: int | None,
    ) -> Steps[None]:
        due = _stamp(due_at, "due_at")
        first = expected_version if rewrite_from is None else min(rewrite_from, expected_version)
        new = event_rows(ticket, first)
        outbox = [outbox_row(e) for e in care_events]
        s = self.schema
        row = yield from _one(
            conn, f"SELECT version FROM {s}.tickets WHERE id = %s FOR UPDATE", (ticket.id,)
        )
        actual = row[0] if row else 0
        if expected_version == 0 and row is not None:
            raise TicketExists(ticket.id)
        if actual != expected_version or ticket.version < actual:
            raise ConcurrentUpdate(ticket.id, expected_version, actual)
        if first < actual:
            yield Call(
                conn.execute,
                f"DELETE FROM {s}.ticket_events WHERE ticket_id = %s AND seq >= %s",
                (ticket.id, first),
            )
        cur = yield Call(conn.cursor)
        try:
            yield Call(
                cur.executemany,
                f"INSERT INTO {s}.ticket_events VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                new,
            )
        except psycopg().errors.UniqueViolation as exc:  # a concurrent first save won
            raise TicketExists(ticket.id) from exc
        yield Call(
            conn.execute,
            f"INSERT INTO {s}.tickets (id, version, next_due_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
            "next_due_at = excluded.next_due_at" + (", lease_until = NULL" if release else ""),
            (ticket.id, ticket.version, due),
        )
        yield Call(
            cur.executemany,
            f"INSERT INTO {s}.outbox (kind, customer_id, at, event_id, data) "
            "VALUES (%s, %s, %s, %s, %s)",
            outbox,
        )
        yield from self._announce(conn, due)

    def _load(self, conn: Any, tickets: Iterable[tuple[Ticket, datetime | None]]) -> Steps[None]:
        heads = []
        rows = []
        for ticket, due_at in tickets:
            heads.append((ticket.id, ticket.version, _stamp(due_at, "due_at")))
            rows.extend(event_rows(ticket, 0))
        cur = yield Call(conn.cursor)
        try:
            s = self.schema
            yield Call(
                self._copy, cur, f"COPY {s}.tickets (id, version, next_due_at) FROM STDIN", heads
            )
            yield Call(self._copy, cur, f"COPY {s}.ticket_events FROM STDIN", rows)
        except psycopg().errors.UniqueViolation as exc:
            raise TicketExists("(one of the loaded ids)") from exc

    @one_statement
    def _claim(self, conn: Any, now: datetime, limit: int, lease: timedelta) -> Steps[list[str]]:
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        s = self.schema
        rows = yield from _all(
            conn,
            f"WITH due AS (SELECT id FROM {s}.tickets "
            "WHERE next_due_at IS NOT NULL AND next_due_at <= %s "
            "AND (lease_until IS NULL OR lease_until <= %s) "
            "ORDER BY next_due_at LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {s}.tickets t SET lease_until = %s FROM due WHERE t.id = due.id "
            "RETURNING t.id, t.next_due_at",
            (cutoff, cutoff, limit, cutoff + lease.total_seconds()),
        )
        return [r[0] for r in sorted(rows, key=lambda r: (r[1], r[0]))]

    @one_statement
    def _due(self, conn: Any, now: datetime, limit: int | None) -> Steps[list[str]]:
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        rows = yield from _all(
            conn,
            f"SELECT id FROM {self.schema}.tickets "
            "WHERE next_due_at IS NOT NULL AND next_due_at <= %s "
            "ORDER BY next_due_at, id LIMIT %s",
            (cutoff, limit),
        )
        return [r[0] for r in rows]

    @one_statement
    def _outbox(self, conn: Any, limit: int) -> Steps[list[tuple[int, CareEvent]]]:
        check_count("limit", limit)
        rows = yield from _all(
            conn,
            "SELECT seq, kind, customer_id, at, event_id, data "
            f"FROM {self.schema}.outbox ORDER BY seq LIMIT %s",
            (limit,),
        )
        try:
            return [(seq, care_event(k, c, at, eid, data)) for seq, k, c, at, eid, data in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(self.where, "read the outbox", repr(exc)) from exc

    @one_statement
    def _acknowledge(self, conn: Any, seqs: Iterable[int]) -> Steps[None]:
        done = list(seqs)
        yield Call(conn.execute, f"DELETE FROM {self.schema}.outbox WHERE seq = ANY(%s)", (done,))

    @one_statement
    def _ids(self, conn: Any) -> Steps[list[str]]:
        rows = yield from _all(conn, f"SELECT id FROM {self.schema}.tickets ORDER BY n")
        return [r[0] for r in rows]

    @one_statement
    def _count(self, conn: Any) -> Steps[int]:
        row = yield from _one(conn, f"SELECT count(*) FROM {self.schema}.tickets")
        return int(row[0]) if row else 0


class JobSql(Sql):
    """The job store's operations, as steps over a connection in a transaction."""

    @one_statement
    def _enqueue(self, conn: Any, touch: Touch, enrolled_at: datetime) -> Steps[bool]:
        marks = ", ".join(["%s"] * 13)
        cur = yield Call(  # insert and announce in one statement: one round trip
            conn.execute,
            f"WITH new AS (INSERT INTO {self.schema}.jobs ({JOB_COLUMNS}, enrolled_at, history) "
            f"VALUES ({marks}) ON CONFLICT (key) DO NOTHING RETURNING due_at) "
            "SELECT pg_notify(%s, due_at::text) FROM new",
            (*job_row(touch), *enrolment(touch, enrolled_at), self.channel),
        )
        return bool(cur.rowcount == 1)

    def _enqueue_many(
        self, conn: Any, touches: Iterable[Touch], enrolled_at: datetime
    ) -> Steps[int]:
        rows = [(*job_row(t), *enrolment(t, enrolled_at)) for t in touches]
        if not rows:
            return 0
        s = self.schema
        cur = yield Call(conn.cursor)
        yield Call(
            cur.execute,
            f"CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE {s}.jobs INCLUDING DEFAULTS) "
            "ON COMMIT DROP",
        )
        yield Call(
            self._copy, cur, f"COPY incoming ({JOB_COLUMNS}, enrolled_at, history) FROM STDIN", rows
        )
        yield Call(
            cur.execute,
            f"INSERT INTO {s}.jobs ({JOB_COLUMNS}, enrolled_at, history) "
            f"SELECT {JOB_COLUMNS}, enrolled_at, history FROM incoming "
            "ON CONFLICT (key) DO NOTHING",
        )
        new = int(cur.rowcount)
        yield from self._announce(conn, min(float(r[5]) for r in rows) if new else None)  # type: ignore[arg-type]
        return new

    @one_statement
    def _cancel(
        self, conn: Any, key: str | None, prefix: str | None, at: datetime | None
    ) -> Steps[int]:
        if key is not None:
            where, value = "key = %s", key
        else:
            where, value = "starts_with(key, %s)", prefix or ""
        cur = yield Call(
            conn.execute,
            f"UPDATE {self.schema}.jobs SET state = 'cancelled', history = history || %s "
            f"WHERE {where} AND state = 'pending'",
            (JobEntry(when(at), "cancelled").line(), value),
        )
        return int(cur.rowcount)

    @one_statement
    def _claim(self, conn: Any, now: datetime, limit: int, lease: timedelta) -> Steps[list[Touch]]:
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        s = self.schema
        rows = yield from _all(
            conn,
            f"WITH due AS (SELECT key FROM {s}.jobs WHERE state = 'pending' "
            "AND due_at <= %s AND (lease_until IS NULL OR lease_until <= %s) "
            "ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {s}.jobs j SET lease_until = %s, attempts = attempts + 1, "
            f"history = j.history || %s FROM due WHERE j.key = due.key RETURNING "
            + ", ".join(f"j.{c.strip()}" for c in JOB_COLUMNS.split(",")),
            (
                cutoff,
                cutoff,
                limit,
                cutoff + lease.total_seconds(),
                JobEntry(to_utc(now, "now"), "claimed").line(),
            ),
        )
        return sorted((touch_from_row(tuple(r)) for r in rows), key=lambda t: (t.due_at, t.key))

    @one_statement
    def _complete(
        self, conn: Any, key: str, outcome: str, at: datetime, reason: str
    ) -> Steps[None]:
        # Committed without waiting for the WAL flush (synchronous_commit off for this one
        # statement): a worker's death loses no completion; a database server crash may
        # forget the last fraction of a second of them, and those jobs are delivered again,
        # with their keys (at least once). Halves the cost of a completion.
        stamp = to_utc(at, "at")
        cur = yield Call(
            conn.execute,
            f"UPDATE {self.schema}.jobs SET state = 'done', outcome = %s, done_at = %s, "
            "lease_until = NULL, reason = coalesce(nullif(%s, ''), reason), "
            "history = history || %s "
            "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed "
            "WHERE key = %s",
            (outcome, stamp.timestamp(), reason, ending(outcome, reason, stamp).line(), key),
        )
        if cur.rowcount == 0:
            raise JobNotFound(key)

    def _complete_many(self, conn: Any, outcomes: Iterable[Outcome], at: datetime) -> Steps[None]:
        stamp = to_utc(at, "at")
        done = {key: (outcome, "".join(why)) for key, outcome, *why in outcomes}  # last wins
        cur = yield Call(  # one statement; in a transaction, so that an unknown key undoes it
            conn.execute,
            f"UPDATE {self.schema}.jobs j SET state = 'done', outcome = v.outcome, "
            "done_at = %s, lease_until = NULL, reason = coalesce(nullif(v.reason, ''), j.reason), "
            "history = j.history || v.line "
            "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed, "
            "unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
            "AS v(key, outcome, reason, line) "
            "WHERE j.key = v.key RETURNING j.key",
            (
                stamp.timestamp(),
                list(done),
                [outcome for outcome, _ in done.values()],
                [why for _, why in done.values()],
                [ending(outcome, why, stamp).line() for outcome, why in done.values()],
            ),
        )
        found = {row[0] for row in (yield Call(cur.fetchall))}
        missing = [key for key in done if key not in found]
        if missing:
            raise JobNotFound(missing[0])

    @one_statement
    def _release(  # noqa: PLR0917 - the store's arguments, in order
        self, conn: Any, key: str, until: datetime, reason: str, at: datetime | None, retry: bool
    ) -> Steps[None]:
        again = to_utc(until, "until")
        line = JobEntry(when(at), "retry" if retry else "deferred", reason, again).line()
        cur = yield Call(  # update and announce in one statement
            conn.execute,
            f"WITH job AS (UPDATE {self.schema}.jobs SET due_at = %s, lease_until = NULL, "
            "reason = %s, history = history || %s WHERE key = %s RETURNING due_at) "
            "SELECT pg_notify(%s, due_at::text) FROM job",
            (again.timestamp(), reason, line, key, self.channel),
        )
        if cur.rowcount == 0:
            raise JobNotFound(key)

    @one_statement
    def _sent_since(self, conn: Any, customer_id: str, since: datetime) -> Steps[list[SentTouch]]:
        after = to_utc(since, "since").timestamp()
        rows = yield from _all(
            conn,
            f"SELECT key, grp, done_at FROM {self.schema}.jobs "
            "WHERE customer_id = %s AND outcome = 'sent' AND done_at > %s",
            (customer_id, after),
        )
        return [SentTouch(k, customer_id, g, datetime.fromtimestamp(t, UTC)) for k, g, t in rows]

    @one_statement
    def _last_enrolled(self, conn: Any, prefix: str) -> Steps[datetime | None]:
        row = yield from _one(
            conn,
            f"SELECT max(enrolled_at) FROM {self.schema}.jobs WHERE starts_with(key, %s)",
            (prefix,),
        )
        return None if row is None or row[0] is None else datetime.fromtimestamp(row[0], UTC)

    @one_statement
    def _history(self, conn: Any, key: str) -> Steps[list[JobEntry]]:
        row = yield from _one(
            conn, f"SELECT history FROM {self.schema}.jobs WHERE key = %s", (key,)
        )
        if row is None:
            raise JobNotFound(key)
        return entries(row[0])

    @one_statement
    def _note_inbound(
        self, conn: Any, customer_id: str, channel: Channel, at: datetime
    ) -> Steps[None]:
        yield Call(
            conn.execute,
            f"INSERT INTO {self.schema}.inbound AS i VALUES (%s, %s, %s) "
            "ON CONFLICT (customer_id, channel) DO UPDATE SET at = greatest(i.at, excluded.at)",
            (customer_id, as_channel(channel).value, to_utc(at, "at").timestamp()),
        )

    @one_statement
    def _last_inbound(
        self, conn: Any, customer_id: str, channel: Channel
    ) -> Steps[datetime | None]:
        row = yield from _one(
            conn,
            f"SELECT at FROM {self.schema}.inbound WHERE customer_id = %s AND channel = %s",
            (customer_id, as_channel(channel).value),
        )
        return None if row is None else datetime.fromtimestamp(row[0], UTC)

    @one_statement
    def _state(self, conn: Any, key: str) -> Steps[tuple[str, str | None, str | None]]:
        row = yield from _one(
            conn, f"SELECT state, outcome, reason FROM {self.schema}.jobs WHERE key = %s", (key,)
        )
        if row is None:
            raise JobNotFound(key)
        return row[0], row[1], row[2]
