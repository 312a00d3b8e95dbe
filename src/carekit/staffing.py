"""Call-centre staffing: Erlang C and Erlang A, tied to the phone pickup target.

Theory of operation
-------------------
Erlang C (M/M/N) gives, for an offered load ``A = arrival rate x handle time``
(in Erlangs) and ``N`` agents: the probability of waiting ``C(N, A)``, the
service level ``1 - C e^{-(N-A) t / AHT}``, the average speed of answer
``C AHT / (N - A)`` and the occupancy ``A / N``. ``C`` is computed from the
Erlang B recursion ``B(n) = A B(n-1) / (n + A B(n-1))``, which never forms a
factorial or a power, so thousands of agents and heavy traffic are exact to
floating point. :func:`agents_for` walks ``N`` up from ``floor(A) + 1`` with
the same recursion (one step per agent), so it costs O(A).

Erlang A (M/M/N+M) adds customer patience: callers abandon after an
exponential time. It is less pessimistic than Erlang C when callers hang up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

import attrs

from carekit._model import Channel
from carekit._sla import SlaPolicy, TargetKey
from carekit._sla_report import Metric
from carekit.exceptions import StaffingError

__all__ = [
    "ErlangA",
    "ErlangC",
    "IntervalPlan",
    "ServiceLevel",
    "agents_for",
    "erlang_a",
    "erlang_c",
    "plan_intervals",
]


@attrs.frozen
class ServiceLevel:
    """A service-level target: ``level`` of calls answered within ``within``.

    Examples:
        >>> ServiceLevel(0.8, timedelta(seconds=20))
        ServiceLevel(level=0.8, within=datetime.timedelta(seconds=20))
    """

    level: float = 0.8
    within: timedelta = timedelta(seconds=30)

    def __attrs_post_init__(self) -> None:
        if not 0 < self.level < 1:
            raise StaffingError(
                "level", self.level, "a fraction above 0 and below 1 (100% is never reached)"
            )
        if self.within < timedelta(0):
            raise StaffingError("within", self.within, "a wait of zero or more")

    @classmethod
    def from_policy(cls, policy: SlaPolicy, level: float = 0.8) -> ServiceLevel:
        """The phone channel's first-response (pickup) target of ``policy``, at ``level``.

        >>> ServiceLevel.from_policy(SlaPolicy.default()).within
        datetime.timedelta(seconds=30)
        """
        targets = policy.targets
        target = targets.get(TargetKey(Metric.FIRST_RESPONSE, Channel.PHONE)) or targets.get(
            TargetKey(Metric.FIRST_RESPONSE)
        )
        if target is None:
            raise StaffingError("policy", policy.name, "has no first-response target for phone")
        return cls(level, target.duration)


@attrs.frozen
class ErlangC:
    """Erlang C figures for ``agents`` at ``load`` Erlangs.

    Attributes:
        agents: the number of agents on the phones.
        load: the offered traffic in Erlangs.
        p_wait: the probability that a call waits.
        occupancy: the agents' busy fraction.
        aht: the average handle time.
    """

    agents: int
    load: float
    p_wait: float
    occupancy: float
    aht: timedelta

    def service_level(self, within: timedelta) -> float:
        """The fraction of calls answered within ``within``."""
        if self.agents <= self.load:
            return 0.0
        rate = (self.agents - self.load) / self.aht.total_seconds()
        return 1.0 - self.p_wait * math.exp(-rate * within.total_seconds())

    @property
    def asa(self) -> timedelta:
        """The average speed of answer (over all calls)."""
        if self.agents <= self.load:
            return timedelta.max
        return timedelta(seconds=self.p_wait * self.aht.total_seconds() / (self.agents - self.load))


def _check(arrival_rate: float, aht: timedelta) -> float:
    if not math.isfinite(arrival_rate) or arrival_rate < 0:
        raise StaffingError("arrival_rate", arrival_rate, "calls per second, zero or more")
    if aht <= timedelta(0):
        raise StaffingError("aht", aht, "a handle time above zero")
    return arrival_rate * aht.total_seconds()


def _erlang_b(load: float, agents: int) -> float:
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def _c_from_b(b: float, load: float, agents: int) -> float:
    if agents <= load * (1 + 1e-12):  # a load equal to the agents up to rounding: never served
        return 1.0
    return agents * b / (agents - load * (1 - b))


def erlang_c(agents: int, arrival_rate: float, aht: timedelta) -> ErlangC:
    """Erlang C for ``agents`` and ``arrival_rate`` calls a second.

    Examples:
        >>> c = erlang_c(13, 100 / 1800, timedelta(seconds=180))  # 100 calls in 30 min
        >>> round(c.p_wait, 4), round(c.service_level(timedelta(seconds=20)), 4)
        (0.2853, 0.7956)
    """
    load = _check(arrival_rate, aht)
    if agents < 0:
        raise StaffingError("agents", agents, "zero or more")
    p_wait = _c_from_b(_erlang_b(load, agents), load, agents) if agents else 1.0
    occupancy = min(1.0, load / agents) if agents else 1.0
    return ErlangC(agents, load, p_wait, occupancy, aht)


def agents_for(
    arrival_rate: float,
    aht: timedelta,
    target: ServiceLevel | None = None,
    *,
    shrinkage: float = 0.0,
    max_occupancy: float | None = None,
) -> int:
    """The fewest agents to schedule for ``target`` (default 80 % within 30 s).

    ``shrinkage`` (breaks, training, absence) scales the answer up:
    ``ceil(N / (1 - shrinkage))``. ``max_occupancy`` adds agents until the
    busy fraction is at most that.

    >>> agents_for(100 / 1800, timedelta(seconds=180), ServiceLevel(0.8, timedelta(seconds=20)))
    14
    """
    target = target or ServiceLevel()
    load = _check(arrival_rate, aht)
    if not 0 <= shrinkage < 1:
        raise StaffingError("shrinkage", shrinkage, "a fraction from 0 up to (not including) 1")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise StaffingError("max_occupancy", max_occupancy, "a fraction above 0, at most 1")
    if load == 0:
        return 0
    agents = math.floor(load) + 1
    b = _erlang_b(load, agents)
    seconds = aht.total_seconds()
    within = target.within.total_seconds()
    while True:
        p_wait = _c_from_b(b, load, agents)
        level = 1.0 - p_wait * math.exp(-(agents - load) / seconds * within)
        if level >= target.level and (max_occupancy is None or load / agents <= max_occupancy):
            return math.ceil(agents / (1 - shrinkage) - 1e-9)
        agents += 1
        b = load * b / (agents + load * b)


@attrs.frozen
class ErlangA:
    """Erlang A figures: like Erlang C, with callers who abandon.

    Attributes:
        agents: the number of agents.
        load: the offered traffic in Erlangs.
        p_wait: the probability that a call waits.
        p_abandon: the probability that a call hangs up before an answer.
        asa: the average wait of all calls (served or not).
        service_level: the fraction of all calls answered within the threshold.
    """

    agents: int
    load: float
    p_wait: float
    p_abandon: float
    asa: timedelta
    service_level: float


def erlang_a(
    agents: int, arrival_rate: float, aht: timedelta, patience: timedelta, within: timedelta
) -> ErlangA:
    """Erlang A (M/M/N+M) with mean ``patience``; the service level is for ``within``.

    The stationary queue is summed until its terms vanish; the service level
    follows a waiting caller's position in the queue (servers freeing up,
    callers ahead abandoning, the caller's own patience) by uniformisation.
    """
    load = _check(arrival_rate, aht)
    if agents < 1:
        raise StaffingError("agents", agents, "one or more")
    if patience <= timedelta(0):
        raise StaffingError("patience", patience, "a mean patience above zero")
    mu = 1 / aht.total_seconds()
    theta = 1 / patience.total_seconds()
    lam = arrival_rate
    # unnormalised stationary probabilities, relative to state N (all agents busy)
    below = [1.0]  # p_{N-k} / p_N for k = 0..N, by the ratio p_{n-1}/p_n = n mu / lam
    for n in range(agents, 0, -1):
        below.append(below[-1] * n * mu / lam if lam else 0.0)
    above = [1.0]  # p_{N+j} / p_N
    while above[-1] > 1e-16 * sum(above) and len(above) < 100_000:
        j = len(above)
        above.append(above[-1] * lam / (agents * mu + j * theta))
    total = sum(below[1:]) + sum(above)
    p_wait = sum(above) / total
    mean_queue = sum(j * p for j, p in enumerate(above)) / total
    p_abandon = theta * mean_queue / lam if lam else 0.0
    asa = timedelta(seconds=p_abandon / theta) if lam else timedelta(0)
    # an arrival that finds N + j callers in the system waits with j ahead of it
    answered_late = _served_by(above, agents * mu, theta, within.total_seconds())
    level = (1 - p_wait) + answered_late / total
    return ErlangA(agents, load, p_wait, p_abandon, asa, level)


def _served_by(weights: Sequence[float], service: float, theta: float, t: float) -> float:
    """Mass (weighted by ``weights[j]``, j callers ahead) answered within ``t``.

    A caller with ``i`` ahead moves up at rate ``service + i theta`` and leaves at
    rate ``theta``; at ``i = 0`` the next free agent answers it.
    """
    size = len(weights)
    rate = service + size * theta + theta
    probs = list(weights)  # mass by number ahead, not yet answered or gone
    served = 0.0
    steps = int(rate * t + 10 * math.sqrt(rate * t + 1) + 10)
    poisson = math.exp(-rate * t)
    cdf_mass = 0.0  # sum over k of Poisson(k) * served_after_k_jumps
    for k in range(steps + 1):
        cdf_mass += poisson * served
        moved = [0.0] * size
        newly = 0.0
        for i, p in enumerate(probs):
            if p == 0.0:
                continue
            up = (service + i * theta) / rate
            stay = 1.0 - up - theta / rate
            moved[i] += p * stay
            if i == 0:
                newly += p * up
            else:
                moved[i - 1] += p * up
        probs = moved
        served += newly
        poisson *= rate * t / (k + 1)
    return cdf_mass


@attrs.frozen
class IntervalPlan:
    """Agents needed in one forecast interval, and what they achieve."""

    index: int
    calls: float
    agents: int
    on_phones: int
    service_level: float
    asa: timedelta
    occupancy: float


def plan_intervals(
    forecast: Sequence[float],
    aht: timedelta,
    target: ServiceLevel | None = None,
    *,
    interval: timedelta = timedelta(minutes=30),
    shrinkage: float = 0.0,
    max_occupancy: float | None = None,
) -> list[IntervalPlan]:
    """Agents per interval for a forecast of calls per interval (e.g. 48 half hours).

    Examples:
        >>> pickup = ServiceLevel.from_policy(SlaPolicy.default())  # 80 % within 30 s
        >>> day = plan_intervals([0, 50, 100], timedelta(seconds=180), pickup)
        >>> [p.agents for p in day]
        [0, 8, 13]
    """
    target = target or ServiceLevel()
    if not 0 <= shrinkage < 1:
        raise StaffingError("shrinkage", shrinkage, "a fraction from 0 up to (not including) 1")
    if not isinstance(interval, timedelta) or interval <= timedelta(0):
        raise StaffingError("interval", interval, "a positive duration, such as 30 minutes")
    out = []
    seconds = interval.total_seconds()
    for i, calls in enumerate(forecast):
        rate = calls / seconds
        on_phones = agents_for(rate, aht, target, max_occupancy=max_occupancy)
        scheduled = math.ceil(on_phones / (1 - shrinkage) - 1e-9) if on_phones else 0
        figures = erlang_c(on_phones, rate, aht) if on_phones else None
        out.append(
            IntervalPlan(
                i,
                calls,
                scheduled,
                on_phones,
                figures.service_level(target.within) if figures else 1.0,
                figures.asa if figures else timedelta(0),
                figures.occupancy if figures else 0.0,
            )
        )
    return out
