"""Policies and calendars from TOML, with every error named by its key path.

The file's shape (every table optional)::

    [calendars.jakarta]
    timezone = "Asia/Jakarta"
    hours = { "mon-fri" = ["08:00-17:00"], sat = ["09:00-13:00"] }
    breaks = ["12:00-13:00"]      # or per weekday: { fri = ["11:30-13:00"] }
    holidays = { "2026-03-19" = "Nyepi", "08-17" = "Independence Day" }   # or a list of dates
    country_holidays = { country = "ID", years = [2026, 2027] }   # carekit[holidays]
    ics = "holidays/indonesia.ics"   # an iCalendar feed, beside this file (carekit[ics])
    overrides = { "2026-03-20" = ["08:00-12:00"] }
    precedence = "override"       # or "holiday": which wins on a date that is both
    end_of_shift = "keep"         # or "next_opening": a deadline landing on a closing

    [policies.standard]
    calendar = "jakarta"          # default: 24/7
    warn_at = [0.75]              # default for this policy's targets
    reopen = "resume"             # or "restart"
    pause_on = { resolution = ["pending", "on_hold"] }

    [policies.standard.targets]
    resolution = "72h"                                  # any channel, any priority
    first_response = { duration = "4h", warn_at = [0.5, 0.9], calendar = "jakarta" }
    next_response = "2 business days"   # the same wall time 2 working days later
    email = { first_response = "24h", urgent = { first_response = "1h" } }
    urgent = { resolution = "8h" }

    [selector]
    default = "standard"
    rules = [{ name = "vip", policy = "vip", tier = "vip" }]   # also: channel, priority

    [health]                      # the customer health model (carekit.health)
    window = "30d"
    bands = { green = 70, yellow = 40 }
    signals = { sla_breaches = { weight = 40 }, bad_csat = { weight = 60 } }
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import attrs

from carekit._calendar import WEEKDAYS, BusinessCalendar
from carekit._check import checked
from carekit._duration import parse_duration
from carekit._model import Channel, Customer, Priority, Status, Ticket
from carekit._selector import PolicyRule, PolicySelector
from carekit._sla import SlaPolicy, Target, TargetKey
from carekit._sla_report import Metric
from carekit.exceptions import CarekitError, PolicyError, PolicyFileError
from carekit.health._config import read_health
from carekit.health._score import HealthModel
from carekit.health._signals import Signal

__all__ = ["PolicySet", "load_policies", "loads_policies"]

_METRICS = {m.value: m for m in Metric}
_CHANNELS = {c.value: c for c in Channel}
_PRIORITIES = {p.name.lower(): p for p in Priority}


@attrs.frozen
class PolicySet:
    """What a policy file defines: calendars, policies, the selector and the health model.

    Attributes:
        calendars: by name.
        policies: by name.
        selector: the ``[selector]`` table, or a selector whose default is the
            only policy (or ``SlaPolicy.default()`` when the file defines none).
        health: the ``[health]`` table's model (its SLA signal graded by the
            selector), or ``None`` when the file has none.
    """

    calendars: Mapping[str, BusinessCalendar]
    policies: Mapping[str, SlaPolicy]
    selector: PolicySelector = attrs.field(eq=False)
    health: HealthModel | None = attrs.field(default=None, eq=False)


@checked
def load_policies(
    path: str | Path,
    *,
    states: Iterable[str] | None = None,
    signals: Iterable[type[Signal]] = (),
) -> PolicySet:
    """Read a policy file. Raises :class:`PolicyFileError` listing every error.

    An ``ics`` path in it is read relative to the file's folder.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        problem = f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line})"
        raise PolicyFileError([PolicyError("file", str(file), problem)]) from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or "not a file name"
        raise PolicyFileError(
            [PolicyError("file", str(file), f"cannot be read: {reason}")]
        ) from exc
    return loads_policies(text, states=states, signals=signals, base=file.parent)


@checked
def loads_policies(
    text: str,
    *,
    states: Iterable[str] | None = None,
    signals: Iterable[type[Signal]] = (),
    base: str | Path | None = None,
) -> PolicySet:
    """Parse policy TOML from a string (see the module's docstring for the shape).

    ``states`` are the statuses ``pause_on`` may name (default: the built-in
    ones; give your lifecycle's ``states()`` when it has its own). ``signals``
    are your own health signal classes, which ``[health.signals]`` may name.
    ``base`` is the folder a relative ``ics`` path is read from (default: the
    working directory).

    Examples:
        >>> policies = loads_policies('''
        ... [policies.calls.targets]
        ... phone = { first_response = "30s" }
        ... ''')
        >>> [(str(k), v.duration) for k, v in policies.policies["calls"].targets.items()]
        [('phone', datetime.timedelta(seconds=30))]
    """
    import tomllib  # noqa: PLC0415 - the TOML parser loads at first use

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        detail = "it nests too deep" if isinstance(exc, RecursionError) else str(exc)
        raise PolicyFileError([PolicyError("toml", detail, "is not valid TOML")]) from exc
    return _Reader(states, signals, Path(base) if base is not None else None).read(data)


