"""The errors carekit raises.

Every error is a :class:`CarekitError`; each leaf also subclasses the builtin
that matches it (``ValueError``, ``KeyError``, ...), so callers may catch either,
and carries the offending data as attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

__all__ = [
    "CalendarError",
    "CarekitError",
    "ConcurrentUpdate",
    "InvalidTransition",
    "InvalidTriggerData",
    "InvalidType",
    "InvalidValue",
    "JobNotFound",
    "LifecycleDefinitionError",
    "MissingExtra",
    "NaiveDatetimeError",
    "OutOfRange",
    "PolicyError",
    "PolicyFileError",
    "SchemaError",
    "StaffingError",
    "StoreError",
    "TemplateError",
    "TicketExists",
    "TicketNotFound",
    "TransitionRefused",
    "UnknownTrigger",
    "EventFromTheFuture",
    "UnknownTimezoneError",
]


class CarekitError(Exception):
    """The root of every error raised by carekit.

    Every error has a stable ``code`` (``"invalid_transition"``,
    ``"ticket_exists"``...), the ``http_status`` a web API answers it with
    (422 for a value the caller got wrong, 409 for a conflict with the
    ticket's state, 404 for an unknown id, 503 for a store that failed, 500 for
    a mistake in the host's code or set-up) and :meth:`to_dict` for the
    answer's body; messages are written for people.
    """

    code: ClassVar[str] = "carekit_error"
    http_status: ClassVar[int] = 500

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data: its code, its message, and its attributes."""
        data = {k: _plain(v) for k, v in vars(self).items() if not k.startswith("_")}
        return {"code": self.code, "message": str(self), **data}


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value if not isinstance(value, str) else str(value)
    if isinstance(value, CarekitError):
        return value.to_dict()
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


class NaiveDatetimeError(CarekitError, ValueError):
    """A datetime without a time zone was given where an aware one is required.

    Attributes:
        value: the naive datetime.
        name: what the value was for (``"at"``, ``"start"``, ...).
    """

    code: ClassVar[str] = "naive_datetime"
    http_status: ClassVar[int] = 422

    def __init__(self, value: object, name: str = "datetime") -> None:
        self.value = value
        self.name = name
        super().__init__(
            f"{name}={value!r} is naive: give a timezone-aware datetime, "
            "e.g. datetime(..., tzinfo=timezone.utc) or pendulum.datetime(..., tz='Asia/Jakarta')"
        )


class UnknownTimezoneError(CarekitError, ValueError):
    """A time-zone name is not a known IANA name.

    Attributes:
        zone: the name given.
    """

    code: ClassVar[str] = "unknown_timezone"
    http_status: ClassVar[int] = 422

    def __init__(self, zone: object) -> None:
        self.zone = zone
        super().__init__(
            f"{zone!r} is not a known IANA time zone (e.g. 'Asia/Jakarta', 'Europe/Berlin', 'UTC')"
        )


class InvalidTransition(CarekitError, ValueError):
    """The lifecycle refused a trigger; the ticket is unchanged.

    Attributes:
        ticket_id: the ticket's id.
        state: the ticket's status when the trigger was refused.
        trigger: the refused trigger.
        allowed: the triggers allowed in that status.
        reason: why it was refused, in words.
    """

    code: ClassVar[str] = "invalid_transition"
    http_status: ClassVar[int] = 409

    def __init__(
        self,
        ticket_id: str,
        state: str,
        trigger: str,
        allowed: Sequence[str],
        reason: str,
    ) -> None:
        self.ticket_id = ticket_id
        self.state = state
        self.trigger = trigger
        self.allowed = tuple(allowed)
        self.reason = reason
        names = ", ".join(self.allowed) or "none"
        super().__init__(
            f"ticket {ticket_id!r} in status {str(state)!r}: {trigger!r} refused: {reason} "
            f"(allowed now: {names})"
        )


class InvalidValue(CarekitError, ValueError):
    """A value given to carekit is not one it accepts.

    Attributes:
        field: what the value was for (``"channel"``, ``"locale"``, ...).
        value: the value given.
        expected: what would have been accepted, in words.
    """

    code: ClassVar[str] = "invalid_value"
    http_status: ClassVar[int] = 422

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}={value!r} is not valid: expected {expected}")


