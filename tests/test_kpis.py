"""KPIs on hand-computed scenarios, one per formula variant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carekit import (
    BusinessCalendar,
    Customer,
    Lifecycle,
    Metric,
    PolicyRule,
    PolicySelector,
    SlaPolicy,
    Ticket,
)
from carekit.campaigns import CareEvent
from carekit.exceptions import InvalidValue
from carekit.kpis import (
    CsatScale,
    FcrRule,
    ServiceLevelFormula,
    Stats,
    abandon_rate,
    average_speed_of_answer,
    backlog,
    call_service_level,
    csat,
    first_contact_resolution,
    first_response_times,
    group_tickets,
    kpi_report,
    next_response_times,
    nps,
    reopen_rate,
    resolution_times,
    sla_achievement,
)
from carekit.testing import InMemoryDirectory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
L = Lifecycle()
S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)


def ticket(tid: str, channel: str = "email", at: datetime = T0, *steps: tuple[Any, ...]) -> Ticket:
    t = Ticket.open(tid, channel=channel, customer_id="c", at=at)
    for step in steps:
        trigger, offset, *rest = step
        data = rest[0] if rest else {}
        t = L.apply(t, trigger, at=at + offset, **data)
    return t


A = ticket("A", "email", T0, ("agent_reply", H, {}), ("resolve", 2 * H))
B = ticket(
    "B",
    "email",
    T0,
    ("agent_reply", 3 * H),
    ("customer_reply", 4 * H),
    ("agent_reply", 6 * H),
    ("resolve", 7 * H),
)
C = ticket(
    "C",
    "chat",
    T0,
    ("agent_reply", 5 * M),
    ("resolve", 10 * M),
    ("reopen", H),
    ("agent_reply", 2 * H),
    ("resolve", 3 * H),
)
D = ticket("D", "email", T0)  # never answered
TICKETS = [A, B, C, D]


def test_response_and_resolution_times() -> None:
    """First response, next response, first and full resolution, by hand."""
    assert [H, 3 * H, 5 * M] == first_response_times(TICKETS)
    assert [2 * H] == next_response_times(TICKETS)
    assert [2 * H, 7 * H, 10 * M] == resolution_times(TICKETS)
    assert [2 * H, 7 * H, 3 * H] == resolution_times(TICKETS, first=False)
    stats = Stats.of(first_response_times(TICKETS))
    assert (3, timedelta(minutes=(60 + 180 + 5) / 3), H, 3 * H) == (
        stats.count,
        stats.mean,
        stats.median,
        stats.p90,
    )


def test_working_time_with_a_calendar() -> None:
    """A Friday 16:00 ticket answered Monday 09:00 took 2 working hours, not 65."""
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    office = BusinessCalendar("UTC", hours={"mon-fri": ["08:00-17:00"]})
    t = ticket("W", "email", friday, ("agent_reply", 65 * H))
    assert [65 * H] == first_response_times([t])
    assert [2 * H] == first_response_times([t], office)


def test_fcr_rules() -> None:
    """Each rule on the same tickets: single reply (A, C), no follow-up (A), one agent."""
    assert 2 / 3 == first_contact_resolution(TICKETS, FcrRule.SINGLE_REPLY).value
    assert 1 / 3 == first_contact_resolution(TICKETS, FcrRule.NO_FOLLOW_UP).value
    two_agents = ticket(
        "E",
        "email",
        T0,
        ("agent_reply", H, {"actor": "ana"}),
        ("agent_reply", 2 * H, {"actor": "bo"}),
        ("resolve", 3 * H),
    )
    one_agent = ticket(
        "F",
        "email",
        T0,
        ("agent_reply", H, {"actor": "ana"}),
        ("agent_reply", 2 * H, {"actor": "ana"}),
        ("resolve", 3 * H),
    )
    figure = first_contact_resolution([two_agents, one_agent], FcrRule.ONE_AGENT)
    assert (0.5, "resolved by one agent", 2) == (figure.value, figure.formula, figure.count)


def test_reopen_rate_and_backlog() -> None:
    """One of the three resolved tickets was reopened; the backlog at two instants."""
    assert 1 / 3 == reopen_rate(TICKETS).value
    count, ages = backlog(TICKETS, T0 + 90 * M)
    assert 4 == count.value  # A open until 2 h, B until 7 h, C reopened at 1 h, D never resolved
    count, ages = backlog(TICKETS, T0 + 8 * H)
    assert 1 == count.value
    assert isinstance(ages.value, Stats)
    assert 8 * H == ages.value.median


def test_csat_scales_and_nps() -> None:
    """CSAT: 4-5 good on 1-5; thumbs; NPS from -100 to 100; bad scores refused."""
    assert 3 / 5 == csat([5, 4, 4, 2, 1]).value
    assert 2 / 3 == csat([1, 1, 0], CsatScale.THUMBS).value
    assert 0 == nps([10, 9, 8, 7, 6, 5, 0, 10, 9, 3]).value  # 4 promoters, 4 detractors
    assert 100 == nps([9, 10]).value
    assert -100 == nps([0, 6]).value
    assert None is csat([]).value
    with pytest.raises(InvalidValue):
        csat([6])
    with pytest.raises(InvalidValue):
        nps([11])


def calls() -> list[Ticket]:
    def answered(tid: str, wait: int) -> Ticket:
        return ticket(tid, "phone", T0, ("agent_reply", wait * S), ("resolve", wait * S + 5 * M))

    def abandoned(tid: str, wait: int) -> Ticket:
        return ticket(tid, "phone", T0, ("resolve", wait * S))

    return [
        answered("a1", 10),
        answered("a2", 25),
        answered("a3", 40),
        abandoned("x1", 3),
        abandoned("x2", 60),
    ]


@pytest.mark.parametrize(
    ("formula", "short", "expected"),
    [
        (ServiceLevelFormula.ANSWERED_AND_ABANDONED, None, 2 / 5),
        (ServiceLevelFormula.ANSWERED_ONLY, None, 2 / 3),
        (ServiceLevelFormula.ANSWERED_AND_LATE_ABANDONS, None, 2 / 4),
        (ServiceLevelFormula.ANSWERED_AND_ABANDONED, 5 * S, 2 / 4),
    ],
)
def test_call_service_level_formulas(
    formula: ServiceLevelFormula, short: timedelta | None, expected: float
) -> None:
    """Two of three calls answered within 30 s; two abandons at 3 s and 60 s."""
    figure = call_service_level(calls(), 30 * S, formula, short_abandon=short)
    assert expected == figure.value
    assert str(formula) in figure.formula


def test_asa_and_abandon_rate() -> None:
    """ASA over answered calls; abandons over all calls (short ones optionally out)."""
    asa = average_speed_of_answer(calls()).value
    assert isinstance(asa, Stats)
    assert 25 * S == asa.mean
    assert 2 / 5 == abandon_rate(calls()).value
    assert 1 / 4 == abandon_rate(calls(), short_abandon=5 * S).value


def test_sla_achievement_per_metric() -> None:
    """Default policy: A and B met the 24 h email target; C (5 min > 1 min chat) and D breached."""
    figures = {f.name: f for f in sla_achievement(TICKETS, SlaPolicy.default(), T0 + 30 * H)}
    first = figures["sla_first_response"]
    assert (2 / 4, 4) == (first.value, first.count)


def test_grouping_by_day_across_a_dst_change() -> None:
    """Days are the zone's days: 23:30 EDT on 8 March is 8 March, though UTC says 9 March."""
    late = datetime(2026, 3, 9, 3, 30, tzinfo=UTC)  # 23:30 EDT on the 8th (DST began at 02:00)
    early = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST on the 8th
    next_day = datetime(2026, 3, 9, 4, 30, tzinfo=UTC)  # 00:30 EDT on the 9th
    tickets = [
        ticket(n, "email", at) for n, at in (("late", late), ("early", early), ("next", next_day))
    ]
    groups = group_tickets(tickets, "day", timezone="America/New_York")
    assert {"2026-03-08": ["late", "early"], "2026-03-09": ["next"]} == {
        k: [t.id for t in v] for k, v in groups.items()
    }
    weeks = group_tickets(tickets, "week", timezone="America/New_York")  # Sunday 8th, Monday 9th
    assert {"2026-03-02": 2, "2026-03-09": 1} == {k: len(v) for k, v in weeks.items()}
    assert ["2026-03"] == list(group_tickets(tickets, "month", timezone="America/New_York"))
    with pytest.raises(InvalidValue):
        group_tickets(tickets, "colour")


