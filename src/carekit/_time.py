"""Aware-time helpers shared by the whole library.

Every instant that enters carekit passes through :func:`to_utc`: naive values
are refused, aware ones are normalised to a stdlib ``datetime`` in UTC with
whole-second precision kept as given. Time-zone names go through :func:`zone`.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache

import pendulum

from carekit.exceptions import NaiveDatetimeError, UnknownTimezoneError

__all__ = ["UTC", "to_utc", "zone"]


def to_utc(value: object, name: str = "datetime") -> datetime:
    """Return ``value`` as a stdlib UTC datetime; refuse naive or non-datetime values.

    >>> from datetime import timedelta, timezone
    >>> to_utc(datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=7))))
    datetime.datetime(2026, 1, 5, 2, 0, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(value, datetime):
        raise NaiveDatetimeError(value, name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(value, name)
    if value.tzinfo is UTC and type(value) is datetime:
        return value
    u = value.astimezone(UTC)
    return datetime(u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond, tzinfo=UTC)


def zone(name: str) -> tzinfo:
    """Return the time zone named ``name`` (an IANA name) or raise UnknownTimezoneError.

    >>> zone("Asia/Jakarta").key
    'Asia/Jakarta'
    """
    if not isinstance(name, str) or not name:
        raise UnknownTimezoneError(name)
    return _zone(name)


@lru_cache(maxsize=512)
def _zone(name: str) -> tzinfo:
    try:
        return pendulum.timezone(name)
    except Exception as exc:  # pendulum raises several kinds for a bad name
        raise UnknownTimezoneError(name) from exc
