"""Business-time arithmetic: carekit against businesstimedelta and pandas, in one run.

For a Mon-Fri 08:00-17:00 Asia/Jakarta calendar with Indonesia's holidays and for a
two-shift calendar (06:00-14:00 and 14:30-22:30, Mon-Sat), times ``add`` and
``between`` for 30 s, 24 h and 200 h from the same random starts, with aware
datetimes in and out on every side, and counts the answers that differ from
carekit's. pandas' ``CustomBusinessHour`` adds whole hours only and has no
``between``: those cells read n/a.

Usage: ``python benchmarks/calendars.py [starts]``. (Not ``calendar.py``: a script
of that name would shadow the standard library's ``calendar`` for every script
in this folder.)
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import businesstimedelta as btd
import pandas as pd
import pytz
from _table import table

from carekit import BusinessCalendar, country_holidays

ZONE = "Asia/Jakarta"
# Indonesia's national holidays; businesstimedelta needs some in every year it walks
HOLIDAYS = sorted(country_holidays("ID", range(2025, 2033)))
DURATIONS = {
    "30 s": dt.timedelta(seconds=30),
    "24 h": dt.timedelta(hours=24),
    "200 h": dt.timedelta(hours=200),
}


def office() -> tuple[BusinessCalendar, Any, Any]:
    tz = pytz.timezone(ZONE)
    carekit = BusinessCalendar(ZONE, hours={"mon-fri": ["08:00-17:00"]}, holidays=HOLIDAYS)
    peer = btd.Rules(
        [
            btd.WorkDayRule(
                start_time=dt.time(8), end_time=dt.time(17), working_days=[0, 1, 2, 3, 4], tz=tz
            ),
            btd.HolidayRule(HOLIDAYS, tz=tz),
        ]
    )
    cbh = pd.offsets.CustomBusinessHour(
        start="08:00", end="17:00", weekmask="Mon Tue Wed Thu Fri", holidays=HOLIDAYS
    )
    return carekit, peer, cbh


def two_shifts() -> tuple[BusinessCalendar, Any, Any]:
    tz = pytz.timezone(ZONE)
    days = [0, 1, 2, 3, 4, 5]
    carekit = BusinessCalendar(
        ZONE, hours={"mon-sat": ["06:00-14:00", "14:30-22:30"]}, holidays=HOLIDAYS
    )
    peer = btd.Rules(
        [
            btd.WorkDayRule(start_time=dt.time(6), end_time=dt.time(14), working_days=days, tz=tz),
            btd.WorkDayRule(
                start_time=dt.time(14, 30), end_time=dt.time(22, 30), working_days=days, tz=tz
            ),
            btd.HolidayRule(HOLIDAYS, tz=tz),
        ]
    )
    cbh = pd.offsets.CustomBusinessHour(
        start=["06:00", "14:30"],
        end=["14:00", "22:30"],
        weekmask="Mon Tue Wed Thu Fri Sat",
        holidays=HOLIDAYS,
    )
    return carekit, peer, cbh


def per_call(fn: Callable[[Any], Any], inputs: list[Any]) -> tuple[float, list[Any]]:
    """Microseconds per call (best of five passes) and the answers."""
    best = float("inf")
    answers: list[Any] = []
    for _ in range(5):
        t = time.perf_counter()
        answers = [fn(x) for x in inputs]
        best = min(best, time.perf_counter() - t)
    return best / len(inputs) * 1e6, answers


def same_instant(a: Any, b: Any) -> bool:
    return (
        a is not None and b is not None and abs(pd.Timestamp(a).timestamp() - b.timestamp()) < 1e-6
    )


def row(  # noqa: PLR0917 - one benchmark row, its inputs spelled out
    carekit: BusinessCalendar,
    peer: Any,
    cbh: Any,
    d: dt.timedelta,
    starts: list[dt.datetime],
    local: list[dt.datetime],
    stamps: list[Any],
) -> tuple[Any, ...]:
    """Times and answers for one calendar and one span, carekit and the peers."""
    tz = pytz.timezone(ZONE)
    ck_add, ends = per_call(lambda s: carekit.add(s, d), starts)
    pairs = list(zip(starts, ends, strict=True))
    ck_between, spans = per_call(lambda p: carekit.between(p[0], p[1]), pairs)
    delta = btd.BusinessTimeDelta(peer, seconds=int(d.total_seconds()))
    bt_add, bt_ends = per_call(lambda s: s + delta, local)
    local_pairs = [(a.astimezone(tz), b.astimezone(tz)) for a, b in pairs]
    bt_between, bt_spans = per_call(lambda p: peer.difference(p[0], p[1]), local_pairs)
    bt_diff = sum(not same_instant(x, y) for x, y in zip(bt_ends, ends, strict=True))
    bt_diff += sum(
        dt.timedelta(hours=b.hours, seconds=b.seconds) != s
        for b, s in zip(bt_spans, spans, strict=True)
    )
    if d.total_seconds() % 3600:  # pandas adds whole business hours only
        return (ck_add, ck_between, bt_add, bt_between, "n/a",
                bt_add / ck_add, bt_between / ck_between, "n/a", bt_diff, "n/a")  # fmt: skip
    offset = cbh * int(d.total_seconds() // 3600)
    pd_add, pd_ends = per_call(lambda s: s + offset, stamps)
    pd_diff = sum(not same_instant(x, y) for x, y in zip(pd_ends, ends, strict=True))
    ratios = (bt_add / ck_add, bt_between / ck_between, pd_add / ck_add)
    return (ck_add, ck_between, bt_add, bt_between, pd_add, *ratios, bt_diff, pd_diff)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rng = random.Random(7)
    tz = pytz.timezone(ZONE)
    base = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    starts = [base + dt.timedelta(seconds=rng.randrange(0, 340 * 86_400)) for _ in range(n)]
    local = [s.astimezone(tz) for s in starts]  # what the peers want: pytz-aware
    stamps = [pd.Timestamp(s).tz_convert(ZONE) for s in starts]
    rows = []
    for cal_name, build in (
        ("Mon-Fri 08-17 + holidays", office),
        ("two shifts, Mon-Sat", two_shifts),
    ):
        carekit, peer, cbh = build()
        carekit.add(starts[0], dt.timedelta(hours=1))  # a long-lived desk has its window
        for d_name, d in DURATIONS.items():
            rows.append((cal_name, d_name, *row(carekit, peer, cbh, d, starts, local, stamps)))
    print(f"{n} random starts in 2026, aware datetimes in and out; µs per call (best of 5)\n")
    print(
        table(
            [
                "calendar",
                "span",
                "carekit add",
                "carekit between",
                "btd add",
                "btd between",
                "pandas add",
                "btd/ck add",
                "btd/ck between",
                "pandas/ck add",
                "btd differs",
                "pandas differs",
            ],
            rows,
        )
    )
    print("\n(ratios: the peer's time divided by carekit's; 'differs': answers unlike carekit's)")
    print(
        "pandas differs where a deadline lands exactly on a shift's end: it rolls it to the\n"
        "next opening (14:00 -> 14:30, 22:30 -> 06:00); the working time is the same, carekit\n"
        "returns the earliest instant at which the time has elapsed."
    )
    print(f"\n{days_and_back(starts)}")
    far_spans()


def days_and_back(starts: list[dt.datetime]) -> str:
    """Business days forward and working time backward on the office calendar, from starts
    inside working hours (where the three agree on what a business day means: for the
    peers, 2 business days of 08-17 are 18 working hours, or pandas' CustomBusinessDay)."""
    carekit, peer, cbh = office()
    tz = pytz.timezone(ZONE)
    starts = [
        s for s in starts if carekit.is_open(s) and carekit.is_open(s - dt.timedelta(seconds=1))
    ]
    local = [s.astimezone(tz) for s in starts]
    stamps = [pd.Timestamp(s).tz_convert(ZONE) for s in starts]
    cbd = pd.offsets.CustomBusinessDay(n=2, weekmask="Mon Tue Wed Thu Fri", holidays=HOLIDAYS)
    two_days = btd.BusinessTimeDelta(peer, hours=18)
    back = dt.timedelta(hours=24)
    back_btd = btd.BusinessTimeDelta(peer, hours=24)
    back_pd = cbh * 24
    rows = []
    cases: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]] = [
        ("2 business days later", lambda s: carekit.add_days(s, 2), lambda s: s + two_days,
         lambda s: s + cbd),
        ("24 working hours back", lambda s: carekit.add(s, -back), lambda s: s - back_btd,
         lambda s: s - back_pd),
    ]  # fmt: skip
    for name, ours, theirs, pandas in cases:
        ck, ends = per_call(ours, starts)
        bt, bt_ends = per_call(theirs, local)
        pdt, pd_ends = per_call(pandas, stamps)
        bt_diff = sum(not same_instant(x, y) for x, y in zip(bt_ends, ends, strict=True))
        pd_diff = sum(not same_instant(x, y) for x, y in zip(pd_ends, ends, strict=True))
        rows.append((name, ck, bt, pdt, bt / ck, pdt / ck, bt_diff, pd_diff))
    heading = f"{len(starts)} of those starts inside working hours, Mon-Fri 08-17 + holidays"
    columns = [
        "",
        "carekit",
        "btd",
        "pandas",
        "btd/ck",
        "pandas/ck",
        "btd differs",
        "pandas differs",
    ]
    text: str = table(columns, rows)
    return f"{heading}; µs per call\n\n{text}"


def far_spans() -> None:
    """Work that does not grow with the span (issue 12): a fresh calendar each time."""
    a = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)

    def fresh() -> BusinessCalendar:
        return BusinessCalendar(ZONE, hours={"mon-fri": ["08:00-17:00"]})

    def timed(fn: Callable[[], Any]) -> float:
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1e3

    warm = fresh()
    warm.between(a, a.replace(year=2526))
    warm.is_open(a.replace(year=2300))
    rows = [
        (
            "between 2026 and 2526, first query",
            timed(lambda: fresh().between(a, a.replace(year=2526))),
        ),
        ("the same, asked again", timed(lambda: warm.between(a, a.replace(year=2526)))),
        ("add 60,000 working hours", timed(lambda: fresh().add(a, dt.timedelta(hours=60_000)))),
        ("a 30 s add after a query in 2300", timed(lambda: warm.add(a, dt.timedelta(seconds=30)))),
    ]
    print()
    print(table(["far spans (ms, one call)", "carekit"], rows))
    print(
        "(before issue 12: 1.0 s, -, 'no working time within 10 years', and every later query\n"
        "slowed by a 277-year window kept in memory)"
    )


if __name__ == "__main__":
    main()