def test_report_as_data_and_as_localised_text() -> None:
    """Plain data with formulas; text in English and Indonesian number formats."""
    answers = [
        CareEvent("csat_rated", "c", T0, data={"score": 5, "ticket_id": "A"}),
        CareEvent("csat_rated", "c", T0, data={"score": 2, "ticket_id": "C"}),
        CareEvent("nps_answered", "c", T0, data={"score": 10, "ticket_id": "C"}),
    ]
    report = kpi_report(
        TICKETS, now=T0 + 30 * H, policy=SlaPolicy.default(), by="channel", answers=answers
    )
    data = report.to_dict()
    assert ["chat", "email"] == sorted(data["groups"])
    email = {f["name"]: f for f in data["groups"]["email"]}
    assert (1.0, "good / (good + bad), 1-5 scale") == (
        email["csat"]["value"],
        email["csat"]["formula"],
    )
    assert 7200.0 == email["first_response_time"]["value"]["median"]  # A 1 h, B 3 h
    chat = {f["name"]: f for f in data["groups"]["chat"]}
    assert (0.0, 100.0) == (chat["csat"]["value"], chat["nps"]["value"])
    assert json.loads(report.to_json()) == data
    english, indonesian = report.render("en"), report.render("id")
    assert "[email]" in english
    assert "100.0%" in english
    assert "3 hours" in english
    assert "100,0%" in indonesian
    assert "3 jam" in indonesian
    for unknown in ("xx", "", "en_XX_bad"):  # babel's UnknownLocaleError before
        with pytest.raises(InvalidValue) as info:
            report.render(unknown)
        assert "locale" == info.value.field


