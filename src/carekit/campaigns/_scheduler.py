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

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar

import attrs

from carekit._check import check_count, checked
from carekit._clock import SystemClock
from carekit._effects import Call, Steps, drive, refuse_async
from carekit._model import CareEvent, Channel, Customer
from carekit._send import Rejected, RetryLater, Sent
from carekit._time import to_utc
from carekit._window import WHATSAPP_WINDOW, ReplyWindow
from carekit._worker import run_loop
from carekit.campaigns._history import JobEntry
from carekit.campaigns._planning import (
    Campaign,
    Cap,
    Defer,
    Every,
    Expired,
    OnDate,
    OnEvent,
    OnSegment,
    Send,
    Touch,
    TouchDecision,
    decide_touch,
    plan_touches,
)
from carekit.exceptions import InvalidValue, TemplateError
from carekit.i18n import CatalogRenderer, Message
from carekit.protocols import (
    AsyncCustomerDirectory,
    AsyncJobStore,
    AsyncMessageSender,
    Clock,
    CustomerDirectory,
    JobStore,
    MessageSender,
    TemplateRenderer,
)

__all__ = ["CampaignScheduler", "RunReport", "SchedulerCore"]

log = logging.getLogger("carekit.campaigns")


@attrs.frozen
class RunReport:
    """What one :meth:`CampaignScheduler.run_due` did, with the reasons.

    Attributes:
        sent: the keys of the touches sent.
        deferred: ``(key, why, until)`` of the touches given back for later: why, and
            when they are due again (the window's opening, a cap's free slot, the
            provider's "retry after", the backoff after a failure).
        suppressed: ``(key, why)`` of the touches dropped (no consent, cannot render...).
        failed: ``(key, error)`` of the touches whose sender failed (retried later).
        fallbacks: ``(key, why)`` of the sent touches that went out on another channel
            than the customer's preferred one (``"no consent on whatsapp: fell back
            to email"``).
        rejected: ``(key, reason)`` of the touches the provider refused for good.
        expired: ``(key, why)`` of the touches that would have been too late.
        provider_ids: ``(key, id)`` of the sent touches whose provider gave an id.
        templated: the keys of the sent touches that went out as an approved
            template, their channel's reply window being closed.
    """

    sent: tuple[str, ...] = ()
    deferred: tuple[tuple[str, str, datetime], ...] = ()
    suppressed: tuple[tuple[str, str], ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    fallbacks: tuple[tuple[str, str], ...] = ()
    rejected: tuple[tuple[str, str], ...] = ()
    expired: tuple[tuple[str, str], ...] = ()
    provider_ids: tuple[tuple[str, str], ...] = ()
    templated: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        """Whether the run handed anything over or changed any job."""
        return any((self.sent, self.deferred, self.suppressed, self.failed, self.rejected,
                    self.expired))  # fmt: skip


class SchedulerCore:
    """What :class:`CampaignScheduler` and its async twin share: settings and steps.

    Each operation is written once, as steps (:mod:`carekit._effects`); the
    sync scheduler runs them with plain calls, the async one awaits them.

    Its arguments are :class:`CampaignScheduler`'s.
    """

    _async_twin: ClassVar[str | None] = None  # set by a sync front: its async twin's name

    @checked
    def __init__(
        self,
        campaigns: Sequence[Campaign],
        jobs: JobStore | AsyncJobStore,
        sender: MessageSender | AsyncMessageSender,
        directory: CustomerDirectory | AsyncCustomerDirectory,
        *,
        clock: Clock | None = None,
        renderer: TemplateRenderer | None = None,
        caps: Iterable[Cap] = (),
        fields: Mapping[str, object] | None = None,
        default_timezone: str = "UTC",
        default_locale: str = "en",
        lease: timedelta = timedelta(minutes=5),
        retry: timedelta = timedelta(minutes=10),
        max_retry: timedelta = timedelta(hours=6),
        windows: Iterable[ReplyWindow] = (WHATSAPP_WINDOW,),
        batch_completions: bool = False,
    ) -> None:
        self.campaigns: Mapping[str, Campaign] = _by_name(campaigns, caps := tuple(caps))
        self.jobs = jobs
        self.sender = sender
        self.directory = directory
        self.clock = clock if clock is not None else SystemClock()
        # the one locale chain (the customer's locale, its language, this default, English)
        self.renderer = renderer if renderer is not None else CatalogRenderer(default_locale)
        self.caps = caps
        self.fields = dict(fields or {})
        self.default_timezone = default_timezone
        self.default_locale = default_locale
        self.lease = lease
        self.retry = retry
        self.max_retry = max(max_retry, retry)
        self.windows = tuple(windows)
        self.batch_completions = batch_completions and hasattr(jobs, "complete_many")
        if self._async_twin is not None:  # a sync front: async parts are refused now
            refuse_async(
                self._async_twin,
                jobs=(jobs, "claim"),
                sender=(sender, "send"),
                directory=(directory, "get"),
            )
        self._longest_cap = max(
            (cap.period for cap in (*self.caps, *(c.cap for c in campaigns if c.cap))),
            default=timedelta(0),
        )

    def _now(self, now: datetime | None) -> datetime:
        return to_utc(now if now is not None else self.clock.now(), "now")

    # -- the steps of each operation ------------------------------------------------

    def _enrol(
        self,
        campaign: Campaign,
        customer: Customer,
        *,
        anchor: datetime,
        occurrence: str,
        fields: Mapping[str, object] | None,
        now: datetime | None,
    ) -> Steps[list[Touch]]:
        when = self._now(now)
        if not campaign.may_contact(customer):  # unsubscribed: nothing new is planned
            return []
        prefix = f"{campaign.name}/{customer.id}/"
        last: datetime | None = yield Call(self.jobs.last_enrolled, prefix)
        if not campaign.may_enrol(last, when):
            return []
        touches = plan_touches(
            campaign,
            customer,
            anchor=anchor,
            occurrence=occurrence,
            fields=fields,
            default_timezone=self.default_timezone,
        )
        enqueued = []
        for touch in touches:  # not a comprehension: a step yields
            if (yield Call(self.jobs.enqueue, touch, enrolled_at=when)):
                enqueued.append(touch)  # noqa: PERF401
        return enqueued

    def _handle(self, event: CareEvent) -> Steps[list[Touch]]:
        channel = event.data.get("channel") if event.kind in _INBOUND_KINDS else None
        if any(channel == window.channel for window in self.windows):  # opens its window
            yield Call(self.jobs.note_inbound, event.customer_id, channel, event.at)
        customer: Customer | None = yield Call(self.directory.get, event.customer_id)
        if customer is None:
            return []
        for campaign in self.campaigns.values():
            if event.kind in campaign.exit_on:
                yield Call(self.jobs.cancel, prefix=f"{campaign.name}/{customer.id}/", at=event.at)
        planned: list[Touch] = []
        for campaign in self.campaigns.values():
            trigger = campaign.trigger
            if isinstance(trigger, OnEvent) and trigger.matches(event, customer):
                planned += yield from self._enrol(
                    campaign,
                    customer,
                    anchor=event.at,
                    occurrence=event.occurrence,
                    fields=event.data,
                    now=event.at,
                )
        return planned

    def _schedule(self, customers: Iterable[Customer], now: datetime | None) -> Steps[list[Touch]]:
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
                        planned += yield from self._enrol(
                            campaign,
                            customer,
                            anchor=anchor,
                            occurrence=year,
                            fields=None,
                            now=when,
                        )
                elif (yield from self._due_today(campaign, customer, when)):
                    planned += yield from self._enrol(
                        campaign,
                        customer,
                        anchor=when,
                        occurrence=when.strftime("%Y%m%d"),
                        fields=None,
                        now=when,
                    )
        return planned

    def _due_today(self, campaign: Campaign, customer: Customer, now: datetime) -> Steps[bool]:
        """Whether a periodic or segment campaign enrols ``customer`` now."""
        trigger = campaign.trigger
        if isinstance(trigger, Every):
            last = yield Call(self.jobs.last_enrolled, f"{campaign.name}/{customer.id}/")
            return last is None or now - last >= trigger.period
        return isinstance(trigger, OnSegment) and trigger.predicate(customer)

    def _run_due(self, limit: int, now: datetime | None) -> Steps[RunReport]:
        check_count("limit", limit)
        when = self._now(now)
        report = _Fates()
        claimed: list[Touch] = yield Call(self.jobs.claim, when, limit=limit, lease=self.lease)
        for touch in claimed:
            yield from self._deliver(touch, when, report)
        yield from self._flush(report, when)
        return report.freeze()

    def _end(
        self, touch: Touch, outcome: str, when: datetime, report: _Fates, reason: str = ""
    ) -> Steps[None]:
        """Record a job's outcome now, or with the round's others (``batch_completions``)."""
        if self.batch_completions:
            report.unrecorded.append((touch.key, outcome, reason, touch.customer_id))
        else:
            yield Call(self.jobs.complete, touch.key, outcome=outcome, at=when, reason=reason)

    def _flush(self, report: _Fates, when: datetime) -> Steps[None]:
        """Record the round's unrecorded outcomes in one write."""
        if report.unrecorded:
            outcomes = [(key, outcome, why) for key, outcome, why, _ in report.unrecorded]
            yield Call(self.jobs.complete_many, outcomes, at=when)  # type: ignore[union-attr]
            report.unrecorded.clear()

    def _deliver(self, touch: Touch, when: datetime, report: _Fates) -> Steps[None]:
        """Decide one claimed touch, render and send it (or not), and end its claim."""
        campaign = self.campaigns.get(touch.campaign)
        customer: Customer | None = yield Call(self.directory.get, touch.customer_id)
        if campaign is None:
            yield from self._end(touch, "suppressed: unknown campaign", when, report)
            report.suppressed.append((touch.key, "unknown campaign"))
            return
        decision = yield from self._decide(campaign, touch, customer, when, report)
        if isinstance(decision, Defer):
            yield Call(
                self.jobs.release, touch.key, until=decision.until, reason=decision.reason, at=when
            )
            report.deferred.append((touch.key, decision.reason, decision.until))
            return
        if not isinstance(decision, Send) or customer is None:
            reason = getattr(decision, "reason", "unknown customer")
            expired = isinstance(decision, Expired)
            yield from self._end(
                touch, reason if expired else f"suppressed: {reason}", when, report
            )
            (report.expired if expired else report.suppressed).append((touch.key, reason))
            return
        try:  # nothing incomplete reaches a customer: a touch that cannot render is dropped
            message = self.renderer.render(
                touch.template,
                locale=customer.locale or self.default_locale,
                timezone=customer.timezone or self.default_timezone,
                fields={**self.fields, **touch.fields},
            )
            if decision.form == "template":
                message = _as_template(message)
        except TemplateError as exc:
            log.warning("touch %s suppressed: %s", touch.key, exc)
            yield from self._end(touch, f"suppressed: {exc}", when, report)
            report.suppressed.append((touch.key, str(exc)))
            return
        try:
            result: object = yield Call(
                self.sender.send,
                message,
                customer=customer,
                channel=decision.channel,
                key=touch.key,
            )
        except Exception as exc:  # the host's failure: try again later, same key
            result = exc
        yield from self._record(touch, result, when, report, campaign, decision)

    def _decide(
        self,
        campaign: Campaign,
        touch: Touch,
        customer: Customer | None,
        when: datetime,
        report: _Fates,
    ) -> Steps[TouchDecision]:
        """Read what the decision needs (recent sends, reply windows) and decide."""
        if any(customer_id == touch.customer_id for *_, customer_id in report.unrecorded):
            yield from self._flush(report, when)  # the caps must see this round's sends
        history = yield Call(self.jobs.sent_since, touch.customer_id, when - self._longest_cap)
        inbound = yield from self._inbound(touch, customer)
        approved = getattr(self.renderer, "approved", None)
        locale = (customer.locale if customer else None) or self.default_locale
        return decide_touch(
            campaign,
            touch,
            customer,
            now=when,
            sent=history,
            caps=self.caps,
            default_timezone=self.default_timezone,
            windows=self.windows,
            last_inbound=inbound,
            approved=approved is not None and approved(touch.template, locale) is not None,
        )

    def _record(  # noqa: PLR0917 - one delivery's parts
        self,
        touch: Touch,
        result: object,
        when: datetime,
        report: _Fates,
        campaign: Campaign,
        decision: Send,
    ) -> Steps[None]:
        """End or give back a touch after its send, by what the sender said."""
        if result is None or isinstance(result, Sent):  # nothing said: sent
            provider_id = None if result is None else result.provider_id
            how = _how_sent(decision, provider_id)
            yield from self._end(touch, "sent", when, report, how)
            report.sent.append(touch.key)
            if provider_id is not None:
                report.provider_ids.append((touch.key, provider_id))
            if decision.reason:  # not on the channel asked for: why
                report.fallbacks.append((touch.key, decision.reason))
            if decision.form == "template":
                report.templated.append(touch.key)
            return
        if isinstance(result, Rejected) and result.permanent:
            yield from self._end(touch, f"rejected: {result.reason}", when, report)
            report.rejected.append((touch.key, result.reason))
            return
        until, reason = yield from self._retry(touch, result, when, report)
        deadline = campaign.deadline(touch)
        if deadline is not None and until > deadline:
            why = f"expired: too late after {reason}"
            yield from self._end(touch, why, when, report)
            report.expired.append((touch.key, why))
            return
        yield Call(self.jobs.release, touch.key, until=until, reason=reason, at=when, retry=True)
        if not any(key == touch.key for key, _ in report.failed):
            report.deferred.append((touch.key, reason, until))

    def _inbound(self, touch: Touch, customer: Customer | None) -> Steps[dict[Channel, datetime]]:
        """The customer's last message on each windowed channel the touch could go on."""
        found: dict[Channel, datetime] = {}
        if customer is None:
            return found
        for window in self.windows:
            channel = window.channel
            if channel in (touch.channel, customer.preferred_channel) or customer.consents_to(
                channel
            ):
                last = yield Call(self.jobs.last_inbound, customer.id, channel)
                if last is not None:
                    found[channel] = last
        return found

    def _retry(
        self, touch: Touch, result: object, when: datetime, report: _Fates
    ) -> Steps[tuple[datetime, str]]:
        """When to try again, and why: as the provider said, or after a backoff."""
        if isinstance(result, RetryLater):  # the provider says when
            after = result.after
            return (to_utc(after, "after") if isinstance(after, datetime) else when + after), (
                result.reason
            )
        if isinstance(result, Rejected):
            reason = f"rejected for now: {result.reason}"
        else:  # a failure
            reason = (
                f"sender failed: {result}"
                if isinstance(result, Exception)
                else f"the sender returned {result!r}, not a SendResult"
            )
            report.failed.append((touch.key, reason))
        # back off: ``retry``, doubled by each retry before, at most ``max_retry``
        history: list[JobEntry] = yield Call(self.jobs.history, touch.key)
        retries = sum(entry.what == "retry" for entry in history)
        wait: timedelta = min(self.retry * 2 ** min(retries, 32), self.max_retry)
        return when + wait, reason


def _as_template(message: Message) -> Message:
    """``message`` to be sent as its approved template; refused when it has none."""
    if message.approved is None:
        raise TemplateError(
            message.template, message.locale, None, "has no approved template for a closed window"
        )
    return attrs.evolve(message, form="template")


def _how_sent(decision: Send, provider_id: str | None) -> str:
    """A sent touch's reason: on which channel, and why that one; the provider's id."""
    how = f"on {decision.channel}" + (
        " as its approved template" if decision.form == "template" else ""
    )
    if decision.reason:
        how += f" ({decision.reason})"
    if provider_id is not None:
        how += f", provider id {provider_id}"
    return how


_INBOUND_KINDS = frozenset({"ticket_opened", "customer_message"})


def _by_name(campaigns: Sequence[Campaign], caps: tuple[Cap, ...]) -> dict[str, Campaign]:
    """The campaigns by name; refused when names repeat, or a shared cap meets no group."""
    named = {c.name: c for c in campaigns}
    if len(named) != len(campaigns):
        raise InvalidValue("campaigns", [c.name for c in campaigns], "campaigns with unique names")
    ungrouped = [c.name for c in campaigns if c.group is None]
    if caps and ungrouped:
        raise InvalidValue(
            "campaigns",
            ungrouped,
            "campaigns with a group (service, marketing, transactional) under shared caps",
        )
    return named


@attrs.define
class _Fates:
    """A run's report while it is being written."""

    sent: list[str] = attrs.Factory(list)
    deferred: list[tuple[str, str, datetime]] = attrs.Factory(list)
    suppressed: list[tuple[str, str]] = attrs.Factory(list)
    failed: list[tuple[str, str]] = attrs.Factory(list)
    fallbacks: list[tuple[str, str]] = attrs.Factory(list)
    rejected: list[tuple[str, str]] = attrs.Factory(list)
    expired: list[tuple[str, str]] = attrs.Factory(list)
    provider_ids: list[tuple[str, str]] = attrs.Factory(list)
    templated: list[str] = attrs.Factory(list)
    unrecorded: list[tuple[str, str, str, str]] = attrs.Factory(list)  # key, outcome, why, customer

    def freeze(self) -> RunReport:
        return RunReport(
            tuple(self.sent),
            tuple(self.deferred),
            tuple(self.suppressed),
            tuple(self.failed),
            tuple(self.fallbacks),
            tuple(self.rejected),
            tuple(self.expired),
            tuple(self.provider_ids),
            tuple(self.templated),
        )


class CampaignScheduler(SchedulerCore):
    """Enrols customers, keeps their touches in a job store, and sends them when due.

    The async twin is :class:`carekit.aio.AsyncCampaignScheduler`; both run the
    same steps.

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
        retry: how long to wait after the first failure of a send (an exception, a
            temporary rejection); each further failure of the same touch doubles
            the wait, up to ``max_retry``. A provider's ``RetryLater(after)`` is
            followed as it is.
        max_retry: the longest wait between two tries.
        windows: the channels' reply windows (default: WhatsApp's 24 hours). The
            customer's last message on such a channel comes from the desk's care
            events (``ticket_opened``, ``customer_message``) or the host's own
            (``CareEvent("customer_message", ..., data={"channel": "whatsapp"})``).
        batch_completions: record the jobs a round sent or suppressed in one write
            at its end (and before a cap is read for a customer with unrecorded
            sends), on stores with ``complete_many``. Several times the
            throughput on PostgreSQL; but a worker killed mid-round sends that
            round's messages again (with their keys) instead of at most one.
    """

    jobs: JobStore

    _async_twin = "carekit.aio.AsyncCampaignScheduler"

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
        return drive(
            self._enrol(
                campaign, customer, anchor=anchor, occurrence=occurrence, fields=fields, now=now
            )
        )

    @checked
    def handle(self, event: CareEvent) -> list[Touch]:
        """Cancel what the event exits, then enrol the customer where it triggers."""
        return drive(self._handle(event))

    @checked
    def schedule(self, customers: Iterable[Customer], now: datetime | None = None) -> list[Touch]:
        """Enrol customers in date, periodic and segment campaigns (run it daily).

        Dates (birthdays) are planned for their next occurrence; periodic
        campaigns every ``period`` since the last enrolment; segments when their
        predicate holds (the re-entry rule keeps them from repeating).
        """
        return drive(self._schedule(customers, now))

    @checked
    def run(
        self, stop: threading.Event, *, poll: timedelta = timedelta(seconds=30), limit: int = 100
    ) -> int:
        """A worker's loop: :meth:`run_due` until ``stop`` is set (as :meth:`Desk.run`).

        Returns how many rounds handed something over.
        """
        check_count("limit", limit)

        def step() -> bool:
            return bool(self.run_due(limit=limit))

        return run_loop(step, getattr(self.jobs, "wait", None), stop, poll)

    @checked
    def run_due(self, limit: int = 100, now: datetime | None = None) -> RunReport:
        """Claim up to ``limit`` due jobs, decide, render, send, complete."""
        return drive(self._run_due(limit, now))
