"""The predictive CLV of many customers at once, array by array (NumPy, with the ``clv`` extra).

The same formulas as :class:`~carekit.health.BgNbd` and
:class:`~carekit.health.GammaGamma`, one NumPy array per quantity: the
hypergeometric series runs term by term until every customer's term is below
the tolerance. Used by :meth:`Predictive.clv_many <carekit.health.Predictive.clv_many>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from carekit.health._clv import PurchaseSummary, _off_one

if TYPE_CHECKING:
    from carekit.health._clv import Predictive

__all__ = ["clv_arrays", "hyp2f1_arrays"]


def hyp2f1_arrays(a: Any, b: Any, c: Any, z: Any, tolerance: float = 1e-14) -> Any:
    """``2F1(a, b; c; z)`` element by element, ``0 <= z < 1``, by the series.

    Each element stops when its own term is below the tolerance: the few with
    ``z`` near 1 run long without holding the others back.
    """
    a, b, c, z = (np.array(v, dtype=float) for v in np.broadcast_arrays(a, b, c, z))
    term = np.ones_like(z)
    total = np.ones_like(z)
    active = np.arange(z.size)
    j = 0
    while active.size and j < 1_000_000:
        step = term[active] * (a[active] + j) * (b[active] + j)
        step *= z[active] / ((c[active] + j) * (j + 1))
        term[active] = step
        total[active] += step
        active = active[np.abs(step) > tolerance * np.abs(total[active])]
        j += 1
    return total


def clv_arrays(  # noqa: PLR0917 - the clv arguments, checked by the caller
    model: Predictive,
    summaries: Sequence[PurchaseSummary],
    steps: int,
    step: float,
    discount: float,
    margin: float,
) -> list[float]:
    """Each customer's discounted margin over ``steps`` steps of ``step`` (in the model's unit)."""
    bg, gg = model.purchases, model.spend
    r, alpha, a, b = bg.r, bg.alpha, _off_one(bg.a, bg.b), bg.b
    x = np.array([s.frequency for s in summaries], dtype=float)
    t_x = np.array([s.recency for s in summaries], dtype=float)
    age = np.array([s.age for s in summaries], dtype=float)
    mean = np.array([s.mean_value for s in summaries], dtype=float)
    repeat = x > 0
    safe = np.where(repeat, x, 1.0)  # keeps log(b + x - 1) defined where it is not used
    log_odds = (
        np.log(bg.a) - np.log(b + safe - 1)
        + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    )  # fmt: skip
    odds = np.where(repeat, np.exp(np.minimum(log_odds, 700.0)), 0.0)
    head = (a + b + x - 1) / (a - 1)
    value = (
        np.where(
            repeat,
            (gg.gamma + mean * x) * gg.p / (gg.p * x + gg.q - 1),
            gg.p * gg.gamma / (gg.q - 1),
        )
        * margin
    )
    total = np.zeros_like(x)
    before = np.zeros_like(x)
    for k in range(1, steps + 1):
        t = step * k
        z = t / (alpha + age + t)
        series = hyp2f1_arrays(r + x, b + x, a + b + x - 1, z)
        after = head * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * series) / (1 + odds)
        total += value * (after - before) / (1 + discount) ** k
        before = after
    return [float(v) for v in total]
