"""The ``[health]`` table of a policy file: the health model beside the policies.

The shape (every key optional)::

    [health]
    window = "30d"                        # how far back the signals look
    bands = { green = 70, yellow = 40 }   # red below yellow

    [health.signals]                      # the signals used; weights add up to 100
    sla_breaches = { weight = 15, limit = 3 }
    reopenings = { weight = 10 }
    repeat_contacts = { weight = 10, within = "7d" }
    ...

Without ``[health.signals]`` the shipped signals and weights apply. Every
error is named by its key path (``health.signals.sla_breaches.wieght: ... did
you mean 'weight'?``), like the rest of the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from difflib import get_close_matches
from typing import Any, Protocol

import attrs

from carekit._selector import PolicySelector
from carekit.exceptions import CarekitError, PolicyError
from carekit.health._score import Bands, HealthModel
from carekit.health._signals import DEFAULT_SIGNALS, Signal

__all__ = ["read_health"]

SHIPPED: Mapping[str, type[Signal]] = {type(s).name: type(s) for s in DEFAULT_SIGNALS}


class _Reader(Protocol):
    """What the policy file's reader lends: its error list and field checks."""

    def fail(self, path: str, value: object, problem: str) -> None: ...
    def only(self, spec: Mapping[str, Any], path: str, what: str, known: set[str]) -> bool: ...
    def table(self, value: object, path: str) -> Mapping[str, Any]: ...
    def duration(self, value: object, path: str) -> timedelta | None: ...


def read_health(
    reader: _Reader,
    spec: object,
    policy: PolicySelector,
    signals: Iterable[type[Signal]] = (),
) -> HealthModel | None:
    """The health model of a ``[health]`` table, or ``None`` with its errors told to ``reader``.

    ``signals`` are the host's own signal classes, named in the file by their ``name``.
    """
    table = reader.table(spec, "health")
    reader.only(table, "health", "health", {"window", "bands", "signals"})
    known = {**SHIPPED, **{cls.name: cls for cls in signals}}
    window = reader.duration(table.get("window", "30d"), "health.window")
    bands = _bands(reader, table.get("bands"))
    chosen = (
        list(DEFAULT_SIGNALS)
        if "signals" not in table
        else _signals(reader, reader.table(table["signals"], "health.signals"), known)
    )
    if window is None or bands is None or chosen is None:
        return None
    try:
        return HealthModel(chosen, bands=bands, window=window, policy=policy)
    except PolicyError as error:
        reader.fail(error.path, error.value, error.problem)
        return None


def _bands(reader: _Reader, spec: object) -> Bands | None:
    if spec is None:
        return Bands()
    table = reader.table(spec, "health.bands")
    if reader.only(table, "health.bands", "bands", {"green", "yellow"}):
        return None
    values: dict[str, float] = {}
    for key in ("green", "yellow"):
        value = table.get(key, getattr(Bands(), key))
        if isinstance(value, bool) or not isinstance(value, int | float):
            reader.fail(f"health.bands.{key}", value, "is not a score from 0 to 100")
            return None
        values[key] = float(value)
    try:
        return Bands(**values)
    except PolicyError as error:
        reader.fail(error.path, error.value, error.problem)
        return None


def _signals(
    reader: _Reader, spec: Mapping[str, Any], known: Mapping[str, type[Signal]]
) -> list[Signal] | None:
    found: list[Signal] = []
    failed = False
    for name, fields in spec.items():
        path = f"health.signals.{name}"
        cls = known.get(name)
        if cls is None:
            close = get_close_matches(str(name), sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            reader.fail(path, name, f"is not a signal ({hint}{', '.join(sorted(known))})")
            failed = True
            continue
        signal = _signal(reader, cls, reader.table(fields, path), path)
        failed = failed or signal is None
        if signal is not None:
            found.append(signal)
    return None if failed else found


def _signal(
    reader: _Reader, cls: type[Signal], spec: Mapping[str, Any], path: str
) -> Signal | None:
    fields = {f.name: f for f in attrs.fields(cls)}
    if reader.only(spec, path, f"{cls.name} signal", set(fields)):
        return None
    values: dict[str, Any] = {}
    for key, value in spec.items():
        wanted = fields[key].default
        if isinstance(wanted, timedelta):
            values[key] = reader.duration(value, f"{path}.{key}")
            if values[key] is None:
                return None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            reader.fail(f"{path}.{key}", value, "is not a number")
            return None
        elif isinstance(wanted, int) and not float(value).is_integer():
            reader.fail(f"{path}.{key}", value, "is not a whole number")
            return None
        else:  # a count stays a count, a weight or a ratio a float
            values[key] = type(wanted)(value) if isinstance(wanted, int | float) else value
    try:
        return cls(**values)
    except (CarekitError, TypeError, ValueError) as error:
        field = getattr(error, "field", None) or "weight"
        reader.fail(f"{path}.{field}", values.get(field), str(getattr(error, "expected", error)))
        return None
