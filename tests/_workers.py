"""Worker processes for the scheduler's crash and concurrency tests (spawned)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from carekit import (
    AtBreach,
    Channel,
    Customer,
    Desk,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
    Ticket,
)
from carekit.campaigns import CampaignScheduler, CareEvent
from carekit.campaigns.recipes import csat_after_resolution
from carekit.exceptions import StoreError
from carekit.i18n import Message
from carekit.protocols import JobStore, TicketStore
from carekit.stores.sqlite import SqliteJobStore, SqliteTicketStore
from carekit.testing import InMemoryDirectory, ManualClock

CUSTOMER = Customer("c-1", name="Siti", locale="id", timezone="Asia/Jakarta", consent={"email"})
CUSTOMERS = [CUSTOMER] + [
    Customer(f"k-{i}", name="Budi", locale="id", timezone="Asia/Jakarta", consent={"email"})
    for i in range(400)
]


def ticket_store(spec: str) -> TicketStore:
    """The store a spec names: a SQLite file, or ``postgresql://...|schema``."""
    if spec.startswith("postgresql://"):
        from carekit.stores.postgres import PostgresTicketStore  # noqa: PLC0415

        dsn, schema = spec.split("|")
        return PostgresTicketStore(dsn, schema=schema, create=True)
    return SqliteTicketStore(spec)


def job_store(spec: str) -> JobStore:
    """The job store a spec names (as :func:`ticket_store`)."""
    if spec.startswith("postgresql://"):
        from carekit.stores.postgres import PostgresJobStore  # noqa: PLC0415

        dsn, schema = spec.split("|")
        return PostgresJobStore(dsn, schema=schema, create=True)
    return SqliteJobStore(spec)


class SqliteSender:
    """A de-duplicating sender whose record survives processes: one row per key."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, attempts INTEGER)")

    def send(self, message: Message, *, customer: Customer, channel: Channel, key: str) -> None:
        self.db.execute(
            "INSERT INTO sent VALUES (?, 1) "
            "ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1",
            (key,),
        )


class DyingSender(SqliteSender):
    """Sends, then the process dies before the job can be completed."""

    def send(self, message: Message, *, customer: Customer, channel: Channel, key: str) -> None:
        super().send(message, customer=customer, channel=channel, key=key)
        os._exit(17)


def scheduler(jobs: str, sent: str, now: datetime, *, dying: bool = False) -> CampaignScheduler:
    sender = DyingSender(sent) if dying else SqliteSender(sent)
    return CampaignScheduler(
        [csat_after_resolution()],
        job_store(jobs),
        sender,
        InMemoryDirectory(CUSTOMERS),
        clock=ManualClock(now),
    )


def run_and_die(jobs: str, sent: str, now_ts: float) -> None:
    """Claim, send, and die before completing."""
    scheduler(jobs, sent, datetime.fromtimestamp(now_ts, UTC), dying=True).run_due()


def claim_all(jobs: str, out: str, now_ts: float) -> None:
    """Claim in small batches until nothing is left; write what this process got."""
    store = job_store(jobs)
    now = datetime.fromtimestamp(now_ts, UTC)
    got: list[str] = []
    while batch := store.claim(now, limit=5, lease=timedelta(minutes=5)):
        got += [t.key for t in batch]
    Path(out).write_text(json.dumps(got), encoding="utf-8")


# -- desk workers ---------------------------------------------------------------------------

DESK_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class KeyLog:
    """An escalation handler whose record survives processes: one row per hand-over."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS handed (key TEXT, pid INTEGER)")

    def handle(self, escalation: object, ticket: object) -> None:
        self.db.execute("INSERT INTO handed VALUES (?, ?)", (escalation.key, os.getpid()))  # type: ignore[attr-defined]


def seed_desk(db: str, tickets: int, first: int = 0) -> None:
    """Store ``tickets`` phone calls opened at DESK_T0, due at their 30 s breach."""
    store = ticket_store(db)
    store.load(  # type: ignore[attr-defined]
        (
            Ticket.open(f"C-{i}", channel="phone", customer_id="c", at=DESK_T0),
            DESK_T0 + timedelta(seconds=30),
        )
        for i in range(first, first + tickets)
    )
    store.close()  # type: ignore[attr-defined]


def tick_worker(
    db: str, log: str, now_ts: float, lease_s: float = 60.0, *, resilient: bool = False
) -> None:
    """Tick one desk until nothing is due and unclaimed.

    ``resilient``: as a production worker loop does, a StoreError (the database
    went away) is waited out and the tick tried again.
    """
    ladder = EscalationPolicy(
        [EscalationLevel("missed", AtBreach(Metric.FIRST_RESPONSE), [Notify("lead")])]
    )
    desk = Desk(
        ticket_store(db),
        clock=ManualClock(datetime.fromtimestamp(now_ts, UTC)),
        escalation=ladder,
        handler=KeyLog(log),
        lease=timedelta(seconds=lease_s),
    )
    failures = 0
    while True:
        try:
            if not desk.tick(limit=20).claimed:
                return
        except StoreError:
            failures += 1
            if not resilient or failures > 300:
                raise
            time.sleep(0.1)


def seed_jobs(jobs: str, sent: str, customers: int, resolved_ts: float) -> float:
    """One CSAT survey for each of the first ``customers``; return when the last is due."""
    resolved = datetime.fromtimestamp(resolved_ts, UTC)
    planner = scheduler(jobs, sent, resolved)
    due = [
        touch.due_at
        for i in range(customers)
        for touch in planner.handle(
            CareEvent(
                "ticket_resolved", f"k-{i}", resolved, id=f"T-{i}", data={"ticket_id": f"T-{i}"}
            )
        )
    ]
    return max(due).timestamp()


def run_due_worker(jobs: str, sent: str, now_ts: float) -> None:
    """Run the scheduler's due jobs until a round hands nothing over."""
    worker = scheduler(jobs, sent, datetime.fromtimestamp(now_ts, UTC))
    while True:
        report = worker.run_due(limit=20)
        if not (report.sent or report.deferred or report.suppressed or report.failed):
            return
