"""Routing: which agent answers a ticket, as a pure decision.

An :class:`Assignment` takes a ticket, a :class:`Team` (agents with skills,
languages, channels, a capacity per channel such as 3 concurrent chats, and a
shift calendar), the team's current :class:`Workload` and ``now``, and answers a
:class:`Routed`: the agent, or ``None`` (the queue) with the reason. An agent
off shift, without the ticket's channel, at capacity on it, or without a
skill the ticket needs is never chosen; the strategies rank the others:

- :class:`RoundRobin`: the one assigned least recently;
- :class:`LeastLoaded`: the lowest share of their capacity on the channel in use;
- :class:`SkillsFirst`: one who speaks the customer's language, then the most
  specialised (generalists stay free for what only they can take), then the
  least loaded;
- :class:`Sticky`: the customer's previous agent when they can take it, else
  another strategy's choice.

Subclass :class:`Assignment` and override :meth:`Assignment.rank` for your own.
A ticket's needed skills are its tags that name a skill of the team (override
:meth:`Assignment.needs`). Pure: the host keeps the workload (``add``,
``remove``) and applies the choice (the lifecycle's ``assign``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from carekit._calendar import BusinessCalendar
from carekit._check import checked, typed_fields
from carekit._model import Channel, Customer, Role, Ticket, as_channel
from carekit._time import to_utc
from carekit._timeline import done_at
from carekit.exceptions import InvalidValue

__all__ = [
    "DEFAULT_CAPACITY",
    "Agent",
    "Assignment",
    "LeastLoaded",
    "RoundRobin",
    "Routed",
    "SkillsFirst",
    "Sticky",
    "Team",
    "Workload",
]

DEFAULT_CAPACITY: Mapping[Channel, int] = {
    Channel.PHONE: 1,
    Channel.CHAT: 3,
    Channel.WHATSAPP: 3,
    Channel.SOCIAL: 5,
    Channel.EMAIL: 20,
    Channel.WEB: 20,
}
"""Concurrent tickets per channel an agent takes unless told otherwise."""


def _names(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


def _languages(value: Iterable[str]) -> frozenset[str]:
    return frozenset(_language(v) for v in _names(value))


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_", 1)[0].lower()


def _channels(value: Iterable[Channel | str]) -> frozenset[Channel]:
    return frozenset(as_channel(v) for v in value)


def _capacity(value: Mapping[Channel | str, int]) -> Mapping[Channel, int]:
    found = {as_channel(k): v for k, v in value.items()}
    for channel, count in found.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InvalidValue(f"capacity.{channel}", count, "a whole number of tickets, 0 or more")
    return found


@attrs.frozen(field_transformer=typed_fields)
class Agent:
    """Someone who answers tickets.

    Attributes:
        id: the host's id (what the lifecycle's ``assign`` records).
        skills: what they can handle (``"billing"``, ``"refunds"``).
        languages: the languages they answer in (``"id"``, ``"en"``).
        channels: the channels they take (default: all).
        capacity: concurrent tickets per channel (default: :data:`DEFAULT_CAPACITY`).
        calendar: their shifts and time off; ``None``: always on shift.
    """

    id: str
    skills: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    languages: frozenset[str] = attrs.field(default=frozenset(), converter=_languages)
    channels: frozenset[Channel] = attrs.field(default=frozenset(Channel), converter=_channels)
    capacity: Mapping[Channel, int] = attrs.field(default=DEFAULT_CAPACITY, converter=_capacity)
    calendar: BusinessCalendar | None = attrs.field(default=None, eq=False)


class Team:
    """The agents a decision chooses among, indexed once (by channel, by calendar).

    Raises:
        InvalidValue: two agents share an id.
    """

    @checked
    def __init__(self, agents: Sequence[Agent]) -> None:
        ids = [a.id for a in agents]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise InvalidValue("agents", twice, "agents with unique ids")
        self.agents = tuple(agents)
        self.by_id = {a.id: a for a in agents}
        self.skills = frozenset().union(*(a.skills for a in agents))
        self._by_channel = {c: tuple(a for a in agents if c in a.channels) for c in Channel}
        self._groups = {c: _by_calendar(self._by_channel[c], c) for c in Channel}

    def on(self, channel: Channel) -> tuple[Agent, ...]:
        """The agents who take ``channel``."""
        return self._by_channel[channel]


def _by_calendar(
    agents: Sequence[Agent], channel: Channel
) -> tuple[tuple[BusinessCalendar | None, tuple[tuple[Agent, int], ...]], ...]:
    """The agents of one channel with their capacity on it, grouped by shift calendar."""
    groups: dict[int, tuple[BusinessCalendar | None, list[tuple[Agent, int]]]] = {}
    for agent in agents:
        cap = agent.capacity.get(channel, 0)
        if cap > 0:
            groups.setdefault(id(agent.calendar), (agent.calendar, []))[1].append((agent, cap))
    return tuple((cal, tuple(members)) for cal, members in groups.values())


class Workload:
    """What each agent holds now: open tickets per channel, and when each was last assigned.

    The host keeps it (``add`` when it assigns, ``remove`` when a ticket is done
    or moves), or builds it from the open tickets with :meth:`of`.
    """

    def __init__(self) -> None:
        self._held: dict[Channel, dict[str, int]] = {c: {} for c in Channel}  # by channel
        self._total: dict[str, int] = {}  # the sum over channels, kept for the hot path
        self._last: dict[str, float] = {}  # epoch seconds of each agent's last assignment

    @property
    def open(self) -> dict[str, dict[Channel, int]]:
        """Open tickets per agent and channel (a copy; change it with add and remove)."""
        found: dict[str, dict[Channel, int]] = {}
        for channel, held in self._held.items():
            for agent, count in held.items():
                if count:
                    found.setdefault(agent, {})[channel] = count
        return found

    @property
    def last_assigned(self) -> dict[str, datetime]:
        """When each agent was last assigned (a copy; add records it)."""
        return {agent: datetime.fromtimestamp(at, UTC) for agent, at in self._last.items()}

    @classmethod
    @checked
    def of(cls, tickets: Iterable[Ticket]) -> Workload:
        """The workload that ``tickets`` (with their assignees and logs) stand for."""
        load = cls()
        for ticket in tickets:
            if ticket.assignee is None:
                continue
            assigned = [e.at for e in ticket.events if Role.ASSIGNMENT in e.roles]
            if assigned:
                at = assigned[-1].timestamp()
                load._last[ticket.assignee] = max(at, load._last.get(ticket.assignee, at))
            if not done_at(ticket):
                load.add(ticket.assignee, ticket.channel)
        return load

    @checked
    def add(self, agent: str, channel: Channel | str, at: datetime | None = None) -> None:
        """``agent`` took a ticket on ``channel`` (at ``at``: their last assignment)."""
        held = self._held[as_channel(channel)]
        held[agent] = held.get(agent, 0) + 1
        self._total[agent] = self._total.get(agent, 0) + 1
        if at is not None:
            self._last[agent] = to_utc(at, "at").timestamp()

    @checked
    def remove(self, agent: str, channel: Channel | str) -> None:
        """A ticket of ``agent`` on ``channel`` was done or moved."""
        held = self._held[as_channel(channel)]
        if held.get(agent, 0) > 0:
            held[agent] -= 1
            self._total[agent] -= 1

    def holding(self, agent: str, channel: Channel) -> int:
        """Open tickets of ``agent`` on ``channel``."""
        return self._held[channel].get(agent, 0)

    def total(self, agent: str) -> int:
        """Open tickets of ``agent`` on every channel."""
        return self._total.get(agent, 0)


@attrs.frozen
class Routed:
    """A routing decision.

    Attributes:
        agent: who takes the ticket; ``None``: it waits in the queue.
        reason: why, in words ("least loaded on chat (1 of 3)", "no agent on shift").
    """

    agent: str | None
    reason: str


_Free = tuple[Agent, int, int]


class Assignment:
    """Choose the agent for a ticket; pure. Subclass and override :meth:`rank`.

    The default ranking is :class:`LeastLoaded`'s.
    """

    name = "least loaded"

    def needs(self, ticket: Ticket, team: Team) -> frozenset[str]:
        """The skills ``ticket`` needs: its tags that name a skill of the team."""
        return ticket.tags & team.skills

    def rank(
        self,
        agent: Agent,
        ticket: Ticket,
        workload: Workload,
        customer: Customer | None,
    ) -> tuple[object, ...]:
        """The sort key of an eligible agent: the lowest is chosen."""
        channel = ticket.channel
        capacity = agent.capacity.get(channel, 0) or 1
        return (workload.holding(agent.id, channel) / capacity, workload.total(agent.id),
                workload._last.get(agent.id, 0.0), agent.id)  # fmt: skip

    def reason(self, agent: Agent, ticket: Ticket, workload: Workload) -> str:
        """Why ``agent`` was chosen, in words."""
        channel = ticket.channel
        held, capacity = workload.holding(agent.id, channel), agent.capacity.get(channel, 0)
        return f"{self.name} on {channel} ({held} of {capacity})"

    @checked
    def choose(
        self,
        ticket: Ticket,
        team: Team,
        *,
        now: datetime,
        workload: Workload | None = None,
        customer: Customer | None = None,
    ) -> Routed:
        """The agent for ``ticket`` at ``now``, or the queue with the reason."""
        load = workload if workload is not None else Workload()
        eligible, why_not = self._eligible(ticket, team, to_utc(now, "now").timestamp(), load)
        if not eligible:
            return Routed(None, why_not)
        best = self._best(eligible, ticket, load, customer)
        return Routed(best.id, self.reason(best, ticket, load))

    # eligible agents travel as (agent, capacity on the channel, tickets held on it)

    def _best(
        self, eligible: list[_Free], ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> Agent:
        """The eligible agent :meth:`rank` puts first (built-in strategies: their own, faster)."""
        return min((agent for agent, _, _ in eligible), key=self._key(ticket, workload, customer))

    def _key(
        self, ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> Callable[[Agent], tuple[object, ...]]:
        """The sort key of this decision: :meth:`rank`, or a built-in strategy's own, faster."""
        rank = self.rank
        return lambda agent: rank(agent, ticket, workload, customer)

    def _eligible(
        self, ticket: Ticket, team: Team, x: float, workload: Workload
    ) -> tuple[list[_Free], str]:
        channel = ticket.channel
        held = workload._held[channel]
        needed = self.needs(ticket, team)
        free = [
            (agent, cap, count)
            for cal, members in team._groups[channel]
            if cal is None or cal._open(x)  # a calendar asked once per decision
            for agent, cap in members
            if (count := held.get(agent.id, 0)) < cap and (not needed or needed <= agent.skills)
        ]
        return free, "" if free else self._why_queued(ticket, team, x, needed)

    def _why_queued(self, ticket: Ticket, team: Team, x: float, needed: frozenset[str]) -> str:
        """Why nobody is free (the slow path: only when the queue it is)."""
        channel = ticket.channel
        candidates = team.on(channel)
        if not candidates:
            return f"no agent takes {channel}"
        on_shift = [a for a in candidates if a.calendar is None or a.calendar._open(x)]
        if not on_shift:
            return f"no agent on shift takes {channel}"
        if not any(needed <= agent.skills for agent in on_shift):
            return f"no agent on shift has the skills {', '.join(sorted(needed))}"
        return f"every agent on shift for it is at capacity on {channel}"


