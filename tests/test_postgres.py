"""What only the PostgreSQL stores do: schemas, versions, pools, the copy from SQLite.

The contract they share with the other stores is in test_stores.py and
test_campaigns.py; the worker processes are in test_workers.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carekit import Desk, Ticket
from carekit._cli import main
from carekit.campaigns import Touch
from carekit.exceptions import InvalidValue, SchemaError, StoreError
from carekit.stores.sqlite import SqliteJobStore, SqliteTicketStore
from carekit.testing import ManualClock

psycopg = pytest.importorskip("psycopg")
from carekit.stores.postgres import (  # noqa: E402 - after the extra is known to be there
    SCHEMA_VERSION,
    PostgresJobStore,
    PostgresTicketStore,
    copy_from_sqlite,
    upgrade,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(pg_dsn: str, pg_schema: str) -> Iterator[PostgresTicketStore]:
    s = PostgresTicketStore(pg_dsn, schema=pg_schema, create=True)
    yield s
    s.close()


def test_a_missing_schema_says_how_to_create_it(pg_dsn: str, pg_schema: str) -> None:
    """Without create=True the tables must be there: a StoreError naming the command."""
    with pytest.raises(StoreError, match="python -m carekit db upgrade"):
        PostgresTicketStore(pg_dsn, schema=pg_schema)
    assert 0 == upgrade(pg_dsn, pg_schema)  # created now (none before)
    assert SCHEMA_VERSION == upgrade(pg_dsn, pg_schema)  # and again: nothing to do


def test_a_version_1_schema_is_upgraded_with_its_jobs(pg_dsn: str, pg_schema: str) -> None:
    """A schema of version 1 (jobs without a history): upgraded in place, its jobs kept."""
    jobs = PostgresJobStore(pg_dsn, schema=pg_schema, create=True)
    touch = Touch("a/c/0/1", "a", "c", 0, "1", T0, "check_in")
    jobs.enqueue(touch, enrolled_at=T0)
    jobs.close()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # back to version 1
        conn.execute(f"ALTER TABLE {pg_schema}.jobs DROP COLUMN history")
        conn.execute(f"DROP TABLE {pg_schema}.inbound")
        conn.execute(f"UPDATE {pg_schema}.carekit_meta SET value = '1'")
    with pytest.raises(StoreError, match="version 1"):
        PostgresJobStore(pg_dsn, schema=pg_schema)
    assert 1 == upgrade(pg_dsn, pg_schema)
    jobs = PostgresJobStore(pg_dsn, schema=pg_schema)
    try:
        [claimed] = jobs.claim(T0, limit=5, lease=timedelta(minutes=1))
        jobs.complete(claimed.key, outcome="sent", at=T0, reason="on email")
        assert ["claimed", "sent"] == [e.what for e in jobs.history(touch.key)]  # from now on
        jobs.note_inbound("c", "whatsapp", T0)
        assert T0 == jobs.last_inbound("c", "whatsapp")
    finally:
        jobs.close()
    PostgresJobStore(pg_dsn, schema=pg_schema).close()


def test_a_newer_schema_is_refused(pg_dsn: str, pg_schema: str) -> None:
    """A schema written by a newer carekit: SchemaError, for the stores and for upgrade."""
    upgrade(pg_dsn, pg_schema)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {pg_schema}.carekit_meta SET value = '99'")
    with pytest.raises(SchemaError):
        PostgresTicketStore(pg_dsn, schema=pg_schema)
    with pytest.raises(SchemaError):
        upgrade(pg_dsn, pg_schema)


@pytest.mark.parametrize("schema", ["Carekit", "a-b", "x" * 64, "1abc", "carekit; drop"])
def test_a_schema_name_that_is_not_a_plain_name_is_refused(pg_dsn: str, schema: str) -> None:
    """Schema names go into SQL: only a-z, 0-9 and _ (InvalidValue before connecting)."""
    with pytest.raises(InvalidValue, match="schema"):
        PostgresTicketStore(pg_dsn, schema=schema)


def test_a_server_that_is_not_there_is_a_store_error_at_once() -> None:
    """A refused connection: StoreError with the server's reason, not after the pool's retries."""
    with pytest.raises(StoreError, match="refused"):
        PostgresTicketStore("postgresql://postgres@127.0.0.1:1/test", create=True)


def test_a_pool_given_to_the_store_stays_open(pg_dsn: str, pg_schema: str) -> None:
    """Stores accept a pool; closing a store leaves the host's pool open for the other."""
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    with ConnectionPool(pg_dsn, min_size=1, max_size=4) as pool:
        tickets = PostgresTicketStore(pool, schema=pg_schema, create=True)
        jobs = PostgresJobStore(pool, schema=pg_schema)
        tickets.save(Ticket.open("T-1", channel="chat", customer_id="c", at=T0), expected_version=0)
        tickets.close()
        assert 0 == len(jobs.sent_since("c", T0))
        assert not pool.closed


