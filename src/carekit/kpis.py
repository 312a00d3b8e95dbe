"""KPIs from event logs, each labelled with the formula it uses.

Every figure is a fold over tickets' events (and, for CSAT and NPS, over the
survey answers the campaigns produce): nothing is counted on the side. Where
the industry disagrees on a formula (first contact resolution, CSAT, call
service level), the choice is an explicit argument and the figure carries its
label, so a report never hides which definition it shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import attrs
from babel.numbers import format_decimal, format_percent

from carekit._calendar import BusinessCalendar
from carekit._check import checked
from carekit._figure import Figure, Stats
from carekit._model import CareEvent, Channel, Choice, Ticket
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit._sla_report import ClockState, Metric
from carekit._time import to_utc, zone
from carekit._timeline import Timeline
from carekit.exceptions import InvalidValue
from carekit.health._report import HealthReport
from carekit.i18n import _locale, format_duration_locale
from carekit.protocols import CustomerDirectory

__all__ = [
    "CsatScale",
    "FcrRule",
    "Figure",
    "KpiReport",
    "ServiceLevelFormula",
    "Stats",
    "abandon_rate",
    "average_speed_of_answer",
    "backlog",
    "call_service_level",
    "csat",
    "first_contact_resolution",
    "first_response_times",
    "group_tickets",
    "kpi_report",
    "next_response_times",
    "nps",
    "reopen_rate",
    "resolution_times",
    "scores",
    "sla_achievement",
]


class FcrRule(Choice):
    """What counts as resolved at first contact."""

    SINGLE_REPLY = "resolved with a single agent reply"
    NO_FOLLOW_UP = "resolved with no customer follow-up"
    ONE_AGENT = "resolved by one agent"


class CsatScale(Choice):
    """How CSAT answers are given: 1 to 5 (4 and 5 are good) or thumbs (1 up, 0 down)."""

    FIVE = "1-5"
    THUMBS = "thumbs"


class ServiceLevelFormula(Choice):
    """The denominator of the call service level."""

    ANSWERED_AND_ABANDONED = "answered within / (answered + abandoned)"
    ANSWERED_ONLY = "answered within / answered"
    ANSWERED_AND_LATE_ABANDONS = "answered within / (answered + abandoned after threshold)"


# -- durations -------------------------------------------------------------------------------
#
# Every figure below reads the same Timeline the SLA engine reads (roles, not trigger names):
# the KPIs' first response and resolution instants are the SLA report's stop instants.


def _span(calendar: BusinessCalendar | None, start: float, end: float) -> timedelta:
    if calendar is None:
        return timedelta(seconds=end - start)
    return timedelta(seconds=calendar._between_seconds(start, end))


@checked
def first_response_times(
    tickets: Iterable[Ticket], calendar: BusinessCalendar | None = None
) -> list[timedelta]:
    """Creation to first agent reply, per answered ticket (working time with a calendar)."""
    out = []
    for t in tickets:
        log = Timeline(t)
        if log.first_reply is not None:
            out.append(_span(calendar, log.created, log.first_reply))
    return out


@checked
def next_response_times(
    tickets: Iterable[Ticket], calendar: BusinessCalendar | None = None
) -> list[timedelta]:
    """Oldest unanswered customer message to the next agent reply, after the first reply.

    Cycles that a resolution ended without a reply are not responses and are left out.
    """
    out: list[timedelta] = []
    for t in tickets:
        log = Timeline(t)
        replies = set(log.agent)
        out.extend(
            _span(calendar, start, stop)
            for start, stop in log.next_responses()
            if stop is not None and stop in replies
        )
    return out


@checked
def resolution_times(
    tickets: Iterable[Ticket], calendar: BusinessCalendar | None = None, *, first: bool = True
) -> list[timedelta]:
    """Creation to the first (``first=True``) or the last resolution, per resolved ticket."""
    out = []
    for t in tickets:
        log = Timeline(t)
        if log.resolves:
            out.append(_span(calendar, log.created, log.resolves[0 if first else -1]))
    return out


# -- ratios ------------------------------------------------------------------------------------


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _selector(policy: SlaPolicy | PolicySelector) -> PolicySelector:
    return policy if isinstance(policy, PolicySelector) else PolicySelector([], policy)


@checked
def sla_achievement(
    tickets: Iterable[Ticket],
    policy: SlaPolicy | PolicySelector,
    now: datetime,
    *,
    directory: CustomerDirectory | None = None,
) -> list[Figure]:
    """Per metric, met / (met + breached) over decided cycles (running and on time: excluded).

    ``policy`` may be a :class:`~carekit.PolicySelector`, as on the desk: each
    ticket is measured against the policy chosen for it (with its customer from
    ``directory``, when given).
    """
    selector = _selector(policy)
    met: dict[Metric, int] = dict.fromkeys(Metric, 0)
    breached: dict[Metric, int] = dict.fromkeys(Metric, 0)
    for t in tickets:
        customer = directory.get(t.customer_id) if directory is not None else None
        report = selector.select(t, customer).evaluate(t, now=now)
        for clock in report.all_clocks():
            if clock.breached:
                breached[clock.metric] += 1
            elif clock.state is ClockState.MET:
                met[clock.metric] += 1
    return [
        Figure(
            f"sla_{m.value}",
            _ratio(met[m], met[m] + breached[m]),
            "met / (met + breached)",
            met[m] + breached[m],
        )
        for m in Metric
        if met[m] + breached[m]
    ]


@checked
def reopen_rate(tickets: Iterable[Ticket]) -> Figure:
    """Tickets reopened at least once / tickets resolved at least once."""
    resolved = reopened = 0
    for t in tickets:
        log = Timeline(t)
        if log.resolves:
            resolved += 1
            reopened += bool(log.reopens)
    return Figure("reopen_rate", _ratio(reopened, resolved), "reopened / resolved", resolved)


@checked
def backlog(tickets: Iterable[Ticket], at: datetime) -> tuple[Figure, Figure]:
    """Tickets open at ``at`` (created, not resolved or closed), and their ages."""
    at = to_utc(at, "at")
    cutoff = at.timestamp()
    ages = []
    for t in tickets:
        if t.created_at > at:
            continue
        if not Timeline(t, cutoff).done:
            ages.append(at - t.created_at)
    return (
        Figure("backlog", len(ages), "tickets not resolved at the instant", len(ages)),
        Figure("backlog_age", Stats.of(ages), "instant - created, over the backlog", len(ages)),
    )


def _first_contact(log: Timeline, rule: FcrRule) -> bool:
    """Whether a resolved ticket's first resolution meets ``rule``."""
    first = log.resolves[0]
    replies = [i for i, at in enumerate(log.agent) if at <= first]
    if rule is FcrRule.SINGLE_REPLY:
        return len(replies) == 1
    if rule is FcrRule.ONE_AGENT:
        return bool(replies) and len({log.actors[i] for i in replies}) == 1
    answered = log.first_reply
    if answered is None:
        return False
    return not any(m > answered for m in (*log.customer, *log.reopens))


