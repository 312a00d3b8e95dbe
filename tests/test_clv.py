"""CLV: the named formulas, BG/NBD and Gamma-Gamma against the CDNOW paper and slow references.

The published results checked here (Fader, Hardie and Lee, 2005, "Counting Your
Customers the Easy Way"; and "RFM and CLV: Using Iso-Value Curves", with the
Gamma-Gamma spend model) are for the CDNOW sample in tests/data/cdnow_summary.csv
(2,357 customers, 39-week calibration period; see tests/data/README.md).
"""

from __future__ import annotations

import csv
import math
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit.exceptions import InvalidValue, MissingExtra
from carekit.health import (
    BgNbd,
    GammaGamma,
    Order,
    Predictive,
    PurchaseSummary,
    fit_bgnbd,
    fit_gamma_gamma,
    historic_clv,
    hyp2f1,
    retention_clv,
    simple_clv,
    summarise,
)
from carekit.kpis import Figure

integrate = pytest.importorskip("scipy.integrate")

WEEK = timedelta(weeks=1)
DAY = timedelta(days=1)
CDNOW = Path(__file__).parent / "data" / "cdnow_summary.csv"
PAPER = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, unit=WEEK)
SPEND = GammaGamma(p=6.25, q=3.74, gamma=15.44)


def _value(figure: Figure) -> float:
    assert isinstance(figure.value, float)
    return figure.value


def cdnow() -> list[PurchaseSummary]:
    with CDNOW.open() as f:
        return [
            PurchaseSummary(int(r["x"]), float(r["t_x"]), float(r["T"]), WEEK, float(r["zbar"]))
            for r in csv.DictReader(f)
        ]


# -- the paper's figures -----------------------------------------------------------------------


def test_the_sample_is_the_papers() -> None:
    customers = cdnow()
    assert 2357 == len(customers)
    assert 1411 == sum(c.frequency == 0 for c in customers)  # no repeat purchase in 39 weeks


def test_the_papers_parameters_give_its_log_likelihood() -> None:
    """Pure Python, no fitting: the log-likelihood at the published parameters."""
    assert sum(PAPER.log_likelihood(c) for c in cdnow()) == pytest.approx(-9582.4, abs=0.1)


def test_fitting_recovers_the_published_parameters() -> None:
    model, log_likelihood = fit_bgnbd(cdnow())
    assert (model.r, model.alpha, model.a, model.b) == pytest.approx(
        (0.243, 4.414, 0.793, 2.426), abs=0.001 * 5
    )
    assert log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert model.unit == WEEK
    spend, _ = fit_gamma_gamma(cdnow())
    assert (spend.p, spend.q, spend.gamma) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    free = [*cdnow(), PurchaseSummary(3, 10.0, 20.0, WEEK, 0.0)]  # repeats that cost nothing
    assert fit_gamma_gamma(free)[0] == spend  # carry no spend information: left out
    with pytest.raises(InvalidValue, match="spent something"):
        fit_gamma_gamma([PurchaseSummary(0, 0.0, 5.0, WEEK)])


def test_the_papers_worked_examples() -> None:
    """Customer 1 (2 repeat purchases, the last at week 30.43, observed 38.86 weeks) is expected
    to make 1.226 purchases in the next 39 weeks; the spend model expects 24.66 from a customer
    who spent 22.35 on average over 2 repeats, and the population mean (35.17) from one with
    none."""
    first = PurchaseSummary(2, 30.43, 38.86, WEEK, 22.35)
    assert PAPER.conditional_purchases(first, timedelta(weeks=39)) == pytest.approx(1.226, abs=5e-4)
    fitted = GammaGamma(p=6.2488, q=3.7446, gamma=15.4477)
    assert fitted.expected_value(first) == pytest.approx(24.66, abs=0.01)
    assert fitted.expected_value(PurchaseSummary(1, 1.71, 38.86, WEEK, 11.77)) == pytest.approx(
        18.91, abs=0.01
    )
    assert fitted.expected_value(None) == pytest.approx(35.17, abs=0.01)


