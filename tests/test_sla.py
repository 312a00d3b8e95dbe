from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit import (
    BusinessCalendar,
    Channel,
    ClockState,
    Customer,
    Lifecycle,
    Metric,
    PolicyRule,
    PolicySelector,
    Priority,
    SlaPolicy,
    Status,
    Target,
    Ticket,
)
from carekit.exceptions import NaiveDatetimeError, PolicyError

FR, NR, PU, RES = Metric
H = timedelta(hours=1)
S = timedelta(seconds=1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
L = Lifecycle()


def call(**kw: Any) -> Ticket:
    return Ticket.open("C-1", channel=Channel.PHONE, customer_id="c", at=T0, **kw)


def email(at: datetime = T0, **kw: Any) -> Ticket:
    return Ticket.open("E-1", channel=Channel.EMAIL, customer_id="c", at=at, **kw)


def steps(
    ticket: Ticket, *moves: tuple[str, timedelta] | tuple[str, timedelta, dict[str, Any]]
) -> Ticket:
    for move in moves:
        trigger, offset = move[0], move[1]
        data: dict[str, Any] = move[2] if len(move) > 2 else {}
        ticket = L.apply(ticket, trigger, at=ticket.created_at + offset, **data)
    return ticket


@pytest.fixture
def policy() -> SlaPolicy:
    return SlaPolicy.default()


# -- the shipped defaults: a 30 s pickup and a 24 h email reply ----------------------


def test_call_answered_at_25s_meets_the_pickup(policy: SlaPolicy) -> None:
    """25 s < 30 s: met, with 5 s to spare."""
    clock = policy.evaluate(steps(call(), ("agent_reply", 25 * S)), now=T0 + H)[FR]
    assert ClockState.MET is clock.state
    assert not clock.breached
    assert 25 * S == clock.elapsed
    assert 5 * S == clock.remaining
    assert T0 + 25 * S == clock.stopped_at


def test_call_answered_at_31s_breaches_the_pickup(policy: SlaPolicy) -> None:
    """31 s > 30 s: breached (met late), due at 30 s."""
    clock = policy.evaluate(steps(call(), ("agent_reply", 31 * S)), now=T0 + H)[FR]
    assert ClockState.BREACHED is clock.state
    assert clock.breached
    assert T0 + 30 * S == clock.due_at
    assert -S == clock.remaining


def test_answered_exactly_at_the_target_is_met(policy: SlaPolicy) -> None:
    """The target is inclusive: 30 s exactly is met."""
    assert (
        ClockState.MET
        is policy.evaluate(steps(call(), ("agent_reply", 30 * S)), now=T0 + H)[FR].state
    )


@pytest.mark.parametrize(
    ("seconds", "at_risk", "state"),
    [(22, False, "running"), (23, True, "running"), (31, False, "breached")],
)
def test_ringing_call_goes_at_risk_then_breaches(
    policy: SlaPolicy, seconds: int, at_risk: bool, state: str
) -> None:
    """A ringing call is at risk from 22.5 s (75 %) and breached after 30 s."""
    clock = policy.evaluate(call(), now=T0 + seconds * S)[FR]
    assert (at_risk, state) == (clock.at_risk, clock.state)


def test_email_first_response_is_24_hours_around_the_clock(policy: SlaPolicy) -> None:
    """Default email target: 24 h, weekends included."""
    friday = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)
    clock = policy.evaluate(email(friday), now=friday)[FR]
    assert friday + 24 * H == clock.due_at
    assert "email" == clock.target_source


def test_metric_without_target_is_absent(policy: SlaPolicy) -> None:
    """Phone has no next-response target; a normal ticket no periodic update."""
    report = policy.evaluate(call(), now=T0)
    assert NR not in report
    assert PU not in report
    assert {FR, RES} == set(report)


# -- business hours -------------------------------------------------------------------

