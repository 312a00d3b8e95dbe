"""PostgreSQL: job claims and completions with 1, 2 and 4 worker processes, Desk.tick on a
large desk, and enqueueing, against the local server (CAREKIT_PG_DSN).

Each measurement runs in a schema of its own, dropped afterwards.

* jobs: N touches due now (bulk-enqueued), then W worker processes claim 100 at
  a time and complete each (a no-op "send") until none is left; claims and
  completions per second, and that no job was claimed twice.
* desk: T open tickets of which D are due, W processes ``Desk.tick`` until none
  is due; hand-overs per second, extra hand-overs (must be 0), and the due
  query's time on the full table.
* enqueue: bulk (``enqueue_many``, COPY) and one job at a time.

The peers the issue names (pgqueuer, procrastinate) are not measured yet: this
prints carekit's own figures.

Usage: ``python benchmarks/postgres.py [jobs] [tickets] [due]`` (defaults
20,000, 200,000 and 10,000; the issue's desk is 1,000,000 and 10,000).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from _table import table

from carekit import AtBreach, Desk, EscalationLevel, EscalationPolicy, Metric, Notify, Ticket
from carekit.campaigns import Touch
from carekit.stores.postgres import PostgresJobStore, PostgresTicketStore, upgrade
from carekit.testing import ManualClock

DSN = os.environ.get("CAREKIT_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LADDER = EscalationPolicy(
    [EscalationLevel("missed", AtBreach(Metric.FIRST_RESPONSE), [Notify("lead")])]
)


@contextmanager
def schema() -> Iterator[str]:
    name = f"ck_bench_{uuid.uuid4().hex[:8]}"
    upgrade(DSN, name)
    try:
        yield name
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def _touches(n: int) -> list[Touch]:
    return [Touch(f"b/c-{i}/0/o", "b", f"c-{i}", 0, "o", T0, "tips") for i in range(n)]


def _job_worker(name: str, out: Any) -> None:
    store = PostgresJobStore(DSN, schema=name)
    keys: list[str] = []
    while batch := store.claim(T0, limit=100, lease=timedelta(minutes=5)):
        for touch in batch:
            store.complete(touch.key, outcome="sent", at=T0)
            keys.append(touch.key)
    out.put(keys)
    store.close()


def _parallel(target: Callable[..., None], workers: int, *args: Any) -> tuple[float, list[Any]]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, out)) for _ in range(workers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    return elapsed, results


def jobs(n: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for workers in (1, 2, 4):
        with schema() as name:
            PostgresJobStore(DSN, schema=name).enqueue_many(_touches(n), enrolled_at=T0)
            elapsed, results = _parallel(_job_worker, workers, name)
            keys = [k for r in results for k in r]
            rows.append((workers, n, n / elapsed, len(keys) - len(set(keys))))
    return rows


def _tick_worker(name: str, out: Any) -> None:
    handed: list[str] = []

    class Log:
        def handle(self, escalation: Any, ticket: Any) -> None:
            handed.append(escalation.key)

    desk = Desk(
        PostgresTicketStore(DSN, schema=name),
        clock=ManualClock(T0 + timedelta(minutes=1)),
        escalation=LADDER,
        handler=Log(),
    )
    while desk.tick(limit=100).claimed:
        pass
    out.put(handed)


def desk(tickets: int, due: int) -> tuple[list[tuple[object, ...]], float]:
    rows: list[tuple[object, ...]] = []
    due_ms = 0.0
    for workers in (1, 2, 4):
        with schema() as name:
            store = PostgresTicketStore(DSN, schema=name)
            later = T0 + timedelta(days=30)
            store.load(
                (
                    Ticket.open(f"C-{i}", channel="phone", customer_id="c", at=T0),
                    T0 + timedelta(seconds=30) if i < due else later,
                )
                for i in range(tickets)
            )
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(f"ANALYZE {name}.tickets")
            start = time.perf_counter()
            store.due(T0 + timedelta(minutes=1), limit=1000)
            due_ms = (time.perf_counter() - start) * 1e3
            elapsed, results = _parallel(_tick_worker, workers, name)
            keys = [k for r in results for k in r]
            rows.append((workers, tickets, due, due / elapsed, len(keys) - len(set(keys))))
            store.close()
    return rows, due_ms


def enqueue(n: int) -> list[tuple[object, ...]]:
    with schema() as name:
        store = PostgresJobStore(DSN, schema=name)
        start = time.perf_counter()
        store.enqueue_many(_touches(n), enrolled_at=T0)
        bulk = n / (time.perf_counter() - start)
    with schema() as name:
        store = PostgresJobStore(DSN, schema=name)
        one = min(n, 2000)
        touches = _touches(one)
        start = time.perf_counter()
        for t in touches:
            store.enqueue(t, enrolled_at=T0)
        single = one / (time.perf_counter() - start)
    return [("enqueue_many (COPY)", n, bulk), ("enqueue, one at a time", one, single)]


def main() -> None:
    n_jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    n_tickets = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    n_due = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    print(table(["workers", "jobs", "claimed+completed/s", "claimed twice"], jobs(n_jobs)))
    print()
    rows, due_ms = desk(n_tickets, n_due)
    print(table(["workers", "open tickets", "due", "hand-overs/s", "extra"], rows))
    print(f"\ndue query (first 1,000 of {n_due:,} due among {n_tickets:,}): {due_ms:.2f} ms")
    print()
    print(table(["enqueue", "jobs", "jobs/s"], enqueue(n_jobs)))


if __name__ == "__main__":
    main()
