"""The health of a customer base: bands per segment, and who turned red this period, why."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from carekit._check import checked
from carekit.health._score import HealthScore

__all__ = ["HealthReport", "health_report"]

_BANDS = ("green", "yellow", "red")


@attrs.frozen
class HealthReport:
    """Health bands per segment at an instant, and the customers who turned red since before.

    Attributes:
        at: the instant of the scores.
        distribution: segment -> band -> customers (``"all"`` as one more segment).
        turned_red: ``(customer_id, reasons)`` of those red now and not before.
    """

    at: datetime | None
    distribution: Mapping[str, Mapping[str, int]]
    turned_red: tuple[tuple[str, tuple[str, ...]], ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "at": None if self.at is None else self.at.isoformat(),
            "distribution": {s: dict(bands) for s, bands in self.distribution.items()},
            "turned_red": [{"customer_id": c, "reasons": list(r)} for c, r in self.turned_red],
        }

    def render(self) -> str:
        """A text table: the bands per segment, then who turned red and why."""
        lines = ["[health]", f"  {'segment':<12} {'green':>7} {'yellow':>7} {'red':>7}"]
        lines += [
            f"  {segment:<12} " + " ".join(f"{bands.get(b, 0):>7}" for b in _BANDS)
            for segment, bands in self.distribution.items()
        ]
        if self.turned_red:
            lines.append(f"  turned red: {len(self.turned_red)}")
            for customer, reasons in self.turned_red:
                lines.append(f"    {customer}: {'; '.join(reasons) or 'no single reason'}")
        return "\n".join(lines)


@checked
def health_report(
    scores: Iterable[HealthScore],
    *,
    before: Iterable[HealthScore] = (),
    segment: Callable[[str], str] | Mapping[str, str] | None = None,
) -> HealthReport:
    """Bands per segment, and the customers who turned red, with their reasons.

    ``segment`` maps a customer id to a segment (a tier, a region). Turned red:
    red in ``scores`` and not in ``before`` (the previous period's scores).
    """

    def of(customer: str) -> str:
        if segment is None:
            return "all"
        if isinstance(segment, Mapping):
            return segment.get(customer, "unknown")
        return segment(customer)

    earlier = {s.customer_id: s.band for s in before}
    distribution: dict[str, dict[str, int]] = {}
    turned: list[tuple[str, tuple[str, ...]]] = []
    latest: datetime | None = None
    for score in scores:  # one pass, keeping only who turned red: scores may be a stream
        for name in {of(score.customer_id), "all"}:
            bands = distribution.setdefault(name, dict.fromkeys(_BANDS, 0))
            bands[score.band] += 1
        if score.band == "red" and earlier.get(score.customer_id, "red") != "red":
            turned.append((score.customer_id, score.reasons))
        if latest is None or score.at > latest:
            latest = score.at
    ordered = dict(sorted(distribution.items(), key=lambda kv: (kv[0] == "all", kv[0])))
    return HealthReport(latest, ordered, tuple(turned))