JAKARTA = BusinessCalendar(
    "Asia/Jakarta", hours={"mon-fri": ["08:00-17:00"]}, holidays=[date(2026, 3, 19)]
)
BIZ = SlaPolicy("business", {FR: 8 * H, RES: 16 * H, NR: 4 * H}, JAKARTA)


def test_friday_afternoon_email_in_jakarta_is_due_monday() -> None:
    """Received Friday 16:30 WIB, 8 working hours: due Monday 15:30 WIB."""
    at = pendulum.datetime(2026, 3, 6, 16, 30, tz="Asia/Jakarta")
    clock = BIZ.evaluate(email(at), now=at + 2 * H)[FR]
    assert pendulum.datetime(2026, 3, 9, 15, 30, tz="Asia/Jakarta") == clock.due_at
    assert timedelta(minutes=30) == clock.elapsed  # the evening does not count
    assert ClockState.RUNNING is clock.state


def test_holiday_in_the_middle_pushes_the_deadline() -> None:
    """Wednesday 13:00 + 16 working hours skips Thursday's holiday: due Monday 11:00."""
    at = pendulum.datetime(2026, 3, 18, 13, 0, tz="Asia/Jakarta")
    clock = BIZ.evaluate(email(at), now=at)[RES]
    assert pendulum.datetime(2026, 3, 23, 11, 0, tz="Asia/Jakarta") == clock.due_at


def test_overnight_shift() -> None:
    """A night desk (22:00-06:00): a ticket at 05:00 has 1 h tonight, the rest tomorrow night."""
    night = BusinessCalendar("Asia/Jakarta", hours={"mon-sun": ["22:00-06:00"]})
    policy = SlaPolicy("night", {FR: 2 * H}, night)
    at = pendulum.datetime(2026, 3, 3, 5, 0, tz="Asia/Jakarta")
    clock = policy.evaluate(email(at), now=at)[FR]
    assert pendulum.datetime(2026, 3, 3, 23, 0, tz="Asia/Jakarta") == clock.due_at


# -- pauses, cycles, changes -----------------------------------------------------------


def test_pending_pauses_resolution_and_pushes_the_deadline(policy: SlaPolicy) -> None:
    """Two hours waiting on the customer move the 72 h resolution deadline by two hours."""
    t = steps(email(), ("agent_reply", H), ("wait_on_customer", H), ("customer_reply", 3 * H))
    clock = policy.evaluate(t, now=T0 + 5 * H)[RES]
    assert T0 + 74 * H == clock.due_at
    assert 2 * H == clock.paused_for
    assert 3 * H == clock.elapsed
    assert [(Status.PENDING, T0 + H, T0 + 3 * H)] == [
        (p.status, p.start, p.end) for p in clock.pauses
    ]


def test_a_paused_clock_reports_paused_and_counts_nothing(policy: SlaPolicy) -> None:
    """While pending, the resolution clock is PAUSED and its elapsed time stands still."""
    t = steps(email(), ("agent_reply", H), ("wait_on_customer", H))
    early = policy.evaluate(t, now=T0 + 2 * H)[RES]
    late = policy.evaluate(t, now=T0 + 50 * H)[RES]
    assert ClockState.PAUSED is late.state
    assert H == early.elapsed == late.elapsed
    assert late.pauses[-1].end is None


def test_first_response_never_pauses(policy: SlaPolicy) -> None:
    """Waiting on the customer before any reply does not stop the first-response clock."""
    t = steps(email(), ("wait_on_customer", H))
    clock = policy.evaluate(t, now=T0 + 30 * H)[FR]
    assert ClockState.BREACHED is clock.state
    assert () == clock.pauses


def test_next_response_cycles(policy: SlaPolicy) -> None:
    """Each customer message after a reply starts a cycle; the next agent reply ends it."""
    t = steps(
        email(),
        ("agent_reply", H),
        ("customer_reply", 2 * H),
        ("agent_reply", 5 * H),
        ("customer_reply", 6 * H),
    )
    report = policy.evaluate(t, now=T0 + 40 * H)
    cycles = report.cycles(NR)
    assert [1, 2] == [c.cycle for c in cycles]
    assert (ClockState.MET, 3 * H) == (cycles[0].state, cycles[0].elapsed)
    assert ClockState.BREACHED is cycles[1].state
    assert cycles[1] is report[NR]