def test_a_host_pool_without_autocommit_still_commits_each_operation(
    pg_dsn: str, pg_schema: str
) -> None:
    """One-statement operations skip BEGIN/COMMIT only on autocommit connections: on a host's
    plain pool they run in a transaction, and another connection sees them committed."""
    import psycopg  # noqa: PLC0415
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    touch = Touch("c/x/0/o", "c", "x", 0, "o", T0, "tips")
    with ConnectionPool(pg_dsn, min_size=1, max_size=2) as pool:
        jobs = PostgresJobStore(pool, schema=pg_schema, create=True)
        assert jobs.enqueue(touch, enrolled_at=T0)
        assert [touch] == jobs.claim(T0, limit=5, lease=timedelta(minutes=1))
        jobs.complete(touch.key, outcome="sent", at=T0)
        with psycopg.connect(pg_dsn) as other:
            row = other.execute(
                f"SELECT state, outcome FROM {pg_schema}.jobs WHERE key = %s", (touch.key,)
            ).fetchone()
        assert ("done", "sent") == row
        with pool.connection() as conn:  # the relaxed commit of a completion stays local
            assert ("on",) == conn.execute("SHOW synchronous_commit").fetchone()


def test_connections_the_server_closed_are_replaced_without_an_error(
    pg_dsn: str, pg_schema: str
) -> None:
    """The pool's check costs no round trip, yet a connection the server terminated (as in a
    restart) is noticed and replaced: the next operations succeed."""
    import psycopg  # noqa: PLC0415

    jobs = PostgresJobStore(pg_dsn, schema=pg_schema, create=True)
    try:
        assert jobs.last_enrolled("x") is None
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            pids = [
                r[0]
                for r in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'carekit' AND state = 'idle'"
                )
            ]
            assert pids
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", (pids,))
            for _ in range(100):  # the backends end a moment after the signal
                row = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
                ).fetchone()
                if row == (0,):
                    break
                time.sleep(0.02)
        for _ in range(5):
            assert jobs.last_enrolled("x") is None
    finally:
        jobs.close()


def test_text_postgres_cannot_keep_is_refused_and_nothing_is_written(
    store: PostgresTicketStore,
) -> None:
    """A NUL inside event data round-trips (JSON escapes it); lone surrogates are refused."""
    ticket = Ticket.open("T-1", channel="chat", customer_id="c", at=T0, body="a\x00b")
    store.save(ticket, expected_version=0)
    assert ticket == store.get("T-1")
    bad = Ticket.open("T-2", channel="chat", customer_id="c", at=T0, body="\udcff")
    with pytest.raises(InvalidValue):
        store.save(bad, expected_version=0)
    assert 1 == len(store)


