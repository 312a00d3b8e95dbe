"""Aware-time helpers shared by the whole library.

Every instant that enters carekit passes through :func:`to_utc`: naive values
are refused, aware ones are normalised to a stdlib ``datetime`` in UTC with
whole-second precision kept as given. Time-zone names go through :func:`zone`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

import pendulum

from carekit.exceptions import NaiveDatetimeError, OutOfRange, UnknownTimezoneError

__all__ = ["UTC", "local_to_utc", "to_utc", "zone"]


def to_utc(value: object, name: str = "datetime") -> datetime:
    """Return ``value`` as a stdlib UTC datetime; refuse naive or non-datetime values.

    Examples:
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
    try:
        u = value.astimezone(UTC)
    except OverflowError:  # 9999-12-31 23:00 at UTC-12 is in the year 10000 in UTC
        raise OutOfRange(name) from None
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


def local_to_utc(wall: datetime, tz: tzinfo) -> datetime:
    """Return the UTC instant of the naive wall-clock time ``wall`` in ``tz``.

    The two DST edge cases are decided, not left to chance:

    * a wall time that does not exist (in a spring-forward gap) maps to the
      first instant that does: the moment the clocks jumped;
    * a wall time that happens twice (in a fall-back overlap) maps to its
      first occurrence.

    Examples:
        >>> ny = zone("America/New_York")
        >>> local_to_utc(datetime(2026, 3, 8, 2, 30), ny).isoformat()  # in the gap
        '2026-03-08T07:00:00+00:00'
        >>> local_to_utc(datetime(2026, 11, 1, 1, 30), ny).isoformat()  # happens twice
        '2026-11-01T05:30:00+00:00'
    """
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    off0, off1 = first.utcoffset(), second.utcoffset()
    if off0 is None or off1 is None:  # pragma: no cover - tz without offsets
        raise NaiveDatetimeError(wall, "wall")
    if off0 >= off1:  # an ordinary time, or the first occurrence of a repeated one
        return (wall - off0).replace(tzinfo=UTC)
    # In a gap: the jump happened somewhere in (wall - off1, wall - off0]; find it.
    lo = wall - off1  # a UTC instant (naive) still under the old offset
    hi = wall - off0  # one already under the new offset
    while hi - lo > _SECOND:
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0) if mid.microsecond else mid
        if mid == lo:
            break
        if mid.replace(tzinfo=UTC).astimezone(tz).utcoffset() == off1:
            hi = mid
        else:
            lo = mid
    return hi.replace(tzinfo=UTC)


_SECOND = timedelta(seconds=1)
