from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit import Channel, Lifecycle, Move, Priority, Status, Ticket, TriggerSpec
from carekit.exceptions import InvalidTransition, InvalidType, LifecycleDefinitionError

S = Status
OPENISH = {S.NEW, S.OPEN, S.PENDING, S.ON_HOLD}
# The table, written out independently of the implementation:
# trigger -> {status before: status after}
TABLE: dict[str, dict[Status, Status]] = {
    "assign": {s: s for s in OPENISH},
    "agent_reply": {S.NEW: S.OPEN, S.OPEN: S.OPEN, S.PENDING: S.PENDING, S.ON_HOLD: S.ON_HOLD},
    "customer_reply": {
        S.NEW: S.NEW,
        S.OPEN: S.OPEN,
        S.PENDING: S.OPEN,
        S.ON_HOLD: S.ON_HOLD,
        S.RESOLVED: S.OPEN,
    },
    "wait_on_customer": {S.NEW: S.PENDING, S.OPEN: S.PENDING, S.ON_HOLD: S.PENDING},
    "hold": {S.NEW: S.ON_HOLD, S.OPEN: S.ON_HOLD, S.PENDING: S.ON_HOLD},
    "resume": {S.PENDING: S.OPEN, S.ON_HOLD: S.OPEN},
    "resolve": dict.fromkeys(OPENISH, S.RESOLVED),
    "reopen": {S.RESOLVED: S.OPEN},
    "close": {S.RESOLVED: S.CLOSED},
    "set_priority": {s: s for s in Status if s is not S.CLOSED},
    "add_note": {s: s for s in Status if s is not S.CLOSED},
    # not in the first table: added so that SLA targets follow a channel change
    "set_channel": {s: s for s in Status if s is not S.CLOSED},
    # records a fired escalation (issue 4), so that a restart never fires it again
    "escalate": {s: s for s in Status if s is not S.CLOSED},
}
DATA: dict[str, dict[str, Any]] = {
    "assign": {"agent": "ana"},
    "set_priority": {"priority": Priority.HIGH},
    "set_channel": {"channel": "email"},
    "escalate": {"key": "T/level/metric/1"},
}
CELLS = [(trigger, status) for trigger in TABLE for status in Status]


def in_status(ticket: Ticket, status: Status) -> Ticket:
    return attrs.evolve(ticket, status=status)


@pytest.mark.parametrize(("trigger", "status"), CELLS)
def test_every_cell_of_the_table(
    lifecycle: Lifecycle, ticket: Ticket, t0: datetime, trigger: str, status: Status
) -> None:
    """Each (trigger, status) cell is allowed with the right status after, or refused."""
    before = in_status(ticket, status)
    expected = TABLE[trigger].get(status)
    at = t0 + timedelta(minutes=1)
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            lifecycle.apply(before, trigger, at=at, **DATA.get(trigger, {}))
        assert status == info.value.state
        assert trigger == info.value.trigger
        assert trigger not in lifecycle.allowed(before)
    else:
        after = lifecycle.apply(before, trigger, at=at, actor="ana", **DATA.get(trigger, {}))
        assert expected is after.status
        assert expected is after.events[-1].status_after
        assert (*before.events, after.events[-1]) == after.events
        event = after.events[-1]
        assert (trigger, at, "ana", status, expected) == (
            event.kind,
            event.at,
            event.actor,
            event.status_before,
            event.status_after,
        )
        assert trigger in lifecycle.allowed(before)


def test_allowed_lists_exactly_the_table(lifecycle: Lifecycle, ticket: Ticket) -> None:
    """allowed() returns the triggers of the table for each status, nothing more."""
    for status in Status:
        expected = {t for t, row in TABLE.items() if status in row}
        assert expected == set(lifecycle.allowed(in_status(ticket, status)))


def test_refusal_names_ticket_status_trigger_and_allowed(
    lifecycle: Lifecycle, ticket: Ticket, t0: datetime
) -> None:
    """The error says which ticket, in which status, what was tried and what is allowed."""
    with pytest.raises(InvalidTransition) as info:
        lifecycle.apply(ticket, "close", at=t0)
    error = info.value
    assert isinstance(error, ValueError)
    assert ("T-1", Status.NEW, "close") == (error.ticket_id, error.state, error.trigger)
    assert "resolve" in error.allowed
    assert "'T-1'" in str(error)
    assert "resolve" in str(error)


def test_unknown_trigger_is_refused(lifecycle: Lifecycle, ticket: Ticket, t0: datetime) -> None:
    """A trigger the graph does not know is refused and says so."""
    with pytest.raises(InvalidTransition, match="no such trigger"):
        lifecycle.apply(ticket, "escalate_to_ceo", at=t0)


