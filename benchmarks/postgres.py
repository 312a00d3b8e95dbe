"""PostgreSQL: job claims and completions with 1, 2 and 4 worker processes, Desk.tick on a
large desk, and enqueueing, against the local server (CAREKIT_PG_DSN).

Each measurement runs in a schema of its own, dropped afterwards.

* jobs: N touches due now (bulk-enqueued), then W worker processes claim 100 at
  a time and complete them (a no-op "send") until none is left; claims and
  completions per second, and that no job ran twice. Two carekit modes: each
  send recorded before the next (the scheduler's default: a worker killed
  mid-round sends at most one message again), and one write a round
  (``batch_completions=True``: the whole round again; what pgqueuer's buffered
  completion log also risks).
* desk: T open tickets of which D are due, W processes ``Desk.tick`` until none
  is due; hand-overs per second, extra hand-overs (must be 0), and the due
  query's time on the full table.
* enqueue: bulk (``enqueue_many``, COPY) and one job at a time.

The job rows put carekit's job store beside the two PostgreSQL job queues the
issue names, doing the equivalent work in the same run on the same server: N
jobs enqueued in bulk, due now; W worker processes take them, run a no-op and
mark them done, until none is left. Each peer runs in a database of its own
(made and dropped here) with its recommended worker settings:

* pgqueuer: ``QueueManager.run(mode=drain)`` on a psycopg async connection,
  the default batch size (10) and also 100, the better of the two reported;
* procrastinate: ``run_worker_async(wait=False)``, with concurrency 1 (the
  default) and 10, the better reported.

Every job must run exactly once (a second run is counted as "twice").

Usage: ``python benchmarks/postgres.py [jobs] [tickets] [due] [bulk]`` (defaults
10,000, 200,000, 10,000 and 1,000,000; the issue's desk is 1,000,000 and 10,000).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
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


def _job_worker(name: str, batched: bool, start: Any, out: Any) -> None:
    store = PostgresJobStore(DSN, schema=name)
    keys: list[str] = []
    start.wait()
    while batch := store.claim(T0, limit=100, lease=timedelta(minutes=5)):
        if batched:  # CampaignScheduler(batch_completions=True): one write a round
            store.complete_many([(t.key, "sent") for t in batch], at=T0)
            keys += [t.key for t in batch]
            continue
        for touch in batch:  # the default: each send recorded before the next
            store.complete(touch.key, outcome="sent", at=T0)
            keys.append(touch.key)
    out.put((keys, time.time()))
    store.close()


def _parallel(target: Callable[..., None], workers: int, *args: Any) -> tuple[float, list[Any]]:
    """Run ``workers`` processes of ``target``; the seconds from their common start to the
    last job done, and what each returned.

    Each process sets up (imports, connections), waits at the start barrier, works, and
    puts ``(what it did, when it finished its last job)``: start-up and shut-down (a
    peer's drain check) are not timed, for carekit and the peers alike.
    """
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = ctx.Barrier(workers + 1)
    procs = [ctx.Process(target=target, args=(*args, start, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    start.wait(timeout=120)
    began = time.time()
    results: list[Any] = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            if any(p.exitcode not in {None, 0} for p in procs):
                raise RuntimeError("a worker process failed (its error is above)") from None
    for p in procs:
        p.join()
    return max(last for _, last in results) - began, [done for done, _ in results]


def carekit_jobs(n: int, workers: int, batched: bool) -> tuple[float, int, str]:
    """(jobs/s, run twice, mode) of carekit's job store."""
    with schema() as name:
        PostgresJobStore(DSN, schema=name).enqueue_many(_touches(n), enrolled_at=T0)
        elapsed, results = _parallel(_job_worker, workers, name, batched)
    keys = [k for r in results for k in r]
    assert len(set(keys)) == n, f"carekit ran {len(set(keys))} of {n} jobs"
    return n / elapsed, len(keys) - n, "batched" if batched else "each"


@contextmanager
def _database(tag: str) -> Iterator[str]:
    """A fresh database for a peer (its tables live in ``public``), dropped afterwards."""
    name = f"ck_bench_{tag}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield DSN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


async def _pgqueuer_setup(dsn: str, n: int) -> None:
    from pgqueuer import Queries
    from pgqueuer.adapters.drivers.psycopg import PsycopgDriver

    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    queries = Queries(PsycopgDriver(conn))
    await queries.install()
    for start in range(0, n, 10_000):
        size = min(10_000, n - start)
        await queries.enqueue(["send"] * size, [None] * size, [0] * size)
    await conn.close()


def _pgqueuer_worker(dsn: str, batch: int, start: Any, out: Any) -> None:
    import asyncio

    from pgqueuer import Queries, QueueManager
    from pgqueuer.adapters.drivers.psycopg import PsycopgDriver
    from pgqueuer.types import QueueExecutionMode

    done: list[int] = []
    last = [0.0]

    async def work() -> None:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        manager = QueueManager(Queries(PsycopgDriver(conn)))

        @manager.entrypoint("send")
        async def send(job: Any) -> None:
            done.append(int(job.id))
            last[0] = time.time()

        start.wait()
        await manager.run(batch_size=batch, mode=QueueExecutionMode.drain)

    asyncio.run(work())
    out.put((done, last[0]))


def _best_of(
    peer: str, setup: Any, worker: Callable[..., None], *, settings: dict[str, int], n: int,
    workers: int,
) -> tuple[float, int, str]:  # fmt: skip
    """(jobs/s, run twice, settings) of a peer's best setting: each in a fresh database."""
    import asyncio

    best = (0.0, 0, "")
    for label, value in settings.items():
        with _database(peer[:4]) as dsn:
            asyncio.run(setup(dsn, n))
            elapsed, results = _parallel(worker, workers, dsn, value)
        ids = [i for r in results for i in r]
        assert len(set(ids)) == n, f"{peer} ran {len(set(ids))} of {n} jobs"
        best = max(best, (n / elapsed, len(ids) - n, label))
    return best


def pgqueuer(n: int, workers: int) -> tuple[float, int, str]:
    """pgqueuer's better batch size."""
    settings = {"batch_size=10": 10, "batch_size=100": 100}
    return _best_of(
        "pgqueuer", _pgqueuer_setup, _pgqueuer_worker, settings=settings, n=n, workers=workers
    )


def _procrastinate_app(
    dsn: str, done: list[int] | None = None, last: list[float] | None = None
) -> Any:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="send", pass_context=True)
    async def send(context: Any) -> None:
        if done is not None and last is not None:
            done.append(int(context.job.id))
            last[0] = time.time()

    return app