def test_periodic_update_on_urgent_tickets(policy: SlaPolicy) -> None:
    """Urgent tickets need an agent update every 4 h; a 5 h silence breaches a cycle."""
    t = steps(
        email(priority=Priority.URGENT),
        ("agent_reply", H),
        ("agent_reply", 3 * H),
        ("agent_reply", 8 * H),
    )
    cycles = policy.evaluate(t, now=T0 + 9 * H).cycles(PU)
    assert [ClockState.MET, ClockState.BREACHED, ClockState.RUNNING] == [c.state for c in cycles]


def test_reopen_resumes_resolution_without_the_resolved_span(policy: SlaPolicy) -> None:
    """Resolved for 10 h then reopened: the 10 h do not count."""
    t = steps(email(), ("agent_reply", H), ("resolve", 2 * H), ("reopen", 12 * H))
    clock = policy.evaluate(t, now=T0 + 13 * H)[RES]
    assert 3 * H == clock.elapsed
    assert ClockState.RUNNING is clock.state
    assert [Status.RESOLVED] == [p.status for p in clock.pauses]
    assert 1 == len(policy.evaluate(t, now=T0 + 13 * H).cycles(RES))


def test_reopen_restart_starts_a_new_cycle() -> None:
    """With reopen='restart' the resolution clock starts again at the reopen."""
    policy = SlaPolicy("restart", {RES: 4 * H}, reopen="restart")
    t = steps(email(), ("resolve", 2 * H), ("reopen", 12 * H))
    cycles = policy.evaluate(t, now=T0 + 13 * H).cycles(RES)
    assert [(ClockState.MET, 2 * H), (ClockState.RUNNING, H)] == [
        (c.state, c.elapsed) for c in cycles
    ]


def test_priority_change_rereads_the_target_from_the_start(policy: SlaPolicy) -> None:
    """Normal (72 h) raised to urgent (8 h) after 10 h: due 8 h after creation, breached."""
    t = steps(email(), ("agent_reply", H), ("set_priority", 10 * H, {"priority": "urgent"}))
    clock = policy.evaluate(t, now=T0 + 11 * H)[RES]
    assert T0 + 8 * H == clock.due_at
    assert ClockState.BREACHED is clock.state
    assert any("priority changed normal -> urgent" in n for n in clock.notes)


def test_a_met_clock_keeps_the_target_it_was_met_under(policy: SlaPolicy) -> None:
    """A first reply in 3 h met the 24 h target; raising to urgent later does not breach it."""
    t = steps(
        email(), ("agent_reply", 3 * H), ("set_priority", 4 * H, {"priority": Priority.URGENT})
    )
    clock = policy.evaluate(t, now=T0 + 5 * H)[FR]
    assert (ClockState.MET, 24 * H) == (clock.state, clock.target.duration)


def test_priority_lowered_then_raised_does_not_lose_paused_time(policy: SlaPolicy) -> None:
    """Hold time stays excluded across a priority change (no drifting counters)."""
    t = steps(
        email(),
        ("hold", H),
        ("set_priority", 2 * H, {"priority": "low"}),
        ("resume", 5 * H),
        ("set_priority", 6 * H, {"priority": "high"}),
    )
    clock = policy.evaluate(t, now=T0 + 7 * H)[RES]
    assert 3 * H == clock.elapsed
    assert 4 * H == clock.paused_for
    assert T0 + 28 * H == clock.due_at  # 24 h for high + 4 h on hold