def test_units_are_explicit_and_consistent() -> None:
    """The same customer and model in days give the same answers as in weeks; mixing is refused."""
    in_days = BgNbd(PAPER.r, PAPER.alpha * 7, PAPER.a, PAPER.b, unit=DAY)
    weeks = PurchaseSummary(2, 30.43, 38.86, WEEK)
    days = PurchaseSummary(2, 30.43 * 7, 38.86 * 7, DAY)
    horizon = timedelta(days=273)
    assert in_days.conditional_purchases(days, horizon) == pytest.approx(
        PAPER.conditional_purchases(weeks, horizon), rel=1e-9
    )
    assert in_days.probability_alive(days) == pytest.approx(PAPER.probability_alive(weeks))
    with pytest.raises(InvalidValue, match="unit"):
        PAPER.conditional_purchases(days, horizon)
    with pytest.raises(InvalidValue, match="unit"):
        fit_bgnbd([weeks, days])


# -- slow references ------------------------------------------------------------------------------

parameters = st.tuples(
    st.floats(0.1, 5), st.floats(0.5, 20), st.floats(0.2, 3), st.floats(0.5, 5)
).filter(lambda p: abs(p[2] - 1) > 0.05)


def _quad(f: object, low: float, high: float, ends: tuple[float, float] | None = None) -> float:
    """The integral of ``f`` (times ``(t - low)^e0 (high - t)^e1`` when ``ends`` are given)."""
    if ends is None:
        value, _ = integrate.quad(f, low, high, limit=200, epsabs=1e-12, epsrel=1e-9)
    else:  # endpoint singularities handled by QUADPACK's algebraic weight
        value, _ = integrate.quad(f, low, high, weight="alg", wvar=ends, limit=200,
                                  epsabs=1e-12, epsrel=1e-9)  # fmt: skip
    return float(value)


@given(st.floats(0.1, 5), st.floats(0.5, 5), st.floats(0.5, 5), st.floats(0, 0.9))
@settings(max_examples=60, deadline=None)
def test_hyp2f1_matches_eulers_integral(a: float, b: float, extra: float, z: float) -> None:
    c = b + extra  # Euler's integral needs c > b > 0
    scale = math.exp(math.lgamma(c) - math.lgamma(b) - math.lgamma(c - b))
    reference = scale * _quad(
        lambda t: t ** (b - 1) * (1 - t) ** (c - b - 1) * (1 - z * t) ** -a, 0, 1
    )
    assert hyp2f1(a, b, c, z) == pytest.approx(reference, rel=1e-6)


def _over_p(model: BgNbd, f: object) -> float:
    """The expectation over p ~ Beta(a, b) of f(p)."""
    a, b = model.a, model.b
    beta = math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    return _quad(lambda p: f(p) / beta, 0, 1, (a - 1, b - 1))  # type: ignore[operator]


@given(parameters, st.floats(0.5, 100))
@settings(max_examples=40, deadline=None)
def test_expected_purchases_matches_the_model_integrated(
    params: tuple[float, float, float, float], weeks: float
) -> None:
    """E[X(t)] = E_p[(1 - (alpha / (alpha + p t))^r) / p]: lambda integrated out, p numerically."""
    model = BgNbd(*params, unit=WEEK)
    r, alpha = model.r, model.alpha

    def bought(p: float) -> float:  # (1 - (alpha / (alpha + p t))^r) / p, and its limit at 0
        return (1 - (alpha / (alpha + p * weeks)) ** r) / p if p else r * weeks / alpha

    reference = _over_p(model, bought)
    assert model.expected_purchases(weeks * WEEK) == pytest.approx(reference, rel=1e-5)


