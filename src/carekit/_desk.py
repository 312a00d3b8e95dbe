"""The Desk: the thin shell that loads, applies, saves, ticks and hands decisions over.

Everything that decides is pure (lifecycle, SLA, escalation); the desk does the
I/O around it: it reads the :class:`~carekit.protocols.Clock`, loads and saves
through the :class:`~carekit.protocols.TicketStore`, keeps each ticket's next
due instant in the store's index, and hands escalation decisions to the
host's :class:`~carekit.protocols.EscalationHandler`.

Guarantees of :meth:`Desk.tick`:

* only tickets whose due instant has come are loaded and evaluated;
* a decision is recorded on its ticket (an ``escalate`` event with its key)
  only after the handler returned, so a handler that raises is retried on the
  next tick, and a restarted desk never fires a recorded key again;
* ``RaisePriority`` and ``Reassign`` are applied by the desk as lifecycle
  events (``set_priority``, ``assign``) in the same save.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from carekit._clock import SystemClock
from carekit._escalation import (
    Escalation,
    EscalationPolicy,
    RaisePriority,
    Reassign,
    fired_keys,
)
from carekit._lifecycle import Lifecycle
from carekit._model import Channel, Customer, Priority, Role, Ticket
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit._sla_report import Metric, SlaReport
from carekit._time import to_utc
from carekit.protocols import (
    Clock,
    CustomerDirectory,
    EscalationHandler,
    TemplateRenderer,
    TicketStore,
)

if TYPE_CHECKING:
    from carekit.i18n import Message

__all__ = ["Desk"]

log = logging.getLogger("carekit._desk")
_DESK_ACTOR = "carekit"


class Desk:
    """Run tickets through the lifecycle, their SLAs and escalations, over a store.

    Args:
        store: where tickets live (with their due index).
        clock: the source of ``now`` (default: the system clock).
        lifecycle: the state machine (default: :class:`~carekit.Lifecycle`).
        policies: an :class:`~carekit.SlaPolicy` or a :class:`~carekit.PolicySelector`.
        escalation: the escalation policy; without one, tickets are never due.
        handler: who carries out the decisions the desk cannot.
        directory: where customers are looked up for conditions and selection.
    """

    def __init__(
        self,
        store: TicketStore,
        *,
        clock: Clock | None = None,
        lifecycle: Lifecycle | None = None,
        policies: SlaPolicy | PolicySelector | None = None,
        escalation: EscalationPolicy | None = None,
        handler: EscalationHandler | None = None,
        directory: CustomerDirectory | None = None,
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

    # -- tickets ------------------------------------------------------------------

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
        """Open a ticket now (or ``at``), save it and index its first due instant."""
        when = to_utc(at, "at") if at is not None else self._now()
        ticket = Ticket.open(
            ticket_id, channel=channel, customer_id=customer_id, at=when, priority=priority, **data
        )
        self.store.save(ticket, expected_version=0, due_at=self._due(ticket, when))
        return ticket

    def apply(
        self,
        ticket_id: str,
        trigger: str,
        *,
        at: datetime | None = None,
        actor: str | None = None,
        **data: Any,
    ) -> Ticket:
        """Load the ticket, apply ``trigger``, save it with its new due instant.

        Raises:
            TicketNotFound: no such ticket.
            InvalidTransition: the lifecycle refused; nothing is saved.
            ConcurrentUpdate: someone saved the ticket in between; nothing is saved.
        """
        ticket = self.store.get(ticket_id)
        when = to_utc(at, "at") if at is not None else self._now()
        updated = self.lifecycle.apply(ticket, trigger, at=when, actor=actor, **data)
        self.store.save(updated, expected_version=ticket.version, due_at=self._due(updated, when))
        return updated

    def report(self, ticket_id: str, now: datetime | None = None) -> SlaReport:
        """The SLA report of a stored ticket at ``now`` (default: the clock's)."""
        ticket = self.store.get(ticket_id)
        when = to_utc(now, "now") if now is not None else self._now()
        return self._policy(ticket, self._customer(ticket)).evaluate(ticket, now=when)

    def eta_message(
        self,
        ticket_id: str,
        *,
        renderer: TemplateRenderer | None = None,
        template: str = "eta_notice",
        default_locale: str = "en",
        now: datetime | None = None,
    ) -> Message:
        """The message an ``InformCustomer`` action sends: the new estimated time.

        The estimate is the running resolution deadline (else the earliest running
        response deadline), formatted in the customer's language and time zone.
        Handlers call it when a decision carries ``InformCustomer``.
        """
        ticket = self.store.get(ticket_id)
        customer = self._customer(ticket)
        when = to_utc(now, "now") if now is not None else self._now()
        report = self._policy(ticket, customer).evaluate(ticket, now=when)
        running = [c for c in report.all_clocks() if c.running]
        eta = next((c.due_at for c in running if c.metric is Metric.RESOLUTION), report.next_due)
        fields = {
            "name": customer.name if customer else "",
            "ticket_id": ticket.id,
            "eta": eta if eta is not None else when,
        }
        from carekit.i18n import CatalogRenderer  # noqa: PLC0415 - catalogs load at first use

        return (renderer or CatalogRenderer(default_locale)).render(
            template,
            locale=(customer.locale if customer else None) or default_locale,
            timezone=(customer.timezone if customer else None) or "UTC",
            fields=fields,
        )

    # -- escalation ---------------------------------------------------------------

    def tick(self, now: datetime | None = None, *, limit: int | None = None) -> list[Escalation]:
        """Evaluate the tickets that are due, carry out their decisions, return those fired."""
        when = to_utc(now, "now") if now is not None else self._now()
        fired: list[Escalation] = []
        if self.escalation is None:
            return fired
        for ticket_id in self.store.due(when, limit):
            fired.extend(self._escalate(self.store.get(ticket_id), when))
        return fired

    def _escalate(self, ticket: Ticket, now: datetime) -> list[Escalation]:
        assert self.escalation is not None
        customer = self._customer(ticket)
        policy = self._policy(ticket, customer)
        report = policy.evaluate(ticket, now=now)
        decisions = self.escalation.decide(ticket, report, now=now, customer=customer)
        updated = ticket
        fired: list[Escalation] = []
        for decision in decisions:
            try:
                updated = self._carry_out(decision, updated, now)
            except Exception:  # the host's failure: keep the decision for the next tick
                log.exception("escalation %s failed; it will be retried", decision.key)
                continue
            fired.append(decision)
        if updated is not ticket:  # priority or assignee changed, or keys recorded
            report = policy.evaluate(updated, now=now) if _changes_sla(ticket, updated) else report
        due = self.escalation.next_due(updated, report, customer=customer)
        self.store.save(updated, expected_version=ticket.version, due_at=due)
        return fired

    def _carry_out(self, decision: Escalation, ticket: Ticket, now: datetime) -> Ticket:
        own = [a for a in decision.actions if isinstance(a, RaisePriority | Reassign)]
        if len(own) < len(decision.actions) and self.handler is not None:
            self.handler.handle(decision, ticket)
        at = max(now, ticket.last_event_at)
        apply = self.lifecycle.apply
        trigger_for = self.lifecycle.trigger_for
        for action in own:
            if isinstance(action, RaisePriority):
                target = action.target(ticket.priority)
                if target != ticket.priority:
                    ticket = apply(
                        ticket,
                        trigger_for(Role.PRIORITY_CHANGE),
                        at=at,
                        actor=_DESK_ACTOR,
                        priority=target,
                    )
            else:
                ticket = apply(
                    ticket, trigger_for(Role.ASSIGNMENT), at=at, actor=_DESK_ACTOR, agent=action.to
                )
        return apply(
            ticket,
            trigger_for(Role.ESCALATION),
            at=at,
            actor=_DESK_ACTOR,
            key=decision.key,
            level=decision.level,
            metric=str(decision.metric),
            cycle=decision.cycle,
        )

    # -- helpers ------------------------------------------------------------------

    def _now(self) -> datetime:
        return to_utc(self.clock.now(), "clock.now()")

    def _customer(self, ticket: Ticket) -> Customer | None:
        return self.directory.get(ticket.customer_id) if self.directory is not None else None

    def _policy(self, ticket: Ticket, customer: Customer | None) -> SlaPolicy:
        return self.selector.select(ticket, customer)

    def _due(self, ticket: Ticket, now: datetime) -> datetime | None:
        if self.escalation is None:
            return None
        customer = self._customer(ticket)
        report = self._policy(ticket, customer).evaluate(ticket, now=now)
        return self.escalation.next_due(ticket, report, fired=fired_keys(ticket), customer=customer)


def _changes_sla(before: Ticket, after: Ticket) -> bool:
    return before.priority != after.priority or before.channel != after.channel