class TemplateError(InvalidValue):
    """A message cannot be rendered completely: nothing with a placeholder is ever sent.

    Attributes:
        template: the template's name.
        locale: the language it was being rendered in.
        field: the field at fault (``None``: the template itself is unknown).
        problem: what is wrong, in words.
    """

    code: ClassVar[str] = "template"
    http_status: ClassVar[int] = 422

    def __init__(self, template: str, locale: str, field: str | None, problem: str) -> None:
        InvalidValue.__init__(self, field or "template", template, problem)
        self.template = template
        self.locale = locale
        self.problem = problem
        where = f"template {template!r} ({locale})"
        self.args = (f"{where}: {problem}" if field is None else f"{where}: {{{field}}} {problem}",)

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidType(InvalidValue, TypeError):
    """A value of the wrong type: a string where a datetime belongs, ``None`` for a ticket.

    Attributes:
        field: the argument, with the index or key inside it (``"tickets[3]"``).
        value: the value given there.
        expected: the type that would have been accepted, in words.
    """

    code: ClassVar[str] = "invalid_type"
    http_status: ClassVar[int] = 422

    def __init__(self, field: str, value: object, expected: str) -> None:
        InvalidValue.__init__(self, field, value, expected)
        self.args = (f"{field}: {_short(value)} is not {expected}",)

    def __str__(self) -> str:
        return str(self.args[0])


class OutOfRange(InvalidValue, OverflowError):
    """An instant or duration that takes a result past what a datetime holds (years 1-9999).

    Attributes:
        field: the operation whose result fell outside.
    """

    code: ClassVar[str] = "out_of_range"
    http_status: ClassVar[int] = 422

    def __init__(self, field: str) -> None:
        InvalidValue.__init__(self, field, None, "instants within the years 1 to 9999")
        self.args = (
            f"{field}: the instants and durations given take a result outside the years 1 to 9999",
        )

    def __str__(self) -> str:
        return str(self.args[0])


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


class JobNotFound(CarekitError, KeyError):
    """No care job with this key exists in the job store.

    Attributes:
        key: the key looked up.
    """

    code: ClassVar[str] = "job_not_found"
    http_status: ClassVar[int] = 404

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)

    def __str__(self) -> str:
        return f"no care job with key {self.key!r}"


class TicketNotFound(CarekitError, KeyError):
    """No ticket with this id exists in the store.

    Attributes:
        ticket_id: the id looked up.
    """

    code: ClassVar[str] = "ticket_not_found"
    http_status: ClassVar[int] = 404

    def __init__(self, ticket_id: str) -> None:
        self.ticket_id = ticket_id
        super().__init__(ticket_id)

    def __str__(self) -> str:
        return f"no ticket with id {self.ticket_id!r}"


class ConcurrentUpdate(CarekitError, RuntimeError):
    """A save was based on a stale version of the ticket; nothing was written.

    Attributes:
        ticket_id: the ticket's id.
        expected: the version the saver had loaded.
        actual: the version in the store.
    """

    code: ClassVar[str] = "concurrent_update"
    http_status: ClassVar[int] = 409

    def __init__(self, ticket_id: str, expected: int, actual: int) -> None:
        self.ticket_id = ticket_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"ticket {ticket_id!r} changed since it was loaded (loaded version {expected}, "
            f"stored version {actual}): load it again and re-apply"
        )


class CalendarError(CarekitError, ValueError):
    """A business calendar definition is invalid.

    Attributes:
        where: the weekday, date or field at fault.
        value: the offending value.
    """

    code: ClassVar[str] = "calendar"
    http_status: ClassVar[int] = 422

    def __init__(self, where: str, value: Any, problem: str) -> None:
        self.where = where
        self.value = value
        self.problem = problem
        super().__init__(f"{where}: {value!r} {problem}")


class PolicyError(CarekitError, ValueError):
    """A policy (in code or in a TOML file) is invalid.

    Attributes:
        path: the dotted key path of the bad field, e.g. ``targets.email.first_response``.
        value: the bad value.
        problem: what is wrong with it.
    """

    code: ClassVar[str] = "policy"
    http_status: ClassVar[int] = 422

    def __init__(self, path: str, value: Any, problem: str) -> None:
        self.path = path
        self.value = value
        self.problem = problem
        super().__init__(f"{path}: {value!r} {problem}")


class MissingExtra(CarekitError, ImportError):
    """An optional dependency is not installed.

    Attributes:
        extra: the extra to install (``pip install "carekit[<extra>]"``).
    """

    code: ClassVar[str] = "missing_extra"
    http_status: ClassVar[int] = 500

    def __init__(self, extra: str, package: str) -> None:
        self.extra = extra
        super().__init__(
            f"this needs the optional package {package!r}: pip install 'carekit[{extra}]'"
        )