@given(parameters, st.integers(0, 12), st.floats(0, 1), st.floats(1, 60), st.floats(1, 80))
@settings(max_examples=40, deadline=None)
def test_the_conditional_figures_match_the_posterior_integrated(
    params: tuple[float, float, float, float], x: int, share: float, age: float, weeks: float
) -> None:
    """P(alive) and E[Y(t) | x, t_x, T] from the likelihood, lambda out, p numerically."""
    model = BgNbd(*params, unit=WEEK)
    r, alpha = model.r, model.alpha
    recency = share * age if x else 0.0
    summary = PurchaseSummary(x, recency, age, WEEK)

    def lam(extra: float, at: float) -> float:
        """E_lambda[lambda^x e^(-lambda (at + extra))], up to a constant."""
        return float((alpha + at + extra) ** -(r + x))

    alive = _over_p(model, lambda p: (1 - p) ** x * lam(0, age))
    gone = _over_p(model, lambda p: p * (1 - p) ** (x - 1) * lam(0, recency)) if x else 0.0

    def later(p: float) -> float:  # (1-p)^x (E_lam[..] - E_lam[.. e^{-lambda p t}]) / p, limit at 0
        if not p:
            return float((r + x) * weeks * (alpha + age) ** -(r + x + 1))
        return (1 - p) ** x * (lam(0, age) - lam(p * weeks, age)) / p

    future = _over_p(model, later)
    assert model.probability_alive(summary) == pytest.approx(alive / (alive + gone), rel=1e-5)
    assert model.conditional_purchases(summary, weeks * WEEK) == pytest.approx(
        future / (alive + gone), rel=1e-5, abs=1e-9
    )


@given(
    st.floats(0.5, 10), st.floats(1.5, 10), st.floats(1, 50), st.integers(1, 20), st.floats(1, 200)
)
@settings(max_examples=40, deadline=None)
def test_gamma_gamma_matches_the_posterior_integrated(
    p: float, q: float, gamma: float, x: int, mean: float
) -> None:
    """E[M | x, m] = E[p / nu | data], nu's posterior from prior x likelihood, numerically."""
    model = GammaGamma(p, q, gamma)

    def weight(nu: float) -> float:  # prior Gamma(q, gamma) x the mean's likelihood Gamma(px, nu x)
        log = (q - 1) * math.log(nu) - gamma * nu + p * x * math.log(nu) - nu * x * mean
        return math.exp(log - shift)

    mode = (q - 1 + p * x) / (gamma + x * mean)
    shift = (q - 1 + p * x) * math.log(mode) - (gamma + x * mean) * mode
    top = _quad(lambda nu: p / nu * weight(nu), 0, math.inf)
    bottom = _quad(weight, 0, math.inf)
    summary = PurchaseSummary(x, 1.0, 2.0, WEEK, mean)
    assert model.expected_value(summary) == pytest.approx(top / bottom, rel=1e-5)


# -- the simple formulas, summaries and errors -----------------------------------------------------


def test_simple_formulas_name_themselves() -> None:
    simple = simple_clv(
        average_order_value=200_000, purchases_per_year=4, margin_rate=0.25, years=3
    )
    assert (600_000, "AOV x purchases per year x margin x years") == (simple.value, simple.formula)
    kept = retention_clv(margin=100.0, retention=0.8, discount=0.1)
    assert kept.value == pytest.approx(100 * 0.8 / 0.3)
    assert "m x r / (1 + d - r)" == kept.formula
    orders = [
        Order(datetime(2026, 1, 5, tzinfo=UTC), 100, margin=30),
        Order(datetime(2026, 2, 1, tzinfo=UTC), 50),
    ]
    assert 40.0 == historic_clv(orders, margin_rate=0.2).value
    with pytest.raises(InvalidValue, match="margin_rate"):
        historic_clv(orders)
    with pytest.raises(InvalidValue, match="retention"):
        retention_clv(margin=1.0, retention=1.0, discount=0.1)
    with pytest.raises(InvalidValue, match="margin_rate"):
        simple_clv(average_order_value=1, purchases_per_year=1, margin_rate=2, years=1)