@checked
def first_contact_resolution(
    tickets: Iterable[Ticket], rule: FcrRule = FcrRule.SINGLE_REPLY
) -> Figure:
    """Resolved tickets meeting ``rule`` / resolved tickets (first resolution only).

    * ``SINGLE_REPLY``: exactly one agent reply before the first resolution.
    * ``NO_FOLLOW_UP``: no customer message after the first agent reply, and never reopened.
    * ``ONE_AGENT``: every agent reply before the first resolution came from one agent.
    """
    resolved = hits = 0
    for t in tickets:
        log = Timeline(t)
        if log.resolves:
            resolved += 1
            hits += _first_contact(log, rule)
    return Figure("first_contact_resolution", _ratio(hits, resolved), str(rule), resolved)


# -- survey answers --------------------------------------------------------------------------


@checked
def scores(events: Iterable[CareEvent], kind: str) -> list[float]:
    """The ``score`` of every event of ``kind`` (e.g. ``csat_rated``, ``nps_answered``)."""
    return [float(e.data["score"]) for e in events if e.kind == kind and "score" in e.data]


def _scores(answers: Iterable[float]) -> list[float]:
    values = list(answers)
    wrong = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float)]
    if wrong:
        raise InvalidValue("answers", wrong[:3], "numeric scores")
    return values


