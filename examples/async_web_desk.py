"""An asyncio care desk: FastAPI + AsyncDesk on PostgreSQL, with its worker as a background task.

The web API and the worker share one event loop and no threads: requests await
the desk, and the worker task (``AsyncDesk.run``) ticks whenever a save
announces a due instant (LISTEN/NOTIFY) or its poll comes round. A care-event
task feeds the campaigns. More processes (``uvicorn --workers 4``, other
machines) can run the same app on the same schema: claims keep each breach to
one worker.

Run it: ``CAREKIT_PG_DSN=postgresql://... uvicorn --factory examples.async_web_desk:create_app``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from carekit import (
    AtBreach,
    Before,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
    Ticket,
)
from carekit.aio import (
    AsyncCampaignScheduler,
    AsyncDesk,
    AsyncInMemoryJobStore,
    AsyncPostgresTicketStore,
)
from carekit.campaigns.recipes import csat_after_resolution
from carekit.exceptions import CarekitError
from carekit.testing import InMemoryDirectory, RecordingSender

LADDER = EscalationPolicy(
    [
        EscalationLevel("ringing", Before(Metric.FIRST_RESPONSE, 0.75), [Notify("floor")]),
        EscalationLevel("missed call", AtBreach(Metric.FIRST_RESPONSE), [Notify("supervisor")]),
    ]
)


class OnCall:
    """The host's async escalation handler: a page per key (a real one posts to a pager API)."""

    def __init__(self) -> None:
        self.pages: dict[str, int] = {}

    async def handle(self, escalation: Escalation, ticket: Ticket) -> None:
        """Page once per key; a repeat (after a crash) is recognised by its key."""
        await asyncio.sleep(0)  # the call to the pager's API
        self.pages[escalation.key] = self.pages.get(escalation.key, 0) + 1


class NewTicket(BaseModel):
    """The body of ``POST /tickets``."""

    id: str
    channel: str
    customer_id: str
    priority: str = "normal"
    at: datetime | None = None


class NewEvent(BaseModel):
    """The body of ``POST /tickets/{id}/events``."""

    trigger: str
    at: datetime | None = None
    actor: str | None = None
    idempotency_key: str | None = None
    data: dict[str, Any] = {}


def answer(error: CarekitError) -> HTTPException:
    """The HTTP answer a carekit error names by its ``http_status``."""
    return HTTPException(status_code=error.http_status, detail=error.to_dict())


def make_app(
    dsn: str, schema: str = "carekit", *, poll: timedelta = timedelta(seconds=30)
) -> FastAPI:
    """The app: the desk opens with the app, its worker tasks run beside the requests."""
    on_call = OnCall()
    store = AsyncPostgresTicketStore(dsn, schema=schema, create=True)
    desk = AsyncDesk(store, escalation=LADDER, handler=on_call)
    care = AsyncCampaignScheduler(
        [csat_after_resolution(timedelta(minutes=30))],
        AsyncInMemoryJobStore(),  # an AsyncPostgresJobStore in production
        RecordingSender(),
        InMemoryDirectory([]),
    )

    async def feed_campaigns(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await desk.drain_events(care.handle)
            await care.run_due()
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                continue

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        stop = asyncio.Event()
        workers = [
            asyncio.create_task(desk.run(stop, poll=poll)),
            asyncio.create_task(feed_campaigns(stop)),
        ]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*workers)
            await store.close()

    app = FastAPI(title="async care desk", lifespan=lifespan)
    app.state.on_call = on_call

    @app.post("/tickets", status_code=201)
    async def open_ticket(body: NewTicket) -> dict[str, Any]:
        try:
            ticket = await desk.open(
                body.id,
                channel=body.channel,
                customer_id=body.customer_id,
                priority=body.priority,
                at=body.at,
            )
        except CarekitError as error:
            raise answer(error) from error
        return {"id": ticket.id, "status": str(ticket.status)}

    @app.post("/tickets/{ticket_id}/events")
    async def post_event(ticket_id: str, body: NewEvent) -> dict[str, Any]:
        try:
            ticket = await desk.apply(
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
    async def sla(ticket_id: str) -> dict[str, Any]:
        try:
            report = await desk.report(ticket_id)
        except CarekitError as error:
            raise answer(error) from error
        return {
            str(m): {"state": str(c.state), "due_at": c.due_at.isoformat()}
            for m, c in report.items()
        }

    @app.get("/pages")
    async def pages() -> dict[str, int]:
        return dict(on_call.pages)

    return app


def create_app() -> FastAPI:
    """The app for ``uvicorn --factory``, on ``CAREKIT_PG_DSN`` (schema ``CAREKIT_SCHEMA``)."""
    return make_app(
        os.environ.get("CAREKIT_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        os.environ.get("CAREKIT_SCHEMA", "carekit"),
    )
