"""Event data to JSON and back, keeping the types carekit puts in it.

Plain JSON would turn a tuple into a list and a Priority into a number, and a
ticket read back would not equal the one saved. Values are tagged instead:
``{"$t": [...]}`` a tuple, ``{"$p": 3}`` a Priority, ``{"$c": "email"}`` a
Channel, ``{"$s": "open"}`` a Status, ``{"$dt": "..."}`` an aware datetime,
``{"$d": "..."}`` a date, ``{"$td": seconds}`` a timedelta, ``{"$dec": "..."}``
a Decimal, ``{"$m": ["50000", "IDR"]}`` a :class:`~carekit.i18n.Money`. Anything
else that JSON cannot hold is refused with a clear error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from carekit._model import Channel, Priority, Status
from carekit.exceptions import InvalidValue
from carekit.i18n import Money

__all__ = ["dumps", "loads"]


def _encode(value: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per type, flat
    if value is None or (isinstance(value, bool | str) and not isinstance(value, Channel | Status)):
        return value
    if isinstance(value, Priority):
        return {"$p": int(value)}
    if isinstance(value, Channel):
        return {"$c": value.value}
    if isinstance(value, Status):
        return {"$s": value.value}
    if isinstance(value, int | float):
        return value
    if isinstance(value, tuple):
        return {"$t": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise InvalidValue("event data", key, "string keys only")
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidValue("event data", value, "aware datetimes only")
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$td": value.total_seconds()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, Money):
        return {"$m": [str(value.amount), value.currency]}
    raise InvalidValue(
        "event data", value, "JSON values, tuples, enums, dates, datetimes, timedeltas, Decimals"
    )


_TAGS: dict[str, Callable[[Any], Any]] = {
    "$t": lambda v: tuple(_decode(x) for x in v),
    "$p": Priority,
    "$c": Channel,
    "$s": Status,
    "$dt": datetime.fromisoformat,
    "$d": date.fromisoformat,
    "$td": lambda v: timedelta(seconds=v),
    "$dec": Decimal,
    "$m": lambda v: Money(Decimal(v[0]), v[1]),
}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag in _TAGS:
                return _TAGS[tag](inner)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dumps(data: Mapping[str, Any]) -> str:
    """Event data as tagged JSON."""
    return json.dumps(_encode(data), separators=(",", ":"), sort_keys=True)


def loads(text: str) -> dict[str, Any]:
    """Tagged JSON back to event data."""
    decoded = _decode(json.loads(text))
    if not isinstance(decoded, dict):
        raise InvalidValue("event data", text, "a JSON object")
    return decoded
