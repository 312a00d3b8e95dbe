"""AsyncDesk: the desk for asyncio hosts, running the very steps of :class:`~carekit.Desk`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from carekit._check import check_count, checked
from carekit._desk import DeskCore, TickResult
from carekit._effects import drive_async
from carekit._model import CareEvent, Channel, Priority, Ticket
from carekit._sla_report import SlaReport
from carekit._worker import AsyncStop, run_loop_async
from carekit.protocols import AsyncTicketStore, TemplateRenderer

if TYPE_CHECKING:
    from carekit.i18n import Message

__all__ = ["AsyncDesk"]


class AsyncDesk(DeskCore):
    """:class:`~carekit.Desk` for async hosts: the same operations, as coroutines.

    It takes the arguments of :class:`~carekit.Desk`, with an async store
    (:class:`~carekit.aio.AsyncPostgresTicketStore`,
    :class:`~carekit.aio.AsyncInMemoryTicketStore`, or your own
    :class:`~carekit.protocols.AsyncTicketStore`). The handler and the
    directory may be async or plain. Both desks run the same steps
    (:mod:`carekit._effects`), so they decide alike and promise the same:
    claims with leases, hand-over once in normal operation, the same key
    after a crash, one ticket's failure never stopping the others.
    """

    store: AsyncTicketStore

    @checked
    async def open(
        self,
        ticket_id: str,
        *,
        channel: Channel | str,
        customer_id: str,
        priority: Priority | int | str = Priority.NORMAL,
        at: datetime | None = None,
        **data: Any,
    ) -> Ticket:
        """Open a ticket now (or ``at``), as :meth:`Desk.open <carekit.Desk.open>`."""
        steps = self._open(
            ticket_id, channel=channel, customer_id=customer_id, priority=priority, at=at, data=data
        )
        return await drive_async(steps)

    @checked
    async def apply(
        self,
        ticket_id: str,
        trigger: str,
        *,
        at: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
        **data: Any,
    ) -> Ticket:
        """Apply ``trigger`` at its place in time, as :meth:`Desk.apply <carekit.Desk.apply>`."""
        steps = self._apply(
            ticket_id, trigger, at=at, actor=actor, idempotency_key=idempotency_key, data=data
        )
        return await drive_async(steps)

    @checked
    async def report(self, ticket_id: str, now: datetime | None = None) -> SlaReport:
        """The SLA report of a stored ticket at ``now`` (default: the clock's)."""
        return await drive_async(self._report(ticket_id, now))

    @checked
    async def send_later(self, ticket_id: str, *, now: datetime | None = None) -> datetime:
        """When an agent's reply should reach the customer: :meth:`carekit.Desk.send_later`."""
        return await drive_async(self._send_later(ticket_id, now))

    @checked
    async def eta_message(
        self,
        ticket_id: str,
        *,
        renderer: TemplateRenderer | None = None,
        template: str = "eta_notice",
        default_locale: str = "en",
        now: datetime | None = None,
        eta: datetime | None = None,
    ) -> Message:
        """The new estimated time, as :meth:`Desk.eta_message <carekit.Desk.eta_message>`."""
        steps = self._eta_message(
            ticket_id,
            renderer=renderer,
            template=template,
            default_locale=default_locale,
            now=now,
            eta=eta,
        )
        return await drive_async(steps)

    @checked
    async def tick(self, now: datetime | None = None, *, limit: int = 1000) -> TickResult:
        """Claim due tickets, hand escalations over, save: :meth:`Desk.tick <carekit.Desk.tick>`."""
        return await drive_async(self._tick(now, limit))

    @checked
    async def run(
        self,
        stop: AsyncStop,
        *,
        poll: timedelta = timedelta(seconds=30),
        limit: int = 1000,
    ) -> int:
        """A worker task's loop: tick until ``stop`` (an ``asyncio.Event``) is set.

        As :meth:`Desk.run <carekit.Desk.run>`: after an idle tick it waits for
        ``poll`` or for a due instant announced by the store (LISTEN/NOTIFY on
        PostgreSQL); a store error is waited out. Returns how many ticks
        claimed work. Start it as a task beside your web app.
        """
        check_count("limit", limit)

        async def step() -> bool:
            return bool((await self.tick(limit=limit)).claimed)

        return await run_loop_async(step, getattr(self.store, "wait", None), stop, poll)

    @checked
    async def drain_events(self, handle: Callable[[CareEvent], object], *, limit: int = 100) -> int:
        """Hand the outbox's care events to ``handle`` (sync or async), oldest first.

        As :meth:`Desk.drain_events <carekit.Desk.drain_events>`; an async
        scheduler's ``handle`` is awaited.
        """
        return await drive_async(self._drain(handle, limit))
