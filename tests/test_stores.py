"""One contract, three stores: the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

import enum
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carekit import Lifecycle, Priority, Role, Ticket
from carekit.exceptions import (
    ConcurrentUpdate,
    InvalidValue,
    NaiveDatetimeError,
    SchemaError,
    StoreError,
    TicketExists,
    TicketNotFound,
)
from carekit.i18n import Money
from carekit.protocols import TicketStore
from carekit.stores.memory import InMemoryTicketStore
from carekit.stores.sqlite import SCHEMA_VERSION, SqliteTicketStore

from ._blocking import async_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
L = Lifecycle()


@pytest.fixture(params=["memory", "sqlite", "postgres", "aio-memory", "aio-postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TicketStore]:
    if request.param.startswith("aio-"):  # carekit.aio's stores, through a sync face
        from carekit.aio import AsyncPostgresTicketStore  # noqa: PLC0415

        kind = "aio-memory-tickets" if request.param == "aio-memory" else "aio-postgres"
        yield from async_store(
            kind,
            request,
            lambda dsn, schema: AsyncPostgresTicketStore(dsn, schema=schema, create=True),
        )
    elif request.param == "memory":
        yield InMemoryTicketStore()
    elif request.param == "sqlite":
        sqlite = SqliteTicketStore(tmp_path / "desk.sqlite3")
        yield sqlite
        sqlite.close()
    else:
        from carekit.stores.postgres import PostgresTicketStore  # noqa: PLC0415 - an extra

        postgres = PostgresTicketStore(
            request.getfixturevalue("pg_dsn"),
            schema=request.getfixturevalue("pg_schema"),
            create=True,
        )
        yield postgres
        postgres.close()


def worked(ticket_id: str = "T-1") -> Ticket:
    t = Ticket.open(
        ticket_id, channel="email", customer_id="c", at=T0, tags=["refund"], order="A-1"
    )
    t = L.apply(t, "assign", at=T0, agent="dewi")
    t = L.apply(t, "set_priority", at=T0 + timedelta(minutes=1), priority=Priority.HIGH)
    t = L.apply(
        t,
        "add_note",
        at=T0 + timedelta(minutes=2),
        actor="dewi",
        amount=Decimal("50000.00"),
        when=date(2026, 3, 9),
        sent=datetime(2026, 3, 2, 9, 3, tzinfo=UTC),
        pair=(1, "a"),
        voucher=Money("50000", "IDR"),
    )
    return L.apply(t, "agent_reply", at=T0 + timedelta(minutes=3))


def test_round_trip_is_exact(store: TicketStore) -> None:
    """A ticket comes back equal: fields, events, event data and their types."""
    ticket = worked()
    store.save(ticket, expected_version=0)
    loaded = store.get("T-1")
    assert ticket == loaded
    assert Priority.HIGH is loaded.priority
    note = loaded.events[3].data
    assert (Decimal("50000.00"), (1, "a"), date(2026, 3, 9)) == (
        note["amount"],
        note["pair"],
        note["when"],
    )
    assert Money("50000", "IDR") == note["voucher"]
    assert [ticket] == list(store)


def test_appending_saves_only_the_new_events(store: TicketStore) -> None:
    """Saving a later version appends; loading gives the later version."""
    ticket = Ticket.open("T-1", channel="chat", customer_id="c", at=T0)
    store.save(ticket, expected_version=0)
    later = L.apply(store.get("T-1"), "agent_reply", at=T0 + timedelta(seconds=40))
    store.save(later, expected_version=1)
    assert later == store.get("T-1")


def test_stale_save_raises_and_writes_nothing(store: TicketStore) -> None:
    """Two writers from version 1: the second gets ConcurrentUpdate, the first stays."""
    store.save(Ticket.open("T-1", channel="chat", customer_id="c", at=T0), expected_version=0)
    first = L.apply(store.get("T-1"), "agent_reply", at=T0)
    second = L.apply(store.get("T-1"), "resolve", at=T0)
    store.save(first, expected_version=1)
    with pytest.raises(ConcurrentUpdate) as info:
        store.save(second, expected_version=1)
    assert (1, 2) == (info.value.expected, info.value.actual)
    assert first == store.get("T-1")


def test_new_ticket_with_a_taken_id_is_refused(store: TicketStore) -> None:
    """expected_version=0 means new: a second ticket with the same id is refused."""
    store.save(Ticket.open("T-1", channel="chat", customer_id="c", at=T0), expected_version=0)
    with pytest.raises(TicketExists):
        store.save(Ticket.open("T-1", channel="web", customer_id="d", at=T0), expected_version=0)
    assert "chat" == store.get("T-1").channel


def test_unknown_id(store: TicketStore) -> None:
    """TicketNotFound, also a KeyError, naming the id."""
    with pytest.raises(TicketNotFound) as info:
        store.get("nope")
    assert isinstance(info.value, KeyError)
    assert "nope" == info.value.ticket_id


def test_due_index(store: TicketStore) -> None:
    """due() lists what is due by now, earliest first; a save moves or clears a due."""
    for i, minutes in enumerate([30, 10, 20, 50]):
        t = Ticket.open(f"T-{i}", channel="chat", customer_id="c", at=T0)
        store.save(t, expected_version=0, due_at=T0 + timedelta(minutes=minutes))
    store.save(Ticket.open("T-x", channel="chat", customer_id="c", at=T0), expected_version=0)
    assert ["T-1", "T-2", "T-0"] == store.due(T0 + timedelta(minutes=30))
    assert ["T-1"] == store.due(T0 + timedelta(minutes=30), limit=1)
    assert ["T-1", "T-2"] == store.due(T0 + timedelta(minutes=30), limit=2)
    assert ["T-1", "T-2", "T-0"] == store.due(T0 + timedelta(minutes=30))  # due() does not consume
    store.save(store.get("T-1"), expected_version=1, due_at=T0 + timedelta(hours=5))
    store.save(store.get("T-2"), expected_version=1, due_at=None)
    assert ["T-0", "T-3"] == store.due(T0 + timedelta(hours=1))
    assert ["T-0", "T-3", "T-1"] == store.due(T0 + timedelta(hours=6))


def test_data_shaped_like_the_codecs_tags_round_trips(store: TicketStore) -> None:
    """Host data with keys of its own starting with $ reads back as it was given."""
    shaped: dict[str, Any] = {
        "form": {"$c": "fax"},
        "pair": {"$t": [1, 2]},
        "nested": [{"$o": {"$p": 1}}, {"a": "$c"}],
        "wait": timedelta(days=3, seconds=7, microseconds=1),
        "long": timedelta(days=999_999, microseconds=999_999),
    }
    ticket = Ticket.open("T-9", channel="web", customer_id="c", at=T0, **shaped)
    store.save(ticket, expected_version=0)
    loaded = store.get("T-9").events[0].data
    assert shaped == {k: loaded[k] for k in shaped}
    assert dict is type(loaded["form"])


class Colour(enum.StrEnum):
    RED = "red"


def test_a_str_subclass_is_refused_rather_than_changed(tmp_path: Path) -> None:
    """A value the codec would read back as another type is refused at save."""
    store = SqliteTicketStore(tmp_path / "d.sqlite3")
    t = Ticket.open("T-1", channel="chat", customer_id="c", at=T0, colour=Colour.RED)
    with pytest.raises(InvalidValue, match="event data"):
        store.save(t, expected_version=0)


def test_bad_event_data_is_refused_before_writing(tmp_path: Path) -> None:
    """Data the store cannot keep is a typed error, and the store is unchanged."""
    store = SqliteTicketStore(tmp_path / "d.sqlite3")
    t = Ticket.open("T-1", channel="chat", customer_id="c", at=T0, blob=object())
    with pytest.raises(InvalidValue, match="event data"):
        store.save(t, expected_version=0)
    with pytest.raises(TicketNotFound):
        store.get("T-1")


def test_sqlite_survives_reopening(tmp_path: Path) -> None:
    """Another store on the same file sees the tickets and the due index."""
    path = tmp_path / "desk.sqlite3"
    first = SqliteTicketStore(path)
    first.save(worked(), expected_version=0, due_at=T0 + timedelta(hours=1))
    first.close()
    second = SqliteTicketStore(path)
    assert worked() == second.get("T-1")
    assert ["T-1"] == second.due(T0 + timedelta(hours=2))


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    """A file from a newer carekit is refused with the versions named."""
    path = tmp_path / "desk.sqlite3"
    store = SqliteTicketStore(path)
    store._db.execute("UPDATE carekit_meta SET value = '99' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(SchemaError, match="schema version 99") as info:
        SqliteTicketStore(path)
    assert (99, SCHEMA_VERSION) == (info.value.found, info.value.supported)


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    """The file is in WAL mode, so readers do not block the writer."""
    store = SqliteTicketStore(tmp_path / "desk.sqlite3")
    assert "wal" == store._db.execute("PRAGMA journal_mode").fetchone()[0]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_bulk_load(kind: str, tmp_path: Path) -> None:
    """load() inserts many tickets with their dues; the result reads like saved tickets."""
    store = InMemoryTicketStore() if kind == "memory" else SqliteTicketStore(tmp_path / "b.sqlite3")
    tickets = [(worked(f"T-{i}"), T0 + timedelta(minutes=i) if i % 2 else None) for i in range(6)]
    store.load(tickets)
    assert worked("T-3") == store.get("T-3")
    assert ["T-1", "T-3"] == store.due(T0 + timedelta(minutes=4))


def test_sqlite_bulk_load_refuses_taken_ids(tmp_path: Path) -> None:
    """A bulk load that meets a taken id writes nothing."""
    store = SqliteTicketStore(tmp_path / "b.sqlite3")
    store.save(worked("T-1"), expected_version=0)
    with pytest.raises(TicketExists):
        store.load([(worked("T-0"), None), (worked("T-1"), None)])
    with pytest.raises(TicketNotFound):
        store.get("T-0")


def test_sqlite_migrates_a_version_1_file(tmp_path: Path) -> None:
    """A file written before events kept their roles opens, and its events get them."""
    path = tmp_path / "v1.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE carekit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO carekit_meta VALUES ('schema_version', '1');
        CREATE TABLE tickets (id TEXT PRIMARY KEY, version INTEGER NOT NULL, next_due_at REAL);
        CREATE TABLE ticket_events (
            ticket_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
            actor TEXT, status_before TEXT NOT NULL, status_after TEXT NOT NULL,
            data TEXT NOT NULL, PRIMARY KEY (ticket_id, seq)) WITHOUT ROWID;
        INSERT INTO tickets VALUES ('T-1', 3, NULL);
        INSERT INTO ticket_events VALUES
            ('T-1', 0, 'created', '2026-03-02T09:00:00+00:00', NULL, 'new', 'new',
             '{"channel":{"$c":"email"},"customer_id":"c","priority":{"$p":2},"tags":{"$t":[]}}'),
            ('T-1', 1, 'resolve', '2026-03-02T10:00:00+00:00', NULL, 'new', 'resolved', '{}'),
            ('T-1', 2, 'customer_reply', '2026-03-02T11:00:00+00:00', NULL, 'resolved', 'open',
             '{}');
        """
    )
    db.close()
    store = SqliteTicketStore(path)
    ticket = store.get("T-1")
    assert [{Role.CREATED}, {Role.RESOLUTION}, {Role.CUSTOMER_MESSAGE, Role.REOPEN}] == [
        set(e.roles) for e in ticket.events
    ]
    version = store._db.execute("SELECT value FROM carekit_meta").fetchone()[0]
    assert str(SCHEMA_VERSION) == version