def test_channel_change_rereads_the_target(policy: SlaPolicy) -> None:
    """A call turned into an email ticket is measured against the email target."""
    t = steps(call(), ("set_channel", 10 * S, {"channel": "email"}))
    clock = policy.evaluate(t, now=T0 + H)[FR]
    assert (ClockState.RUNNING, 24 * H) == (clock.state, clock.target.duration)


def test_resolving_without_a_reply_stops_first_response(policy: SlaPolicy) -> None:
    """A ticket resolved before any reply stops its first-response clock at the resolve."""
    t = steps(email(), ("resolve", 2 * H))
    clock = policy.evaluate(t, now=T0 + 48 * H)[FR]
    assert (ClockState.MET, T0 + 2 * H) == (clock.state, clock.stopped_at)


def test_explain_says_why(policy: SlaPolicy) -> None:
    """The explanation names the target, the calendar, each pause and each change."""
    t = steps(
        email(),
        ("agent_reply", H),
        ("wait_on_customer", H),
        ("customer_reply", 3 * H),
        ("set_priority", 4 * H, {"priority": "high"}),
    )
    text = policy.evaluate(t, now=T0 + 5 * H).explain()
    assert "resolution (cycle 1): target 1d [high] in 24/7" in text
    assert "paused 2026-03-02 10:00:00 UTC to 2026-03-02 12:00:00 UTC (pending): +2h" in text
    assert "priority changed normal -> high" in text
    # met at 1 h under the email target, before the change: it keeps that target
    assert "first_response (cycle 1): target 1d [email] in 24/7" in text


def test_events_after_now_are_ignored(policy: SlaPolicy) -> None:
    """Evaluating in the past sees the ticket as it was then."""
    t = steps(call(), ("agent_reply", 25 * S))
    assert ClockState.RUNNING is policy.evaluate(t, now=T0 + 10 * S)[FR].state


def test_naive_now_is_refused(policy: SlaPolicy) -> None:
    """now must be aware."""
    with pytest.raises(NaiveDatetimeError):
        policy.evaluate(call(), now=datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001


# -- policies: specificity, hooks, validation ------------------------------------------


def test_most_specific_target_wins() -> None:
    """channel+priority, then channel, then priority, then any."""
    policy = SlaPolicy(
        "p",
        {
            FR: 10 * H,
            (FR, Priority.HIGH): 5 * H,
            (FR, Channel.EMAIL): 4 * H,
            (FR, Channel.EMAIL, Priority.HIGH): 2 * H,
        },
    )

    def target(channel: str, priority: Priority) -> timedelta:
        t = Ticket.open("x", channel=channel, customer_id="c", at=T0, priority=priority)
        found = policy.target_for(FR, t)
        assert found is not None
        return found[0].duration

    assert 2 * H == target("email", Priority.HIGH)
    assert 4 * H == target("email", Priority.LOW)
    assert 5 * H == target("chat", Priority.HIGH)
    assert 10 * H == target("chat", Priority.LOW)


def test_target_for_is_a_hook() -> None:
    """A subclass halves every target for tickets tagged 'vip'."""

    class VipPolicy(SlaPolicy):
        def target_for(self, metric: Metric, ticket: Ticket) -> tuple[Target, str] | None:
            found = super().target_for(metric, ticket)
            if found is None or "vip" not in ticket.tags:
                return found
            target, source = found
            return Target(target.duration / 2, target.calendar, target.warn_at), f"{source} (vip)"

    policy = VipPolicy("vip", {FR: 2 * H})
    vip = Ticket.open("v", channel="chat", customer_id="c", at=T0, tags=["vip"])
    assert T0 + H == policy.evaluate(vip, now=T0)[FR].due_at
    assert T0 + 2 * H == policy.evaluate(email(), now=T0)[FR].due_at


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Target(timedelta(0)), "at least one second"),
        (lambda: Target(H, warn_at=(1.5,)), "fraction"),
        (lambda: SlaPolicy("p", {"nonsense": H}), "nonsense"),
        (lambda: SlaPolicy("p", {FR: "24h"}), "is not Target or timedelta"),  # type: ignore[dict-item]
        (lambda: SlaPolicy("p", {FR: H}, reopen="again"), "'resume' or 'restart'"),  # type: ignore[arg-type]
    ],
)
def test_bad_policies_are_refused(build: Any, match: str) -> None:
    """Bad targets and options raise PolicyError (a ValueError) saying what is wrong."""
    with pytest.raises((PolicyError, ValueError), match=match):
        build()


