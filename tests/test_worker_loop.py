"""Desk.run and CampaignScheduler.run: the worker loop, its waits and its wake-ups."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from carekit import (
    AtBreach,
    Desk,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
    SlaPolicy,
)
from carekit._worker import run_loop
from carekit.exceptions import StoreError
from carekit.stores.memory import InMemoryTicketStore
from carekit.stores.sqlite import SqliteTicketStore
from carekit.testing import ManualClock, RecordingHandler

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LADDER = EscalationPolicy(
    [EscalationLevel("missed", AtBreach(Metric.FIRST_RESPONSE), [Notify("lead")])]
)
ONE_SECOND = SlaPolicy("fast", {Metric.FIRST_RESPONSE: timedelta(seconds=1)})


def _in_thread(target: Any) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), daemon=True)
    thread.start()
    return thread, stop


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_worker_ticks_what_is_due_and_stops_when_told(kind: str, tmp_path: Path) -> None:
    """Due tickets are handed over by the loop; setting stop ends it."""
    store = InMemoryTicketStore() if kind == "memory" else SqliteTicketStore(tmp_path / "d.db")
    handler = RecordingHandler()
    desk = Desk(store, clock=ManualClock(T0 + timedelta(minutes=5)), escalation=LADDER,
                handler=handler)  # fmt: skip
    for i in range(30):
        desk.open(f"C-{i}", channel="phone", customer_id="c", at=T0)
    thread, stop = _in_thread(lambda stop: desk.run(stop, poll=timedelta(seconds=0.05)))
    deadline = time.monotonic() + 30
    while len(handler.handled) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert 30 == len({e.key for e in handler.handled}) == len(handler.handled)


def test_a_store_error_is_waited_out() -> None:
    """The database goes away for two steps: the loop pauses and goes on; it does not stop."""
    calls = {"n": 0}
    stop = threading.Event()

    def step() -> bool:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise StoreError("db", "claim", "connection refused")
        if calls["n"] >= 5:
            stop.set()
        return calls["n"] == 3

    assert 1 == run_loop(step, None, stop, timedelta(seconds=0.01))
    assert calls["n"] == 5


def test_an_announced_due_instant_wakes_the_worker_then() -> None:
    """wait() says work is due in 0.2 s: the loop sleeps until then, not for the whole poll."""
    stop = threading.Event()
    steps: list[float] = []
    waits: list[float] = []

    def step() -> bool:
        steps.append(time.time())
        if len(steps) == 3:
            stop.set()
        return False

    def wait(timeout: float) -> float | None:
        waits.append(timeout)
        return time.time() + 0.2 if len(waits) == 1 else None

    run_loop(step, wait, stop, timedelta(hours=1))
    assert waits[0] == 1.0  # a slice of the hour: the loop looks at its stop event each second
    assert waits[1] <= 0.2  # then it waits only until the announced instant


@pytest.fixture
def pg_desks(pg_dsn: str, pg_schema: str) -> Iterator[tuple[Desk, Desk, RecordingHandler]]:
    from carekit.stores.postgres import PostgresTicketStore  # noqa: PLC0415

    handler = RecordingHandler()
    worker_store = PostgresTicketStore(pg_dsn, schema=pg_schema, create=True)
    web_store = PostgresTicketStore(pg_dsn, schema=pg_schema)
    worker = Desk(worker_store, policies=ONE_SECOND, escalation=LADDER, handler=handler)
    web = Desk(web_store, policies=ONE_SECOND, escalation=LADDER)  # the same set-up
    yield worker, web, handler
    worker_store.close()
    web_store.close()


def test_on_postgres_a_save_wakes_a_worker_long_before_its_poll(
    pg_desks: tuple[Desk, Desk, RecordingHandler],
) -> None:
    """LISTEN/NOTIFY: a worker polling once an hour hands a 1 s breach over within seconds.

    (The bound is the test's patience, 60 s, not a timing: without the announcement
    the worker would sleep for its hour.)
    """
    worker, web, handler = pg_desks
    thread, stop = _in_thread(lambda stop: worker.run(stop, poll=timedelta(hours=1)))
    time.sleep(1.0)  # the worker has ticked, found nothing, and listens
    web.open("C-1", channel="phone", customer_id="c")  # another connection's save, due in 1 s
    deadline = time.monotonic() + 60
    while not handler.handled and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=10)
    assert ["C-1/missed/first_response/1"] == [e.key for e in handler.handled]
