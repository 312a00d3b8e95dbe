from __future__ import annotations

import heapq
import random
from datetime import timedelta
from fractions import Fraction
from math import factorial
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from carekit import SlaPolicy
from carekit.exceptions import InvalidType, StaffingError
from carekit.staffing import (
    ServiceLevel,
    _erlang_b,
    agents_for,
    erlang_a,
    erlang_c,
    plan_intervals,
)

S = timedelta(seconds=1)
HALF_HOUR = 1800.0


def reference_p_wait(agents: int, load: Fraction) -> float:
    """The textbook formula with exact fractions and factorials: slow, obviously right."""
    top = load**agents / factorial(agents) * Fraction(agents) / (agents - load)
    bottom = sum(load**k / factorial(k) for k in range(agents)) + top
    return float(top / bottom)


def test_published_example_100_calls_in_30_minutes() -> None:
    """100 calls in 30 min at 180 s (10 Erlangs): published P(wait) values; 14 agents for 80/20."""
    rate = 100 / HALF_HOUR
    published = {11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741}
    for agents, p_wait in published.items():
        assert p_wait == round(erlang_c(agents, rate, 180 * S).p_wait, 4)
    assert 0.7956 == round(erlang_c(13, rate, 180 * S).service_level(20 * S), 4)
    assert 14 == agents_for(rate, 180 * S, ServiceLevel(0.8, 20 * S))
    assert 20 == agents_for(rate, 180 * S, ServiceLevel(0.8, 20 * S), shrinkage=0.3)


@settings(max_examples=200, deadline=None)
@given(
    agents=st.integers(min_value=1, max_value=60),
    load_tenths=st.integers(min_value=1, max_value=600),
)
# found by this test: 26 Erlangs given as 26/180 calls a second times 180 s rounds below 26
@example(agents=26, load_tenths=260)
def test_erlang_c_agrees_with_the_exact_reference(agents: int, load_tenths: int) -> None:
    """The recursion equals the factorial formula wherever the queue is stable."""
    load = Fraction(load_tenths, 10)
    if load >= agents:
        assert 1.0 == erlang_c(agents, float(load) / 180, 180 * S).p_wait
        return
    assert erlang_c(agents, float(load) / 180, 180 * S).p_wait == pytest.approx(
        reference_p_wait(agents, load), rel=1e-9, abs=1e-12
    )


def test_thousands_of_agents_do_not_overflow() -> None:
    """4,900 Erlangs on 5,000 agents: finite, sensible figures, found quickly."""
    figures = erlang_c(5000, 4900 / 180, 180 * S)
    assert 0 < figures.p_wait < 1
    needed = agents_for(4900 / 180, 180 * S)
    assert 4900 < needed < 5100
    assert erlang_c(needed, 4900 / 180, 180 * S).service_level(30 * S) >= 0.8
    assert erlang_c(needed - 1, 4900 / 180, 180 * S).service_level(30 * S) < 0.8


@settings(max_examples=100, deadline=None)
@given(calls=st.integers(min_value=0, max_value=3000), more=st.integers(min_value=0, max_value=500))
def test_more_calls_never_need_fewer_agents(calls: int, more: int) -> None:
    """agents_for is monotonic in the arrival rate."""
    assert agents_for(calls / HALF_HOUR, 240 * S) <= agents_for((calls + more) / HALF_HOUR, 240 * S)


def test_occupancy_cap_adds_agents() -> None:
    """A cap on occupancy can only raise the answer, and it holds."""
    rate = 2000 / HALF_HOUR
    plain = agents_for(rate, 180 * S)
    capped = agents_for(rate, 180 * S, max_occupancy=0.85)
    assert capped >= plain
    assert erlang_c(capped, rate, 180 * S).occupancy <= 0.85


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: agents_for(1.0, timedelta(0)), "aht"),
        (lambda: ServiceLevel(1.0, timedelta(0)), "level"),
        (lambda: ServiceLevel(1.0, 30 * S), "level"),
        (lambda: agents_for(-1.0, 180 * S), "arrival_rate"),
        (lambda: agents_for(1.0, 180 * S, shrinkage=1.0), "shrinkage"),
        (lambda: erlang_a(3, 1.0, 180 * S, timedelta(0), 20 * S), "patience"),
    ],
)
def test_impossible_inputs_raise_instead_of_hanging(call: object, field: str) -> None:
    """Zero handle time, a 100 % target, negative traffic: StaffingError (a ValueError)."""
    with pytest.raises(StaffingError) as info:
        call()  # type: ignore[operator]
    assert field == info.value.field
    assert isinstance(info.value, ValueError)


