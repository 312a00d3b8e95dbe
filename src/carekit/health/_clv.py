"""Customer lifetime value: named formulas, from the margin so far to BG/NBD and Gamma-Gamma.

Theory of operation
-------------------
Every figure is a :class:`~carekit.kpis.Figure` with its formula in words, like
the other KPIs. Three families:

* **historic**: the margin a customer brought so far (:func:`historic_clv`);
* **simple**: average order value x purchase frequency x margin x expected
  lifetime (:func:`simple_clv`), and the retention-discount form
  ``m * r / (1 + d - r)`` (:func:`retention_clv`);
* **predictive**: the BG/NBD model of repeat purchases (Fader, Hardie and Lee,
  2005: expected purchases, probability alive) and the Gamma-Gamma model of
  spend (expected average order value), combined into a discounted CLV over a
  horizon (:meth:`Predictive.clv`).

Durations are never implicit: a :class:`PurchaseSummary` carries the unit its
recency and age are counted in, the models' parameters are fitted in that
unit, and horizons are ``timedelta`` values converted with it. (Older libraries
took a bare number of "periods" and silently summed 360 weeks where 12 months
were meant.)

Pure Python: the Gauss hypergeometric function is a series. Fitting the
parameters from summaries is :mod:`carekit.health` ``fit_bgnbd`` and
``fit_gamma_gamma``, which need the ``clv`` extra (SciPy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import attrs

from carekit._check import checked, typed_fields
from carekit._figure import Figure
from carekit._time import to_utc
from carekit.exceptions import InvalidValue, MissingExtra

__all__ = [
    "BgNbd",
    "GammaGamma",
    "Order",
    "Predictive",
    "PurchaseSummary",
    "historic_clv",
    "hyp2f1",
    "retention_clv",
    "simple_clv",
    "summarise",
]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InvalidValue(attribute.name, value, "a positive number")


def _unit(_: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise InvalidValue(attribute.name, value, "a positive duration (the unit of time)")


def _utc_at(value: datetime) -> datetime:
    return to_utc(value, "at")


# -- orders and summaries ---------------------------------------------------------------------


@attrs.frozen(field_transformer=typed_fields)
class Order:
    """One purchase, as the host knows it.

    Attributes:
        at: when (aware).
        amount: what the customer paid.
        margin: what the business kept from it (``None``: unknown; the CLV
            formulas then take a margin rate).
    """

    at: datetime = attrs.field(converter=_utc_at)
    amount: Decimal = attrs.field(converter=Decimal)
    margin: Decimal | None = attrs.field(default=None, converter=attrs.converters.optional(Decimal))

    def __attrs_post_init__(self) -> None:
        if not self.amount.is_finite() or self.amount < 0:
            raise InvalidValue("amount", self.amount, "a finite amount, zero or more")


@attrs.frozen(field_transformer=typed_fields)
class PurchaseSummary:
    """A customer's purchases as the predictive models read them.

    Attributes:
        frequency: repeat purchases (purchase days after the first), ``x``.
        recency: from the first purchase to the last, in ``unit``, ``t_x``.
        age: from the first purchase to the end of the observation, in ``unit``, ``T``.
        unit: the unit of ``recency`` and ``age`` (a week, a day): explicit.
        mean_value: the average value of the repeat purchases (0 without any).
    """

    frequency: int
    recency: float
    age: float
    unit: timedelta = attrs.field(validator=_unit)
    mean_value: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.frequency < 0:
            raise InvalidValue("frequency", self.frequency, "a count, zero or more")
        if not 0 <= self.recency <= self.age or not math.isfinite(self.age):
            raise InvalidValue("recency", self.recency, f"between 0 and the age ({self.age})")
        if self.frequency == 0 and self.recency != 0:
            raise InvalidValue("recency", self.recency, "0 for a customer with no repeat purchase")
        if self.mean_value < 0 or not math.isfinite(self.mean_value):
            raise InvalidValue("mean_value", self.mean_value, "a finite value, zero or more")


@checked
def summarise(orders: Iterable[Order], *, now: datetime, unit: timedelta) -> PurchaseSummary | None:
    """A customer's orders as a :class:`PurchaseSummary` at ``now``, in ``unit``.

    Orders on the same (UTC) day count as one purchase, as in the models' papers;
    the first purchase day is not a repeat; orders after ``now`` are ignored.
    ``None`` for a customer with no order yet.
    """
    now = to_utc(now, "now")
    if unit <= timedelta(0):
        raise InvalidValue("unit", unit, "a positive duration (the unit of time)")
    by_day: dict[date, Decimal] = {}
    for order in orders:
        if order.at <= now:
            day = order.at.date()
            by_day[day] = by_day.get(day, Decimal(0)) + order.amount
    if not by_day:
        return None
    days = sorted(by_day)
    first = datetime.combine(days[0], datetime.min.time(), tzinfo=now.tzinfo)
    last = datetime.combine(days[-1], datetime.min.time(), tzinfo=now.tzinfo)
    repeats = [by_day[d] for d in days[1:]]
    return PurchaseSummary(
        frequency=len(repeats),
        recency=(last - first) / unit,
        age=(now - first) / unit,  # the last purchase day began at or before now
        unit=unit,
        mean_value=float(sum(repeats) / len(repeats)) if repeats else 0.0,
    )


# -- simple formulas ----------------------------------------------------------------------------


@checked
def historic_clv(orders: Sequence[Order], *, margin_rate: float | None = None) -> Figure:
    """The margin a customer brought so far: the sum of their orders' margins.

    An order without a margin counts ``amount * margin_rate`` (required then).
    """
    total = Decimal(0)
    for order in orders:
        if order.margin is not None:
            total += order.margin
        elif margin_rate is None:
            raise InvalidValue("margin_rate", None, "a rate for the orders without a margin")
        else:
            total += order.amount * Decimal(str(margin_rate))
    return Figure("clv_historic", float(total), "sum of the margins of past orders", len(orders))


@checked
def simple_clv(
    *, average_order_value: float, purchases_per_year: float, margin_rate: float, years: float
) -> Figure:
    """Average order value x purchases per year x margin rate x expected lifetime (years)."""
    for name, value in (("average_order_value", average_order_value),
                        ("purchases_per_year", purchases_per_year), ("years", years)):  # fmt: skip
        if value < 0 or not math.isfinite(value):
            raise InvalidValue(name, value, "a finite number, zero or more")
    if not 0 <= margin_rate <= 1:
        raise InvalidValue("margin_rate", margin_rate, "a rate between 0 and 1")
    value = average_order_value * purchases_per_year * margin_rate * years
    return Figure("clv_simple", value, "AOV x purchases per year x margin x years", 1)


@checked
def retention_clv(*, margin: float, retention: float, discount: float) -> Figure:
    """``m * r / (1 + d - r)``: the margin per period, kept with probability ``r``, discounted.

    ``margin`` per period (a year), ``retention`` and ``discount`` rates per the
    same period; an infinite horizon (the textbook form).
    """
    if not 0 <= retention < 1:
        raise InvalidValue("retention", retention, "a rate from 0 up to (not including) 1")
    if not 0 <= discount < 10:
        raise InvalidValue("discount", discount, "a rate, 0 or more")
    value = margin * retention / (1 + discount - retention)
    return Figure("clv_retention", value, "m x r / (1 + d - r)", 1)


# -- the Gauss hypergeometric function -----------------------------------------------------------


@checked
def hyp2f1(a: float, b: float, c: float, z: float, *, tolerance: float = 1e-14) -> float:
    """The Gauss hypergeometric function ``2F1(a, b; c; z)`` for ``0 <= z < 1``, by its series.

    Converges geometrically in ``z``; the models only ask for ``z = t / (alpha + T + t)``.
    """
    if not 0 <= z < 1:
        raise InvalidValue("z", z, "a value in [0, 1)")
    term, total, j = 1.0, 1.0, 0
    while True:
        if c + j == 0:
            raise InvalidValue("c", c, "not zero or a negative whole number")
        term *= (a + j) * (b + j) / ((c + j) * (j + 1)) * z
        total += term
        j += 1
        if abs(term) <= tolerance * abs(total) or j > 1_000_000:
            return total


# -- BG/NBD: how many more purchases, and is the customer still there ------------------------------


@attrs.frozen(field_transformer=typed_fields)
class BgNbd:
    """The BG/NBD model (Fader, Hardie and Lee, 2005), its parameters fitted in ``unit``.

    Purchases follow a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
    after each purchase the customer drops out with probability
    ``p ~ Beta(a, b)``.
    """

    r: float = attrs.field(validator=_positive)
    alpha: float = attrs.field(validator=_positive)
    a: float = attrs.field(validator=_positive)
    b: float = attrs.field(validator=_positive)
    unit: timedelta = attrs.field(validator=_unit)

    def _check(self, summary: PurchaseSummary) -> None:
        if summary.unit != self.unit:
            raise InvalidValue("summary.unit", summary.unit, f"the model's unit, {self.unit}")

    def _length(self, horizon: timedelta) -> float:
        if horizon < timedelta(0):
            raise InvalidValue("horizon", horizon, "a duration, zero or more")
        return horizon / self.unit

    @checked
    def log_likelihood(self, summary: PurchaseSummary) -> float:
        """The log-likelihood of one customer's ``(x, t_x, T)``."""
        self._check(summary)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, big_t = summary.frequency, summary.recency, summary.age
        head = (
            math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
            + math.lgamma(a + b) + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x)
        )  # fmt: skip
        alive = -(r + x) * math.log(alpha + big_t)
        if x == 0:
            return head + alive
        gone = math.log(a) - math.log(b + x - 1) - (r + x) * math.log(alpha + t_x)
        top = max(alive, gone)
        return head + top + math.log(math.exp(alive - top) + math.exp(gone - top))

    @checked
    def expected_purchases(self, horizon: timedelta) -> float:
        """``E[X(t)]``: the purchases a new customer makes in ``horizon`` after the first."""
        t = self._length(horizon)
        r, alpha, a, b = self.r, self.alpha, _off_one(self.a, self.b), self.b
        z = t / (alpha + t)
        kept = float((alpha / (alpha + t)) ** r)
        return (a + b - 1) / (a - 1) * (1 - kept * hyp2f1(r, b, a + b - 1, z))

    @checked
    def probability_alive(self, summary: PurchaseSummary) -> float:
        """``P(alive | x, t_x, T)``: that the customer has not dropped out by the end."""
        self._check(summary)
        x = summary.frequency
        if x == 0:
            return 1.0
        ratio = self._odds_gone(summary)
        return 1 / (1 + ratio)

    def _odds_gone(self, summary: PurchaseSummary) -> float:
        x, t_x, big_t = summary.frequency, summary.recency, summary.age
        if x == 0:
            return 0.0
        log_ratio = (
            math.log(self.a) - math.log(self.b + x - 1)
            + (self.r + x) * (math.log(self.alpha + big_t) - math.log(self.alpha + t_x))
        )  # fmt: skip
        return math.exp(min(log_ratio, 700.0))

    @checked
    def conditional_purchases(self, summary: PurchaseSummary, horizon: timedelta) -> float:
        """``E[Y(t) | x, t_x, T]``: the purchases expected in the ``horizon`` after the summary."""
        self._check(summary)
        t = self._length(horizon)
        r, alpha, a, b = self.r, self.alpha, _off_one(self.a, self.b), self.b
        x, big_t = summary.frequency, summary.age
        z = t / (alpha + big_t + t)
        head = (a + b + x - 1) / (a - 1)  # with a < 1 both factors are negative
        body = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        return float(head * body / (1 + self._odds_gone(summary)))


