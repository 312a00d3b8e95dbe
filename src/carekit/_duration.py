"""Durations as people write them in policy files: ``30s``, ``24h``, ``1h30m``, ``PT4H``."""

from __future__ import annotations

import re
from datetime import timedelta

from carekit._check import checked
from carekit.exceptions import InvalidValue

__all__ = ["format_duration", "parse_duration"]

_COMPACT = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@checked
def parse_duration(text: str) -> timedelta:
    """Parse ``"30s"``, ``"24h"``, ``"1h30m"``, ``"2d"`` or ISO 8601 ``"PT4H"``.

    Raises :class:`~carekit.InvalidValue` (a ``ValueError``) for anything else,
    including an empty duration.

    Examples:
        >>> parse_duration("1h30m"), parse_duration("PT30S")
        (datetime.timedelta(seconds=5400), datetime.timedelta(seconds=30))
    """
    if not isinstance(text, str):
        raise InvalidValue("duration", text, "a duration such as '30s', '24h' or '1h30m'")
    cleaned = text.strip().replace(" ", "")
    match = _COMPACT.match(cleaned.lower()) or _ISO.match(cleaned.upper())
    if match is None or not cleaned or not any(match.groups()):
        raise InvalidValue("duration", text, "a duration such as '30s', '24h' or '1h30m'")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    try:
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        raise InvalidValue("duration", text, "a duration shorter than 999,999,999 days") from None


@checked
def format_duration(value: timedelta) -> str:
    """Write a duration compactly, the inverse of :func:`parse_duration`.

    >>> format_duration(timedelta(hours=26, seconds=30)), format_duration(timedelta(0))
    ('1d2h30s', '0s')
    """
    total = int(value.total_seconds())
    sign, total = ("-", -total) if total < 0 else ("", total)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return sign + ("".join(parts) or "0s")