@checked
def csat(answers: Iterable[float], scale: CsatScale = CsatScale.FIVE) -> Figure:
    """CSAT as good / (good + bad): 4-5 good on 1-5, 1 good (0 bad) on thumbs; unrated left out."""
    values = _scores(answers)
    if scale is CsatScale.FIVE:
        bad_values = [v for v in values if not 1 <= v <= 5]
        good = sum(v >= 4 for v in values)
    else:
        bad_values = [v for v in values if v not in (0, 1)]
        good = sum(v == 1 for v in values)
    if bad_values:
        raise InvalidValue("answers", bad_values[:3], f"scores on the {scale} scale")
    return Figure(
        "csat", _ratio(good, len(values)), f"good / (good + bad), {scale} scale", len(values)
    )


@checked
def nps(answers: Iterable[float]) -> Figure:
    """% promoters (9-10) minus % detractors (0-6), from -100 to 100."""
    values = _scores(answers)
    if any(not 0 <= v <= 10 for v in values):
        raise InvalidValue("answers", values, "scores from 0 to 10")
    if not values:
        return Figure("nps", None, "% promoters (9-10) - % detractors (0-6)", 0)
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    value = 100 * (promoters - detractors) / len(values)
    return Figure("nps", value, "% promoters (9-10) - % detractors (0-6)", len(values))


# -- calls ---------------------------------------------------------------------------------------


def _calls(tickets: Iterable[Ticket]) -> tuple[list[timedelta], list[timedelta]]:
    """The waits of answered calls and of abandoned calls.

    A call is a phone ticket, answered at its first agent reply, abandoned when
    resolved before one.
    """
    answered: list[timedelta] = []
    abandoned: list[timedelta] = []
    for t in tickets:
        if t.channel is not Channel.PHONE:
            continue
        log = Timeline(t)
        start, stop = log.first_response()
        if stop is not None:
            waits = answered if stop == log.first_reply else abandoned
            waits.append(timedelta(seconds=stop - start))
    return answered, abandoned


@checked
def call_service_level(
    tickets: Iterable[Ticket],
    threshold: timedelta = timedelta(seconds=30),
    formula: ServiceLevelFormula = ServiceLevelFormula.ANSWERED_AND_ABANDONED,
    *,
    short_abandon: timedelta | None = None,
) -> Figure:
    """Calls answered within ``threshold`` over the denominator ``formula`` names.

    Abandons shorter than ``short_abandon`` (a caller who hung up at once) are
    left out of every denominator when given.
    """
    answered, abandoned = _calls(tickets)
    if short_abandon is not None:
        abandoned = [w for w in abandoned if w >= short_abandon]
    within = sum(w <= threshold for w in answered)
    if formula is ServiceLevelFormula.ANSWERED_ONLY:
        total = len(answered)
    elif formula is ServiceLevelFormula.ANSWERED_AND_LATE_ABANDONS:
        total = len(answered) + sum(w > threshold for w in abandoned)
    else:
        total = len(answered) + len(abandoned)
    label = str(formula) + (f", abandons under {short_abandon} excluded" if short_abandon else "")
    return Figure("call_service_level", _ratio(within, total), label, total)


@checked
def average_speed_of_answer(tickets: Iterable[Ticket]) -> Figure:
    """Mean wait of answered calls."""
    answered, _ = _calls(tickets)
    return Figure(
        "average_speed_of_answer", Stats.of(answered), "mean wait of answered calls", len(answered)
    )