def test_no_calls_no_agents() -> None:
    """Zero traffic needs nobody."""
    assert 0 == agents_for(0.0, 180 * S)


def test_erlang_a_tends_to_erlang_c_with_endless_patience() -> None:
    """With patience of years Erlang A gives Erlang C's figures."""
    rate = 100 / HALF_HOUR
    a = erlang_a(13, rate, 180 * S, timedelta(days=3650), 20 * S)
    c = erlang_c(13, rate, 180 * S)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-4)
    assert a.service_level == pytest.approx(c.service_level(20 * S), rel=1e-4)
    assert a.asa.total_seconds() == pytest.approx(c.asa.total_seconds(), rel=1e-3)
    assert a.p_abandon < 1e-5


def test_erlang_a_is_less_pessimistic() -> None:
    """Callers who hang up shorten the queue: less waiting, a higher service level."""
    rate = 100 / HALF_HOUR
    a = erlang_a(12, rate, 180 * S, 60 * S, 20 * S)
    c = erlang_c(12, rate, 180 * S)
    assert a.p_wait < c.p_wait
    assert a.service_level > c.service_level(20 * S)
    assert 0 < a.p_abandon < a.p_wait


def simulate_mmn_m(
    agents: int, rate: float, aht: float, patience: float, within: float, n: int
) -> tuple[float, float, float]:
    """A discrete-event simulation of M/M/N+M: (P(wait), P(abandon), service level)."""
    rng = random.Random(42)
    free_at: list[float] = [0.0] * agents
    heapq.heapify(free_at)
    t = 0.0
    waited = abandoned = fast = 0  # FCFS: answered when an agent frees up, if still there
    for _ in range(n):
        t += rng.expovariate(rate)
        start = max(t, free_at[0])
        wait = start - t
        gives_up = rng.expovariate(1 / patience)
        if wait > 0:
            waited += 1
        if wait > gives_up:
            abandoned += 1
            continue
        if wait <= within:
            fast += 1
        heapq.heapreplace(free_at, start + rng.expovariate(1 / aht))
    return waited / n, abandoned / n, fast / n


def test_erlang_a_agrees_with_a_simulation() -> None:
    """Against a seeded simulation of the same queue, within sampling error."""
    agents, rate, aht, patience = 4, 3.5 / 100, 100.0, 60.0
    p_wait, p_abandon, level = simulate_mmn_m(agents, rate, aht, patience, 20.0, 200_000)
    model = erlang_a(agents, rate, aht * S, patience * S, 20 * S)
    assert model.p_wait == pytest.approx(p_wait, abs=0.01)
    assert model.p_abandon == pytest.approx(p_abandon, abs=0.01)
    assert model.service_level == pytest.approx(level, abs=0.01)


def test_the_policy_pickup_target_drives_a_day_plan() -> None:
    """The default policy's 30 s phone target, 80 %, over 48 half hours."""
    target = ServiceLevel.from_policy(SlaPolicy.default())
    assert ServiceLevel(0.8, 30 * S) == target
    forecast = [0, 0, 5, 20, 60, 120, 200, 240] * 6
    day = plan_intervals(forecast, 180 * S, target, shrinkage=0.25)
    assert 48 == len(day)
    for interval, calls in zip(day, forecast, strict=True):
        assert interval.calls == calls
        assert interval.service_level >= 0.8
        assert interval.agents >= interval.on_phones
    assert [0, 0] == [p.agents for p in day[:2]]
    assert day[7].agents > day[6].agents > day[5].agents


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"shrinkage": 1.5}, "shrinkage"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"shrinkage": -1.0}, "shrinkage"),
        ({"interval": timedelta(0)}, "interval"),
        ({"interval": 1800}, "interval"),
        ({"shrinkage": float("nan")}, "shrinkage"),
        ({"shrinkage": "0.3"}, "shrinkage"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"target": 0.8}, "target"),
    ],
)
def test_plan_intervals_refuses_impossible_settings(options: dict[str, Any], field: str) -> None:
    """Shrinkage of 150 % (-26 agents before) or a zero interval: a typed error naming it.

    A value of the wrong type (a number for the interval) is an InvalidType; an
    impossible one a StaffingError.
    """
    with pytest.raises((StaffingError, InvalidType)) as info:
        plan_intervals([50, 100], 180 * S, **options)
    error = info.value
    assert isinstance(error, StaffingError | InvalidType)
    assert field == error.field


