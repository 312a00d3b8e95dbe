"""A KPI's value with the formula that produced it (shared by the KPIs and the CLV figures)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import timedelta

import attrs

from carekit._check import checked

__all__ = ["Figure", "Stats"]


@attrs.frozen
class Stats:
    """Count, mean, median and 90th percentile of durations."""

    count: int
    mean: timedelta | None
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    @checked
    def of(cls, values: Sequence[timedelta]) -> Stats:
        """Summarise ``values`` (nearest-rank 90th percentile)."""
        if not values:
            return cls(0, None, None, None)
        ordered = sorted(values)
        seconds = [v.total_seconds() for v in ordered]
        rank = max(1, math.ceil(0.9 * len(ordered)))
        return cls(
            len(ordered),
            timedelta(seconds=statistics.fmean(seconds)),
            timedelta(seconds=statistics.median(seconds)),
            ordered[rank - 1],
        )


@attrs.frozen
class Figure:
    """One KPI value with the formula that produced it.

    Attributes:
        name: the KPI (``"csat"``, ``"first_response_time"``...).
        value: a ratio (0..1), a score (NPS), a count, a :class:`Stats`, or ``None``
            when there is nothing to measure.
        formula: the formula, in words.
        count: how many items the figure is computed over.
    """

    name: str
    value: float | int | Stats | None
    formula: str
    count: int
