"""The health score: a points model that explains itself, bands, trend, and band changes.

Each signal's weight is the points it can take off 100 (ChurnZero's and
HubSpot's way of defining a health score); a reading's risk (0 to 1) takes
that share of them. The score is ``100 - sum(weight x risk)``; its band is
green at ``bands.green`` or more, yellow at ``bands.yellow`` or more, red
below. The explanation lists each signal's contribution, most negative first.
A change of band is a care event (``health_changed``) that campaigns react to
(:class:`~carekit.campaigns.OnHealth`). Pure.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import attrs

from carekit._check import checked, typed_fields
from carekit._model import CareEvent
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit._time import to_utc
from carekit.exceptions import InvalidValue, PolicyError
from carekit.health._signals import DEFAULT_SIGNALS, History, Reading, Signal

__all__ = ["Bands", "HealthModel", "HealthScore"]

Band = Literal["green", "yellow", "red"]


@attrs.frozen(field_transformer=typed_fields)
class Bands:
    """The score's bands: green from ``green`` up, yellow from ``yellow`` up, red below."""

    green: float = 70.0
    yellow: float = 40.0

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.yellow <= self.green <= 100:
            raise PolicyError("health.bands", {"green": self.green, "yellow": self.yellow},
                              "needs 0 <= yellow <= green <= 100")  # fmt: skip

    def of(self, score: float) -> Band:
        """The band of ``score``."""
        return "green" if score >= self.green else "yellow" if score >= self.yellow else "red"


@attrs.frozen
class HealthScore:
    """One customer's health at one instant, with the reasons.

    Attributes:
        customer_id: whose.
        at: when.
        score: 0 (worst) to 100 (healthiest).
        band: ``"green"``, ``"yellow"`` or ``"red"``.
        readings: every signal's reading, with its contribution (minus points).
    """

    customer_id: str
    at: datetime
    score: float
    band: Band
    readings: tuple[tuple[Reading, float], ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """The signals that took points off, most first: ``"-15.0 3 SLA breaches in 30 days"``."""
        return tuple(f"{points:+.1f} {r.sentence}" for r, points in self.readings if points < 0)

    def explain(self) -> str:
        """The score, the band and each signal's contribution, most negative first."""
        when = f"{self.at:%Y-%m-%d %H:%M} UTC"
        lines = [f"{self.customer_id}: {self.score:.0f}/100, {self.band} at {when}"]
        lines += [f"  {points:+6.1f}  {r.signal}: {r.sentence}" for r, points in self.readings]
        return "\n".join(lines)


_points = operator.itemgetter(1)

_Plan = tuple[tuple[str | None, tuple[tuple[Reading, float], ...], tuple[Signal, ...]], ...]


def _plan(signals: Sequence[Signal], window: timedelta, policy: PolicySelector | None) -> _Plan:
    """The signals in runs that read the same part of a history.

    Each run comes with the readings of a customer with none of that part: the
    same for every such customer.
    """
    nobody, at = History("-"), datetime(2000, 1, 1, tzinfo=UTC)
    runs = []
    for needs, run in itertools.groupby(signals, key=lambda signal: signal.needs):
        group = tuple(run)
        quiet = () if needs is None else tuple(
            (s.measure(nobody, now=at, window=window, policy=policy), 0.0) for s in group
        )  # fmt: skip
        runs.append((needs, quiet, group))
    return tuple(runs)


class HealthModel:
    """Signals with weights adding up to 100, bands and a window. Subclass to change the sum.

    Args:
        signals: the signals (default: :data:`~carekit.health.DEFAULT_SIGNALS`);
            their weights must add up to 100.
        bands: the band thresholds.
        window: how far back the signals look (and the period of the trend).
        policy: grades the SLA clocks for :class:`~carekit.health.SlaBreaches`.
    """

    @checked
    def __init__(
        self,
        signals: Sequence[Signal] = DEFAULT_SIGNALS,
        *,
        bands: Bands | None = None,
        window: timedelta = timedelta(days=30),
        policy: SlaPolicy | PolicySelector | None = None,
    ) -> None:
        for signal in signals:
            if signal.needs not in {None, "tickets", "answers", "orders"}:
                raise PolicyError(f"health.signals.{signal.name}", signal.needs,
                                  "needs one of tickets, answers, orders, or None")  # fmt: skip
        names = [s.name for s in signals]
        if len(set(names)) != len(names):
            raise PolicyError("health.signals", names, "names each signal once")
        total = sum(s.weight for s in signals)
        if abs(total - 100) > 1e-9:
            raise PolicyError("health.signals", {s.name: s.weight for s in signals},
                              f"has weights adding up to {total:g}, not 100")  # fmt: skip
        if window <= timedelta(0):
            raise PolicyError("health.window", window, "is not a positive duration")
        self.signals = tuple(signals)
        self.bands = bands or Bands()
        self.window = window
        self.policy = PolicySelector([], policy) if isinstance(policy, SlaPolicy) else policy
        self._plan = _plan(self.signals, window, self.policy)

    @checked
    def score(self, history: History, *, now: datetime) -> HealthScore:
        """The customer's health at ``now``."""
        return self._score(history, to_utc(now, "now"))

    def _score(self, history: History, now: datetime) -> HealthScore:
        found: list[tuple[Reading, float]] = []
        window, policy = self.window, self.policy
        total = 100.0
        for needs, quiet, signals in self._plan:
            if needs is not None and not getattr(history, needs):
                found += quiet  # none of what they read: the readings every such customer gets
                continue
            for signal in signals:
                reading = signal.measure(history, now=now, window=window, policy=policy)
                points = 0.0 - signal.weight * reading.risk
                total += points
                found.append((reading, points))
        found.sort(key=_points)
        value = max(0.0, total)
        return HealthScore(history.customer_id, now, value, self.bands.of(value), tuple(found))

    @checked
    def trend(self, history: History, *, now: datetime) -> float:
        """The score's change over the last ``window`` (negative: getting worse)."""
        now = to_utc(now, "now")
        return self.score(history, now=now).score - self.score(history, now=now - self.window).score

    @checked
    def changed(self, before: HealthScore | None, after: HealthScore) -> CareEvent | None:
        """A ``health_changed`` care event when the band changed (``None`` otherwise).

        Its data: the new ``band``, the ``previous`` one, the ``score`` and the
        ``reasons``; its id makes a re-delivery enrol nobody twice.
        """
        previous = None if before is None else before.band
        if previous == after.band or (previous is None and after.band == "green"):
            return None
        data: Mapping[str, Any] = {
            "band": after.band,
            "previous": previous or "none",
            "score": round(after.score, 1),
            "reasons": "; ".join(after.reasons) or "none",
        }
        return CareEvent("health_changed", after.customer_id, after.at,
                         id=f"health-{after.band}@{after.at:%Y%m%dT%H%M%S}", data=data)  # fmt: skip

    @checked
    def score_all(self, histories: Iterable[History], *, now: datetime) -> Iterator[HealthScore]:
        """Every customer's health at ``now``, as a stream.

        Each score is made when it is read, from the next history: a customer base
        read from a database cursor is scored without holding all of it (or all the
        scores) in memory. ``list()`` it to keep them.
        """
        return self._stream(histories, to_utc(now, "now"))

    def _stream(self, histories: Iterable[History], now: datetime) -> Iterator[HealthScore]:
        one = self._score
        for i, history in enumerate(histories):
            if history.__class__ is not History and not isinstance(history, History):
                raise InvalidValue(f"histories[{i}]", history, "a History")
            yield one(history, now)
