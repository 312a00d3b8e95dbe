"""Routing: who answers a ticket; each strategy by example, and all of them against a
brute-force chooser written from the rules (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit import BusinessCalendar, Channel, Customer, Lifecycle, Ticket
from carekit.exceptions import InvalidValue
from carekit.routing import (
    Agent,
    Assignment,
    LeastLoaded,
    RoundRobin,
    Routed,
    SkillsFirst,
    Sticky,
    Team,
    Workload,
)

JAKARTA = "Asia/Jakarta"
DAYS = BusinessCalendar(JAKARTA, hours={"mon-fri": "08:00-17:00"}, name="days")
NIGHTS = BusinessCalendar(JAKARTA, hours={"mon-sun": "17:00-08:00"}, name="nights")
MONDAY_10 = pendulum.datetime(2026, 3, 2, 10, tz=JAKARTA)
MONDAY_22 = pendulum.datetime(2026, 3, 2, 22, tz=JAKARTA)


def ticket(channel: str = "chat", tags: tuple[str, ...] = (), customer: str = "siti") -> Ticket:
    return Ticket.open("T-1", channel=channel, customer_id=customer, at=MONDAY_10, tags=tags)


TEAM = Team(
    [
        Agent("ana", skills={"billing"}, languages={"id"}, calendar=DAYS),
        Agent("budi", skills={"billing", "refunds"}, languages={"id", "en"}, calendar=DAYS),
        Agent("citra", languages={"en"}, channels={"chat", "email"}, calendar=DAYS),
        Agent("dewi", skills={"billing"}, languages={"id"}, calendar=NIGHTS),
    ]
)


def test_off_shift_channel_skills_and_capacity_are_never_chosen() -> None:
    load = Workload()
    assert LeastLoaded().choose(ticket(), TEAM, now=MONDAY_22).agent == "dewi"  # nights only
    refund = ticket(tags=("refunds", "angry"))  # "angry" is no skill: not needed
    assert LeastLoaded().choose(refund, TEAM, now=MONDAY_10).agent == "budi"
    queued = LeastLoaded().choose(refund, TEAM, now=MONDAY_22)
    assert queued == Routed(None, "no agent on shift has the skills refunds")
    for _ in range(3):
        load.add("budi", "chat")
    assert LeastLoaded().choose(refund, TEAM, now=MONDAY_10, workload=load) == Routed(
        None, "every agent on shift for it is at capacity on chat"
    )
    phone = ticket(channel="phone")
    assert LeastLoaded().choose(phone, Team([TEAM.by_id["citra"]]), now=MONDAY_10) == Routed(
        None, "no agent takes phone"
    )


def test_least_loaded_round_robin_skills_first_and_sticky() -> None:
    load = Workload()
    load.add("ana", "chat", MONDAY_10 - timedelta(minutes=5))
    chosen = LeastLoaded().choose(ticket(), TEAM, now=MONDAY_10, workload=load)
    assert chosen == Routed("budi", "least loaded on chat (0 of 3)")
    # round robin: whoever was assigned longest ago (never: first)
    load.add("budi", "email", MONDAY_10 - timedelta(minutes=1))
    assert RoundRobin().choose(ticket(), TEAM, now=MONDAY_10, workload=load).agent == "citra"
    load.add("citra", "email", MONDAY_10)
    assert RoundRobin().choose(ticket(), TEAM, now=MONDAY_10, workload=load).agent == "ana"
    # skills first: the customer's language, then the specialist
    english = Customer("john", locale="en_GB")
    assert SkillsFirst().choose(ticket(), TEAM, now=MONDAY_10, customer=english).agent == "citra"
    indonesian = Customer("siti", locale="id")
    assert SkillsFirst().choose(ticket(), TEAM, now=MONDAY_10, customer=indonesian).agent == "ana"
    # sticky: the previous agent when they can take it, else the next strategy
    sticky = Sticky({"siti": "citra"})
    assert (
        sticky.choose(ticket(), TEAM, now=MONDAY_10).reason
        == "sticky: the customer's previous agent"
    )
    assert sticky.choose(ticket(), TEAM, now=MONDAY_22).agent == "dewi"  # citra is off


def test_the_workload_of_the_open_tickets() -> None:
    life = Lifecycle()
    a = life.apply(ticket(), "assign", at=MONDAY_10, actor="lead", agent="ana")
    b = life.apply(ticket("email"), "assign", at=MONDAY_10 + timedelta(hours=1), actor="lead",
                   agent="ana")  # fmt: skip
    done = life.apply(b, "resolve", at=MONDAY_10 + timedelta(hours=2), actor="ana")
    load = Workload.of([a, done])
    assert (load.holding("ana", Channel.CHAT), load.holding("ana", Channel.EMAIL)) == (1, 0)
    assert load.last_assigned["ana"] == MONDAY_10 + timedelta(hours=1)
    assert load.open == {"ana": {Channel.CHAT: 1}}
    load.remove("ana", "chat")
    assert load.total("ana") == 0
    assert load.open == {}


def test_bad_teams_and_agents_are_typed_errors() -> None:
    with pytest.raises(InvalidValue, match="unique ids"):
        Team([Agent("ana"), Agent("ana")])
    with pytest.raises(InvalidValue, match=r"capacity\.chat"):
        Agent("ana", capacity={"chat": -1})
    with pytest.raises(InvalidValue):
        Agent("ana", channels={"pigeon"})


class VipsToSeniors(Assignment):
    """A host's own strategy: seniors first."""

    name = "seniors first"

    def rank(
        self, agent: Agent, ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> tuple[object, ...]:
        return ("senior" not in agent.skills, *super().rank(agent, ticket, workload, customer))


def test_a_subclass_ranks_its_own_way() -> None:
    team = Team([Agent("ana"), Agent("budi", skills={"senior"})])
    assert VipsToSeniors().choose(ticket(), team, now=MONDAY_10).agent == "budi"


# -- against a brute-force chooser --------------------------------------------------------

CALENDARS = [None, DAYS, NIGHTS]
SKILLS = ["billing", "refunds", "tech"]


def _agent(
    i: int, skills: frozenset[str], langs: frozenset[str], chans: frozenset[Channel], cap: int,
    cal: int,
) -> Agent:  # fmt: skip
    capacity: dict[Channel | str, int] = dict.fromkeys(Channel, cap)
    return Agent(f"a{i}", skills=skills, languages=langs, channels=chans, capacity=capacity,
                 calendar=CALENDARS[cal])  # fmt: skip


agents = st.builds(
    _agent,
    st.integers(0, 10**6),
    st.frozensets(st.sampled_from(SKILLS)),
    st.frozensets(st.sampled_from(["id", "en", "jv"])),
    st.frozensets(st.sampled_from(list(Channel)), min_size=1),
    st.integers(0, 3),
    st.integers(0, 2),
)
STRATEGIES = [LeastLoaded(), RoundRobin(), SkillsFirst(), Sticky({"c": "a1"})]


def brute(strategy: Assignment, t: Ticket, team: list[Agent], now: datetime, load: Workload,
          customer: Customer) -> str | None:  # fmt: skip
    needed = t.tags & frozenset().union(*(a.skills for a in team))
    able = [
        a for a in team
        if t.channel in a.channels
        and (a.calendar is None or a.calendar.is_open(now))
        and needed <= a.skills
        and load.holding(a.id, t.channel) < a.capacity[t.channel]
    ]  # fmt: skip
    keys = sorted((strategy.rank(a, t, load, customer), a.id) for a in able)
    return keys[0][1] if keys else None


@settings(max_examples=200, deadline=None)
@given(
    team=st.lists(agents, min_size=1, max_size=12, unique_by=lambda a: a.id),
    channel=st.sampled_from(list(Channel)),
    tags=st.frozensets(st.sampled_from([*SKILLS, "angry"])),
    hours=st.integers(0, 24 * 7),
    held=st.lists(st.tuples(st.integers(0, 11), st.sampled_from(list(Channel))), max_size=20),
    strategy=st.sampled_from(STRATEGIES),
    locale=st.sampled_from(["id", "en_US", "jv"]),
)
def test_every_strategy_chooses_what_the_rules_say(
    team: list[Agent],
    channel: Channel,
    tags: frozenset[str],
    hours: int,
    held: list[tuple[int, Channel]],
    strategy: Assignment,
    locale: str,
) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(hours=hours)
    load = Workload()
    for k, (i, ch) in enumerate(held):
        load.add(team[i % len(team)].id, ch, now - timedelta(minutes=k + 1))
    t = Ticket.open("T", channel=channel, customer_id="c", at=now, tags=tags)
    customer = Customer("c", locale=locale)
    routed = strategy.choose(t, Team(team), now=now, workload=load, customer=customer)
    assert routed.agent == brute(strategy, t, team, now, load, customer)
    assert routed.reason