def test_threads_sharing_one_store_never_claim_the_same_ticket(store: PostgresTicketStore) -> None:
    """8 threads claim from 400 due tickets through one store object: each exactly once."""
    store.load(
        (Ticket.open(f"T-{i}", channel="phone", customer_id="c", at=T0), T0) for i in range(400)
    )
    got: list[list[str]] = [[] for _ in range(8)]

    def claim(n: int) -> None:
        while batch := store.claim(T0, limit=7, lease=timedelta(minutes=1)):
            got[n] += batch

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [tid for batch in got for tid in batch]
    assert 400 == len(claimed) == len(set(claimed))
    assert [] == store.claim(T0 + timedelta(seconds=59), limit=10, lease=timedelta(minutes=1))
    assert 10 == len(store.claim(T0 + timedelta(minutes=1), limit=10, lease=timedelta(minutes=1)))


def test_a_sqlite_desk_is_copied_exactly(tmp_path: Path, pg_dsn: str, pg_schema: str) -> None:
    """db copy: tickets (events, versions, due instants), the outbox and jobs with their states."""
    path = tmp_path / "desk.sqlite3"
    desk = Desk(SqliteTicketStore(path), clock=ManualClock(T0))
    for i in range(20):
        desk.open(f"T-{i}", channel="email", customer_id=f"c-{i}")
        if i % 2:
            desk.apply(f"T-{i}", "agent_reply", actor="dewi")
    jobs = SqliteJobStore(path)
    touches = [Touch(f"x/c-{i}/0/o", "x", f"c-{i}", 0, "o", T0, "tips") for i in range(5)]
    jobs.enqueue_many(touches, enrolled_at=T0)
    jobs.complete(touches[0].key, outcome="sent", at=T0)
    jobs.note_inbound("c-1", "whatsapp", T0)
    counts = copy_from_sqlite(str(path), pg_dsn, pg_schema)
    assert {"tickets": 20, "ticket_events": 30, "outbox": 20, "jobs": 5, "inbound": 1} == counts
    copied = PostgresTicketStore(pg_dsn, schema=pg_schema)
    source = SqliteTicketStore(path)
    assert list(source) == list(copied)
    later = T0 + timedelta(days=2)
    assert source.due(later) == copied.due(later)
    assert [e for _, e in source.outbox(50)] == [e for _, e in copied.outbox(50)]
    copied_jobs = PostgresJobStore(pg_dsn, schema=pg_schema)
    assert ("done", "sent", None) == copied_jobs.state(touches[0].key)
    assert ("pending", None, None) == copied_jobs.state(touches[1].key)
    assert jobs.history(touches[0].key) == copied_jobs.history(touches[0].key)
    assert T0 == copied_jobs.last_inbound("c-1", "whatsapp")
    with pytest.raises(StoreError, match="not empty"):
        copy_from_sqlite(str(path), pg_dsn, pg_schema)
    copied.close()
    copied_jobs.close()


def test_the_db_command(
    tmp_path: Path, pg_dsn: str, pg_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """python -m carekit db upgrade / copy: one line each; errors are one line too."""
    assert 0 == main(["db", "upgrade", "--dsn", pg_dsn, "--schema", pg_schema])
    assert f"schema {pg_schema}: version none -> {SCHEMA_VERSION}" in capsys.readouterr().out
    path = tmp_path / "desk.sqlite3"
    SqliteTicketStore(path).save(
        Ticket.open("T-1", channel="chat", customer_id="c", at=T0), expected_version=0
    )
    assert 0 == main(["db", "copy", "--from", str(path), "--dsn", pg_dsn, "--schema", pg_schema])
    assert "1 tickets" in capsys.readouterr().out
    assert 1 == main(["db", "copy", "--from", str(path), "--dsn", pg_dsn, "--schema", pg_schema])
    assert 1 == len(capsys.readouterr().err.splitlines())
    with pytest.raises(SystemExit) as info:
        main(["db", "copy", "--from", str(tmp_path / "nope"), "--dsn", pg_dsn])
    assert 2 == info.value.code
    assert 2 == main(["db", "upgrade", "--dsn", pg_dsn, "--schema", "Bad-Name"])
    assert 1 == main(["db", "upgrade", "--dsn", "postgresql://postgres@127.0.0.1:1/test"])
    assert 1 == len(capsys.readouterr().err.splitlines()[-1:])
