"""A discrete-event simulation that drives the real engine through days of a care desk.

Theory of operation
-------------------
A virtual clock (:class:`~carekit.testing.ManualClock`) moves from event to
event of a heap: arrivals (drawn per hour of the day from the model's
profile), agents finishing a ticket, customers answering, holds ending,
callers hanging up, and a tick every five virtual minutes. Every ticket goes
through the real :class:`~carekit.Desk` (lifecycle, SLA, escalation, store)
and every proactive touch through the real
:class:`~carekit.campaigns.CampaignScheduler` (planning, windows, caps,
consent, job store). Two random streams, one for arrivals and one for
behaviour, make a run a pure function of its seed; the arrival stream does
not depend on staffing, so two variants of a desk see the same tickets.
"""

from __future__ import annotations

import heapq
import random
import sys
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from carekit._check import checked
from carekit._desk import Desk
from carekit._escalation import (
    AfterBreach,
    AtBreach,
    Before,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Notify,
    RaisePriority,
)
from carekit._model import Channel, Customer, Role, Ticket
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit._sla_report import Metric
from carekit._time import zone
from carekit.campaigns import CampaignScheduler, CareEvent, RunReport
from carekit.campaigns._planning import Campaign
from carekit.campaigns.recipes import MARKETING_CAP, all_recipes
from carekit.exceptions import InvalidValue
from carekit.i18n import Message, Money
from carekit.protocols import JobStore, TicketStore
from carekit.simulate._health import HealthWatch
from carekit.simulate._model import DeskModel
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.testing import InMemoryDirectory, ManualClock

__all__ = ["SimulationResult", "default_escalation", "simulate"]

TICK = 300.0  # seconds between escalation ticks and campaign runs
_MAX_HANDLINGS = 6


def default_escalation() -> EscalationPolicy:
    """Warn at 75 % of the first-response target, escalate at breach, raise priority later."""
    fr, res = Metric.FIRST_RESPONSE, Metric.RESOLUTION
    return EscalationPolicy(
        [
            EscalationLevel("warning", Before(fr, 0.75), [Notify("team_lead")]),
            EscalationLevel("breach", AtBreach(fr), [Notify("supervisor")]),
            EscalationLevel(
                "late resolution", AfterBreach(res, timedelta(hours=4)), [RaisePriority()]
            ),
        ]
    )


@attrs.frozen
class SimulationResult:
    """What a run produced: the tickets, the decisions, the sends, and samples for charts."""

    model: DeskModel
    seed: int
    days: int
    start: datetime
    end: datetime
    policy: str
    tickets: tuple[Ticket, ...]
    escalations: Mapping[str, int]
    sends: Mapping[str, int]
    suppressions: Mapping[str, int]
    deferrals: Mapping[str, int]
    answers: tuple[CareEvent, ...]
    queue_by_hour: tuple[float, ...]
    agents: int
    selector: PolicySelector = attrs.field(eq=False, repr=False)
    """The policies the run was graded under (the desk's own)."""
    customers: tuple[Customer, ...] = attrs.field(eq=False, repr=False)
    """The run's customers, for policy rules that look at them."""
    paths: Mapping[str, int] = attrs.field(factory=dict)
    """How the campaign messages went out: ``free-form``, ``approved template``
    (WhatsApp, its window closed), ``fallback channel`` (with the channel), and
    ``suppressed by the window``."""
    health_bands: tuple[tuple[str, Mapping[str, int]], ...] = ()
    """The customers per health band at the start of each day, and at the end."""
    turned_red: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    """``(customer, day, reasons)`` of each customer who turned red."""
    clv_by_segment: Mapping[str, float] = attrs.field(factory=dict)
    """The mean historic CLV (margin of all orders so far) per customer tier."""

    @property
    def red_at_end(self) -> int:
        """How many customers end the run red."""
        return self.health_bands[-1][1]["red"] if self.health_bands else 0

    @property
    def escalation_total(self) -> int:
        """All escalation decisions carried out."""
        return sum(self.escalations.values())


