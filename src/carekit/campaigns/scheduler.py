"""The campaign scheduler (the shell) and the job-store protocol with its in-memory store.

``CampaignScheduler.handle(event)`` enrols customers and cancels what exit
rules stop; ``run_due()`` claims due jobs with a lease, re-decides each one
(:func:`~carekit.campaigns.decide`), renders it in the customer's language and
sends it through the host's :class:`MessageSender` with the touch's key as
the idempotency key, then completes it.

Delivery is at least once, effects are idempotent: a worker that dies between
claim and complete leaves the job leased; when the lease runs out another
worker claims it and sends it again *with the same key*, which the sender
de-duplicates. Two workers never hold one job within a lease.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from carekit._time import to_utc
from carekit.campaigns.planning import (
    Campaign,
    Cap,
    CareEvent,
    Defer,
    Every,
    OnDate,
    OnEvent,
    OnSegment,
    Send,
    SentTouch,
    Touch,
    decide,
    plan,
)
from carekit.clock import SystemClock
from carekit.exceptions import InvalidValue
from carekit.i18n import CatalogRenderer, Message, TemplateRenderer
from carekit.model import Channel, Customer
from carekit.protocols import Clock, CustomerDirectory

__all__ = ["CampaignScheduler", "JobStore", "MemoryJobStore", "MessageSender", "RunReport"]


@runtime_checkable
class MessageSender(Protocol):
    """Sends a rendered message to a customer on a channel.

    It must de-duplicate on ``key``: delivery is at least once, so the same
    touch may be handed over again after a crash, always with the same key.
    """

    def send(self, message: Message, *, customer: Customer, channel: Channel, key: str) -> None:
        """Send ``message``; a second call with the same ``key`` must not send again."""
        ...


@runtime_checkable
class JobStore(Protocol):
    """Where planned touches wait until they are due.

    ``enqueue`` is idempotent on the touch's key; ``claim`` hands due jobs to
    one worker for ``lease``; ``complete`` and ``release`` end a claim.
    """

    def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch``; ``False`` (and nothing changed) if its key exists."""
        ...

    def cancel(self, *, key: str | None = None, prefix: str | None = None) -> int:
        """Cancel pending jobs by key or key prefix; return how many."""
        ...

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease up to ``limit`` due jobs, earliest first."""
        ...

    def complete(self, key: str, *, outcome: str, at: datetime) -> None:
        """End a job (``outcome`` is ``"sent"`` or why it was suppressed)."""
        ...

    def release(self, key: str, *, until: datetime, reason: str) -> None:
        """Give a claimed job back, due again at ``until``."""
        ...

    def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's touches sent after ``since`` (for frequency caps)."""
        ...

    def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job with a key starting with ``prefix`` was last enqueued."""
        ...


@attrs.define
class _Job:
    touch: Touch
    enrolled_at: datetime
    state: str = "pending"  # pending, done, cancelled
    due: float = 0.0
    lease_until: float | None = None
    outcome: str | None = None
    reason: str | None = None


class MemoryJobStore:
    """A :class:`JobStore` in memory: a dict and a heap of due instants."""

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._heap: list[tuple[float, str]] = []
        self._sent: dict[str, list[tuple[str, str | None, datetime]]] = {}
        self._enrolled: dict[str, datetime] = {}

    def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch`` unless its key exists."""
        if touch.key in self._jobs:
            return False
        due = touch.due_at.timestamp()
        self._jobs[touch.key] = _Job(touch, enrolled_at, due=due)
        heapq.heappush(self._heap, (due, touch.key))
        prefix = touch.key.rsplit("/", 2)[0]
        self._enrolled[prefix] = max(self._enrolled.get(prefix, enrolled_at), enrolled_at)
        return True

    def cancel(self, *, key: str | None = None, prefix: str | None = None) -> int:
        """Cancel pending jobs by key or prefix."""
        keys = (
            [key] if key is not None else [k for k in self._jobs if prefix and k.startswith(prefix)]
        )
        n = 0
        for k in keys:
            job = self._jobs.get(k)
            if job is not None and job.state == "pending":
                job.state = "cancelled"
                n += 1
        return n

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease due jobs; an expired lease makes a job claimable again."""
        cutoff = now.timestamp()
        until = cutoff + lease.total_seconds()
        out: list[Touch] = []
        heap, jobs = self._heap, self._jobs
        while heap and heap[0][0] <= cutoff and len(out) < limit:
            at, key = heapq.heappop(heap)
            job = jobs[key]
            current = job.lease_until if job.lease_until is not None else job.due
            if job.state != "pending" or current != at:
                continue  # superseded entry
            job.lease_until = until
            heapq.heappush(heap, (until, key))
            out.append(job.touch)
        return out

    def complete(self, key: str, *, outcome: str, at: datetime) -> None:
        """End the job; sent touches count for caps."""
        job = self._jobs[key]
        job.state, job.outcome, job.lease_until = "done", outcome, None
        if outcome == "sent":
            t = job.touch
            self._sent.setdefault(t.customer_id, []).append((key, t.group, at))

    def release(self, key: str, *, until: datetime, reason: str) -> None:
        """Make the job due again at ``until``."""
        job = self._jobs[key]
        job.due, job.lease_until, job.reason = until.timestamp(), None, reason
        heapq.heappush(self._heap, (job.due, key))

    def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's sends after ``since``."""
        return [
            SentTouch(key, customer_id, group, at)
            for key, group, at in self._sent.get(customer_id, ())
            if at > since
        ]

    def last_enrolled(self, prefix: str) -> datetime | None:
        """The last enrolment with this ``campaign/customer`` prefix."""
        return self._enrolled.get(prefix.rstrip("/"))

    def state(self, key: str) -> tuple[str, str | None, str | None]:
        """(state, outcome, last reason) of a job, for tests and dashboards."""
        job = self._jobs[key]
        return job.state, job.outcome, job.reason