class _Reader:
    def __init__(
        self,
        states: Iterable[str] | None = None,
        signals: Iterable[type[Signal]] = (),
        base: Path | None = None,
    ) -> None:
        self.base = base
        self.states = tuple(str(s) for s in (states if states is not None else Status))
        self.signals = tuple(signals)
        self.errors: list[PolicyError] = []
        self.broken: set[str] = set()  # calendars defined here that failed

    def fail(self, path: str, value: object, problem: str) -> None:
        self.errors.append(PolicyError(path, value, problem))

    def only(self, spec: Mapping[str, Any], path: str, what: str, known: set[str]) -> bool:
        """Report every key of ``spec`` that is not one of ``known``; True when there were any."""
        unknown = [key for key in spec if key not in known]
        for key in unknown:
            close = get_close_matches(str(key), sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            names = ", ".join(sorted(known))
            self.fail(f"{path}.{key}", spec[key], f"is not a {what} field ({hint}{names})")
        return bool(unknown)

    def table(self, value: object, path: str) -> Mapping[str, Any]:
        if isinstance(value, Mapping):
            return value
        self.fail(path, value, "is not a table")
        return {}

    def read(self, data: Mapping[str, Any]) -> PolicySet:
        for key in data:
            if key not in {"calendars", "policies", "selector", "health"}:
                self.fail(
                    key, data[key], "is not a known table (calendars, policies, selector, health)"
                )
        calendars: dict[str, BusinessCalendar] = {}
        for name, spec in self.table(data.get("calendars", {}), "calendars").items():
            calendar = self.calendar(
                self.table(spec, f"calendars.{name}"), f"calendars.{name}", name
            )
            if calendar is not None:
                calendars[name] = calendar
        policies: dict[str, SlaPolicy] = {}
        for name, spec in self.table(data.get("policies", {}), "policies").items():
            policy = self.policy(
                self.table(spec, f"policies.{name}"), f"policies.{name}", name, calendars
            )
            if policy is not None:
                policies[name] = policy
        selector = self.selector(data.get("selector"), policies)
        health = (
            read_health(self, data["health"], selector, self.signals) if "health" in data else None
        )
        if self.errors:
            raise PolicyFileError(self.errors)
        return PolicySet(calendars, policies, selector, health)

    def calendar(self, spec: Mapping[str, Any], path: str, name: str) -> BusinessCalendar | None:
        self.only(
            spec,
            path,
            "calendar",
            _CALENDAR_FIELDS,
        )
        holidays = spec.get("holidays", [])
        if not isinstance(holidays, list | Mapping):
            self.fail(f"{path}.holidays", holidays, "is not a list of dates or a table of names")
            holidays = []
        holidays = (
            dict(holidays) if isinstance(holidays, Mapping) else dict.fromkeys(holidays, "holiday")
        )
        country = spec.get("country_holidays")
        if country is not None:
            holidays.update(
                dict.fromkeys(self.country(country, f"{path}.country_holidays"), "holiday")
            )
        if "ics" in spec:
            holidays.update(dict.fromkeys(self.ics(spec["ics"], f"{path}.ics"), "holiday"))
        try:
            return BusinessCalendar(
                spec.get("timezone", "UTC"),
                hours=self.table(spec.get("hours", {}), f"{path}.hours"),
                breaks=spec.get("breaks"),
                holidays=holidays,
                overrides=self.table(spec.get("overrides", {}), f"{path}.overrides"),
                name=spec.get("name", name),
                precedence=spec.get("precedence", "override"),
                end_of_shift=spec.get("end_of_shift", "keep"),
            )
        except CarekitError as exc:
            self.broken.add(name)
            where = getattr(exc, "where", None) or getattr(exc, "field", None)
            value = getattr(exc, "value", getattr(exc, "zone", None))
            problem = getattr(exc, "problem", None) or str(exc)
            self.fail(_calendar_path(path, where, value, spec), value, problem)
            return None

    def ics(self, spec: object, path: str) -> list[Any]:
        """An ``ics`` path: its feed, or nothing with the error reported."""
        if not isinstance(spec, str):
            self.fail(path, spec, "is not the path of an iCalendar file")
            return []
        file = Path(spec) if self.base is None else self.base / spec
        try:
            from carekit._ics import ics_holidays  # noqa: PLC0415 - the extra, when asked for

            return [ics_holidays(file)]
        except CarekitError as exc:
            self.fail(path, spec, getattr(exc, "problem", None) or str(exc))
            return []

    def country(self, spec: object, path: str) -> list[Any]:
        """A ``country_holidays`` table: its dates, or nothing with the errors reported."""
        table = self.table(spec, path)
        self.only(table, path, "country_holidays", {"country", "years", "subdiv"})
        try:
            from carekit._country_holidays import country_holidays  # noqa: PLC0415

            return list(
                country_holidays(table["country"], table["years"], subdiv=table.get("subdiv"))
            )
        except (CarekitError, KeyError, TypeError) as exc:
            self.fail(path, spec, f"cannot be used: {exc}")
            return []

    def policy(
        self,
        spec: Mapping[str, Any],
        path: str,
        name: str,
        calendars: Mapping[str, BusinessCalendar],
    ) -> SlaPolicy | None:
        self.only(spec, path, "policy", {"calendar", "warn_at", "reopen", "pause_on", "targets"})
        calendar = self.calendar_ref(spec.get("calendar"), f"{path}.calendar", calendars)
        warn_at = self.warn_at(spec.get("warn_at", [0.75]), f"{path}.warn_at")
        targets: dict[TargetKey, Target] = {}
        self.targets(
            self.table(spec.get("targets", {}), f"{path}.targets"),
            f"{path}.targets",
            None,
            None,
            warn_at,
            calendars,
            targets,
        )
        pause_on: dict[Metric | str, list[str]] = {}
        for metric, statuses in self.table(spec.get("pause_on", {}), f"{path}.pause_on").items():
            if metric not in _METRICS:
                self.fail(
                    f"{path}.pause_on.{metric}", metric, f"is not a metric ({', '.join(_METRICS)})"
                )
            elif not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
                self.fail(f"{path}.pause_on.{metric}", statuses, "is not a list of statuses")
            elif unknown := [s for s in statuses if s not in self.states]:
                names = ", ".join(self.states)
                self.fail(f"{path}.pause_on.{metric}", unknown, f"names no status ({names})")
            else:
                pause_on[_METRICS[metric]] = statuses
        reopen = spec.get("reopen", "resume")
        if reopen not in ("resume", "restart"):
            self.fail(f"{path}.reopen", reopen, "is not 'resume' or 'restart'")
            return None
        return SlaPolicy(name, targets, calendar, pause_on=pause_on, reopen=reopen)

    def calendar_ref(
        self, ref: object, path: str, calendars: Mapping[str, BusinessCalendar]
    ) -> BusinessCalendar | None:
        if ref is None:
            return None
        if isinstance(ref, str) and ref in calendars:
            return calendars[ref]
        if isinstance(ref, str) and ref in self.broken:
            return None  # its own errors are reported where it is defined
        self.fail(path, ref, f"is not a calendar defined here ({', '.join(calendars) or 'none'})")
        return None

    def warn_at(self, value: object, path: str) -> tuple[float, ...]:
        if isinstance(value, list) and all(
            isinstance(f, int | float) and not isinstance(f, bool) and 0 < f < 1 for f in value
        ):
            return tuple(float(f) for f in value)
        self.fail(path, value, "is not a list of fractions between 0 and 1 (e.g. [0.75])")
        return (0.75,)

    def targets(  # noqa: PLR0917 - a recursive walk carrying its context
        self,
        table: Mapping[str, Any],
        path: str,
        channel: Channel | None,
        priority: Priority | None,
        warn_at: tuple[float, ...],
        calendars: Mapping[str, BusinessCalendar],
        out: dict[TargetKey, Target],
    ) -> None:
        for key, value in table.items():
            here = f"{path}.{key}"
            if key in _METRICS:
                target = self.target(value, here, warn_at, calendars)
                if target is not None:
                    out[TargetKey(_METRICS[key], channel, priority)] = target
            elif key in _CHANNELS and channel is None and priority is None:
                self.targets(
                    self.table(value, here), here, _CHANNELS[key], None, warn_at, calendars, out
                )
            elif key in _PRIORITIES and priority is None:
                self.targets(
                    self.table(value, here),
                    here,
                    channel,
                    _PRIORITIES[key],
                    warn_at,
                    calendars,
                    out,
                )
            else:
                self.fail(here, value, "is not a metric, a channel or a priority in this place")

    def target(
        self,
        value: object,
        path: str,
        warn_at: tuple[float, ...],
        calendars: Mapping[str, BusinessCalendar],
    ) -> Target | None:
        calendar = None
        if isinstance(value, Mapping):
            typo = self.only(value, path, "target", {"duration", "warn_at", "calendar"})
            warn_at = self.warn_at(value.get("warn_at", list(warn_at)), f"{path}.warn_at")
            calendar = self.calendar_ref(value.get("calendar"), f"{path}.calendar", calendars)
            if typo and "duration" not in value:
                return None  # the misspelt key is the one mistake to report
            path, value = f"{path}.duration", value.get("duration")
        days = _BUSINESS_DAYS.match(value) if isinstance(value, str) else None
        if days is not None:
            return Target.days(int(days[1]), calendar, warn_at)
        duration = self.duration(value, path)
        return None if duration is None else Target(duration, calendar, warn_at)

    def duration(self, value: object, path: str) -> timedelta | None:
        try:
            duration = parse_duration(value)  # type: ignore[arg-type]
        except ValueError:
            self.fail(
                path, value, "is not a duration such as '30s', '24h', '1h30m' or '2 business days'"
            )
            return None
        if duration < timedelta(seconds=1):
            self.fail(path, value, "is shorter than one second")
            return None
        return duration

    def selector(self, spec: object, policies: Mapping[str, SlaPolicy]) -> PolicySelector:
        fallback = next(iter(policies.values())) if len(policies) == 1 else SlaPolicy.default()
        if spec is None:
            return PolicySelector([], fallback)
        table = self.table(spec, "selector")
        self.only(table, "selector", "selector", {"default", "rules"})
        default = fallback
        if "default" in table:
            default = self.policy_ref(table["default"], "selector.default", policies) or fallback
        rules = []
        raw_rules = table.get("rules", [])
        if not isinstance(raw_rules, list):
            self.fail("selector.rules", raw_rules, "is not a list of rules ([[selector.rules]])")
            raw_rules = []
        for i, raw in enumerate(raw_rules):
            path = f"selector.rules[{i}]"
            rule = self.table(raw, path)
            policy = self.policy_ref(rule.get("policy"), f"{path}.policy", policies)
            when = self.predicate(rule, path)
            if policy is not None and when is not None:
                rules.append(PolicyRule(str(rule.get("name", f"rule {i + 1}")), when, policy))
        return PolicySelector(rules, default)

    def policy_ref(
        self, ref: object, path: str, policies: Mapping[str, SlaPolicy]
    ) -> SlaPolicy | None:
        if isinstance(ref, str) and ref in policies:
            return policies[ref]
        self.fail(path, ref, f"is not a policy defined here ({', '.join(policies) or 'none'})")
        return None

    def predicate(self, rule: Mapping[str, Any], path: str) -> Any:
        self.only(rule, path, "rule", {"name", "policy", "tier", "channel", "priority"})
        if not isinstance(rule.get("name", ""), str):
            self.fail(f"{path}.name", rule["name"], "is not a string")
            return None
        fields = {key: _strings(rule.get(key)) for key in ("tier", "channel", "priority")}
        tiers, channels, priorities = fields["tier"], fields["channel"], fields["priority"]
        if tiers is None or channels is None or priorities is None:
            for key in (key for key, value in fields.items() if value is None):
                self.fail(f"{path}.{key}", rule[key], "is not a string or a list of strings")
            return None
        bad = [c for c in channels if c not in _CHANNELS] + [
            p for p in priorities if p not in _PRIORITIES
        ]
        if bad:
            self.fail(path, bad, "names an unknown channel or priority")
            return None

        def when(ticket: Ticket, customer: Customer | None) -> bool:
            return (
                (not tiers or (customer is not None and customer.tier in tiers))
                and (not channels or ticket.channel.value in channels)
                and (not priorities or ticket.priority.name.lower() in priorities)
            )

        return when


_BUSINESS_DAYS = re.compile(r"^\s*([1-9]\d{0,3})\s+business\s+days?\s*$")

_CALENDAR_FIELDS = {
    "timezone", "hours", "breaks", "holidays", "country_holidays", "ics", "overrides", "name",
    "precedence", "end_of_shift",
}  # fmt: skip


def _calendar_path(path: str, where: str | None, value: object, spec: Mapping[str, Any]) -> str:
    """The key path of a calendar's error, from the weekday, date or field it names."""
    return f"{path}.{_calendar_key(where, value, spec)}" if where else path


def _calendar_key(where: str, value: object, spec: Mapping[str, Any]) -> str:
    inside = spec.get(where)
    if isinstance(inside, Mapping) and isinstance(value, str) and value in inside:
        return f"{where}.{value}"  # a key of hours or overrides: "funday", "2026-02-30"
    if isinstance(inside, list) and value in inside:
        return f"{where}[{inside.index(value)}]"  # one of the holidays
    if where in spec:
        return where
    if where.split(maxsplit=1)[0] in WEEKDAYS:
        return f"hours.{where.split(maxsplit=1)[0]}"
    overrides = spec.get("overrides")
    if isinstance(overrides, Mapping) and where in map(str, overrides):
        return f"overrides.{where}"
    return "holidays" if "holidays" in spec else where


def _strings(value: object) -> list[str] | None:
    """A string or a list of strings as a list; None for anything else."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None
