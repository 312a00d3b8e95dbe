"""What a simulated desk looks like: arrivals, agents, customers, behaviour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import attrs

from carekit._check import checked, typed_fields
from carekit._model import Channel
from carekit.exceptions import InvalidValue

__all__ = ["CustomerMix", "DeskModel", "Shift", "shop_desk"]


@attrs.frozen
class Shift:
    """``agents`` on duty from ``start`` to ``end`` (hours of the day, desk's zone)."""

    start: int
    end: int
    agents: int


@attrs.frozen
class CustomerMix:
    """A share of the customers: their zone, language, tier and consent."""

    share: float
    timezone: str
    locale: str
    tier: str = "standard"
    consent: frozenset[Channel] = frozenset({Channel.EMAIL, Channel.WHATSAPP})


def _flat_day(per_hour: float) -> tuple[float, ...]:
    return (per_hour,) * 24


def _day(value: Sequence[float]) -> tuple[float, ...]:
    day = tuple(float(v) for v in value)
    if len(day) != 24 or any(v < 0 for v in day):
        raise InvalidValue("arrivals", value, "24 rates, one per hour of the day, none negative")
    return day


@attrs.frozen(field_transformer=typed_fields)
class DeskModel:
    """A care desk to simulate.

    Attributes:
        name: for the report.
        timezone: the desk's zone (shifts and arrival hours are local to it).
        arrivals: tickets per hour, for each hour of the day (24 values).
        channels: the share of arrivals per channel.
        handle_time: the mean handle time per channel.
        shifts: who is on duty when.
        customers: the customer population.
        population: how many distinct customers.
        p_resolve: after handling, the chance the ticket is resolved...
        p_pending: ...that the agent waits on the customer...
        p_hold: ...or that it goes on hold (the rest stays open).
        p_reopen: the chance a resolved ticket comes back.
        customer_delay: the mean time a customer takes to answer.
        hold_time: the mean time on hold.
        call_patience: the mean time a caller waits before hanging up.
        p_survey_answer: the chance a surveyed customer answers.
        purchases_per_day: purchases (for care tips and loyalty), per day.
        holidays: dates on which only a third of the agents work.
    """

    name: str = "care desk"
    timezone: str = "Asia/Jakarta"
    arrivals: Sequence[float] = attrs.field(default=_flat_day(10.0), converter=_day)
    channels: Mapping[Channel, float] = attrs.field(
        factory=lambda: {
            Channel.PHONE: 0.3,
            Channel.EMAIL: 0.3,
            Channel.CHAT: 0.2,
            Channel.WHATSAPP: 0.2,
        }
    )
    handle_time: Mapping[Channel, timedelta] = attrs.field(
        factory=lambda: {
            Channel.PHONE: timedelta(minutes=4),
            Channel.EMAIL: timedelta(minutes=8),
            Channel.CHAT: timedelta(minutes=6),
            Channel.WHATSAPP: timedelta(minutes=5),
            Channel.SOCIAL: timedelta(minutes=5),
            Channel.WEB: timedelta(minutes=8),
        }
    )
    shifts: Sequence[Shift] = (Shift(0, 24, 4),)
    customers: Sequence[CustomerMix] = (CustomerMix(1.0, "Asia/Jakarta", "id"),)
    population: int = 5000
    p_resolve: float = 0.7
    p_pending: float = 0.2
    p_hold: float = 0.05
    p_reopen: float = 0.05
    customer_delay: timedelta = timedelta(hours=3)
    hold_time: timedelta = timedelta(hours=2)
    call_patience: timedelta = timedelta(seconds=90)
    p_survey_answer: float = 0.4
    purchases_per_day: float = 50.0
    holidays: Sequence[date] = ()

    @checked
    def agents_at(self, hour: int, day: date | None = None) -> int:
        """Agents on duty in the desk's hour of the day ``hour`` (a third on a holiday)."""
        agents = sum(s.agents for s in self.shifts if s.start <= hour < s.end)
        if day is not None and day in self.holidays and agents:
            return max(1, agents // 3)
        return agents


def shop_desk() -> DeskModel:
    """An Indonesian online shop's care desk: phone, email, chat and WhatsApp, Jakarta hours."""
    day = (1, 1, 1, 1, 1, 2, 6, 12, 22, 30, 34, 32, 28, 30, 32, 30, 26, 22, 20, 22, 20, 14, 8, 3)
    return DeskModel(
        name="Toko Sejahtera care desk",
        timezone="Asia/Jakarta",
        arrivals=tuple(float(n) for n in day),
        channels={
            Channel.PHONE: 0.25,
            Channel.EMAIL: 0.25,
            Channel.CHAT: 0.2,
            Channel.WHATSAPP: 0.3,
        },
        shifts=(Shift(7, 15, 6), Shift(13, 22, 6), Shift(22, 24, 1), Shift(0, 7, 1)),
        customers=(
            CustomerMix(0.8, "Asia/Jakarta", "id"),
            CustomerMix(0.1, "Asia/Makassar", "id", tier="vip"),
            CustomerMix(0.1, "Asia/Singapore", "en"),
        ),
        population=3000,
    )
