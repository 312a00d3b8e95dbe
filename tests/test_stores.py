"""One contract, two stores: the in-memory fake and the SQLite store."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from carekit import Lifecycle, Priority, Role, Ticket
from carekit.exceptions import (
    ConcurrentUpdate,
    InvalidValue,
    SchemaError,
    TicketExists,
    TicketNotFound,
)
from carekit.i18n import Money
from carekit.protocols import TicketStore
from carekit.stores.memory import InMemoryTicketStore
from carekit.stores.sqlite import SCHEMA_VERSION, SqliteTicketStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
L = Lifecycle()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TicketStore]:
    if request.param == "memory":
        yield InMemoryTicketStore()
    else:
        sqlite = SqliteTicketStore(tmp_path / "desk.sqlite3")
        yield sqlite
        sqlite.close()


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