@checked
def abandon_rate(tickets: Iterable[Ticket], *, short_abandon: timedelta | None = None) -> Figure:
    """Abandon rate: abandoned / (answered + abandoned), short abandons optionally left out."""
    answered, abandoned = _calls(tickets)
    if short_abandon is not None:
        abandoned = [w for w in abandoned if w >= short_abandon]
    total = len(answered) + len(abandoned)
    return Figure(
        "abandon_rate", _ratio(len(abandoned), total), "abandoned / (answered + abandoned)", total
    )


# -- grouping and the report ---------------------------------------------------------------

Grouping = str  # "channel", "priority", "agent", "day", "week", "month"


def _period(at: datetime, by: str, timezone: str) -> str:
    local = at.astimezone(zone(timezone)).date()
    if by == "day":
        return local.isoformat()
    if by == "week":
        return (local - timedelta(days=local.weekday())).isoformat()
    return date(local.year, local.month, 1).isoformat()[:7]


@checked
def group_tickets(
    tickets: Iterable[Ticket], by: Grouping, *, timezone: str = "UTC"
) -> dict[str, list[Ticket]]:
    """Tickets by channel, priority, agent, or creation day/week/month in ``timezone``."""
    keys: dict[str, Callable[[Ticket], str]] = {
        "channel": lambda t: str(t.channel),
        "priority": lambda t: str(t.priority),
        "agent": lambda t: t.assignee or "(unassigned)",
        "day": lambda t: _period(t.created_at, "day", timezone),
        "week": lambda t: _period(t.created_at, "week", timezone),
        "month": lambda t: _period(t.created_at, "month", timezone),
    }
    if by not in keys:
        raise InvalidValue("by", by, f"one of {sorted(keys)}")
    groups: dict[str, list[Ticket]] = {}
    for t in tickets:
        groups.setdefault(keys[by](t), []).append(t)
    return dict(sorted(groups.items()))


