"""Fitting the predictive CLV models by maximum likelihood (the ``clv`` extra: SciPy).

Customers with the same ``(x, t_x, T)`` count once with their weight, so a
summary of thousands of customers is fitted in a fraction of a second. The
parameters are searched on their logarithms (they must stay positive) with
Nelder-Mead, then polished with L-BFGS-B.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from carekit._check import checked
from carekit.exceptions import InvalidValue, MissingExtra
from carekit.health._clv import BgNbd, GammaGamma, PurchaseSummary

__all__ = ["fit_bgnbd", "fit_gamma_gamma"]


def _optimize() -> Any:
    try:
        from scipy import optimize  # noqa: PLC0415 - an optional extra, imported when fitting
    except ImportError as exc:
        raise MissingExtra("clv", "scipy") from exc
    return optimize


def _maximise(
    log_likelihood: Callable[[Sequence[float]], float], start: Sequence[float]
) -> list[float]:
    """The parameters (positive) maximising ``log_likelihood``, searched on their logarithms."""
    optimize = _optimize()

    def cost(logs: Sequence[float]) -> float:
        try:
            value = log_likelihood([math.exp(v) for v in logs])
        except (ValueError, OverflowError, ZeroDivisionError):
            return math.inf
        return -value if math.isfinite(value) else math.inf

    options = {"xatol": 1e-8, "fatol": 1e-8, "maxiter": 20_000}
    first = optimize.minimize(cost, [math.log(s) for s in start], method="Nelder-Mead",
                              options=options)  # fmt: skip
    best = optimize.minimize(cost, first.x, method="L-BFGS-B")
    found = best.x if best.fun <= first.fun else first.x
    return [math.exp(v) for v in found]


def _unit_of(summaries: Sequence[PurchaseSummary]) -> timedelta:
    if not summaries:
        raise InvalidValue("summaries", [], "at least one customer's summary")
    units = {s.unit for s in summaries}
    if len(units) > 1:
        raise InvalidValue("summaries", sorted(units), "summaries in one unit of time")
    return units.pop()


@checked
def fit_bgnbd(summaries: Iterable[PurchaseSummary]) -> tuple[BgNbd, float]:
    """The BG/NBD parameters that best explain ``summaries``, and the log-likelihood.

    Raises:
        InvalidValue: no summary, or summaries in different units.
        MissingExtra: SciPy is not installed (``pip install "carekit[clv]"``).
    """
    given = list(summaries)
    unit = _unit_of(given)
    groups = Counter((s.frequency, s.recency, s.age) for s in given)
    rows = [(PurchaseSummary(x, t_x, big_t, unit), n) for (x, t_x, big_t), n in groups.items()]

    def log_likelihood(params: Sequence[float]) -> float:
        r, alpha, a, b = params
        model = BgNbd(r, alpha, a, b, unit=unit)
        return sum(n * model.log_likelihood(s) for s, n in rows)

    found = _maximise(log_likelihood, [1.0, 1.0, 1.0, 1.0])
    r, alpha, a, b = found
    model = BgNbd(r, alpha, a, b, unit=unit)
    return model, log_likelihood(found)


@checked
def fit_gamma_gamma(summaries: Iterable[PurchaseSummary]) -> tuple[GammaGamma, float]:
    """The Gamma-Gamma parameters from the repeat customers of ``summaries``, and the LL.

    Customers without a repeat purchase (or whose repeats cost nothing) carry no
    spend information and are left out, as in the model's paper.
    """
    rows = Counter(
        (s.frequency, s.mean_value) for s in summaries if s.frequency > 0 and s.mean_value > 0
    )
    if not rows:
        raise InvalidValue("summaries", [], "at least one repeat customer who spent something")

    def log_likelihood(params: Sequence[float]) -> float:
        p, q, gamma = params
        model = GammaGamma(p, q, gamma)
        return sum(n * model._log_likelihood(x, m) for (x, m), n in rows.items())

    found = _maximise(log_likelihood, [1.0, 1.0, 1.0])
    return GammaGamma(*found), log_likelihood(found)