# -- faults: every SQLite failure is a StoreError that keeps its cause, and changes nothing --


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    """Junk where the database should be: a typed error naming the file, the cause kept."""
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is a spreadsheet, not a database" * 200)
    with pytest.raises(StoreError, match=r"junk\.sqlite3") as info:
        SqliteTicketStore(path)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_a_truncated_database_is_a_store_error(tmp_path: Path) -> None:
    """A file cut short (a disk that filled during a copy) is refused with a typed error."""
    path = tmp_path / "desk.sqlite3"
    store = SqliteTicketStore(path)
    for i in range(50):
        store.save(worked(f"T-{i}"), expected_version=0)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store._db.execute("PRAGMA journal_mode=DELETE")
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(StoreError):
        list(SqliteTicketStore(path))


def test_a_read_only_database_is_a_store_error_and_nothing_changes(tmp_path: Path) -> None:
    """Writes refused by the database (read-only) reach the host as StoreError."""
    store = SqliteTicketStore(tmp_path / "desk.sqlite3")
    store._db.execute("PRAGMA query_only = ON")  # what a read-only file or mount does to writes
    with pytest.raises(StoreError, match="readonly") as info:
        store.save(worked(), expected_version=0)
    assert "cannot rollback" not in str(info.value)
    store._db.execute("PRAGMA query_only = OFF")
    with pytest.raises(TicketNotFound):
        store.get("T-1")