@attrs.frozen
class KpiReport:
    """KPIs per group, renderable as a localised text table or as plain data.

    Attributes:
        groups: group name -> its figures (``"all"`` when ungrouped).
        by: what the groups are (``"channel"``, ``"day"``...), or ``None``.
        health: the customers' health by segment and who turned red, when given.
    """

    groups: Mapping[str, tuple[Figure, ...]]
    by: str | None = None
    health: HealthReport | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data: numbers, seconds for durations, the formula of each figure."""
        return {
            "by": self.by,
            "groups": {
                group: [
                    {
                        "name": f.name,
                        "value": _plain(f.value),
                        "formula": f.formula,
                        "count": f.count,
                    }
                    for f in figures
                ]
                for group, figures in self.groups.items()
            },
            "health": None if self.health is None else self.health.to_dict(),
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @checked
    def render(self, locale: str = "en") -> str:
        """A text table, numbers, percentages and durations in ``locale``.

        Raises:
            InvalidValue: ``locale`` is not a locale babel knows (checked first,
                so an empty report refuses it too).
        """
        _locale(locale)
        lines = []
        for group, figures in self.groups.items():
            lines.append(f"[{group}]" if self.by else "")
            width = max((len(f.name) for f in figures), default=0)
            lines.extend(
                f"  {f.name:<{width}}  {_show(f, locale):>24}  ({f.formula}; n={f.count})"
                for f in figures
            )
        text = "\n".join(line for line in lines if line or not self.by).strip("\n")
        return text if self.health is None else f"{text}\n\n{self.health.render()}"


def _plain(value: object) -> object:
    if isinstance(value, Stats):
        return {
            "count": value.count,
            **{
                k: None if v is None else v.total_seconds()
                for k, v in (("mean", value.mean), ("median", value.median), ("p90", value.p90))
            },
        }
    return value


_RATIOS = frozenset(
    {"csat", "first_contact_resolution", "reopen_rate", "call_service_level", "abandon_rate"}
)


def _show(figure: Figure, locale: str) -> str:
    value = figure.value
    if value is None:
        return "-"
    if isinstance(value, Stats):
        if value.median is None or value.mean is None or value.p90 is None:
            return "-"
        return (
            " / ".join(
                format_duration_locale(v, locale) for v in (value.median, value.mean, value.p90)
            )
            + " (median/mean/p90)"
        )
    if figure.name in _RATIOS or figure.name.startswith("sla_"):
        return format_percent(value, format="#,##0.0%", locale=locale)
    return format_decimal(value, format="#,##0.#", locale=locale)


@checked
def kpi_report(
    tickets: Iterable[Ticket],
    *,
    now: datetime,
    policy: SlaPolicy | PolicySelector | None = None,
    directory: CustomerDirectory | None = None,
    by: Grouping | None = None,
    timezone: str = "UTC",
    calendar: BusinessCalendar | None = None,
    answers: Iterable[CareEvent] = (),
    fcr: FcrRule = FcrRule.SINGLE_REPLY,
    csat_scale: CsatScale = CsatScale.FIVE,
    call_threshold: timedelta = timedelta(seconds=30),
    call_formula: ServiceLevelFormula = ServiceLevelFormula.ANSWERED_AND_ABANDONED,
    short_abandon: timedelta | None = None,
    health: HealthReport | None = None,
) -> KpiReport:
    """Every KPI, per group (``by``), at ``now``; durations in working time with ``calendar``.

    ``policy`` (an :class:`~carekit.SlaPolicy` or a :class:`~carekit.PolicySelector`,
    as the desk takes) grades SLA achievement; with a selector each ticket is
    graded against the policy chosen for it, its customer read from ``directory``.

    CSAT and NPS come from ``answers`` (``csat_rated`` / ``nps_answered`` events
    whose data carries ``score`` and, for grouping, ``ticket_id``). ``health``
    (:func:`carekit.health.health_report`) joins the report as it is.
    """
    pool = list(tickets)
    groups = group_tickets(pool, by, timezone=timezone) if by else {"all": pool}
    answer_list = list(answers)
    for i, answer in enumerate(answer_list):
        ticket_id = answer.data.get("ticket_id", "")
        if not isinstance(ticket_id, str):
            raise InvalidValue(f"answers[{i}].ticket_id", ticket_id, "a ticket id (text)")
    ticket_group = {t.id: g for g, ts in groups.items() for t in ts}
    out: dict[str, tuple[Figure, ...]] = {}
    for group, members in groups.items():
        mine = [
            a
            for a in answer_list
            if not by or ticket_group.get(a.data.get("ticket_id", "")) == group
        ]
        figures = [
            Figure("tickets", len(members), "tickets created", len(members)),
            Figure(
                "first_response_time",
                Stats.of(first_response_times(members, calendar)),
                "created -> first agent reply",
                0,
            ),
            Figure(
                "next_response_time",
                Stats.of(next_response_times(members, calendar)),
                "customer message -> next agent reply",
                0,
            ),
            Figure(
                "first_resolution_time",
                Stats.of(resolution_times(members, calendar)),
                "created -> first resolve",
                0,
            ),
            Figure(
                "full_resolution_time",
                Stats.of(resolution_times(members, calendar, first=False)),
                "created -> last resolve",
                0,
            ),
            first_contact_resolution(members, fcr),
            reopen_rate(members),
            *backlog(members, now),
            *(sla_achievement(members, policy, now, directory=directory) if policy else ()),
            csat(scores(mine, "csat_rated"), csat_scale),
            nps(scores(mine, "nps_answered")),
            call_service_level(members, call_threshold, call_formula, short_abandon=short_abandon),
            average_speed_of_answer(members),
            abandon_rate(members, short_abandon=short_abandon),
        ]
        out[group] = tuple(
            attrs.evolve(f, count=f.value.count) if isinstance(f.value, Stats) else f
            for f in figures
        )
    return KpiReport(out, by, health)