def _off_one(a: float, b: float) -> float:
    """``a``, moved by a hair off the formulas' removable singularities.

    ``1 / (a - 1)`` at ``a = 1``, and ``2F1(.; c; .)`` with ``c = a + b - 1`` zero or a
    negative whole number (the products stay finite; the limit is taken numerically).
    """
    hair = 1e-7
    if abs(a - 1) < hair:
        a = 1 + hair
    c = a + b - 1
    if c <= 0 and abs(c - round(c)) < hair:
        a += 2 * hair
    return a


# -- Gamma-Gamma: how much per purchase ----------------------------------------------------------


@attrs.frozen(field_transformer=typed_fields)
class GammaGamma:
    """The Gamma-Gamma spend model (Fader, Hardie and Lee, 2005; Colombo and Jiang, 1999).

    A customer's order values are ``Gamma(p, nu)`` with ``nu ~ Gamma(q, gamma)``;
    their mean is independent of how often they buy.
    """

    p: float = attrs.field(validator=_positive)
    q: float = attrs.field(validator=_positive)
    gamma: float = attrs.field(validator=_positive)

    @checked
    def log_likelihood(self, summary: PurchaseSummary) -> float:
        """The log-likelihood of a repeat customer's mean value (``x > 0``)."""
        x, m = summary.frequency, summary.mean_value
        if x == 0 or m <= 0:
            raise InvalidValue("summary", summary, "a repeat customer with a positive mean value")
        return self._log_likelihood(x, m)

    def _log_likelihood(self, x: int, m: float) -> float:
        """Of ``x`` repeat purchases worth ``m`` on average (``x > 0``, ``m > 0``)."""
        p, q, g = self.p, self.q, self.gamma
        return (
            math.lgamma(p * x + q) - math.lgamma(p * x) - math.lgamma(q)
            + q * math.log(g) + p * x * math.log(x) + (p * x - 1) * math.log(m)
            - (p * x + q) * math.log(g + x * m)
        )  # fmt: skip

    @checked
    def expected_value(self, summary: PurchaseSummary | None = None) -> float:
        """``E[M | x, m_x]``: a customer's expected order value (the population's without one)."""
        if self.q <= 1:
            raise InvalidValue("q", self.q, "q > 1 for a finite expectation")
        if summary is None or summary.frequency == 0:
            return self.p * self.gamma / (self.q - 1)
        x, m = summary.frequency, summary.mean_value
        return (self.gamma + m * x) * self.p / (self.p * x + self.q - 1)


