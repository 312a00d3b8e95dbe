"""Call-centre staffing: Erlang C and Erlang A, tied to the phone pickup target.

Theory of operation
-------------------
Erlang C (M/M/N) gives, for an offered load ``A = arrival rate x handle time``
(in Erlangs) and ``N`` agents: the probability of waiting ``C(N, A)``, the
service level ``1 - C e^{-(N-A) t / AHT}``, the average speed of answer
``C AHT / (N - A)`` and the occupancy ``A / N``. ``C`` is computed from the
Erlang B recursion ``B(n) = A B(n-1) / (n + A B(n-1))``, which never forms a
factorial or a power, so thousands of agents and heavy traffic are exact to
floating point.

**Bounded work.** The recursion does not start at ``n = 0``: far below the
load, ``B(n)`` is ``1 - n/A`` to within ``n/A^2``, and each step of the
recursion shrinks an error by the factor ``n/A``, so starting at
``A - 10 sqrt(A)`` from that value loses nothing (the start's error is
multiplied by about ``e^-50``). Far above the load, ``B`` underflows to zero
and the walk stops. So every figure costs O(sqrt(A)) steps, not O(A):
:func:`agents_for` at 100 million Erlangs takes milliseconds. Loads above
:data:`MAX_LOAD` Erlangs, and Erlang A beyond :data:`MAX_ERLANG_A_AGENTS`,
raise :class:`~carekit.exceptions.StaffingError`.

Erlang A (M/M/N+M) adds customer patience: callers abandon after an
exponential time. It is less pessimistic than Erlang C when callers hang up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from numbers import Real

import attrs

from carekit._check import checked
from carekit._model import Channel
from carekit._sla import SlaPolicy, TargetKey
from carekit._sla_report import Metric
from carekit.exceptions import StaffingError

__all__ = [
    "MAX_ERLANG_A_AGENTS",
    "MAX_LOAD",
    "ErlangA",
    "ErlangC",
    "IntervalPlan",
    "ServiceLevel",
    "agents_for",
    "erlang_a",
    "erlang_c",
    "plan_intervals",
]


MAX_LOAD = 1e9
"""The largest offered load (in Erlangs) the formulas are asked to handle."""

MAX_ERLANG_A_AGENTS = 100_000
"""The most agents :func:`erlang_a` sums its queue for."""

_START = 10.0  # the recursion starts this many standard deviations below the load


def _number(name: str, value: object, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise StaffingError(name, value, expected)
    number = float(value)
    if not math.isfinite(number):
        raise StaffingError(name, value, expected)
    return number


def _fraction(name: str, value: object, *, top: bool) -> float:
    expected = f"a fraction from 0 up to {'and including' if top else '(not including)'} 1"
    number = _number(name, value, expected)
    if not (0 <= number <= 1 if top else 0 <= number < 1):
        raise StaffingError(name, value, expected)
    return number


def _count(name: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise StaffingError(name, value, f"a whole number, {least} or more")
    return value


def _duration(name: str, value: object, expected: str, *, zero: bool) -> float:
    if not isinstance(value, timedelta) or value < timedelta(0) or (not zero and not value):
        raise StaffingError(name, value, expected)
    return value.total_seconds()


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
        expected = "a fraction above 0 and below 1 (100% is never reached)"
        if not 0 < _number("level", self.level, expected) < 1:
            raise StaffingError("level", self.level, expected)
        _duration("within", self.within, "a wait of zero or more", zero=True)

    @classmethod
    @checked
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

    @checked
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


def _check(arrival_rate: object, aht: object) -> float:
    rate = _number("arrival_rate", arrival_rate, "calls per second, zero or more")
    if rate < 0:
        raise StaffingError("arrival_rate", arrival_rate, "calls per second, zero or more")
    seconds = _duration("aht", aht, "a handle time above zero", zero=False)
    load = rate * seconds
    if load > MAX_LOAD:
        raise StaffingError(
            "arrival_rate",
            arrival_rate,
            f"an offered load of at most {MAX_LOAD:.0e} Erlangs (calls a second times handle time)",
        )
    return load


def _b_start(load: float, agents: int) -> tuple[int, float]:
    """Where the Erlang B recursion starts for ``B(agents)``, and ``B`` there.

    Below the load, ``B(n) = 1 - n/A`` to within ``1/A``, and each step of the
    recursion multiplies an error by at most ``n/A <= e^-(A-n)/A``. The start is
    ``m`` steps below ``agents``, with ``m`` large enough that those factors
    multiply to under ``e^-46`` (``m^2/2A + m g/A >= 46`` for ``g = A - agents``),
    and never above ``A - 10 sqrt(A)`` (from where the factors up to ``A``
    multiply to ``e^-50``).
    """
    gap = max(0.0, load - agents)
    steps = math.ceil(math.sqrt(gap * gap + 92 * load) - gap) + 1
    first = min(math.floor(load - _START * math.sqrt(load)), agents - steps)
    if first <= 0:
        return 0, 1.0
    return first, 1.0 - first / load


def _erlang_b(load: float, agents: int) -> float:
    n, b = _b_start(load, agents)
    while n < agents:
        n += 1
        b = load * b / (n + load * b)
        if b < 1e-300:  # past the load's tail: B is zero to floating point from here on
            return 0.0
    return b


def _c_from_b(b: float, load: float, agents: int) -> float:
    if agents <= load * (1 + 1e-12):  # a load equal to the agents up to rounding: never served
        return 1.0
    return agents * b / (agents - load * (1 - b))


@checked
def erlang_c(agents: int, arrival_rate: float, aht: timedelta) -> ErlangC:
    """Erlang C for ``agents`` and ``arrival_rate`` calls a second.

    Examples:
        >>> c = erlang_c(13, 100 / 1800, timedelta(seconds=180))  # 100 calls in 30 min
        >>> round(c.p_wait, 4), round(c.service_level(timedelta(seconds=20)), 4)
        (0.2853, 0.7956)
    """
    load = _check(arrival_rate, aht)
    _count("agents", agents, 0)
    p_wait = _c_from_b(_erlang_b(load, agents), load, agents) if agents else 1.0
    occupancy = min(1.0, load / agents) if agents else 1.0
    return ErlangC(agents, load, p_wait, occupancy, aht)


@checked
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
    target = _target(target)
    load = _check(arrival_rate, aht)
    _fraction("shrinkage", shrinkage, top=False)
    _occupancy(max_occupancy)
    if load == 0:
        return 0
    agents = math.floor(load) + 1
    if max_occupancy is not None:  # no fewer than the cap allows: O(sqrt(A)) steps remain
        agents = max(agents, math.ceil(load / max_occupancy - 1e-9))
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


def _target(target: object) -> ServiceLevel:
    if target is None:
        return ServiceLevel()
    if not isinstance(target, ServiceLevel):
        raise StaffingError("target", target, "a ServiceLevel, such as ServiceLevel(0.8, 30 s)")
    return target


def _occupancy(max_occupancy: object) -> None:
    if max_occupancy is None:
        return
    expected = "a fraction above 0, at most 1"
    if not 0 < _number("max_occupancy", max_occupancy, expected) <= 1:
        raise StaffingError("max_occupancy", max_occupancy, expected)


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


@checked
def erlang_a(
    agents: int, arrival_rate: float, aht: timedelta, patience: timedelta, within: timedelta
) -> ErlangA:
    """Erlang A (M/M/N+M) with mean ``patience``; the service level is for ``within``.

    The stationary queue is summed until its terms vanish; the service level
    follows a waiting caller's position in the queue (servers freeing up,
    callers ahead abandoning, the caller's own patience) by uniformisation.
    """
    load = _check(arrival_rate, aht)
    if _count("agents", agents, 1) > MAX_ERLANG_A_AGENTS:
        raise StaffingError("agents", agents, f"at most {MAX_ERLANG_A_AGENTS:,} for Erlang A")
    _duration("patience", patience, "a mean patience above zero", zero=False)
    wait = _duration("within", within, "a wait of zero or more", zero=True)
    mu = 1 / aht.total_seconds()
    theta = 1 / patience.total_seconds()
    lam = arrival_rate
    # unnormalised stationary probabilities, relative to state N (all agents busy)
    below = [1.0]  # p_{N-k} / p_N for k = 0..N, by the ratio p_{n-1}/p_n = n mu / lam
    for n in range(agents, 0, -1):
        below.append(below[-1] * n * mu / lam if lam else 0.0)
    above = [1.0]  # p_{N+j} / p_N
    above_sum = 1.0
    while above[-1] > 1e-16 * above_sum and len(above) < 100_000:
        j = len(above)
        above.append(above[-1] * lam / (agents * mu + j * theta))
        above_sum += above[-1]
    if not math.isfinite(above_sum) or above[-1] > 1e-16 * above_sum:
        raise StaffingError("patience", patience, "lets the queue grow without settling "
                            "(over 100,000 callers waiting): no steady state")  # fmt: skip
    total = sum(below[1:]) + sum(above)
    p_wait = sum(above) / total
    mean_queue = sum(j * p for j, p in enumerate(above)) / total
    p_abandon = theta * mean_queue / lam if lam else 0.0
    asa = timedelta(seconds=p_abandon / theta) if lam else timedelta(0)
    # an arrival that finds N + j callers in the system waits with j ahead of it
    answered_late = _served_by(above, agents * mu, theta, wait)
    level = (1 - p_wait) + answered_late / total
    return ErlangA(agents, load, p_wait, p_abandon, asa, level)


def _served_by(weights: Sequence[float], service: float, theta: float, t: float) -> float:
    """Mass (weighted by ``weights[j]``, j callers ahead) answered within ``t``.

    A caller with ``i`` ahead moves up at rate ``service + i theta`` and leaves at
    rate ``theta``; at ``i = 0`` the next free agent answers it. The jumps of the
    uniformised chain are Poisson distributed; their weights are computed in
    logarithms (a long ``t`` would underflow ``e^-rate t``), and the walk stops
    once the mass still waiting is negligible: a target of a year costs no more
    than one of a minute.
    """
    size = len(weights)
    rate = service + size * theta + theta
    jumps = rate * t
    probs = list(weights)
    remaining = sum(probs)
    negligible = remaining * 1e-16
    served = 0.0
    steps = int(jumps + 10 * math.sqrt(jumps + 1) + 10)
    log_jumps = math.log(jumps) if jumps > 0 else -math.inf
    log_poisson = -jumps
    mass = seen = 0.0  # sum over k of Poisson(k) * served after k jumps; Poisson mass so far
    for k in range(steps + 1):
        poisson = math.exp(log_poisson)
        mass += poisson * served
        seen += poisson
        if remaining <= negligible:
            break
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
        remaining = sum(moved)
        served += newly
        log_poisson += log_jumps - math.log(k + 1)
    return mass + max(0.0, 1.0 - seen) * served


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


@checked
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
    target = _target(target)
    _fraction("shrinkage", shrinkage, top=False)
    _occupancy(max_occupancy)
    seconds = _duration("interval", interval, "a positive duration, such as 30 minutes", zero=False)
    _check(0.0, aht)
    if isinstance(forecast, str | bytes) or not isinstance(forecast, Sequence):
        raise StaffingError("forecast", forecast, "a list of calls per interval")
    for i, calls in enumerate(forecast):
        if _number(f"forecast[{i}]", calls, "a number of calls, zero or more") < 0:
            raise StaffingError(f"forecast[{i}]", calls, "a number of calls, zero or more")
        _check(calls / seconds, aht)
    out = []
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
