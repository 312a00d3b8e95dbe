"""The simulator's customer health: order histories, a daily health check, CLV by segment.

Each customer starts with a past of orders at their own rhythm (some of them
drifting away: their last order is long overdue). Every day of the run the
desk scores every customer (:class:`~carekit.health.HealthModel`); a change of
band is a ``health_changed`` care event handed to the scheduler, as a host
would, so the health recipes react. The run's result keeps the bands per day,
who turned red and why, and the historic CLV per segment.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from carekit._model import CareEvent, Customer
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit._time import zone
from carekit.health import Bands, HealthModel, HealthScore, History, Order, historic_clv
from carekit.protocols import TicketStore

__all__ = ["HealthWatch"]

MARGIN_RATE = 0.25
"""The shop's margin on an order, for the historic CLV."""
BANDS = Bands(green=85, yellow=65)
"""The shop's thresholds: tighter than the defaults, for a run of days rather than months."""


class HealthWatch:
    """Orders, answers and tickets per customer, and their health day by day."""

    def __init__(
        self,
        customers: Sequence[Customer],
        rng: random.Random,
        start: datetime,
        policies: SlaPolicy | PolicySelector,
        timezone: str,
    ) -> None:
        self.customers = customers
        self.zone = zone(timezone)
        self.model = HealthModel(policy=policies, bands=BANDS)
        self.orders: dict[str, list[Order]] = {c.id: _past(rng, start) for c in customers}
        self.tickets: dict[str, list[str]] = defaultdict(list)
        self.answers: dict[str, list[CareEvent]] = defaultdict(list)
        self.scores: dict[str, HealthScore] = {}
        self.bands_by_day: list[tuple[str, dict[str, int]]] = []
        self.turned_red: list[tuple[str, str, tuple[str, ...]]] = []

    def order(self, customer_id: str, at: datetime, amount: float) -> None:
        """A purchase during the run."""
        self.orders[customer_id].append(Order(at, round(amount)))

    def daily(self, now: datetime, store: TicketStore) -> list[CareEvent]:
        """Score everyone; return the ``health_changed`` events of those whose band changed."""
        changes = []
        counts = dict.fromkeys(("green", "yellow", "red"), 0)
        for customer in self.customers:
            history = History(
                customer.id,
                [store.get(t) for t in self.tickets.get(customer.id, ())],
                self.answers.get(customer.id, ()),
                self.orders[customer.id],
            )
            score = self.model.score(history, now=now)
            counts[score.band] += 1
            event = self.model.changed(self.scores.get(customer.id), score)
            if event is not None:
                changes.append(event)
                if score.band == "red":
                    day = f"{now.astimezone(self.zone):%Y-%m-%d}"
                    self.turned_red.append((customer.id, day, score.reasons))
            self.scores[customer.id] = score
        self.bands_by_day.append((f"{now.astimezone(self.zone):%Y-%m-%d %H:%M}", counts))
        return changes

    def clv_by_segment(self) -> dict[str, float]:
        """The mean historic CLV (the margin of all orders so far) per tier."""
        totals: dict[str, list[float]] = defaultdict(list)
        for customer in self.customers:
            value = historic_clv(self.orders[customer.id], margin_rate=MARGIN_RATE).value
            totals[customer.tier].append(value if isinstance(value, float) else 0.0)
        return {tier: round(sum(v) / len(v)) for tier, v in sorted(totals.items())}

    def red_at_end(self) -> int:
        """How many customers end the run red."""
        return sum(score.band == "red" for score in self.scores.values())


def _past(rng: random.Random, start: datetime) -> list[Order]:
    """A customer's orders before the run: at their own rhythm, some drifting away.

    The drifting ones (their next order long overdue) also spent more before.
    """
    rhythm = timedelta(days=rng.uniform(10, 60))
    overdue = rng.choice((0.2, 0.5, 1.0, 1.0, 2.5, 4.0))  # how late the next order is now
    last = start - rhythm * overdue
    amount = rng.lognormvariate(11.5, 0.6)  # around Rp100,000
    orders = []
    for k in range(rng.randrange(0, 7)):  # k orders back from the last
        growth = 1 + 0.4 * k if overdue > 2 else 1.0
        orders.append(Order(last - rhythm * k, round(amount * growth * rng.uniform(0.7, 1.3))))
    return sorted(orders, key=lambda o: o.at)


def band_lines(bands_by_day: Iterable[tuple[str, Mapping[str, int]]]) -> list[str]:
    """The bands per day, as report lines."""
    return [
        f"  {day}  green {c['green']:>5}  yellow {c['yellow']:>5}  red {c['red']:>5}"
        for day, c in bands_by_day
    ]