def test_orders_summarise_in_the_unit_asked() -> None:
    """Two orders on one day are one purchase; later orders are ignored; no order, no summary."""
    at = datetime(2026, 1, 1, 10, tzinfo=UTC)
    orders = [Order(at, 10), Order(at + timedelta(hours=2), 5), Order(at + timedelta(days=14), 30),
              Order(at + timedelta(days=28), 50), Order(at + timedelta(days=99), 1)]  # fmt: skip
    summary = summarise(orders, now=at + timedelta(days=35), unit=WEEK)
    assert summary is not None
    assert (2, 4.0, 40.0) == (summary.frequency, summary.recency, summary.mean_value)
    assert summary.age == pytest.approx(35 / 7 + 10 / 24 / 7)
    assert None is summarise([], now=at, unit=WEEK)
    with pytest.raises(InvalidValue, match="unit"):
        summarise(orders, now=at, unit=timedelta(0))
    with pytest.raises(InvalidValue, match="recency"):
        PurchaseSummary(0, 3.0, 10.0, WEEK)
    with pytest.raises(InvalidValue, match="amount"):
        Order(at, Decimal("-1"))


def test_predictive_clv_discounts_each_step() -> None:
    """Over one step the CLV is margin x E[M] x E[Y(step)] / (1 + d); more steps add less each."""
    both = Predictive(PAPER, SPEND)
    first = PurchaseSummary(2, 30.43, 38.86, WEEK, 22.35)
    one = both.clv(first, horizon=4 * WEEK, step=4 * WEEK, discount=0.01, margin_rate=0.3)
    expected = (
        0.3 * SPEND.expected_value(first) * PAPER.conditional_purchases(first, 4 * WEEK) / 1.01
    )
    assert one.value == pytest.approx(expected)
    year = both.clv(first, horizon=52 * WEEK, step=4 * WEEK, discount=0.01, margin_rate=0.3)
    undiscounted = both.clv(first, horizon=52 * WEEK, step=4 * WEEK, discount=0.0, margin_rate=0.3)
    assert _value(one) < _value(year) < _value(undiscounted)
    assert "13 steps" in year.formula
    with pytest.raises(InvalidValue, match="step"):
        both.clv(first, horizon=WEEK, step=4 * WEEK, discount=0.01, margin_rate=0.3)


def test_fitting_without_scipy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(MissingExtra, match="clv"):
        fit_bgnbd([PurchaseSummary(1, 1.0, 2.0, WEEK)])


def test_many_customers_at_once_agree_with_one_by_one() -> None:
    """clv_many, array by array (NumPy) and one by one (pure Python), equals clv's values."""
    both = Predictive(PAPER, SPEND)
    sample = cdnow()[::37]
    terms = {"horizon": 52 * WEEK, "step": 4 * WEEK, "discount": 0.01, "margin_rate": 0.3}
    arrays = both.clv_many(sample, vectorised=True, **terms)  # type: ignore[arg-type]
    plain = both.clv_many(sample, vectorised=False, **terms)  # type: ignore[arg-type]
    single = [_value(both.clv(s, **terms)) for s in sample]  # type: ignore[arg-type]
    assert plain == single
    assert arrays == pytest.approx(single, rel=1e-9)
    with pytest.raises(InvalidValue, match=r"summaries\[0\]\.unit"):
        both.clv_many([PurchaseSummary(1, 1.0, 2.0, DAY)], **terms)  # type: ignore[arg-type]


def test_arrays_without_numpy_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    both = Predictive(PAPER, SPEND)
    one = [PurchaseSummary(1, 1.0, 2.0, WEEK, 10.0)]
    terms = {"horizon": 4 * WEEK, "step": 4 * WEEK, "discount": 0.0, "margin_rate": 0.3}
    with pytest.raises(MissingExtra, match="clv"):
        both.clv_many(one, vectorised=True, **terms)  # type: ignore[arg-type]
    assert both.clv_many(one, **terms) == [_value(both.clv(one[0], **terms))]  # type: ignore[arg-type]