def exact_erlang_b(load: float, agents: int) -> float:
    """The recursion from n = 0, one step per agent: slow, obviously right."""
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=0.01, max_value=20_000),
    st.floats(min_value=0.0, max_value=2.5),
)
@example(150.0, 27 / 150)  # the start of the shortened walk, where a first version was 0.2 % off
@example(300.0, 0.5)
def test_the_shortened_erlang_b_walk_equals_the_full_one(load: float, share: float) -> None:
    """Starting the recursion near the answer changes no figure (to 1e-12)."""
    agents = int(load * share)
    assert _erlang_b(load, agents) == pytest.approx(exact_erlang_b(load, agents), rel=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda: agents_for(1e6, 180 * S),  # 15.7 s before
        lambda: erlang_c(100_020_000, 1e8 / 180, 180 * S),  # 8 s before
        lambda: erlang_a(14, 100 / HALF_HOUR, 180 * S, 60 * S, timedelta(days=365)),  # > 30 s
        lambda: agents_for(1e3, 180 * S, max_occupancy=0.5),
    ],
)
def test_heavy_loads_and_long_targets_finish(call: Any) -> None:
    """Work grows with sqrt(load) at most; the suite's timeout would catch a hang.

    (Timings are in benchmarks/staffing.py; here the answers are checked.)
    """
    result = call()
    if isinstance(result, int):
        assert result > 0
    else:
        assert 0 <= result.p_wait <= 1


def test_a_target_of_a_year_answers_everyone_who_does_not_hang_up() -> None:
    """The Poisson weights of a long target underflowed to 0 before: the level was 1 - P(wait)."""
    rate = 100 / HALF_HOUR
    long = erlang_a(12, rate, 180 * S, 60 * S, timedelta(days=365))
    assert long.service_level == pytest.approx(1 - long.p_abandon, rel=1e-12)
    hour = erlang_a(12, rate, 180 * S, 60 * S, timedelta(hours=1))
    assert erlang_a(12, rate, 180 * S, 60 * S, 20 * S).service_level < hour.service_level


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: agents_for(1e8, 180 * S), "arrival_rate"),  # 1.8e10 Erlangs: past MAX_LOAD
        (lambda: erlang_a(200_000, 1000.0, 180 * S, 60 * S, 20 * S), "agents"),
        (lambda: agents_for(float("inf"), 180 * S), "arrival_rate"),
        (lambda: agents_for("10", 180 * S), "arrival_rate"),  # type: ignore[arg-type]
        (lambda: agents_for(True, 180 * S), "arrival_rate"),  # noqa: FBT003
        (lambda: agents_for(1.0, 180), "aht"),  # type: ignore[arg-type]
        (lambda: erlang_c(2.5, 1.0, 180 * S), "agents"),  # type: ignore[arg-type]
        (lambda: erlang_c(-1, 1.0, 180 * S), "agents"),
        (lambda: erlang_a(3, 1.0, 180 * S, 60 * S, -S), "within"),
        (lambda: erlang_a(3, 1.0, 180 * S, 60, 20 * S), "patience"),  # type: ignore[arg-type]
        (lambda: ServiceLevel(0.8, 30), "within"),  # type: ignore[arg-type]
        (lambda: ServiceLevel("0.8", 30 * S), "level"),  # type: ignore[arg-type]
        (lambda: plan_intervals([10, -1], 180 * S), "forecast[1]"),
        (lambda: plan_intervals([10, None], 180 * S), "forecast[1]"),  # type: ignore[list-item]
        (lambda: plan_intervals("10,20", 180 * S), "forecast"),  # type: ignore[arg-type]
        (lambda: plan_intervals([1e12], 180 * S), "arrival_rate"),
    ],
)
def test_every_argument_is_checked(call: Any, field: str) -> None:
    """Wrong types (InvalidType), non-finite numbers and loads past the formulas (StaffingError)."""
    with pytest.raises((StaffingError, InvalidType)) as info:
        call()
    error = info.value
    assert isinstance(error, StaffingError | InvalidType)
    assert field == error.field


def test_erlang_a_without_a_steady_state_is_a_staffing_error() -> None:
    """Found by the fuzz test: overloaded agents and endless patience overflowed to NaN."""
    with pytest.raises(StaffingError, match="patience"):
        erlang_a(1, 1_006_985, timedelta(microseconds=1), timedelta(days=999_999_999), timedelta(0))