def test_selector_first_match_wins_and_explains() -> None:
    """Ordered rules; the first that holds wins; otherwise the default."""
    vip, urgent, default = SlaPolicy("vip", {}), SlaPolicy("urgent", {}), SlaPolicy.default()
    selector = PolicySelector(
        [
            PolicyRule("vip", lambda t, c: c is not None and c.tier == "vip", vip),
            PolicyRule("urgent", lambda t, c: t.priority is Priority.URGENT, urgent),
        ],
        default,
    )
    hot = email(priority=Priority.URGENT)
    assert vip is selector.select(hot, Customer("c", tier="vip"))
    assert urgent is selector.select(hot, Customer("c"))
    choice = selector.choose(email(), None)
    assert default is choice.policy
    assert "no rule matched" in choice.explain()


# -- properties ---------------------------------------------------------------------------

TRIGGERS = [
    "agent_reply",
    "customer_reply",
    "wait_on_customer",
    "hold",
    "resume",
    "resolve",
    "reopen",
    "set_priority",
]
moves = st.lists(
    st.tuples(
        st.sampled_from(TRIGGERS),
        st.integers(min_value=0, max_value=6 * 3600),
        st.sampled_from(list(Priority)),
    ),
    max_size=12,
)


def random_ticket(channel: Channel, plan: list[tuple[str, int, Priority]]) -> Ticket:
    t = Ticket.open("P", channel=channel, customer_id="c", at=T0)
    at = T0
    for trigger, gap, priority in plan:
        at += timedelta(seconds=gap)
        data: dict[str, Any] = {"priority": priority} if trigger == "set_priority" else {}
        if trigger in L.allowed(t):
            t = L.apply(t, trigger, at=at, **data)
    return t


POLICIES = [
    SlaPolicy.default(),
    SlaPolicy("biz", {FR: 4 * H, NR: 2 * H, PU: 3 * H, RES: 20 * H}, JAKARTA),
    SlaPolicy("days", {FR: Target.days(1), RES: Target.days(3)}, JAKARTA),
]


@settings(max_examples=150, deadline=None)
@given(
    channel=st.sampled_from(list(Channel)),
    plan=moves,
    policy=st.sampled_from(POLICIES),
    a=st.integers(min_value=0, max_value=100 * 3600),
    b=st.integers(min_value=0, max_value=100 * 3600),
)
def test_a_later_now_never_unbreaches(
    channel: Channel, plan: list[tuple[str, int, Priority]], policy: SlaPolicy, a: int, b: int
) -> None:
    """Every clock breached at now1 is breached at any later now2, with elapsed no smaller."""
    t = random_ticket(channel, plan)
    last = t.events[-1].at
    early, late = sorted([last + timedelta(seconds=a), last + timedelta(seconds=b)])
    before, after = policy.evaluate(t, now=early), policy.evaluate(t, now=late)
    for metric in before:
        for old, new in zip(before.cycles(metric), after.cycles(metric), strict=True):
            assert new.elapsed >= old.elapsed
            assert not old.breached or new.breached
            assert new.due_at >= new.started_at