async def _procrastinate_setup(dsn: str, n: int) -> None:
    app = _procrastinate_app(dsn)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        task = app.tasks["send"]
        for start in range(0, n, 10_000):
            await task.batch_defer_async(*[{}] * min(10_000, n - start))


def _procrastinate_worker(dsn: str, concurrency: int, start: Any, out: Any) -> None:
    import asyncio
    import logging

    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    done: list[int] = []
    last = [0.0]

    async def work() -> None:
        app = _procrastinate_app(dsn, done, last)
        async with app.open_async():
            start.wait()
            await app.run_worker_async(
                wait=False, concurrency=concurrency, install_signal_handlers=False
            )

    asyncio.run(work())
    out.put((done, last[0]))


def procrastinate(n: int, workers: int) -> tuple[float, int, str]:
    """procrastinate's better worker concurrency."""
    settings = {"concurrency=1": 1, "concurrency=10": 10}
    return _best_of(
        "procrastinate",
        _procrastinate_setup,
        _procrastinate_worker,
        settings=settings,
        n=n,
        workers=workers,
    )


def _version(package: str) -> str:
    from importlib.metadata import version

    return f"{package} {version(package)}"


def jobs(n: int) -> tuple[list[tuple[object, ...]], list[float]]:
    """Per worker count: carekit (each recorded, batched), the peers, the ratios."""
    rows: list[tuple[object, ...]] = []
    each_rates = []
    for workers in (1, 2, 4):
        each = carekit_jobs(n, workers, batched=False)
        batched = carekit_jobs(n, workers, batched=True)
        pgq = pgqueuer(n, workers)
        proc = procrastinate(n, workers)
        best = max(pgq[0], proc[0])
        twice = each[1] + batched[1] + pgq[1] + proc[1]
        rows.append((workers, each[0], batched[0], pgq[0], pgq[2], proc[0], proc[2], twice,
                     each[0] / best, batched[0] / best))  # fmt: skip
        each_rates.append(each[0])
    return rows, each_rates


def _tick_worker(name: str, start: Any, out: Any) -> None:
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
    start.wait()
    while desk.tick(limit=100).claimed:
        pass
    out.put((handed, time.time()))


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


def enqueue(n: int, one: int) -> list[tuple[object, ...]]:
    with schema() as name:
        store = PostgresJobStore(DSN, schema=name)
        touches = _touches(n)
        start = time.perf_counter()
        store.enqueue_many(touches, enrolled_at=T0)
        bulk = n / (time.perf_counter() - start)
    with schema() as name:
        store = PostgresJobStore(DSN, schema=name)
        touches = _touches(one)
        start = time.perf_counter()
        for t in touches:
            store.enqueue(t, enrolled_at=T0)
        single = one / (time.perf_counter() - start)
    return [("enqueue_many (COPY)", n, bulk), ("enqueue, one at a time", one, single)]


def _server_version() -> str:
    with psycopg.connect(DSN) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def main() -> None:
    n_jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    n_tickets = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    n_due = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    n_bulk = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
    print(f"{n_jobs:,} jobs; {_version('pgqueuer')}, {_version('procrastinate')}, "
          f"{_version('psycopg')}, PostgreSQL {_server_version()}")  # fmt: skip
    rows, each = jobs(n_jobs)
    headers = ["workers", "carekit/s", "batched/s", "pgqueuer/s", "(settings)",
               "procrastinate/s", "(settings)", "twice",
               "carekit / best", "batched / best"]  # fmt: skip
    print(table(headers, rows))
    print(f"carekit (each recorded) scaling: 1 -> 2 workers x{each[1] / each[0]:.2f}, "
          f"1 -> 4 x{each[2] / each[0]:.2f}")  # fmt: skip
    print()
    ticks, due_ms = desk(n_tickets, n_due)
    print(table(["workers", "open tickets", "due", "hand-overs/s", "extra"], ticks))
    print(f"\ndue query (first 1,000 of {n_due:,} due among {n_tickets:,}): {due_ms:.2f} ms")
    print()
    print(table(["enqueue", "jobs", "jobs/s"], enqueue(n_bulk, 2000)))


if __name__ == "__main__":
    main()
