"""Real worker processes on one database: nothing lost, nothing doubled, kill -9 too.

Each test runs on SQLite (one file) and on PostgreSQL (a schema of the local server).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from . import _workers

TICKETS = 2000


def expected(tickets: int) -> set[str]:
    return {f"C-{i}/missed/first_response/1" for i in range(tickets)}


def handed(log: Path) -> list[str]:
    db = sqlite3.connect(log, timeout=30)
    try:
        return [r[0] for r in db.execute("SELECT key FROM handed")]
    except sqlite3.OperationalError:  # a worker made the file and not yet its table
        return []
    finally:
        db.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the workers keep tickets and jobs: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "desk.sqlite3")
    return f"{request.getfixturevalue('pg_dsn')}|{request.getfixturevalue('pg_schema')}"


def test_four_workers_hand_every_breach_over_once(tmp_path: Path, database: str) -> None:
    """4 processes ticking one database with 2,000 tickets due: 0 lost, 0 extra."""
    db, log = database, str(tmp_path / "log.sqlite3")
    _workers.seed_desk(db, TICKETS)
    now = (_workers.DESK_T0 + timedelta(minutes=1)).timestamp()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_workers.tick_worker, args=(db, log, now)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert 0 == w.exitcode
    keys = handed(Path(log))
    assert expected(TICKETS) == set(keys)
    assert TICKETS == len(keys)


def _kill_run(
    tmp_path: Path, database: str, kills: int, seed: int, tickets: int
) -> tuple[list[str], int]:
    """Workers killed with SIGKILL at random moments, restarted, then one finishes the work.

    Every round seeds more tickets, so that each kill lands while there is work.
    """
    db, log = database, str(tmp_path / "log.sqlite3")
    now = (_workers.DESK_T0 + timedelta(minutes=1)).timestamp()
    ctx = multiprocessing.get_context("spawn")
    rng = random.Random(seed)
    done = 0
    seeded = 0
    while done < kills:
        _workers.seed_desk(db, tickets, first=seeded)
        seeded += tickets
        pair = [ctx.Process(target=_workers.tick_worker, args=(db, log, now)) for _ in range(2)]
        for w in pair:
            w.start()
        started = len(handed(Path(log))) if Path(log).exists() else 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for the round's work to begin, then strike
            if Path(log).exists() and len(handed(Path(log))) > started:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.1))
        victim = rng.choice(pair)
        if victim.is_alive():
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            done += 1
        for w in pair:
            w.join(timeout=120)
    # the leases of the killed workers run out: a last worker finishes what they held
    last = ctx.Process(target=_workers.tick_worker, args=(db, log, now + 61))
    last.start()
    last.join(timeout=120)
    assert 0 == last.exitcode
    keys = handed(Path(log))
    assert expected(seeded) == set(keys)
    return keys, done


def test_kill_9_loses_nothing_and_doubles_at_most_once_per_kill(
    tmp_path: Path, database: str
) -> None:
    """A handful of kills: every breach handed over; extras at most one per kill, same key."""
    keys, kills = _kill_run(tmp_path, database, kills=3, seed=1, tickets=400)
    assert len(keys) - len(set(keys)) <= kills


@pytest.mark.slow
def test_fifty_kills_lose_nothing(tmp_path: Path, database: str) -> None:
    """The long fault-injection run: 50 kills."""
    keys, kills = _kill_run(tmp_path, database, kills=50, seed=2, tickets=400)
    assert len(keys) - len(set(keys)) <= kills


def test_four_schedulers_send_every_survey_once(tmp_path: Path, database: str) -> None:
    """4 processes running CampaignScheduler.run_due on one job store: each survey sent once."""
    jobs = database if "|" in database else str(tmp_path / "jobs.sqlite3")
    sent = str(tmp_path / "sent.sqlite3")
    resolved = _workers.DESK_T0
    last_due = _workers.seed_jobs(jobs, sent, 300, resolved.timestamp())
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_workers.run_due_worker, args=(jobs, sent, last_due + 60))
        for _ in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert 0 == w.exitcode
    rows = sqlite3.connect(sent).execute("SELECT key, attempts FROM sent").fetchall()
    assert 300 == len(rows)
    assert {1} == {attempts for _, attempts in rows}


@pytest.mark.slow
def test_workers_survive_a_postgres_restart(tmp_path: Path, pg_dsn: str, pg_schema: str) -> None:
    """The server restarts under two ticking workers: they reconnect and go on; nothing lost.

    An escalation handed over just before its save failed is handed over again (at
    least once, same key): at most one extra per worker.
    """
    db, log = f"{pg_dsn}|{pg_schema}", str(tmp_path / "log.sqlite3")
    _workers.seed_desk(db, 3000)
    now = (_workers.DESK_T0 + timedelta(minutes=1)).timestamp()
    ctx = multiprocessing.get_context("spawn")
    pair = [
        ctx.Process(target=_workers.tick_worker, args=(db, log, now), kwargs={"resilient": True})
        for _ in range(2)
    ]
    for w in pair:
        w.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(handed(Path(log))) < 200:
        time.sleep(0.01)
    cluster = next(Path("/etc/postgresql").iterdir()).name
    before = len(handed(Path(log)))
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
        check=True,
        timeout=120,
    )
    assert before < 3000  # the restart came in the middle of the work
    for w in pair:
        w.join(timeout=180)
        assert 0 == w.exitcode
    last = ctx.Process(target=_workers.tick_worker, args=(db, log, now + 61))
    last.start()
    last.join(timeout=120)
    assert 0 == last.exitcode
    keys = handed(Path(log))
    assert expected(3000) == set(keys)
    assert len(keys) - len(set(keys)) <= 2