class LifecycleDefinitionError(CarekitError, TypeError):
    """A lifecycle subclass's graph names something that does not exist (a guard method).

    Attributes:
        lifecycle: the class's name.
        name: what was named.
    """

    code: ClassVar[str] = "lifecycle_definition"
    http_status: ClassVar[int] = 500

    def __init__(self, lifecycle: str, name: object, problem: str) -> None:
        self.lifecycle = lifecycle
        self.name = name
        super().__init__(f"{lifecycle}: {name!r} {problem}")


class PolicyFileError(PolicyError):
    """A policy file has one or more errors; ``errors`` lists each with its key path.

    Attributes:
        errors: every :class:`~carekit.PolicyError` found, in file order.
    """

    code: ClassVar[str] = "policy_file"
    http_status: ClassVar[int] = 422

    def __init__(self, errors: Iterable[PolicyError]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0]
        super().__init__(first.path, first.value, first.problem)
        self.args = ("\n".join(str(e) for e in self.errors),)

    def __str__(self) -> str:
        return str(self.args[0])


class StaffingError(CarekitError, ValueError):
    """Inputs for which no staffing answer exists (no handle time, an impossible target).

    Attributes:
        field: the input at fault.
        value: its value.
    """

    code: ClassVar[str] = "staffing"
    http_status: ClassVar[int] = 422

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}={value!r}: {problem}")


class SchemaError(CarekitError, RuntimeError):
    """The database file was written by an incompatible version of carekit.

    Attributes:
        found: the schema version in the file.
        supported: the version this carekit writes.
    """

    code: ClassVar[str] = "schema"
    http_status: ClassVar[int] = 500

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path}: schema version {found}, but this carekit supports up to {supported}: "
            "upgrade carekit to open it"
        )


class TicketExists(CarekitError, KeyError):
    """A ticket with this id is already stored; nothing was written.

    Attributes:
        ticket_id: the id that is taken.
    """

    code: ClassVar[str] = "ticket_exists"
    http_status: ClassVar[int] = 409

    def __init__(self, ticket_id: str) -> None:
        self.ticket_id = ticket_id
        super().__init__(ticket_id)

    def __str__(self) -> str:
        return f"a ticket with id {self.ticket_id!r} exists already: open it under another id"


class StoreError(CarekitError, OSError):
    """A store could not do its work (the database is missing, corrupt, read-only, full, locked).

    The original error is the ``__cause__``. Nothing was changed.

    Attributes:
        store: where (a file path or a DSN without its password).
        action: what was being done (``"open"``, ``"save"``, ``"claim"``...).
        detail: the database's own words.
    """

    code: ClassVar[str] = "store"
    http_status: ClassVar[int] = 503

    def __init__(self, store: str, action: str, detail: str) -> None:
        self.store = store
        self.action = action
        self.detail = detail
        super().__init__(f"{store}: cannot {action}: {detail}")

    def __str__(self) -> str:
        return f"{self.store}: cannot {self.action}: {self.detail}"


class EventFromTheFuture(CarekitError, ValueError):
    """An event is dated further after the desk's clock than the desk tolerates; nothing changed.

    Attributes:
        at: the event's instant.
        now: the desk's clock.
        tolerance: how far ahead an event may be dated.
    """

    code: ClassVar[str] = "event_from_the_future"
    http_status: ClassVar[int] = 422

    def __init__(self, at: object, now: object, tolerance: object) -> None:
        self.at = at
        self.now = now
        self.tolerance = tolerance
        super().__init__(
            f"an event dated {at} is more than {tolerance} after the desk's clock ({now}): "
            "check the sender's clock or time zone"
        )


class UnknownTrigger(InvalidTransition):
    """The trigger is not one the lifecycle knows; the ticket is unchanged."""

    code: ClassVar[str] = "unknown_trigger"
    http_status: ClassVar[int] = 422


class InvalidTriggerData(InvalidTransition):
    """The trigger's data is missing or wrong (``set_priority`` without a priority)."""

    code: ClassVar[str] = "invalid_trigger_data"
    http_status: ClassVar[int] = 422


class TransitionRefused(InvalidTransition):
    """The graph refuses the trigger: not allowed in the status, a guard, or out of order."""

    code: ClassVar[str] = "transition_refused"
    http_status: ClassVar[int] = 409
