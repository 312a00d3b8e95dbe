"""Extend carekit by subclassing.

A VIP SLA policy, a custom escalation action, a custom lifecycle state, and a
custom KPI formula, used together on one small desk.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import attrs

from carekit import (
    Action,
    AtBreach,
    Customer,
    Desk,
    EscalationLevel,
    EscalationPolicy,
    Lifecycle,
    Metric,
    Move,
    Role,
    SlaPolicy,
    Status,
    Target,
    Ticket,
    TriggerSpec,
)
from carekit.kpis import Figure
from carekit.stores.memory import InMemoryTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingHandler


class VipPolicy(SlaPolicy):
    """The default targets, halved for customers on the VIP tier (tagged on the ticket)."""

    def target_for(self, metric: Metric, ticket: Ticket) -> tuple[Target, str] | None:
        """Halve every target of a ticket tagged ``vip``."""
        found = super().target_for(metric, ticket)
        if found is None or "vip" not in ticket.tags:
            return found
        target, source = found
        return attrs.evolve(target, duration=target.duration / 2), f"{source}, halved for VIP"


@attrs.frozen
class CallBack(Action):
    """A custom action: book a call-back slot for the customer."""

    within: timedelta


class CourierLifecycle(Lifecycle):
    """The default graph plus ``waiting_on_courier``, which pauses resolution like on-hold."""

    @classmethod
    def states(cls) -> tuple[str, ...]:
        """The built-in states and the courier wait."""
        return (*super().states(), "waiting_on_courier")

    @classmethod
    def triggers(cls) -> list[TriggerSpec]:
        """Enter from open, leave with resume (or resolve)."""
        return [
            *super().triggers(),
            TriggerSpec("wait_on_courier", [Move(Status.OPEN, "waiting_on_courier")], Role.HOLD),
            TriggerSpec("resume", [Move("waiting_on_courier", Status.OPEN)]),
            TriggerSpec("resolve", [Move("waiting_on_courier", Status.RESOLVED)]),
        ]


def replies_per_resolution(tickets: Iterable[Ticket]) -> Figure:
    """A custom KPI: the median number of agent replies before the first resolution."""
    counts = []
    for t in tickets:
        roles = [e.roles for e in t.events]
        first = next((i for i, r in enumerate(roles) if Role.RESOLUTION in r), None)
        if first is not None:
            counts.append(sum(Role.AGENT_REPLY in r for r in roles[:first]))
    value = statistics.median(counts) if counts else None
    formula = "median agent replies before the first resolve"
    return Figure("replies_per_resolution", value, formula, len(counts))


def main() -> dict[str, object]:
    """Use all four extensions together on a small desk."""
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    handler = RecordingHandler()
    courier_pauses = {Metric.RESOLUTION: {"pending", "on_hold", "waiting_on_courier"}}
    policy = VipPolicy("vip-aware", SlaPolicy.default().targets, pause_on=courier_pauses)
    call_back = EscalationLevel(
        "call back", AtBreach(Metric.FIRST_RESPONSE), [CallBack(timedelta(hours=1))]
    )
    desk = Desk(
        InMemoryTicketStore(),
        clock=clock,
        lifecycle=CourierLifecycle(),
        policies=policy,
        escalation=EscalationPolicy([call_back]),
        handler=handler,
        directory=InMemoryDirectory([Customer("gold", tier="vip"), Customer("plain")]),
    )
    desk.open("V-1", channel="email", customer_id="gold", tags=["vip"])
    desk.open("P-1", channel="email", customer_id="plain")
    vip_due = desk.report("V-1")[Metric.FIRST_RESPONSE].due_at
    plain_due = desk.report("P-1")[Metric.FIRST_RESPONSE].due_at
    print(f"first response due: VIP {vip_due:%d %b %H:%M}, others {plain_due:%d %b %H:%M} (UTC)")

    clock.advance(timedelta(hours=13))
    fired = desk.tick()  # the VIP's halved 12 h target has passed: the custom action fires
    print(
        f"fired: {[d.key for d in fired]} -> {[type(a).__name__ for d in fired for a in d.actions]}"
    )
    desk.apply("V-1", "agent_reply")
    clock.advance(timedelta(hours=1))
    desk.apply("P-1", "agent_reply")
    desk.apply("P-1", "wait_on_courier")
    clock.advance(timedelta(hours=5))
    desk.apply("P-1", "resume")
    resolution = desk.report("P-1")[Metric.RESOLUTION]
    print(
        f"P-1 resolution clock: {resolution.state}, "
        f"paused {resolution.paused_for} waiting on the courier"
    )
    desk.apply("P-1", "resolve")
    desk.apply("V-1", "resolve")
    figure = replies_per_resolution(desk.store)
    print(f"{figure.name} = {figure.value} ({figure.formula}, n={figure.count})")
    return {
        "vip_due": vip_due,
        "plain_due": plain_due,
        "fired": fired,
        "paused": resolution.paused_for,
        "figure": figure,
    }


if __name__ == "__main__":
    main()