def test_event_before_the_last_is_refused(
    lifecycle: Lifecycle, ticket: Ticket, t0: datetime
) -> None:
    """Events are in time order: an earlier timestamp than the last event is refused."""
    replied = lifecycle.apply(ticket, "agent_reply", at=t0 + timedelta(hours=1))
    with pytest.raises(InvalidTransition, match="before the ticket's last event"):
        lifecycle.apply(replied, "resolve", at=t0 + timedelta(minutes=30))


def test_same_instant_is_accepted(lifecycle: Lifecycle, ticket: Ticket, t0: datetime) -> None:
    """Two events in the same second are fine (a pickup at the call's creation)."""
    assert Status.OPEN == lifecycle.apply(ticket, "agent_reply", at=t0).status


@pytest.mark.parametrize(
    ("trigger", "data", "match"),
    [
        ("set_priority", {}, "missing data 'priority'"),
        ("set_priority", {"priority": "banana"}, "bad data"),
        ("assign", {}, "missing data 'agent'"),
        ("assign", {"agent": ""}, "bad data"),
    ],
)
def test_missing_or_wrong_data_is_refused(
    lifecycle: Lifecycle,
    ticket: Ticket,
    t0: datetime,
    trigger: str,
    data: dict[str, Any],
    match: str,
) -> None:
    """Triggers that need data refuse to run without it, or with the wrong kind."""
    with pytest.raises(InvalidTransition, match=match):
        lifecycle.apply(ticket, trigger, at=t0, **data)


def test_effects_change_the_fields(lifecycle: Lifecycle, ticket: Ticket, t0: datetime) -> None:
    """assign sets the assignee and set_priority the priority (given by name too)."""
    t = lifecycle.apply(ticket, "assign", at=t0, agent="ana")
    t = lifecycle.apply(t, "set_priority", at=t0, priority="urgent")
    assert ("ana", Priority.URGENT) == (t.assignee, t.priority)
    assert Priority.URGENT is t.events[-1].data["priority"]


def test_set_channel_moves_the_ticket(lifecycle: Lifecycle, t0: datetime) -> None:
    """A call converted to an email ticket carries the new channel; replay agrees."""
    t = Ticket.open("T-2", channel="phone", customer_id="c", at=t0)
    t = lifecycle.apply(t, "set_channel", at=t0, channel="email")
    assert Channel.EMAIL is t.channel
    assert t == lifecycle.replay(t.id, t.events)
    with pytest.raises(InvalidTransition, match="bad data"):
        lifecycle.apply(t, "set_channel", at=t0, channel="fax")


def test_closed_allows_nothing(lifecycle: Lifecycle, ticket: Ticket, t0: datetime) -> None:
    """A closed ticket is final."""
    t = lifecycle.apply(ticket, "resolve", at=t0)
    t = lifecycle.apply(t, "close", at=t0)
    assert () == lifecycle.allowed(t)


def test_a_machine_is_not_built_per_ticket(t0: datetime) -> None:
    """The compiled graph is built once per class and shared by every instance."""
    assert Lifecycle.graph() is Lifecycle().graph() is Lifecycle().graph()


TRIGGERS = [*sorted(TABLE), "bogus"]


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(TRIGGERS), st.integers(min_value=-3600, max_value=7200)),
        max_size=25,
    )
)
def test_random_sequences_apply_or_leave_ticket_unchanged(steps: list[tuple[str, int]]) -> None:
    """Any sequence of triggers applies or raises with the ticket untouched; status == replay."""
    lifecycle = Lifecycle()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    ticket = Ticket.open("T-h", channel="whatsapp", customer_id="c", at=at)
    for trigger, delta in steps:
        at = at + timedelta(seconds=delta)
        snapshot = attrs.evolve(ticket)
        try:
            new = lifecycle.apply(ticket, trigger, at=at, **DATA.get(trigger, {}))
        except InvalidTransition:
            assert snapshot == ticket
            continue
        assert ticket.version + 1 == new.version
        assert TABLE[trigger][Status(ticket.status)] == new.status
        ticket = new
        replayed = lifecycle.replay(ticket.id, ticket.events)
        assert replayed == ticket


def test_a_graph_naming_a_missing_guard_is_a_definition_error() -> None:
    """A subclass whose edge names a guard it does not define fails when first used."""

    class Broken(Lifecycle):
        @classmethod
        def triggers(cls) -> list[TriggerSpec]:
            return [*super().triggers(), TriggerSpec("x", [Move("open", conditions="nope")])]

    with pytest.raises(LifecycleDefinitionError, match="'nope' is not a guard method") as info:
        Broken.graph()
    assert isinstance(info.value, TypeError)


def test_a_trigger_that_is_not_text_is_a_typed_refusal(
    lifecycle: Lifecycle, ticket: Ticket, t0: datetime
) -> None:
    """A list (or any unhashable value) as trigger: InvalidType naming it, ticket unchanged."""
    with pytest.raises(InvalidType, match="trigger") as info:
        lifecycle.apply(ticket, ["x"], at=t0)  # type: ignore[arg-type]
    assert "trigger" == info.value.field
    assert 1 == ticket.version
