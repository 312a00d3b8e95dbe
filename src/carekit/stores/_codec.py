"""Event data to JSON and back, keeping the types carekit puts in it.

Plain JSON would turn a tuple into a list and a Priority into a number, and a
ticket read back would not equal the one saved. Values are tagged instead, by
one table (:data:`_TAGS`) that drives both directions: each row names a tag,
the type it stands for, and how to write and read it (``{"$t": [...]}`` a
tuple, ``{"$p": 3}`` a Priority, ``{"$dt": "..."}`` an aware datetime, and so
on). A mapping that has a key starting with ``$`` of its own is written under
``{"$o": {...}}``, so host data shaped like a tag reads back as the mapping
it was. JSON's own values (``None``, ``bool``, ``int``, ``float``, ``str``,
lists, mappings with string keys) pass as they are; anything else is refused
with :class:`~carekit.exceptions.InvalidValue` rather than changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from carekit._model import Channel, Priority, Status, TicketEvent
from carekit.exceptions import InvalidValue
from carekit.i18n import Money

__all__ = ["check_events", "check_ticket_id", "dumps", "loads"]


@attrs.frozen
class _Tag:
    tag: str
    type: type
    write: Callable[[Any], Any]
    read: Callable[[Any], Any]


def _aware(value: datetime) -> str:
    if value.tzinfo is None:
        raise InvalidValue("event data", value, "aware datetimes only")
    return value.isoformat()


def _timedelta(value: timedelta) -> list[int]:
    return [value.days, value.seconds, value.microseconds]


def _read_timedelta(value: Any) -> timedelta:
    if isinstance(value, list):
        days, seconds, micros = value
        return timedelta(days=days, seconds=seconds, microseconds=micros)
    return timedelta(seconds=value)  # written before timedeltas were kept to the microsecond


def _money(value: Money) -> list[str]:
    return [str(value.amount), value.currency]


def _read_money(value: list[str]) -> Money:
    return Money(Decimal(value[0]), value[1])


# fmt: off
_TAGS: tuple[_Tag, ...] = (
    #    tag     type       write                               read
    _Tag("$p",   Priority,  int,                                Priority),
    _Tag("$c",   Channel,   lambda v: v.value,                  Channel),
    _Tag("$s",   Status,    lambda v: v.value,                  Status),
    _Tag("$t",   tuple,     lambda v: list(map(_encode, v)),    lambda v: tuple(map(_decode, v))),
    _Tag("$dt",  datetime,  _aware,                             datetime.fromisoformat),
    _Tag("$d",   date,      date.isoformat,                     date.fromisoformat),
    _Tag("$td",  timedelta, _timedelta,                         _read_timedelta),
    _Tag("$dec", Decimal,   str,                                Decimal),
    _Tag("$m",   Money,     _money,                             _read_money),
    _Tag("$o",   dict,      lambda v: {k: _encode(x) for k, x in v.items()},
                            lambda v: {k: _decode(x) for k, x in v.items()}),
)
# fmt: on
_BY_TYPE = {t.type: t for t in _TAGS}
_BY_TAG = {t.tag: t for t in _TAGS}
_PLAIN = frozenset({type(None), bool, int, float, str})
_SUBCLASSED = (datetime, date)  # pendulum's DateTime and Date are written as what they are


def _tag_for(value: Any) -> _Tag | None:
    tag = _BY_TYPE.get(type(value))
    if tag is None and isinstance(value, _SUBCLASSED):
        tag = _BY_TYPE[datetime if isinstance(value, datetime) else date]
    return tag


def _text(value: str, field: str = "event data") -> str:
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(
            field, value, "text that is valid Unicode (no lone surrogates)"
        ) from None
    return value


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return _encode_mapping(value)
    tag = _tag_for(value)
    if tag is None:
        raise InvalidValue(
            "event data",
            value,
            "JSON values, tuples, Priority, Channel, Status, dates, aware datetimes, "
            "timedeltas, Decimals or Money",
        )
    return {tag.tag: tag.write(value)}


def _encode_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    for key in value:
        if type(key) is not str:
            raise InvalidValue("event data", key, "string keys only")
        _text(key)
    if any(k.startswith("$") for k in value):
        return {"$o": _BY_TAG["$o"].write(value)}
    return {k: _encode(v) for k, v in value.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            tag = _BY_TAG.get(key)
            if tag is not None:
                return tag.read(inner)
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


def _check(value: Any) -> None:
    """What :func:`_encode` accepts, checked without building anything."""
    kind = type(value)
    if kind is str:
        _text(value)
    elif kind in _PLAIN:
        return
    elif kind is list or kind is tuple:
        for item in value:
            _check(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                raise InvalidValue("event data", key, "string keys only")
            if not key.isascii():
                _text(key)
            kind = type(item)
            if kind is str:
                if not item.isascii():
                    _text(item)
            elif kind not in _PLAIN:
                _check(item)
    else:
        _encode(value)  # the tagged types (and the refusal of what is not one)


def check_ticket_id(ticket_id: str, field: str = "id") -> str:
    """Check that a store can keep ``ticket_id`` (or a job's key) as a name.

    A name (an id, a key, an actor, an event's kind) is text without lone
    surrogates and without NUL characters, so that every store, PostgreSQL
    included, keeps it exactly. (Text inside event data may hold anything.)
    """
    if type(ticket_id) is not str:
        raise InvalidValue(field, ticket_id, "a non-empty string")
    return _name(ticket_id, field)


def _name(value: str, field: str) -> str:
    if "\x00" in value:
        raise InvalidValue(field, value, "a name without NUL characters")
    return _text(value, field)


def check_events(events: Iterable[TicketEvent], *, as_json: bool = True) -> list[str]:
    """Check that a store can keep ``events`` exactly; return each one's data as tagged JSON.

    With ``as_json=False`` (a store that keeps the values themselves) the data
    is checked the same way but not serialised, and nothing is returned.

    Raises:
        InvalidValue: an actor that is not text, text with lone surrogates, or
            data the codec cannot keep. Nothing is written by the caller then.
    """
    encoded = []
    for event in events:
        _name(event.kind, "kind")
        if event.actor is not None:
            if type(event.actor) is not str:
                raise InvalidValue("actor", event.actor, "text (an agent's id) or None")
            _name(event.actor, "actor")
        if as_json:
            encoded.append(dumps(event.data))
        else:
            _check(event.data)
    return encoded
