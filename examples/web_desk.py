"""A care desk behind a web API, with a worker ticking beside it: carekit in a real host.

The phone system and the helpdesk's front end post to a FastAPI app; one or
more workers tick the same SQLite file every few seconds, hand escalations to
the on-call channel and feed care events to the campaigns. Everything a real
host meets is here: threads (the web server's), late webhooks (a pickup
reported after the warning went out), retried webhooks (idempotency keys),
duplicate ids, and carekit's typed errors turned into HTTP status codes.

Run it: ``uvicorn --factory examples.web_desk:create_app`` (``CAREKIT_DB``
names the file), and ``python -m examples.web_desk worker`` beside it.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from carekit import (
    AtBreach,
    Before,
    Desk,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
    Ticket,
)
from carekit.campaigns import CampaignScheduler
from carekit.campaigns.recipes import csat_after_resolution
from carekit.exceptions import (
    CarekitError,
)
from carekit.protocols import Clock
from carekit.stores.memory import InMemoryJobStore
from carekit.stores.sqlite import SqliteTicketStore
from carekit.testing import InMemoryDirectory, RecordingSender

LADDER = EscalationPolicy(
    [
        EscalationLevel("ringing", Before(Metric.FIRST_RESPONSE, 0.75), [Notify("floor")]),
        EscalationLevel("missed call", AtBreach(Metric.FIRST_RESPONSE), [Notify("supervisor")]),
    ]
)


class OnCall:
    """The host's escalation handler: here, a list a dashboard would show (deduped by key)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[str, Escalation] = {}

    def handle(self, escalation: Escalation, ticket: Ticket) -> None:
        """Page the on-call person once per key."""
        with self.lock:
            self.seen.setdefault(escalation.key, escalation)


class NewTicket(BaseModel):
    """The body of ``POST /tickets``."""

    id: str
    channel: str
    customer_id: str
    priority: str = "normal"


class NewEvent(BaseModel):
    """The body of ``POST /tickets/{id}/events``: a trigger, when it happened, its data."""

    trigger: str
    at: datetime | None = None
    actor: str | None = None
    idempotency_key: str | None = None
    data: dict[str, Any] = {}


def make_desk(db: Path, handler: OnCall | None = None, clock: Clock | None = None) -> Desk:
    """The desk every process of the host builds on the shared file (the system clock)."""
    return Desk(SqliteTicketStore(db), clock=clock, escalation=LADDER, handler=handler or OnCall())


def make_app(desk: Desk) -> FastAPI:
    """The web API: a thin layer over the desk, one store shared by the server's threads."""
    app = FastAPI(title="care desk")

    def answer(error: CarekitError) -> HTTPException:
        return HTTPException(status_code=error.http_status, detail=error.to_dict())

    @app.post("/tickets", status_code=201)
    def open_ticket(body: NewTicket) -> dict[str, Any]:
        try:
            ticket = desk.open(
                body.id, channel=body.channel, customer_id=body.customer_id, priority=body.priority
            )
        except CarekitError as error:
            raise answer(error) from error
        return {"id": ticket.id, "status": str(ticket.status)}

    @app.post("/tickets/{ticket_id}/events")
    def post_event(ticket_id: str, body: NewEvent) -> dict[str, Any]:
        try:
            ticket = desk.apply(
                ticket_id,
                body.trigger,
                at=body.at,
                actor=body.actor,
                idempotency_key=body.idempotency_key,
                **body.data,
            )
        except CarekitError as error:
            raise answer(error) from error
        return {"id": ticket.id, "status": str(ticket.status), "version": ticket.version}

    @app.get("/tickets/{ticket_id}/sla")
    def sla(ticket_id: str) -> dict[str, Any]:
        try:
            report = desk.report(ticket_id)
        except CarekitError as error:
            raise answer(error) from error
        return {
            str(metric): {"state": str(clock.state), "due_at": clock.due_at.isoformat()}
            for metric, clock in report.items()
        }

    return app


def work(desk: Desk, care: CampaignScheduler, stop: threading.Event, every: float = 1.0) -> None:
    """The worker loop: tick, feed care events to the campaigns, send what is due."""
    while not stop.is_set():
        result = desk.tick()
        for failure in result.failures:
            print(f"worker: {failure.ticket_id} failed: {failure.error}", file=sys.stderr)
        desk.drain_events(care.handle)
        care.run_due()
        stop.wait(every)


def campaigns(desk: Desk) -> CampaignScheduler:
    """The campaigns the worker runs (a CSAT survey after each resolution)."""
    return CampaignScheduler(
        [csat_after_resolution(timedelta(seconds=1))],
        InMemoryJobStore(),
        RecordingSender(),
        InMemoryDirectory([]),
        clock=desk.clock,
    )


def create_app() -> FastAPI:
    """The app for ``uvicorn --factory``, on the file ``CAREKIT_DB`` names."""
    return make_app(make_desk(Path(os.environ.get("CAREKIT_DB", "desk.sqlite3"))))


if __name__ == "__main__" and sys.argv[1:] == ["worker"]:
    worker_desk = make_desk(Path(os.environ.get("CAREKIT_DB", "desk.sqlite3")))
    work(worker_desk, campaigns(worker_desk), threading.Event())