class LeastLoaded(Assignment):
    """The lowest share of their capacity on the ticket's channel, then the fewest tickets."""

    def _best(
        self, eligible: list[_Free], ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> Agent:
        if type(self).rank is not Assignment.rank:
            return super()._best(eligible, ticket, workload, customer)
        return _least_loaded(eligible, workload)


def _least_loaded(eligible: list[_Free], workload: Workload) -> Agent:
    """The first by :meth:`Assignment.rank`, in one pass without a call per agent."""
    total, last = workload._total, workload._last
    *_, best = min(
        (count / cap, total.get(a.id, 0), last.get(a.id, 0.0), a.id, a)
        for a, cap, count in eligible
    )
    return best


class RoundRobin(Assignment):
    """In turn: the agent assigned least recently (never assigned: first)."""

    name = "round robin"

    def _best(
        self, eligible: list[_Free], ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> Agent:
        if type(self).rank is not RoundRobin.rank:
            return super()._best(eligible, ticket, workload, customer)
        last, never = workload._last, float("-inf")
        *_, best = min((last.get(a.id, never), a.id, a) for a, _, _ in eligible)
        return best

    def rank(
        self, agent: Agent, ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> tuple[object, ...]:
        """Least recently assigned first, then by id."""
        return (workload._last.get(agent.id, float("-inf")), agent.id)

    def reason(self, agent: Agent, ticket: Ticket, workload: Workload) -> str:
        """``"round robin: next in turn"``."""
        return "round robin: next in turn"


class SkillsFirst(Assignment):
    """The customer's language first, then the most specialised, then the least loaded."""

    name = "skills first"

    def rank(
        self, agent: Agent, ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> tuple[object, ...]:
        """Speaks the customer's language, fewest skills, then :class:`LeastLoaded`'s key."""
        language = _language(customer.locale) if customer and customer.locale else None
        speaks = language is None or language in agent.languages
        return (not speaks, len(agent.skills), *super().rank(agent, ticket, workload, customer))

    def _best(
        self, eligible: list[_Free], ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> Agent:
        if type(self).rank is not SkillsFirst.rank:
            return super()._best(eligible, ticket, workload, customer)
        language = _language(customer.locale) if customer and customer.locale else None
        total, last = workload._total, workload._last
        *_, best = min(
            (language is not None and language not in a.languages, len(a.skills), count / cap,
             total.get(a.id, 0), last.get(a.id, 0.0), a.id, a)
            for a, cap, count in eligible
        )  # fmt: skip
        return best

    def reason(self, agent: Agent, ticket: Ticket, workload: Workload) -> str:
        """The skills and the load."""
        skills = ", ".join(sorted(agent.skills)) or "no particular skills"
        return f"skills first ({skills}); {super().reason(agent, ticket, workload)}"


class Sticky(Assignment):
    """The customer's previous agent when they can take it, else ``then``'s choice.

    Args:
        previous: the customer's previous agent per customer id (the host's record).
        then: the strategy for everyone else (default: :class:`LeastLoaded`).
    """

    name = "sticky"

    @checked
    def __init__(self, previous: Mapping[str, str], *, then: Assignment | None = None) -> None:
        self.previous = previous
        self.then = then or LeastLoaded()

    def rank(
        self, agent: Agent, ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> tuple[object, ...]:
        """The previous agent first, then ``then``'s key."""
        mine = self.previous.get(ticket.customer_id) == agent.id
        return (not mine, *self.then.rank(agent, ticket, workload, customer))

    def _best(
        self, eligible: list[_Free], ticket: Ticket, workload: Workload, customer: Customer | None
    ) -> Agent:
        if type(self).rank is not Sticky.rank:
            return super()._best(eligible, ticket, workload, customer)
        mine = self.previous.get(ticket.customer_id)
        for agent, _, _ in eligible if mine is not None else ():
            if agent.id == mine:
                return agent
        return self.then._best(eligible, ticket, workload, customer)

    def reason(self, agent: Agent, ticket: Ticket, workload: Workload) -> str:
        """Whether it stuck."""
        if self.previous.get(ticket.customer_id) == agent.id:
            return "sticky: the customer's previous agent"
        return self.then.reason(agent, ticket, workload)