def test_a_full_disk_is_a_store_error_with_the_real_cause(tmp_path: Path) -> None:
    """A database that cannot grow says so, not 'cannot rollback'; nothing is half-written."""
    store = SqliteTicketStore(tmp_path / "desk.sqlite3")
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 1}")
    big = Ticket.open("T-big", channel="email", customer_id="c", at=T0, body="x" * 100_000)
    with pytest.raises(StoreError, match="full") as info:
        store.save(big, expected_version=0)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    with pytest.raises(TicketNotFound):
        store.get("T-big")


def test_a_lock_held_beyond_the_timeout_is_a_store_error(tmp_path: Path) -> None:
    """Another writer holding the file longer than the timeout: a typed error, no hang."""
    path = tmp_path / "desk.sqlite3"
    store = SqliteTicketStore(path, timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="locked"):
            store.save(worked(), expected_version=0)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.save(worked(), expected_version=0)


def test_a_file_of_another_application_is_refused_untouched(tmp_path: Path) -> None:
    """Foreign tables and no carekit schema: refused, and the file is not changed (no WAL)."""
    path = tmp_path / "crm.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another application"):
        SqliteTicketStore(path)
    assert before == path.read_bytes()
    assert not (tmp_path / "crm.sqlite3-wal").exists()


# -- round trip or refuse -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"actor": 42}, "actor"),
        ({"actor": "ana\ud800"}, "actor"),
        ({"data": {"note": "broken \udc00 text"}}, "event data"),
        ({"data": {"\ud83d": "key"}}, "event data"),
    ],
)
def test_what_a_store_cannot_keep_is_refused_at_save(
    store: TicketStore, change: dict[str, Any], field: str
) -> None:
    """A non-text actor or text with lone surrogates is refused, by every store alike."""
    ticket = Ticket.open("T-1", channel="chat", customer_id="c", at=T0)
    bad = attrs.evolve(ticket.events[0], **change)
    with pytest.raises(InvalidValue) as info:
        store.save(attrs.evolve(ticket, events=(bad,)), expected_version=0)
    assert field == info.value.field
    with pytest.raises(TicketNotFound):
        store.get("T-1")