# -- predictive CLV ------------------------------------------------------------------------------


@attrs.frozen
class Predictive:
    """BG/NBD and Gamma-Gamma together: CLV over a horizon with a discount rate."""

    purchases: BgNbd
    spend: GammaGamma

    @checked
    def clv(
        self,
        summary: PurchaseSummary,
        *,
        horizon: timedelta,
        step: timedelta,
        discount: float,
        margin_rate: float,
    ) -> Figure:
        """Discounted margin of the purchases expected over ``horizon``, ``step`` by ``step``.

        ``sum_k margin_rate * E[M] * (E[Y(k*step)] - E[Y((k-1)*step)]) / (1 + discount)^k``;
        ``discount`` is the rate per ``step`` (a month's, for monthly steps).
        """
        steps = _check_clv(horizon, step, discount, margin_rate)
        total = self._value(summary, steps, step, discount, margin_rate)
        return Figure(
            "clv_predictive",
            total,
            f"BG/NBD x Gamma-Gamma over {steps} steps of {step}, "
            f"discounted {discount:.2%} per step",
            1,
        )

    def _value(
        self, summary: PurchaseSummary, steps: int, step: timedelta, discount: float, margin: float
    ) -> float:
        value = self.spend.expected_value(summary) * margin
        total, before = 0.0, 0.0
        for k in range(1, steps + 1):
            after = self.purchases.conditional_purchases(summary, step * k)
            total += value * (after - before) / (1 + discount) ** k
            before = after
        return total

    @checked
    def clv_many(
        self,
        summaries: Sequence[PurchaseSummary],
        *,
        horizon: timedelta,
        step: timedelta,
        discount: float,
        margin_rate: float,
        vectorised: bool | None = None,
    ) -> list[float]:
        """:meth:`clv`'s values for many customers at once, in their order.

        With NumPy installed (it comes with the ``clv`` extra) the customers are
        computed together, array by array (``vectorised=None`` or ``True``);
        without it, or with ``vectorised=False``, one by one in pure Python. The
        two agree to rounding.
        """
        steps = _check_clv(horizon, step, discount, margin_rate)
        for i, summary in enumerate(summaries):
            if summary.unit != self.purchases.unit:
                raise InvalidValue(f"summaries[{i}].unit", summary.unit, f"{self.purchases.unit}")
        numpy = _numpy() if vectorised is not False else None
        if vectorised and numpy is None:
            raise MissingExtra("clv", "numpy")
        if numpy is None:
            return [self._value(s, steps, step, discount, margin_rate) for s in summaries]
        from carekit.health._vector import clv_arrays  # noqa: PLC0415 - NumPy's path

        return clv_arrays(self, summaries, steps, step / self.purchases.unit, discount, margin_rate)


def _check_clv(horizon: timedelta, step: timedelta, discount: float, margin_rate: float) -> int:
    """The number of steps, or InvalidValue for a bad horizon, step, discount or margin."""
    if step <= timedelta(0) or horizon < step:
        raise InvalidValue("step", step, f"a positive duration no longer than {horizon}")
    if not 0 <= discount < 10:
        raise InvalidValue("discount", discount, "a rate per step, 0 or more")
    if not 0 <= margin_rate <= 1:
        raise InvalidValue("margin_rate", margin_rate, "a rate between 0 and 1")
    return int(horizon / step)


def _numpy() -> object | None:
    try:
        import numpy  # noqa: PLC0415 - optional, with the clv extra
    except ImportError:
        return None
    return numpy
