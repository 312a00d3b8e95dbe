from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from carekit import (
    Clock,
    ConcurrentUpdate,
    Lifecycle,
    SystemClock,
    Ticket,
    TicketNotFound,
    TicketStore,
)
from carekit.testing import InMemoryTicketStore, ManualClock


def test_manual_clock_moves_only_when_told(t0: datetime) -> None:
    """set and advance move the clock; nothing else does."""
    clock = ManualClock(t0)
    assert t0 == clock.now() == clock.now()
    assert t0 + timedelta(seconds=30) == clock.advance(timedelta(seconds=30))
    clock.set(t0)
    assert t0 == clock.now()
    with pytest.raises(ValueError, match="zero or more"):
        clock.advance(timedelta(seconds=-1))


def test_clocks_satisfy_the_protocol(t0: datetime) -> None:
    """Both shipped clocks are Clocks; the system clock is aware and UTC."""
    assert isinstance(ManualClock(t0), Clock)
    assert isinstance(SystemClock(), Clock)
    assert UTC == SystemClock().now().tzinfo


def test_store_round_trip_and_not_found(ticket: Ticket) -> None:
    """A saved ticket comes back; an unknown id raises TicketNotFound (a KeyError)."""
    store = InMemoryTicketStore()
    assert isinstance(store, TicketStore)
    store.save(ticket, expected_version=0)
    assert ticket == store.get("T-1")
    assert [ticket] == list(store)
    with pytest.raises(TicketNotFound) as info:
        store.get("nope")
    assert isinstance(info.value, KeyError)
    assert "nope" == info.value.ticket_id


def test_stale_save_raises_and_writes_nothing(
    ticket: Ticket, lifecycle: Lifecycle, t0: datetime
) -> None:
    """Two writers load version 1; the second save is refused and the first kept."""
    store = InMemoryTicketStore()
    store.save(ticket, expected_version=0)
    first = lifecycle.apply(store.get("T-1"), "agent_reply", at=t0)
    second = lifecycle.apply(store.get("T-1"), "resolve", at=t0)
    store.save(first, expected_version=1)
    with pytest.raises(ConcurrentUpdate) as info:
        store.save(second, expected_version=1)
    assert (1, 2) == (info.value.expected, info.value.actual)
    assert first == store.get("T-1")


def test_saving_a_new_ticket_twice_is_refused(ticket: Ticket) -> None:
    """expected_version=0 means 'new': a second ticket with the same id is refused."""
    store = InMemoryTicketStore()
    store.save(ticket, expected_version=0)
    with pytest.raises(ConcurrentUpdate):
        store.save(attrs.evolve(ticket), expected_version=0)