class _Sender:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[Customer, Channel, Message]] = {}

    def send(self, message: Message, *, customer: Customer, channel: Channel, key: str) -> None:
        self.sent.setdefault(key, (customer, channel, message))


class _Handler:
    def __init__(self) -> None:
        self.by_level: Counter[str] = Counter()

    def handle(self, decision: Escalation, ticket: Ticket) -> None:
        self.by_level[decision.level] += 1


def _voucher(kind: str, ticket: Ticket) -> dict[str, object]:
    """The shop's apology voucher, in the care event of a breach (the desk's care_data hook)."""
    if kind != "sla_breached":
        return {}
    return {"voucher_code": f"MAAF-{ticket.id}", "voucher_value": Money(50000, "IDR")}


def _customers(model: DeskModel, rng: random.Random) -> list[Customer]:
    weights = [m.share for m in model.customers]
    out = []
    for i in range(model.population):
        mix = rng.choices(model.customers, weights)[0]
        born = date(1960 + rng.randrange(45), rng.randrange(1, 13), rng.randrange(1, 29))
        out.append(
            Customer(
                f"c-{i}",
                name=f"Customer {i}",
                locale=mix.locale,
                timezone=mix.timezone,
                tier=mix.tier,
                birthday=born,
                consent=mix.consent,
                preferred_channel=rng.choice(sorted(mix.consent)),
            )
        )
    return out