@settings(max_examples=150, deadline=None)
@given(
    channel=st.sampled_from(list(Channel)),
    plan=moves,
    wait=st.integers(min_value=0, max_value=100 * 3600),
)
def test_a_pause_never_makes_a_deadline_earlier(
    channel: Channel, plan: list[tuple[str, int, Priority]], wait: int
) -> None:
    """The same log under a policy that pauses is never due earlier than one that does not."""
    targets = {FR: 4 * H, NR: 2 * H, PU: 3 * H, RES: 20 * H}
    pausing = SlaPolicy("pausing", targets, JAKARTA)
    never = SlaPolicy(
        "never", targets, JAKARTA, pause_on=dict.fromkeys(Metric, ()), reopen="resume"
    )
    t = random_ticket(channel, plan)
    now = t.events[-1].at + timedelta(seconds=wait)
    with_pauses, without = pausing.evaluate(t, now=now), never.evaluate(t, now=now)
    for metric in (FR, NR, PU):
        for p, q in zip(with_pauses.cycles(metric), without.cycles(metric), strict=True):
            assert p.due_at >= q.due_at
            assert p.elapsed <= q.elapsed


@settings(max_examples=100, deadline=None)
@given(channel=st.sampled_from(list(Channel)), plan=moves)
def test_evaluation_is_a_pure_function(
    channel: Channel, plan: list[tuple[str, int, Priority]]
) -> None:
    """Same events, policy and now: the same report, also from a replayed ticket."""
    t = random_ticket(channel, plan)
    now = t.events[-1].at + H
    policy = SlaPolicy.default()
    replayed = L.replay(t.id, t.events)
    assert policy.evaluate(t, now=now).explain() == policy.evaluate(replayed, now=now).explain()


def test_warning_stages_next_due_and_instants() -> None:
    """Several warn_at stages count up; next_due is the earliest running deadline;
    instant_at finds when a clock reaches a given elapsed time."""
    policy = SlaPolicy("stages", {FR: Target(4 * H, warn_at=(0.5, 0.75)), RES: 10 * H})
    t = email()
    early, middle, late = (policy.evaluate(t, now=T0 + h * H) for h in (1, 2.5, 3.5))
    assert [0, 1, 2] == [r[FR].risk_stage for r in (early, middle, late)]
    assert T0 + 4 * H == early.next_due
    assert T0 + 3 * H == early[FR].instant_at(3 * H)
    assert {FR, RES} == {c.metric for c in early.all_clocks()}
    answered = steps(t, ("agent_reply", H))
    assert T0 + 10 * H == policy.evaluate(answered, now=T0 + 2 * H).next_due


class GradesItsOwnWay(SlaPolicy):
    """A subclass with its own evaluate: the shortcut must not speak for it."""

    def evaluate(self, ticket: Ticket, *, now: datetime) -> Any:
        return super().evaluate(ticket, now=now)


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(list(Channel)),
    plan=moves,
    policy=st.sampled_from(POLICIES),
    wait=st.integers(min_value=0, max_value=100 * 3600),
)
def test_may_have_breached_is_false_only_when_nothing_breached(
    channel: Channel, plan: list[tuple[str, int, Priority]], policy: SlaPolicy, wait: int
) -> None:
    """The health signal's shortcut: 'cannot have breached' is never wrong."""
    t = random_ticket(channel, plan)
    now = t.events[-1].at + timedelta(seconds=wait)
    if not policy.may_have_breached(t, now=now):
        assert not policy.evaluate(t, now=now).breached


def test_may_have_breached_answers_for_the_quick_ones_only() -> None:
    """An email answered and resolved in 3 hours: no; still open, a call, a subclass: yes."""
    policy = SlaPolicy.default()
    quick = steps(email(), ("agent_reply", 2 * H), ("resolve", 3 * H))
    assert not policy.may_have_breached(quick, now=T0 + 30 * 24 * H)
    assert policy.may_have_breached(steps(email(), ("agent_reply", 2 * H)), now=T0 + 3 * H)
    slow_call = steps(call(), ("agent_reply", timedelta(seconds=40)), ("resolve", 3 * H))
    assert policy.may_have_breached(slow_call, now=T0 + 4 * H)
    own = GradesItsOwnWay("own", dict(policy.targets))
    assert own.may_have_breached(quick, now=T0 + 30 * 24 * H)