def test_kpi_report_grades_each_ticket_against_the_policy_a_selector_chose() -> None:
    """The PolicySelector the desk takes works here too: VIP tickets meet the VIP policy."""
    vip = SlaPolicy("vip", {Metric.FIRST_RESPONSE: 30 * M})
    standard = SlaPolicy("standard", {Metric.FIRST_RESPONSE: 2 * H})
    selector = PolicySelector(
        [PolicyRule("vip", lambda t, c: c is not None and c.tier == "vip", vip)], standard
    )
    answered_in_an_hour = [
        Ticket.open(tid, channel="email", customer_id=tid, at=T0) for tid in ("vip-1", "std-1")
    ]
    tickets = [L.apply(t, "agent_reply", at=T0 + H) for t in answered_in_an_hour]
    directory = InMemoryDirectory([Customer("vip-1", tier="vip"), Customer("std-1")])
    report = kpi_report(tickets, now=T0 + 3 * H, policy=selector, directory=directory, by=None)
    figures = {f["name"]: f for f in report.to_dict()["groups"]["all"]}
    assert (0.5, 2) == (
        figures["sla_first_response"]["value"],
        figures["sla_first_response"]["count"],
    )
    no_directory = kpi_report(tickets, now=T0 + 3 * H, policy=selector, by=None)
    assert 1.0 == {f.name: f.value for f in no_directory.groups["all"]}["sla_first_response"]


@pytest.mark.parametrize("answers", [[5, None], ["5"], [True]])
def test_survey_scores_that_are_not_numbers_are_invalid_values(answers: list[Any]) -> None:
    """Answers come from customers: a wrong one is a typed error naming the answer."""
    with pytest.raises(InvalidValue, match=r"answers\[\d\]") as info:
        csat(answers)
    assert isinstance(info.value, TypeError)
    with pytest.raises(InvalidValue, match=r"answers\[\d\]"):
        nps(answers)
