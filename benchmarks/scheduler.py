"""Campaign job stores against APScheduler 3's job stores, in one run.

Scheduled touches (one-shot jobs), of which 10,000 are due: the cost of
enqueueing, and due jobs run per second (claim or fetch, a trivial send,
complete or remove), for carekit's ``InMemoryJobStore`` and ``SqliteJobStore``
beside APScheduler 3's ``InMemoryJobStore`` and ``SQLAlchemyJobStore`` on SQLite.
A last row runs the whole ``CampaignScheduler.run_due`` pipeline (re-decide,
render in the customer's language, send) for reference.

APScheduler's SQLAlchemy store adds a job in about a millisecond, so it gets
fewer jobs (``peer_sql`` below) with the same 10,000 due.

Usage: ``python benchmarks/scheduler.py [scheduled] [peer_sql]``.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _table import table
from apscheduler.jobstores.memory import MemoryJobStore as ApsMemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from carekit import Customer
from carekit.campaigns import CampaignScheduler, Touch
from carekit.campaigns.recipes import csat_after_resolution
from carekit.protocols import JobStore
from carekit.stores.memory import InMemoryJobStore
from carekit.stores.sqlite import SqliteJobStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingSender

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DUE = 10_000
LEASE = timedelta(minutes=5)
SENT: list[str] = []


def send(key: str) -> None:
    """The trivial send both sides run for each due job."""
    SENT.append(key)


def touches(n: int) -> list[Touch]:
    """n touches; the first DUE are due at NOW, the rest spread over the next 30 days."""
    out = []
    for i in range(n):
        due = NOW - timedelta(seconds=DUE - i) if i < DUE else NOW + timedelta(seconds=i * 2)
        out.append(
            Touch(
                f"csat_after_resolution/c-{i}/0/e{i}",
                "csat_after_resolution",
                f"c-{i}",
                0,
                f"e{i}",
                due,
                "csat_survey",
                fields={"ticket_id": f"T-{i}"},
            )
        )
    return out


def run_carekit(store: JobStore, batch: int = 500) -> int:
    done = 0
    while claimed := store.claim(NOW, limit=batch, lease=LEASE):
        for t in claimed:
            send(t.key)
            store.complete(t.key, outcome="sent", at=NOW)
        done += len(claimed)
    return done


def carekit_memory(items: list[Touch]) -> tuple[float, float]:
    store = InMemoryJobStore()
    t = time.perf_counter()
    for touch in items:
        store.enqueue(touch, enrolled_at=NOW)
    add = (time.perf_counter() - t) / len(items)
    t = time.perf_counter()
    ran = run_carekit(store)
    return add, ran / (time.perf_counter() - t)


def carekit_sqlite(items: list[Touch], folder: Path) -> tuple[float, float, float]:
    store = SqliteJobStore(folder / "carekit.sqlite3")
    sample = items[:2_000]
    t = time.perf_counter()
    for touch in sample:
        store.enqueue(touch, enrolled_at=NOW)
    single = (time.perf_counter() - t) / len(sample)
    t = time.perf_counter()
    store.enqueue_many(items[len(sample) :], enrolled_at=NOW)
    bulk = (time.perf_counter() - t) / (len(items) - len(sample))
    t = time.perf_counter()
    ran = run_carekit(store)
    rate = ran / (time.perf_counter() - t)
    store.close()
    return single, bulk, rate


def aps(items: list[Touch], jobstore: Any) -> tuple[float, float]:
    scheduler = BackgroundScheduler(jobstores={"default": jobstore}, timezone=UTC)
    scheduler.start(paused=True)
    t = time.perf_counter()
    for touch in items:
        scheduler.add_job(send, "date", run_date=touch.due_at, id=touch.key, args=[touch.key])
    add = (time.perf_counter() - t) / len(items)
    store = scheduler._lookup_jobstore("default")
    t = time.perf_counter()
    ran = 0
    while due := store.get_due_jobs(NOW):
        for job in due:  # what the scheduler does for a one-shot job: run it, remove it
            job.func(*job.args)
            store.remove_job(job.id)
        ran += len(due)
    rate = ran / (time.perf_counter() - t)
    scheduler.remove_all_jobs()  # so that its thread has nothing to run as it stops
    scheduler.shutdown(wait=True)
    return add, rate


def pipeline(items: list[Touch]) -> float:
    store = InMemoryJobStore()
    for touch in items:
        store.enqueue(touch, enrolled_at=NOW)
    customers = [
        Customer(
            t.customer_id, name="Siti", locale="id", timezone="Asia/Jakarta", consent={"email"}
        )
        for t in items[:DUE]
    ]
    scheduler = CampaignScheduler(
        [csat_after_resolution()],
        store,
        RecordingSender(),
        InMemoryDirectory(customers),
        clock=ManualClock(NOW),
    )
    t = time.perf_counter()
    ran = 0
    while report := scheduler.run_due(limit=500):
        if not report.sent:
            break
        ran += len(report.sent)
    return ran / (time.perf_counter() - t)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_peer_sql = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    items = touches(n)
    gc.collect()
    ck_mem = carekit_memory(items)
    aps_mem = aps(items, ApsMemoryJobStore())
    with tempfile.TemporaryDirectory() as folder:
        ck_sql = carekit_sqlite(items, Path(folder))
        aps_sql = aps(items[:n_peer_sql], SQLAlchemyJobStore(url=f"sqlite:///{folder}/aps.sqlite3"))
    full = pipeline(items[: max(DUE, 50_000)])
    rows = [
        (
            "carekit InMemoryJobStore",
            n,
            ck_mem[0] * 1e6,
            ck_mem[1],
            aps_mem[0] / ck_mem[0],
            ck_mem[1] / aps_mem[1],
        ),
        ("APScheduler InMemoryJobStore", n, aps_mem[0] * 1e6, aps_mem[1], 1.0, 1.0),
        (
            "carekit SqliteJobStore (one by one)",
            2_000,
            ck_sql[0] * 1e6,
            ck_sql[2],
            aps_sql[0] / ck_sql[0],
            ck_sql[2] / aps_sql[1],
        ),
        (
            "carekit SqliteJobStore (enqueue_many)",
            n - 2_000,
            ck_sql[1] * 1e6,
            ck_sql[2],
            aps_sql[0] / ck_sql[1],
            ck_sql[2] / aps_sql[1],
        ),
        (
            "APScheduler SQLAlchemyJobStore (SQLite)",
            n_peer_sql,
            aps_sql[0] * 1e6,
            aps_sql[1],
            1.0,
            1.0,
        ),
        (
            "carekit CampaignScheduler.run_due (full)",
            DUE,
            float("nan"),
            full,
            float("nan"),
            full / aps_mem[1],
        ),
    ]
    print(f"{DUE:,} due of the scheduled jobs; same run\n")
    print(
        table(["", "scheduled", "µs per add", "due jobs/s", "add: peer/ck", "due/s: ck/peer"], rows)
    )
    print("\n(ratios above 1: carekit is faster; each carekit row against the APScheduler")
    print(" store of its kind; the last row against APScheduler's memory store)")


if __name__ == "__main__":
    main()
