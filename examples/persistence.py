"""The SQLite stores across a restart: nothing lost, nothing sent twice.

A desk and a campaign scheduler run on one SQLite file. Mid-way, the process
"restarts": every object is dropped, new ones open the same file, and work
continues exactly where it stopped.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from carekit import (
    AtBreach,
    Before,
    Customer,
    Desk,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
)
from carekit.campaigns import CampaignScheduler
from carekit.campaigns.recipes import csat_after_resolution
from carekit.stores.sqlite import SqliteJobStore, SqliteTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingHandler, RecordingSender

LADDER = EscalationPolicy(
    [
        EscalationLevel("warn", Before(Metric.FIRST_RESPONSE, 0.75), [Notify("agent")]),
        EscalationLevel("breach", AtBreach(Metric.FIRST_RESPONSE), [Notify("supervisor")]),
    ]
)
SITI = Customer("siti", name="Siti", locale="id", timezone="Asia/Jakarta", consent={"email"})


def open_all(
    db: Path, now: datetime
) -> tuple[Desk, CampaignScheduler, ManualClock, RecordingHandler, RecordingSender]:
    """Everything a worker process builds at start-up, on the same file."""
    clock = ManualClock(now)
    handler, sender = RecordingHandler(), RecordingSender()
    directory = InMemoryDirectory([SITI])
    desk = Desk(
        SqliteTicketStore(db), clock=clock, escalation=LADDER, handler=handler, directory=directory
    )
    care = CampaignScheduler(
        [csat_after_resolution()], SqliteJobStore(db), sender, directory, clock=clock
    )
    return desk, care, clock, handler, sender


def main(folder: Path | None = None) -> dict[str, list[str]]:
    """Run, restart, run again; return what each life of the process did."""
    db = (folder or Path(tempfile.mkdtemp())) / "desk.sqlite3"
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta

    desk, care, clock, _, _ = open_all(db, start)
    desk.open("E-1", channel="email", customer_id="siti")
    clock.set(start + timedelta(hours=3))
    desk.open("E-2", channel="email", customer_id="siti")
    clock.set(start + timedelta(hours=4))
    desk.apply("E-2", "agent_reply")
    desk.apply("E-2", "resolve")
    desk.drain_events(care.handle)  # the resolution, saved with the ticket, enrols the survey
    clock.set(start + timedelta(hours=19))
    first_life = [d.key for d in desk.tick()] + list(care.run_due().sent)
    print("before the restart:", *first_life, sep="\n  ")

    del desk, care  # the process stops; only the file remains
    desk, care, clock, _, _ = open_all(db, start + timedelta(hours=19))
    again = [d.key for d in desk.tick()] + list(care.run_due().sent)
    print(
        "after the restart, at the same instant:",
        *(again or ["(nothing: all done once)"]),
        sep="\n  ",
    )
    clock.set(start + timedelta(hours=25))
    second_life = [d.key for d in desk.tick()] + list(care.run_due().sent)
    print("later:", *second_life, sep="\n  ")
    print(f"tickets on file: {[t.id for t in desk.store]}")
    return {"first": first_life, "again": again, "second": second_life}


if __name__ == "__main__":
    main()
