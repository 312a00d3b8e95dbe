"""The trigger table's roles: stamped on events, kept by stores, read by everything downstream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carekit import (
    Idle,
    Lifecycle,
    Metric,
    Move,
    Reopened,
    Role,
    SlaPolicy,
    Status,
    Ticket,
    TicketEvent,
    TriggerSpec,
)
from carekit._escalation import fired_keys
from carekit.exceptions import LifecycleDefinitionError
from carekit.kpis import (
    first_contact_resolution,
    first_response_times,
    reopen_rate,
    resolution_times,
)
from carekit.stores.memory import InMemoryTicketStore
from carekit.stores.sqlite import SqliteTicketStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


class PhoneLifecycle(Lifecycle):
    """A phone system's own words: the pickup, a cancellation, a supervisor's whisper."""

    @classmethod
    def states(cls) -> tuple[str, ...]:
        return (*super().states(), "cancelled")

    @classmethod
    def done_states(cls) -> frozenset[str]:
        return super().done_states() | {"cancelled"}

    @classmethod
    def triggers(cls) -> list[TriggerSpec]:
        working = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
        return [
            *super().triggers(),
            TriggerSpec("phone_answered", [Move(Status.NEW, Status.OPEN)], Role.AGENT_REPLY),
            TriggerSpec("cancel", [Move(working, "cancelled")], Role.RESOLUTION),
            TriggerSpec("call_back", [Move("cancelled", Status.OPEN)], Role.CUSTOMER_MESSAGE),
            TriggerSpec("whisper", [Move(Move.NOT_FINAL)], Role.NOTE),
        ]


def test_events_are_stamped_with_the_rows_role() -> None:
    """apply stamps the row's role; the created event is CREATED."""
    t = Ticket.open("T", channel="email", customer_id="c", at=T0)
    t = Lifecycle().apply(t, "agent_reply", at=T0 + S)
    assert [{Role.CREATED}, {Role.AGENT_REPLY}] == [set(e.roles) for e in t.events]


def test_resolution_and_reopen_are_stamped_from_the_move() -> None:
    """customer_reply on a resolved ticket is a customer message and a reopening."""
    lc = Lifecycle()
    t = Ticket.open("T", channel="email", customer_id="c", at=T0)
    t = lc.apply(t, "resolve", at=T0 + S)
    t = lc.apply(t, "customer_reply", at=T0 + 2 * S)
    t = lc.apply(t, "resolve", at=T0 + 3 * S)
    t = lc.apply(t, "close", at=T0 + 4 * S)
    assert [
        {Role.CREATED},
        {Role.RESOLUTION},
        {Role.CUSTOMER_MESSAGE, Role.REOPEN},
        {Role.RESOLUTION},
        {Role.CLOSE},  # closing a resolved ticket is not a second resolution
    ] == [set(e.roles) for e in t.events]


def test_a_hand_built_event_gets_the_default_tables_roles() -> None:
    """TicketEvent without roles: the default lifecycle decides from kind and move."""
    event = TicketEvent("customer_reply", T0, None, Status.RESOLVED, Status.OPEN)
    assert {Role.CUSTOMER_MESSAGE, Role.REOPEN} == set(event.roles)
    assert frozenset() == TicketEvent("unheard_of", T0).roles


def test_trigger_for_finds_the_trigger_of_a_role() -> None:
    """The desk and the simulator ask the table which trigger plays a role."""
    assert "set_priority" == Lifecycle.trigger_for(Role.PRIORITY_CHANGE)

    class Bare(Lifecycle):
        @classmethod
        def triggers(cls) -> list[TriggerSpec]:
            return [r for r in super().triggers() if r.role is not Role.NOTE]

    with pytest.raises(LifecycleDefinitionError, match="the role of no trigger"):
        Bare.trigger_for(Role.NOTE)


def test_a_row_may_not_give_a_trigger_a_second_role() -> None:
    """Merging rows by name keeps one role; a contradiction is a definition error."""

    class Confused(Lifecycle):
        @classmethod
        def triggers(cls) -> list[TriggerSpec]:
            return [*super().triggers(), TriggerSpec("resume", [Move("new")], Role.NOTE)]

    with pytest.raises(LifecycleDefinitionError, match="two roles"):
        Confused.graph()


def test_merged_rows_keep_the_first_role() -> None:
    """A subclass adding moves to a declared trigger keeps its role on the new moves."""
    graph = PhoneLifecycle.graph()
    [edge] = graph.table[("cancelled", "call_back")]
    assert {Role.CUSTOMER_MESSAGE, Role.REOPEN} == set(edge.roles)


def _phone_call() -> Ticket:
    lc = PhoneLifecycle()
    t = Ticket.open("C-1", channel="phone", customer_id="c", at=T0)
    t = lc.apply(t, "phone_answered", at=T0 + 20 * S, actor="ana")
    t = lc.apply(t, "cancel", at=T0 + 90 * S)
    t = lc.apply(t, "call_back", at=T0 + 600 * S)
    return lc.apply(t, "resolve", at=T0 + 700 * S)


def test_a_custom_pickup_is_a_first_response_everywhere() -> None:
    """SLA report and KPIs agree on a custom trigger with the agent-reply role."""
    call = _phone_call()
    report = SlaPolicy.default().evaluate(call, now=T0 + 800 * S)
    assert T0 + 20 * S == report[Metric.FIRST_RESPONSE].stopped_at
    assert [20 * S] == first_response_times([call])
    assert 1.0 == first_contact_resolution([call]).value


def test_a_custom_done_state_is_a_resolution_everywhere() -> None:
    """cancel (into a custom done state) resolves; call_back out of it reopens."""
    call = _phone_call()
    assert [90 * S] == resolution_times([call])
    assert [700 * S] == resolution_times([call], first=False)
    assert 1.0 == reopen_rate([call]).value
    # resume: the cancelled span (a done state) is excluded from the resolution clock
    report = SlaPolicy.default().evaluate(call, now=T0 + 800 * S)
    assert timedelta(seconds=90 + 100) == report[Metric.RESOLUTION].elapsed


def test_escalation_triggers_read_roles() -> None:
    """Idle counts a custom note as agent activity; Reopened counts a custom reopening."""
    lc = PhoneLifecycle()
    t = Ticket.open("C-2", channel="email", customer_id="c", at=T0)
    t = lc.apply(t, "whisper", at=T0 + 60 * S)
    report = SlaPolicy.default().evaluate(t, now=T0 + 60 * S)
    firing = Idle(timedelta(minutes=5)).firing(t, report)
    assert firing is not None
    assert T0 + 360 * S == firing.at
    t = lc.apply(t, "cancel", at=T0 + 120 * S)
    t = lc.apply(t, "call_back", at=T0 + 180 * S)
    reopened = Reopened(times=1).firing(t, report)
    assert reopened is not None
    assert T0 + 180 * S == reopened.at


def test_fired_keys_read_the_escalation_role() -> None:
    """A record is known by its role, whatever the trigger is called."""
    t = Ticket.open("T", channel="email", customer_id="c", at=T0)
    t = Lifecycle().apply(t, "escalate", at=T0, key="T/x/first_response/1")
    assert {"T/x/first_response/1"} == fired_keys(t)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_stores_keep_the_roles(kind: str, tmp_path: Path) -> None:
    """A store given no lifecycle still returns a custom trigger's roles: they are in the log."""
    call = _phone_call()
    store = InMemoryTicketStore() if kind == "memory" else SqliteTicketStore(tmp_path / "db")
    store.save(call, expected_version=0)
    loaded = store.get(call.id)
    assert [e.roles for e in call.events] == [e.roles for e in loaded.events]
