"""The campaign scheduler (the shell) and the job-store protocol with its in-memory store.

``CampaignScheduler.handle(event)`` enrols customers and cancels what exit
rules stop; ``run_due()`` claims due jobs with a lease, re-decides each one
(:func:`~carekit.campaigns.decide_touch`), renders it in the customer's language and
sends it through the host's :class:`~carekit.protocols.MessageSender` with the touch's key as
the idempotency key, then completes it.

Delivery is at least once, effects are idempotent: a worker that dies between
claim and complete leaves the job leased; when the lease runs out another
worker claims it and sends it again *with the same key*, which the sender
de-duplicates. Two workers never hold one job within a lease.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from carekit._check import check_count, checked
from carekit._clock import SystemClock
from carekit._model import CareEvent, Customer
from carekit._time import to_utc
from carekit._worker import run_loop
from carekit.campaigns._planning import (
    Campaign,
    Cap,
    Defer,
    Every,
    OnDate,
    OnEvent,
    OnSegment,
    Send,
    Touch,
    decide_touch,
    plan_touches,
)
from carekit.exceptions import InvalidValue
from carekit.i18n import CatalogRenderer
from carekit.protocols import Clock, CustomerDirectory, JobStore, MessageSender, TemplateRenderer

__all__ = ["CampaignScheduler", "RunReport"]


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
        jobs: the job store (:class:`~carekit.stores.memory.InMemoryJobStore`, ``SqliteJobStore``).
        sender: the host's :class:`~carekit.protocols.MessageSender`.
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

    @checked
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

    @checked
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
        touches = plan_touches(
            campaign,
            customer,
            anchor=anchor,
            occurrence=occurrence,
            fields=fields,
            default_timezone=self.default_timezone,
        )
        return [t for t in touches if self.jobs.enqueue(t, enrolled_at=when)]

    @checked
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

    @checked
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

    @checked
    def run(
        self, stop: threading.Event, *, poll: timedelta = timedelta(seconds=30), limit: int = 100
    ) -> int:
        """A worker's loop: :meth:`run_due` until ``stop`` is set (as :meth:`Desk.run`).

        Returns how many rounds handed something over.
        """
        check_count("limit", limit)

        def step() -> bool:
            report = self.run_due(limit=limit)
            return bool(report.sent or report.deferred or report.suppressed or report.failed)

        return run_loop(step, getattr(self.jobs, "wait", None), stop, poll)

    @checked
    def run_due(self, limit: int = 100, now: datetime | None = None) -> RunReport:
        """Claim up to ``limit`` due jobs, decide, render, send, complete."""
        check_count("limit", limit)
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
            decision = decide_touch(
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
