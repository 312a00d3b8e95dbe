"""National holidays from the optional ``holidays`` package (``carekit[holidays]``).

Imported lazily: the core never needs the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from carekit._check import checked
from carekit.exceptions import InvalidValue, MissingExtra

__all__ = ["country_holidays"]


@checked
def country_holidays(
    country: str, years: Iterable[int], *, subdiv: str | None = None
) -> frozenset[date]:
    """The public holidays of ``country`` (ISO code, e.g. ``"ID"``) in ``years``.

    Examples:
        >>> from datetime import date
        >>> date(2026, 8, 17) in country_holidays("ID", [2026])  # Independence Day
        True
    """
    try:
        import holidays  # noqa: PLC0415 - an optional extra, imported when asked for
    except ImportError as exc:
        raise MissingExtra("holidays", "holidays") from exc
    try:
        table: Any = holidays.country_holidays(country, subdiv=subdiv, years=list(years))
    except NotImplementedError as exc:
        raise InvalidValue("country", country, "a country code the holidays package knows") from exc
    return frozenset(table.keys())