class _Run:  # one simulation run; all mutable state lives here
    def __init__(
        self,
        model: DeskModel,
        *,
        seed: int,
        start: datetime,
        policies: SlaPolicy | PolicySelector,
        escalation: EscalationPolicy,
        campaigns: Sequence[Campaign],
        store: TicketStore,
        jobs: JobStore,
    ) -> None:
        self.model = model
        self.arrivals = random.Random(f"{seed}/arrivals")
        self.rng = random.Random(f"{seed}/behaviour")
        self.tz = zone(model.timezone)
        self.clock = ManualClock(start)
        self.customers = _customers(model, random.Random(f"{seed}/customers"))
        self.directory = InMemoryDirectory(self.customers)
        self.orders_rng = random.Random(f"{seed}/orders")
        self.health = HealthWatch(self.customers, self.orders_rng, start, policies,
                                  model.timezone)  # fmt: skip
        self.breached: set[str] = set()
        self.apologised: set[str] = set()
        self.sender = _Sender()
        self.handler = _Handler()
        self.desk = Desk(
            store,
            clock=self.clock,
            policies=policies,
            escalation=escalation,
            handler=self.handler,
            directory=self.directory,
            care_data=_voucher,
        )
        self.scheduler = CampaignScheduler(
            campaigns,
            jobs,
            self.sender,
            self.directory,
            clock=self.clock,
            caps=[MARKETING_CAP],
            fields={"shop": "Toko Sejahtera", "link": "https://toko.example"},
            default_timezone=model.timezone,
        )
        self.heap: list[tuple[float, int, str, Any]] = []
        self.seq = 0
        self.phone: deque[str] = deque()
        self.other: deque[str] = deque()
        self.waiting: set[str] = set()
        self.handlings: Counter[str] = Counter()
        self.busy = 0
        self.count = 0
        self.suppressed: Counter[str] = Counter()
        self.deferred: Counter[str] = Counter()
        self.paths: Counter[str] = Counter()
        self.answers: list[CareEvent] = []
        self.queue_samples: dict[int, list[int]] = {h: [] for h in range(24)}

    # -- the event heap -----------------------------------------------------------------

    def at(self, t: float, kind: str, payload: Any = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, payload))

    def now(self) -> datetime:
        return self.clock.now()

    def hour(self, t: float) -> int:
        return datetime.fromtimestamp(t, UTC).astimezone(self.tz).hour

    def plan_day(self, day_start: float) -> None:
        for h in range(24):
            rate = self.model.arrivals[self.hour(day_start + h * 3600)]
            n = _poisson(self.arrivals, rate)
            for _ in range(n):
                self.at(day_start + h * 3600 + self.arrivals.random() * 3600, "arrival")
            self.at(day_start + h * 3600, "dispatch")
        for _ in range(_poisson(self.arrivals, self.model.purchases_per_day)):
            self.at(day_start + self.arrivals.random() * 86_400, "purchase")
        self.at(day_start, "daily")

    # -- behaviour --------------------------------------------------------------------------

    def arrival(self, t: float) -> None:
        model = self.model
        channel = self.arrivals.choices(list(model.channels), list(model.channels.values()))[0]
        customer = self.arrivals.choice(self.customers)
        self.count += 1
        ticket_id = f"T-{self.count:05d}"
        self.desk.open(ticket_id, channel=channel, customer_id=customer.id)
        self.health.tickets[customer.id].append(ticket_id)
        self.enqueue(ticket_id, channel)
        if channel is Channel.PHONE:
            patience = self.rng.expovariate(1 / model.call_patience.total_seconds())
            self.at(t + patience, "hang_up", ticket_id)

    def enqueue(self, ticket_id: str, channel: Channel) -> None:
        (self.phone if channel is Channel.PHONE else self.other).append(ticket_id)
        self.waiting.add(ticket_id)

    def dispatch(self, t: float) -> None:
        local = datetime.fromtimestamp(t, UTC).astimezone(self.tz)
        on_duty = self.model.agents_at(local.hour, local.date())
        while self.busy < on_duty and (self.phone or self.other):
            queue = self.phone or self.other
            ticket_id = queue.popleft()
            if ticket_id not in self.waiting:
                continue  # hung up while waiting
            self.waiting.discard(ticket_id)
            self.busy += 1
            ticket = self.desk.apply(
                ticket_id, self.trigger(Role.AGENT_REPLY), actor=f"agent-{self.busy}"
            )
            mean = self.model.handle_time[ticket.channel].total_seconds()
            self.at(t + self.rng.expovariate(1 / mean), "done", ticket_id)

    def done(self, t: float, ticket_id: str) -> None:
        self.busy -= 1
        self.handlings[ticket_id] += 1
        model, r = self.model, self.rng.random()
        ticket = self.desk.store.get(ticket_id)
        if (
            ticket.channel is Channel.PHONE
            or r < model.p_resolve
            or self.handlings[ticket_id] >= _MAX_HANDLINGS
        ):
            self.resolve(t, ticket)
        elif r < model.p_resolve + model.p_pending:
            self.desk.apply(ticket_id, self.trigger(Role.WAIT_ON_CUSTOMER))
            self.at(
                t + self.rng.expovariate(1 / model.customer_delay.total_seconds()),
                "back",
                (ticket_id, Role.CUSTOMER_MESSAGE),
            )
        elif r < model.p_resolve + model.p_pending + model.p_hold:
            self.desk.apply(ticket_id, self.trigger(Role.HOLD))
            self.at(
                t + self.rng.expovariate(1 / model.hold_time.total_seconds()),
                "back",
                (ticket_id, Role.RESUME),
            )
        else:
            self.enqueue(ticket_id, ticket.channel)

    def resolve(self, t: float, ticket: Ticket) -> None:
        self.desk.apply(ticket.id, self.trigger(Role.RESOLUTION))
        if ticket.channel is not Channel.PHONE and self.rng.random() < self.model.p_reopen:
            self.at(
                t + self.rng.expovariate(1 / 86_400), "back", (ticket.id, Role.CUSTOMER_MESSAGE)
            )

    def trigger(self, role: Role) -> str:
        """The desk's lifecycle trigger that plays ``role``."""
        return self.desk.lifecycle.trigger_for(role)

    def back(self, ticket_id: str, role: Role) -> None:
        ticket = self.desk.store.get(ticket_id)
        trigger = self.trigger(role)
        if trigger not in self.desk.lifecycle.allowed(ticket):
            return
        ticket = self.desk.apply(ticket_id, trigger)
        self.enqueue(ticket_id, ticket.channel)

    def hang_up(self, ticket_id: str) -> None:
        if ticket_id in self.waiting:  # still ringing: an abandoned call
            self.waiting.discard(ticket_id)
            self.desk.apply(
                ticket_id, self.trigger(Role.RESOLUTION), actor="caller", abandoned=True
            )

    def purchase(self) -> None:
        customer = self.rng.choice(self.customers)
        orders = 1 + int(self.rng.expovariate(0.5))
        self.health.order(customer.id, self.now(), self.orders_rng.lognormvariate(11.5, 0.6))
        self.scheduler.handle(
            CareEvent(
                "purchase",
                customer.id,
                self.now(),
                id=f"order-{self.seq}",
                data={
                    "product": "blender",
                    "order_count": orders,
                    "link": "https://toko.example/care",
                    "shop": "Toko Sejahtera",
                },
            )
        )

    def tick(self, t: float) -> None:
        self.desk.tick()
        self.desk.drain_events(self.care)
        report = self.scheduler.run_due(limit=1000)
        self._count_paths(report)
        for key, reason in report.suppressed:
            self.suppressed[f"{key.split('/')[0]}: {reason}"] += 1
        for key, reason, _ in report.deferred:
            self.deferred[f"{key.split('/')[0]}: {reason.split(' reached')[0]}"] += 1
        for key in report.sent:
            campaign, customer_id, _, occurrence = key.split("/", 3)
            if campaign == "apology_after_breach":
                self.apologised.add(customer_id)
            if (
                campaign in {"csat_after_resolution", "nps_survey"}
                and self.rng.random() < self.model.p_survey_answer
            ):
                kind = "csat_rated" if campaign.startswith("csat") else "nps_answered"
                hurt = customer_id in self.breached and customer_id not in self.apologised
                score = self.rng.choice(
                    ([2, 1, 2, 3, 4, 1, 2] if hurt else [5, 5, 4, 4, 4, 3, 2])
                    if kind == "csat_rated"
                    else ([6, 3, 5, 8, 7, 2, 4] if hurt else [10, 9, 9, 8, 7, 6, 3])
                )
                event = CareEvent(
                    kind,
                    customer_id,
                    self.now(),
                    id=f"{kind}-{occurrence}",
                    data={"score": score, "ticket_id": occurrence.split("@")[0]},
                )
                self.answers.append(event)
                self.health.answers[customer_id].append(event)
                self.scheduler.handle(event)
        self.queue_samples[self.hour(t)].append(len(self.waiting))

    def _count_paths(self, report: RunReport) -> None:
        """Free-form, approved template, fallback, or suppressed by a reply window."""
        fallbacks = dict(report.fallbacks)
        templated = set(report.templated)
        for key in report.sent:
            channel = self.sender.sent[key][1] if key in self.sender.sent else "?"
            if key in templated:
                self.paths[f"approved template on {channel}"] += 1
            elif key in fallbacks:
                self.paths[f"fallback channel: {channel}"] += 1
            else:
                self.paths[f"free-form on {channel}"] += 1
        for _, reason in report.suppressed:
            if "window" in reason:
                self.paths["suppressed by the window"] += 1

    def result(self, *, seed: int, days: int, start: datetime) -> SimulationResult:
        """What this run produced, as a :class:`SimulationResult`."""
        samples = [self.queue_samples[h] for h in range(24)]
        return SimulationResult(
            model=self.model,
            seed=seed,
            days=days,
            start=start,
            end=self.now(),
            policy=_policy_name(self.desk.selector),
            tickets=tuple(self.desk.store),
            escalations=dict(sorted(self.handler.by_level.items())),
            sends=dict(sorted(Counter(key.split("/")[0] for key in self.sender.sent).items())),
            suppressions=dict(sorted(self.suppressed.items())),
            deferrals=dict(sorted(self.deferred.items())),
            answers=tuple(self.answers),
            queue_by_hour=tuple(sum(v) / len(v) if v else 0.0 for v in samples),
            agents=max(self.model.agents_at(h) for h in range(24)),
            selector=self.desk.selector,
            customers=tuple(self.customers),
            paths=dict(sorted(self.paths.items())),
            health_bands=tuple(self.health.bands_by_day),
            turned_red=tuple(self.health.turned_red),
            clv_by_segment=self.health.clv_by_segment(),
        )

    def run(self, days: int, progress: Callable[[str], None] | None) -> None:
        start = self.now().timestamp()
        end = start + days * 86_400
        for d in range(days):
            self.plan_day(start + d * 86_400)
        t = start
        while t < end:
            self.at(t, "tick")
            t += TICK
        while self.heap:
            t, _, kind, payload = heapq.heappop(self.heap)
            if t >= end:
                break
            self.clock.set(datetime.fromtimestamp(t, UTC))
            if kind == "arrival":
                self.arrival(t)
            elif kind == "done":
                self.done(t, payload)
            elif kind == "back":
                self.back(*payload)
            elif kind == "hang_up":
                self.hang_up(payload)
            elif kind == "purchase":
                self.purchase()
            elif kind == "tick":
                self.tick(t)
            elif kind == "daily":
                day = int((t - start) // 86_400)
                self.scheduler.schedule(self.customers[day % 90 :: 90])  # each one every 90 days
                self.check_health()
                if progress is not None:
                    day = int((t - start) // 86_400) + 1
                    progress(f"day {day}/{days}: {self.count} tickets so far")
            self.dispatch(t)
            self.desk.drain_events(self.care)  # care events out of the desk's outbox
        self.clock.set(datetime.fromtimestamp(end, UTC))
        self.check_health()

    def care(self, event: CareEvent) -> None:
        """A care event from the desk: to the scheduler (breaches noted for the customers)."""
        if event.kind == "sla_breached":
            self.breached.add(event.customer_id)
        self.scheduler.handle(event)

    def check_health(self) -> None:
        """Score every customer; a change of band goes to the scheduler as a care event."""
        for event in self.health.daily(self.now(), self.desk.store):
            self.scheduler.handle(event)


def _policy_name(policies: SlaPolicy | PolicySelector) -> str:
    return policies.name if isinstance(policies, SlaPolicy) else policies.default.name


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:  # normal approximation, rounded
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = pow(2.718281828459045, -mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@checked
def simulate(
    model: DeskModel,
    *,
    days: int = 7,
    seed: int = 1,
    start: datetime | None = None,
    policies: SlaPolicy | PolicySelector | None = None,
    escalation: EscalationPolicy | None = None,
    campaigns: Sequence[Campaign] | None = None,
    store: TicketStore | None = None,
    jobs: JobStore | None = None,
    progress: Callable[[str], None] | None = None,
) -> SimulationResult:
    """Run ``model`` for ``days`` from ``start`` (default: a Monday at local midnight).

    The same seed gives the same result. ``store`` and ``jobs`` default to the
    in-memory ones; give the SQLite stores to exercise persistence.
    """
    if days < 1:
        raise InvalidValue("days", days, "a whole number of days, at least 1")
    tz = zone(model.timezone)
    begin = start or datetime(2026, 3, 2, tzinfo=tz).astimezone(UTC)
    policies = policies or SlaPolicy.default()
    run = _Run(
        model,
        seed=seed,
        start=begin,
        policies=policies,
        escalation=escalation or default_escalation(),
        campaigns=all_recipes() if campaigns is None else campaigns,
        store=store if store is not None else InMemoryTicketStore(),
        jobs=jobs if jobs is not None else InMemoryJobStore(),
    )
    run.run(days, progress)
    return run.result(seed=seed, days=days, start=begin)


def stderr_progress(line: str) -> None:
    """Progress lines for the command line."""
    print(line, file=sys.stderr, flush=True)
