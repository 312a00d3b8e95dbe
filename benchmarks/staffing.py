"""Staffing speed: agents_for at 10,000 calls an hour, and a 48-interval day.

There is no peer in the required dependencies; the figures stand against the
target of under a millisecond per interval.

Usage: ``python benchmarks/staffing.py``.
"""

from __future__ import annotations

import time
from datetime import timedelta

from _table import table

from carekit import SlaPolicy
from carekit.staffing import ServiceLevel, agents_for, erlang_a, plan_intervals

AHT = timedelta(seconds=180)


def per_call(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best


def main() -> None:
    target = ServiceLevel.from_policy(SlaPolicy.default())
    rate = 10_000 / 3600
    single = per_call(lambda: agents_for(rate, AHT, target, shrinkage=0.3), 200)
    forecast = [
        max(0.0, 5000 * (1 - abs(i - 24) / 24)) for i in range(48)
    ]  # a peaked day, per half hour
    day = per_call(lambda: plan_intervals(forecast, AHT, target, shrinkage=0.3), 5)
    rows = [
        (
            "agents_for, 10,000 calls/h",
            agents_for(rate, AHT, target, shrinkage=0.3),
            single * 1e3,
            1e-3 / single,
        ),
        (
            "plan_intervals, 48 half hours",
            sum(p.agents for p in plan_intervals(forecast, AHT, target, shrinkage=0.3)),
            day / 48 * 1e3,
            1e-3 / (day / 48),
        ),
    ]
    print(table(["", "agents", "ms per interval", "x target"], rows))
    print("\n(x target: one millisecond divided by the time per interval)")
    # Bounded work (issue 12): the cost grows with sqrt(load) at most, and a long
    # target costs no more than a short one. Before: 14.0 s, 9.5 s and 52.5 s.
    heavy = [
        ("agents_for, 1e6 calls/s (1.8e8 Erlangs)", lambda: agents_for(1e6, AHT)),
        (
            "agents_for, 10,000 calls/h, 85 % occupancy",
            lambda: agents_for(rate, AHT, max_occupancy=0.85),
        ),
        (
            "erlang_a, a 365-day target",
            lambda: erlang_a(14, 100 / 1800, AHT, timedelta(seconds=60), timedelta(days=365)),
        ),
    ]
    heavy_rows = [(name, per_call(fn, 3) * 1e3) for name, fn in heavy]
    print()
    print(table(["heavy inputs", "ms"], heavy_rows))


if __name__ == "__main__":
    main()