@attrs.frozen
class RunReport:
    """What one :meth:`CampaignScheduler.run_due` did, with the reasons."""

    sent: tuple[str, ...] = ()
    deferred: tuple[tuple[str, str], ...] = ()
    suppressed: tuple[tuple[str, str], ...] = ()
    failed: tuple[tuple[str, str], ...] = ()


class CampaignScheduler:
    """Enrols customers, keeps their touches in a job store, and sends them when due.

    Args:
        campaigns: the campaigns (names unique).
        jobs: the job store (:class:`MemoryJobStore`, ``SqliteJobStore``).
        sender: the host's :class:`MessageSender`.
        directory: the host's customers.
        clock: the source of ``now`` (default: the system clock).
        renderer: the template renderer (default: :class:`~carekit.i18n.CatalogRenderer`).
        caps: caps shared across campaigns (by group), besides each campaign's own.
        fields: template fields for every message (the shop's name, links), under
            the touch's own.
        default_timezone: the desk's zone, for customers without one.
        default_locale: the desk's language, for customers without one.
        lease: how long a claimed job is held by one worker.
        retry: how long to wait after a sender failure.
    """

    def __init__(
        self,
        campaigns: Sequence[Campaign],
        jobs: JobStore,
        sender: MessageSender,
        directory: CustomerDirectory,
        *,
        clock: Clock | None = None,
        renderer: TemplateRenderer | None = None,
        caps: Iterable[Cap] = (),
        fields: Mapping[str, object] | None = None,
        default_timezone: str = "UTC",
        default_locale: str = "en",
        lease: timedelta = timedelta(minutes=5),
        retry: timedelta = timedelta(minutes=10),
    ) -> None:
        self.campaigns: Mapping[str, Campaign] = {c.name: c for c in campaigns}
        if len(self.campaigns) != len(campaigns):
            raise InvalidValue(
                "campaigns", [c.name for c in campaigns], "campaigns with unique names"
            )
        self.jobs = jobs
        self.sender = sender
        self.directory = directory
        self.clock = clock if clock is not None else SystemClock()
        self.renderer = renderer if renderer is not None else CatalogRenderer()
        self.caps = tuple(caps)
        self.fields = dict(fields or {})
        self.default_timezone = default_timezone
        self.default_locale = default_locale
        self.lease = lease
        self.retry = retry
        self._longest_cap = max(
            (cap.period for cap in (*self.caps, *(c.cap for c in campaigns if c.cap))),
            default=timedelta(0),
        )

    def _now(self, now: datetime | None) -> datetime:
        return to_utc(now if now is not None else self.clock.now(), "now")

    # -- enrolment ------------------------------------------------------------------

    def enrol(
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
        when = self._now(now)
        prefix = f"{campaign.name}/{customer.id}/"
        if not campaign.may_enrol(self.jobs.last_enrolled(prefix), when):
            return []
        touches = plan(
            campaign,
            customer,
            anchor=anchor,
            occurrence=occurrence,
            fields=fields,
            default_timezone=self.default_timezone,
        )
        return [t for t in touches if self.jobs.enqueue(t, enrolled_at=when)]

    def handle(self, event: CareEvent) -> list[Touch]:
        """Cancel what the event exits, then enrol the customer where it triggers."""
        customer = self.directory.get(event.customer_id)
        if customer is None:
            return []
        for campaign in self.campaigns.values():
            if event.kind in campaign.exit_on:
                self.jobs.cancel(prefix=f"{campaign.name}/{customer.id}/")
        planned: list[Touch] = []
        for campaign in self.campaigns.values():
            trigger = campaign.trigger
            if isinstance(trigger, OnEvent) and trigger.matches(event, customer):
                planned += self.enrol(
                    campaign,
                    customer,
                    anchor=event.at,
                    occurrence=event.occurrence,
                    fields=event.data,
                    now=event.at,
                )
        return planned

    def schedule(self, customers: Iterable[Customer], now: datetime | None = None) -> list[Touch]:
        """Enrol customers in date, periodic and segment campaigns (run it daily).

        Dates (birthdays) are planned for their next occurrence; periodic
        campaigns every ``period`` since the last enrolment; segments when their
        predicate holds (the re-entry rule keeps them from repeating).
        """
        when = self._now(now)
        planned: list[Touch] = []
        for customer in customers:
            for campaign in self.campaigns.values():
                trigger = campaign.trigger
                if isinstance(trigger, OnDate):
                    trigger = attrs.evolve(trigger, default_timezone=self.default_timezone)
                    found = trigger.next_anchor(customer, when)
                    if found is not None:
                        anchor, year = found
                        planned += self.enrol(
                            campaign, customer, anchor=anchor, occurrence=year, now=when
                        )
                elif self._due_today(campaign, customer, when):
                    planned += self.enrol(
                        campaign,
                        customer,
                        anchor=when,
                        occurrence=when.strftime("%Y%m%d"),
                        now=when,
                    )
        return planned

    def _due_today(self, campaign: Campaign, customer: Customer, now: datetime) -> bool:
        """Whether a periodic or segment campaign enrols ``customer`` now."""
        trigger = campaign.trigger
        if isinstance(trigger, Every):
            last = self.jobs.last_enrolled(f"{campaign.name}/{customer.id}/")
            return last is None or now - last >= trigger.period
        return isinstance(trigger, OnSegment) and trigger.predicate(customer)

    # -- delivery -------------------------------------------------------------------

    def run_due(self, limit: int = 100, now: datetime | None = None) -> RunReport:
        """Claim up to ``limit`` due jobs, decide, render, send, complete."""
        when = self._now(now)
        sent: list[str] = []
        deferred: list[tuple[str, str]] = []
        suppressed: list[tuple[str, str]] = []
        failed: list[tuple[str, str]] = []
        for touch in self.jobs.claim(when, limit=limit, lease=self.lease):
            campaign = self.campaigns.get(touch.campaign)
            customer = self.directory.get(touch.customer_id)
            if campaign is None:
                self.jobs.complete(touch.key, outcome="suppressed: unknown campaign", at=when)
                suppressed.append((touch.key, "unknown campaign"))
                continue
            history = self.jobs.sent_since(touch.customer_id, when - self._longest_cap)
            decision = decide(
                campaign,
                touch,
                customer,
                now=when,
                sent=history,
                caps=self.caps,
                default_timezone=self.default_timezone,
            )
            if isinstance(decision, Defer):
                self.jobs.release(touch.key, until=decision.until, reason=decision.reason)
                deferred.append((touch.key, decision.reason))
                continue
            if not isinstance(decision, Send) or customer is None:
                reason = getattr(decision, "reason", "unknown customer")
                self.jobs.complete(touch.key, outcome=f"suppressed: {reason}", at=when)
                suppressed.append((touch.key, reason))
                continue
            message = self.renderer.render(
                touch.template,
                locale=customer.locale or self.default_locale,
                timezone=customer.timezone or self.default_timezone,
                fields={**self.fields, **touch.fields},
            )
            try:
                self.sender.send(
                    message, customer=customer, channel=decision.channel, key=touch.key
                )
            except Exception as exc:  # the host's failure: try again later, same key
                self.jobs.release(
                    touch.key, until=when + self.retry, reason=f"sender failed: {exc}"
                )
                failed.append((touch.key, str(exc)))
                continue
            self.jobs.complete(touch.key, outcome="sent", at=when)
            sent.append(touch.key)
        return RunReport(tuple(sent), tuple(deferred), tuple(suppressed), tuple(failed))
