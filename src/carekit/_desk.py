"""The Desk: the thin shell that claims, loads, plans, hands over and saves.

Everything that decides is pure (the lifecycle, SLA evaluation, escalation,
:func:`~carekit._tick.plan_tick`); the desk does the I/O around it: it reads
the :class:`~carekit.protocols.Clock`, loads and saves through the
:class:`~carekit.protocols.TicketStore`, and hands escalations to the host's
:class:`~carekit.protocols.EscalationHandler`.

Guarantees of :meth:`Desk.tick`, with any number of threads and processes
ticking one store:

* due tickets are *claimed* with a lease, so one worker at a time ticks a
  ticket; only tickets whose due instant has come are loaded;
* an escalation is recorded on its ticket (an event with the ``ESCALATION``
  role and its key) in the save that ends the claim, after the handler
  returned: it is handed over once in normal operation; after a crash between
  hand-over and save, again with the same key once the lease runs out;
* a breach between two ticks is handed over on the next one, marked late;
* one ticket's failure (handler, policy, a stored ticket that cannot be read,
  a conflict) is logged and reported in the result, and never stops the others;
  the ticket is retried when its lease runs out (a failed handler: next tick);
* ``RaisePriority`` and ``Reassign`` are applied by the desk in the same save,
  and handlers get the ticket after them (``escalation.eta`` is the new deadline).

:meth:`Desk.open` and :meth:`Desk.apply` queue care events (opened, resolved,
reopened; ticks queue ``sla_breached``) in the store's outbox in the same
transaction; :meth:`Desk.drain_events` hands them to campaigns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from carekit._check import check_count, checked
from carekit._clock import SystemClock
from carekit._effects import Call, Steps, drive, refuse_async
from carekit._escalation import Escalation, EscalationPolicy, RaisePriority, Reassign, fired_keys
from carekit._lifecycle import Lifecycle
from carekit._model import CareEvent, Channel, Customer, Priority, Ticket
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit._sla_report import SlaReport
from carekit._tick import CareData, TickPlan, care_events, opening_hours, plan_tick
from carekit._tick import eta as running_eta
from carekit._time import to_utc
from carekit._worker import run_loop
from carekit.exceptions import ConcurrentUpdate, EventFromTheFuture
from carekit.protocols import (
    AsyncCustomerDirectory,
    AsyncEscalationHandler,
    AsyncTicketStore,
    Clock,
    CustomerDirectory,
    EscalationHandler,
    TemplateRenderer,
    TicketStore,
)

if TYPE_CHECKING:
    from carekit.i18n import Message

__all__ = ["Desk", "DeskCore", "TickFailure", "TickResult"]

log = logging.getLogger("carekit.desk")
_ATTEMPTS = 5  # saves tried against newer versions before a conflict is reported


@attrs.frozen
class TickFailure:
    """A ticket a tick could not finish; it is retried later.

    Attributes:
        ticket_id: the ticket.
        error: what went wrong, in words.
        key: the escalation whose hand-over failed, if it was one.
    """

    ticket_id: str
    error: str
    key: str | None = None


class TickResult(list[Escalation]):
    """The escalations a tick handed over (it is a list of them), and its failures.

    Attributes:
        failures: the tickets the tick could not finish, with why.
        claimed: how many tickets it claimed.
    """

    @checked
    def __init__(
        self,
        fired: Iterable[Escalation] = (),
        failures: Iterable[TickFailure] = (),
        claimed: int = 0,
    ) -> None:
        super().__init__(fired)
        self.failures = tuple(failures)
        self.claimed = claimed


class DeskCore:
    """What :class:`Desk` and :class:`~carekit.aio.AsyncDesk` share: settings and steps.

    Each operation is written once, as steps (:mod:`carekit._effects`): the
    sync desk runs them with plain calls, the async desk awaits them. Subclass
    :class:`Desk` or :class:`~carekit.aio.AsyncDesk`, not this.

    Its arguments are :class:`Desk`'s.
    """

    _async_twin: ClassVar[str | None] = None  # set by a sync front: its async twin's name

    @checked
    def __init__(
        self,
        store: TicketStore | AsyncTicketStore,
        *,
        clock: Clock | None = None,
        lifecycle: Lifecycle | None = None,
        policies: SlaPolicy | PolicySelector | None = None,
        escalation: EscalationPolicy | None = None,
        handler: EscalationHandler | AsyncEscalationHandler | None = None,
        directory: CustomerDirectory | AsyncCustomerDirectory | None = None,
        tolerance: timedelta = timedelta(minutes=5),
        lease: timedelta = timedelta(minutes=1),
        care_data: CareData | None = None,
    ) -> None:
        self.store = store
        self.clock = clock if clock is not None else SystemClock()
        self.lifecycle = lifecycle if lifecycle is not None else Lifecycle()
        policies = policies if policies is not None else SlaPolicy.default()
        self.selector = (
            policies if isinstance(policies, PolicySelector) else PolicySelector([], policies)
        )
        self.escalation = escalation
        self.handler = handler
        self.directory = directory
        self.tolerance = tolerance
        self.lease = lease
        self.care_data = care_data
        if self._async_twin is not None:  # a sync front: async parts are refused now
            refuse_async(
                self._async_twin,
                store=(store, "get"),
                handler=(handler, "handle"),
                directory=(directory, "get"),
            )

    # -- the steps of each operation ------------------------------------------------

    def _open(
        self,
        ticket_id: str,
        *,
        channel: Channel | str,
        customer_id: str,
        priority: Priority | int | str,
        at: datetime | None,
        data: dict[str, Any],
    ) -> Steps[Ticket]:
        when = self._when(at)
        ticket = Ticket.open(
            ticket_id, channel=channel, customer_id=customer_id, at=when, priority=priority, **data
        )
        due = yield from self._due(ticket, max(when, self._now()))
        customer = yield from self._customer(ticket)
        hours = opening_hours(ticket, self._policy(ticket, customer))
        events = tuple(
            attrs.evolve(e, data={**hours, **e.data}) if e.kind == "ticket_opened" else e
            for e in care_events(ticket, 0, self.care_data)
        )
        yield Call(self.store.save, ticket, expected_version=0, due_at=due, care_events=events)
        return ticket

    def _apply(
        self,
        ticket_id: str,
        trigger: str,
        *,
        at: datetime | None,
        actor: str | None,
        idempotency_key: str | None,
        data: dict[str, Any],
    ) -> Steps[Ticket]:
        when = self._when(at)
        if idempotency_key is not None:
            data["idempotency_key"] = idempotency_key
        attempts = 0
        while True:  # a concurrent save (a tick, another request): apply again on the newer ticket
            ticket: Ticket = yield Call(self.store.get, ticket_id)
            if idempotency_key is not None and _applied(ticket, idempotency_key):
                return ticket
            updated = self.lifecycle.insert(ticket, trigger, at=when, actor=actor, **data)
            place = _place(ticket, updated)
            due = yield from self._due(updated, max(when, self._now()))
            try:
                yield Call(
                    self.store.save,
                    updated,
                    expected_version=ticket.version,
                    due_at=due,
                    care_events=care_events(updated, place, self.care_data, last=place + 1),
                    rewrite_from=place if place < ticket.version else None,
                )
            except ConcurrentUpdate:
                attempts += 1
                if attempts == _ATTEMPTS:
                    raise
                continue
            return updated

    def _report(self, ticket_id: str, now: datetime | None) -> Steps[SlaReport]:
        ticket: Ticket = yield Call(self.store.get, ticket_id)
        when = to_utc(now, "now") if now is not None else self._now()
        customer = yield from self._customer(ticket)
        return self._policy(ticket, customer).evaluate(ticket, now=when)

    def _send_later(self, ticket_id: str, now: datetime | None) -> Steps[datetime]:
        ticket: Ticket = yield Call(self.store.get, ticket_id)
        customer = yield from self._customer(ticket)
        when = to_utc(now, "now") if now is not None else self._now()
        calendar = self._policy(ticket, customer).calendar
        if customer is not None and customer.timezone is not None:
            calendar = calendar.in_zone(customer.timezone)
        return calendar.next_open(when)

    def _eta_message(
        self,
        ticket_id: str,
        *,
        renderer: TemplateRenderer | None,
        template: str,
        default_locale: str,
        now: datetime | None,
        eta: datetime | None,
    ) -> Steps[Message]:
        from carekit.i18n import CatalogRenderer  # noqa: PLC0415 - catalogs load at first use

        ticket: Ticket = yield Call(self.store.get, ticket_id)
        customer = yield from self._customer(ticket)
        when = to_utc(now, "now") if now is not None else self._now()
        deadline = eta or running_eta(self._policy(ticket, customer).evaluate(ticket, now=when))
        fields = {
            "name": customer.name if customer else "",
            "ticket_id": ticket.id,
            "eta": deadline if deadline is not None else when,
        }
        return (renderer or CatalogRenderer(default_locale)).render(
            template,
            locale=(customer.locale if customer else None) or default_locale,
            timezone=(customer.timezone if customer else None) or "UTC",
            fields=fields,
        )

    def _tick(self, now: datetime | None, limit: int) -> Steps[TickResult]:
        check_count("limit", limit)
        when = to_utc(now, "now") if now is not None else self._now()
        if self.escalation is None:
            return TickResult()
        fired: list[Escalation] = []
        failures: list[TickFailure] = []
        claimed: list[str] = yield Call(self.store.claim, when, limit=limit, lease=self.lease)
        for ticket_id in claimed:
            try:
                fired.extend((yield from self._tick_one(ticket_id, when, failures)))
            except Exception as exc:  # isolate: one ticket never stops the others
                log.exception("tick of ticket %s failed; it is retried after its lease", ticket_id)
                failures.append(TickFailure(ticket_id, f"{type(exc).__name__}: {exc}"))
        return TickResult(fired, failures, len(claimed))

    def _tick_one(
        self, ticket_id: str, now: datetime, failures: list[TickFailure]
    ) -> Steps[list[Escalation]]:
        ticket: Ticket = yield Call(self.store.get, ticket_id)
        plan = yield from self._plan(ticket, now)
        handed: list[Escalation] = []
        for escalation in plan.escalations:
            try:
                yield from self._hand_over(escalation, plan.ticket)
            except Exception as exc:  # the host's failure: keep it due for the next tick
                log.exception("escalation %s failed; it will be retried", escalation.key)
                failures.append(
                    TickFailure(ticket_id, f"{type(exc).__name__}: {exc}", escalation.key)
                )
                continue
            handed.append(escalation)
        keys = {e.key for e in handed}
        if len(handed) < len(plan.escalations):
            plan = yield from self._plan(ticket, now, only=keys)
        yield from self._save_plan(ticket, plan, now, keys)
        return handed

    def _hand_over(self, escalation: Escalation, ticket: Ticket) -> Steps[None]:
        own = sum(isinstance(a, RaisePriority | Reassign) for a in escalation.actions)
        if own < len(escalation.actions) and self.handler is not None:
            yield Call(self.handler.handle, escalation, ticket)

    def _save_plan(
        self, ticket: Ticket, plan: TickPlan, now: datetime, keys: set[str]
    ) -> Steps[None]:
        """Save the plan and end the claim; on a newer version, re-plan on it with ``keys``."""
        for attempt in range(_ATTEMPTS):
            try:
                yield Call(
                    self.store.save,
                    plan.ticket,
                    expected_version=ticket.version,
                    due_at=plan.next_due,
                    care_events=plan.care_events,
                    release=True,
                )
                return
            except ConcurrentUpdate:
                if attempt == _ATTEMPTS - 1:
                    raise
                ticket = yield Call(self.store.get, ticket.id)
                plan = yield from self._plan(ticket, now, only=keys)

    def _plan(self, ticket: Ticket, now: datetime, only: set[str] | None = None) -> Steps[TickPlan]:
        assert self.escalation is not None
        customer = yield from self._customer(ticket)
        return plan_tick(
            ticket,
            now=now,
            policy=self._policy(ticket, customer),
            escalation=self.escalation,
            lifecycle=self.lifecycle,
            customer=customer,
            only=only,
            care_data=self.care_data,
        )

    def _drain(self, handle: Callable[[CareEvent], object], limit: int) -> Steps[int]:
        check_count("limit", limit)
        done = 0
        while True:
            batch: list[tuple[int, CareEvent]] = yield Call(self.store.outbox, limit)
            if not batch:
                return done
            for seq, event in batch:
                yield Call(handle, event)
                yield Call(self.store.acknowledge, [seq])
                done += 1

    # -- helpers ------------------------------------------------------------------

    def _now(self) -> datetime:
        return to_utc(self.clock.now(), "clock.now()")

    def _when(self, at: datetime | None) -> datetime:
        now = self._now()
        if at is None:
            return now
        when = to_utc(at, "at")
        if when > now + self.tolerance:
            raise EventFromTheFuture(when, now, self.tolerance)
        return when

    def _customer(self, ticket: Ticket) -> Steps[Customer | None]:
        if self.directory is None:
            return None
        customer: Customer | None = yield Call(self.directory.get, ticket.customer_id)
        return customer

    def _policy(self, ticket: Ticket, customer: Customer | None) -> SlaPolicy:
        return self.selector.select(ticket, customer)

    def _due(self, ticket: Ticket, now: datetime) -> Steps[datetime | None]:
        if self.escalation is None:
            return None
        customer = yield from self._customer(ticket)
        report = self._policy(ticket, customer).evaluate(ticket, now=now)
        fired = fired_keys(ticket)
        return self.escalation.next_due(ticket, report, fired=fired, customer=customer, now=now)


class Desk(DeskCore):
    """Run tickets through the lifecycle, their SLAs and escalations, over a store.

    The async twin is :class:`carekit.aio.AsyncDesk`; both run the same steps.

    Args:
        store: where tickets live (with their due index and outbox).
        clock: the source of ``now`` (default: the system clock).
        lifecycle: the state machine (default: :class:`~carekit.Lifecycle`).
        policies: an :class:`~carekit.SlaPolicy` or a :class:`~carekit.PolicySelector`.
        escalation: the escalation policy; without one, tickets are never due.
        handler: who carries out the escalations the desk cannot.
        directory: where customers are looked up for conditions and selection.
        tolerance: how far after the clock an event may be dated (a sender's
            clock runs a little fast); later ones are refused.
        lease: how long a tick holds a claimed ticket (a crashed worker's
            tickets are ticked again after it).
        care_data: a hook giving extra data for care events (a voucher code).
    """

    store: TicketStore

    _async_twin = "carekit.aio.AsyncDesk"

    @checked
    def open(
        self,
        ticket_id: str,
        *,
        channel: Channel | str,
        customer_id: str,
        priority: Priority | int | str = Priority.NORMAL,
        at: datetime | None = None,
        **data: Any,
    ) -> Ticket:
        """Open a ticket now (or ``at``), save it, index its first due instant.

        Raises:
            TicketExists: the id is taken; nothing is saved.
            EventFromTheFuture: ``at`` is after the clock by more than the tolerance.
        """
        return drive(
            self._open(
                ticket_id,
                channel=channel,
                customer_id=customer_id,
                priority=priority,
                at=at,
                data=data,
            )
        )

    @checked
    def apply(
        self,
        ticket_id: str,
        trigger: str,
        *,
        at: datetime | None = None,
        actor: str | None = None,
        idempotency_key: str | None = None,
        **data: Any,
    ) -> Ticket:
        """Load the ticket, apply ``trigger`` at its place in time, save it.

        An event dated before the ticket's last one (a late webhook) is
        inserted where it happened; the SLA clocks and KPIs follow. With an
        ``idempotency_key``, applying the same key again changes nothing and
        returns the ticket as it is (webhook retries), across restarts.

        Raises:
            TicketNotFound: no such ticket.
            InvalidTransition: the lifecycle refused; nothing is saved.
            EventFromTheFuture: ``at`` is after the clock by more than the tolerance.
            ConcurrentUpdate: the ticket kept changing under us; nothing is saved.
        """
        return drive(
            self._apply(
                ticket_id, trigger, at=at, actor=actor, idempotency_key=idempotency_key, data=data
            )
        )

    @checked
    def report(self, ticket_id: str, now: datetime | None = None) -> SlaReport:
        """The SLA report of a stored ticket at ``now`` (default: the clock's)."""
        return drive(self._report(ticket_id, now))

    @checked
    def send_later(self, ticket_id: str, *, now: datetime | None = None) -> datetime:
        """When an agent's reply written ``now`` should reach the customer ("send later").

        At once inside the ticket's policy hours as the customer lives them (on
        their own wall clock), else at the next opening. carekit computes the
        instant; the host sends then.
        """
        return drive(self._send_later(ticket_id, now))

    @checked
    def eta_message(
        self,
        ticket_id: str,
        *,
        renderer: TemplateRenderer | None = None,
        template: str = "eta_notice",
        default_locale: str = "en",
        now: datetime | None = None,
        eta: datetime | None = None,
    ) -> Message:
        """The message an ``InformCustomer`` action sends: the new estimated time.

        The estimate is ``eta`` when given (a handler passes ``escalation.eta``:
        the deadline after the desk's own actions of that tick, which are saved
        only after the handler returns), else the stored ticket's running
        resolution deadline (else its earliest running deadline); formatted in
        the customer's language and time zone.
        """
        return drive(
            self._eta_message(
                ticket_id,
                renderer=renderer,
                template=template,
                default_locale=default_locale,
                now=now,
                eta=eta,
            )
        )

    @checked
    def tick(self, now: datetime | None = None, *, limit: int = 1000) -> TickResult:
        """Claim the due tickets, hand their escalations over, save; return what was handed over.

        At most ``limit`` tickets are claimed per call (``result.claimed`` says
        how many); a ticket that fails is logged, reported in
        ``result.failures`` and retried later; the others go on.
        """
        return drive(self._tick(now, limit))

    @checked
    def run(
        self,
        stop: threading.Event,
        *,
        poll: timedelta = timedelta(seconds=30),
        limit: int = 1000,
    ) -> int:
        """A worker's loop: tick until ``stop`` is set; return how many ticks claimed work.

        After a tick that claimed nothing the worker waits for ``poll``, or less:
        on PostgreSQL a save announces its due instant (LISTEN/NOTIFY) and the
        worker wakes for it. A store error is waited out, never fatal. Run it in
        a thread or a process of its own; set ``stop`` to end it.
        """
        check_count("limit", limit)
        wait = getattr(self.store, "wait", None)
        return run_loop(lambda: bool(self.tick(limit=limit).claimed), wait, stop, poll)

    @checked
    def drain_events(self, handle: Callable[[CareEvent], object], *, limit: int = 100) -> int:
        """Hand the outbox's care events to ``handle`` (a scheduler's ``handle``), oldest first.

        Each is acknowledged after ``handle`` returns, so a crash re-delivers it
        (with the same id: campaigns enrol idempotently). Returns how many.
        """
        return drive(self._drain(handle, limit))


def _applied(ticket: Ticket, key: str) -> bool:
    return any(e.data.get("idempotency_key") == key for e in ticket.events)


def _place(before: Ticket, after: Ticket) -> int:
    """Where the one event ``after`` adds to ``before`` stands in its log (a late one: earlier)."""
    pairs = zip(before.events, after.events, strict=False)
    return next(
        (i for i, (a, b) in enumerate(pairs) if (a.kind, a.at) != (b.kind, b.at)), before.version
    )