def test_any_valid_unicode_round_trips(store: TicketStore) -> None:
    """Scripts, emoji and characters outside the BMP come back as they were.

    In event data any text round-trips, NUL included; a name (an actor, an id)
    holds no NUL in any store (PostgreSQL's text cannot), refused at save.
    """
    text = "Halo \U0001f44b \u4f60\u597d \u0645\u0631\u062d\u0628\u0627 \U0001d518"
    body = text + " \u0000"
    ticket = Ticket.open("T-u", channel="chat", customer_id="c", at=T0, actor=text, body=body)
    store.save(ticket, expected_version=0)
    assert ticket == store.get("T-u")
    nul = Ticket.open("T-n", channel="chat", customer_id="c", at=T0, actor="dewi\u0000")
    with pytest.raises(InvalidValue, match="NUL"):
        store.save(nul, expected_version=0)
    with pytest.raises(TicketNotFound):
        store.get("T-n")


def test_bulk_load_refuses_a_naive_due_instant(store: TicketStore) -> None:
    """A naive due instant in a bulk load is refused before anything is written."""
    naive = datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(NaiveDatetimeError):
        store.load([(worked("T-0"), None), (worked("T-1"), naive)])  # type: ignore[attr-defined]
    with pytest.raises(TicketNotFound):
        store.get("T-0")


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8")),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=JSON)
def test_any_json_shaped_data_round_trips_exactly(tmp_path: Path, data: Any) -> None:
    """Any JSON-shaped event data, tag-shaped keys and any valid Unicode included."""
    store = SqliteTicketStore(tmp_path / "json.sqlite3")
    ticket_id = f"T-{uuid.uuid4()}"
    ticket = Ticket.open(ticket_id, channel="chat", customer_id="c", at=T0, payload=data)
    store.save(ticket, expected_version=0)
    assert ticket == store.get(ticket_id)
    store.close()


def test_an_id_a_store_cannot_keep_is_refused_and_cannot_be_found(store: TicketStore) -> None:
    """A ticket id with a lone surrogate: InvalidValue at save, TicketNotFound on get, alike."""
    ticket = Ticket.open("T-\ud800", channel="chat", customer_id="c", at=T0)
    with pytest.raises(InvalidValue) as info:
        store.save(ticket, expected_version=0)
    assert "id" == info.value.field
    with pytest.raises(TicketNotFound):
        store.get("T-\ud800")


def test_a_damaged_outbox_row_is_a_store_error(tmp_path: Path) -> None:
    """An outbox row that no longer decodes reaches the host as StoreError, with its cause."""
    store = SqliteTicketStore(tmp_path / "d.sqlite3")
    store._db.execute(
        "INSERT INTO outbox (kind, customer_id, at, event_id, data) "
        "VALUES ('ticket_opened', 'c', 0, NULL, 'not json')"
    )
    with pytest.raises(StoreError, match="outbox") as info:
        store.outbox()
    assert isinstance(info.value.__cause__, ValueError)
