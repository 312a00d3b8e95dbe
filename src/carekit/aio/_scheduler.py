"""AsyncCampaignScheduler: the scheduler for asyncio hosts, on the steps of the sync one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from carekit._check import check_count, checked
from carekit._effects import drive_async
from carekit._model import CareEvent, Customer
from carekit._worker import AsyncStop, run_loop_async
from carekit.campaigns._planning import Campaign, Touch
from carekit.campaigns._scheduler import RunReport, SchedulerCore
from carekit.protocols import AsyncJobStore

__all__ = ["AsyncCampaignScheduler"]


class AsyncCampaignScheduler(SchedulerCore):
    """:class:`~carekit.campaigns.CampaignScheduler` for async hosts, as coroutines.

    It takes the arguments of the sync scheduler, with an async job store; the
    sender and the directory may be async or plain. Both schedulers run the
    same steps, so they enrol, decide, defer, suppress and send alike, with
    the touch's key as the sender's idempotency key.
    """

    jobs: AsyncJobStore

    @checked
    async def enrol(
        self,
        campaign: Campaign,
        customer: Customer,
        *,
        anchor: datetime,
        occurrence: str,
        fields: Mapping[str, object] | None = None,
        now: datetime | None = None,
    ) -> list[Touch]:
        """Plan one enrolment and enqueue its touches (subject to the re-entry rule)."""
        steps = self._enrol(
            campaign, customer, anchor=anchor, occurrence=occurrence, fields=fields, now=now
        )
        return await drive_async(steps)

    @checked
    async def handle(self, event: CareEvent) -> list[Touch]:
        """Cancel what the event exits, then enrol the customer where it triggers."""
        return await drive_async(self._handle(event))

    @checked
    async def schedule(
        self, customers: Iterable[Customer], now: datetime | None = None
    ) -> list[Touch]:
        """Enrol customers in date, periodic and segment campaigns (run it daily)."""
        return await drive_async(self._schedule(customers, now))

    @checked
    async def run_due(self, limit: int = 100, now: datetime | None = None) -> RunReport:
        """Claim up to ``limit`` due jobs, decide, render, send, complete."""
        return await drive_async(self._run_due(limit, now))

    @checked
    async def run(
        self, stop: AsyncStop, *, poll: timedelta = timedelta(seconds=30), limit: int = 100
    ) -> int:
        """A worker task's loop: :meth:`run_due` until ``stop`` is set.

        Returns how many rounds handed something over.
        """
        check_count("limit", limit)

        async def step() -> bool:
            return bool(await self.run_due(limit=limit))

        return await run_loop_async(step, getattr(self.jobs, "wait", None), stop, poll)
