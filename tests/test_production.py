"""The desk in a real host: catch-up, late events, claims, isolation, idempotency, the outbox."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit import (
    AtBreach,
    Before,
    Customer,
    Desk,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    InformCustomer,
    Lifecycle,
    Metric,
    Notify,
    Priority,
    RaisePriority,
    SlaPolicy,
    Ticket,
)
from carekit._escalation import fired_keys
from carekit.campaigns import CampaignScheduler, CareEvent
from carekit.campaigns.recipes import csat_after_resolution
from carekit.exceptions import EventFromTheFuture, InvalidTransition, TicketExists
from carekit.protocols import TicketStore
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.stores.sqlite import SqliteTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingHandler, RecordingSender

FR, NR, PU, RES = Metric
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
CALLS = EscalationPolicy(
    [
        EscalationLevel("ringing", Before(FR, 0.75), [Notify("floor")]),
        EscalationLevel("missed", AtBreach(FR), [Notify("supervisor")]),
    ]
)


def desk_on(store: TicketStore, escalation: EscalationPolicy = CALLS, **kw: Any) -> Desk:
    return Desk(
        store, clock=ManualClock(T0), escalation=escalation, handler=RecordingHandler(), **kw
    )


def handed(desk: Desk) -> list[str]:
    return [e.key for e in desk.handler.handled]  # type: ignore[union-attr]


# -- catch-up ------------------------------------------------------------------------------


def test_a_breach_between_two_ticks_is_handed_over_late() -> None:
    """Ticks at 0 s and 60 s, a pickup at 45 s: the 30 s breach is handed over, 30 s late."""
    desk = desk_on(InMemoryTicketStore())
    desk.open("C-1", channel="phone", customer_id="c")
    assert [] == desk.tick()
    desk.clock.set(T0 + 45 * S)  # type: ignore[attr-defined]
    desk.apply("C-1", "agent_reply")
    desk.clock.set(T0 + 60 * S)  # type: ignore[attr-defined]
    [breach] = desk.tick()
    assert ("C-1/missed/first_response/1", 30 * S) == (breach.key, breach.late)
    assert [] == desk.tick()  # the warning of a stopped clock is not owed


def test_a_warning_whose_clock_stopped_met_does_not_fire() -> None:
    """Picked up at 25 s (after the 22.5 s warning instant), ticked at 60 s: nothing."""
    desk = desk_on(InMemoryTicketStore())
    desk.open("C-1", channel="phone", customer_id="c")
    desk.clock.set(T0 + 25 * S)  # type: ignore[attr-defined]
    desk.apply("C-1", "agent_reply")
    desk.clock.set(T0 + 60 * S)  # type: ignore[attr-defined]
    assert [] == desk.tick()


BREACHES = EscalationPolicy(
    [EscalationLevel(f"{m}", AtBreach(m), [Notify("lead")]) for m in (FR, NR, RES)]
)
POLICY = SlaPolicy("tight", {FR: 10 * M, NR: 20 * M, RES: 2 * H})
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["agent_reply", "customer_reply", "resolve", "reopen", "wait_on_customer"]),
        st.integers(min_value=1, max_value=3600),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(steps=STEPS, every=st.integers(min_value=1, max_value=3600))
def test_the_breaches_handed_over_do_not_depend_on_the_tick_interval(
    steps: list[tuple[str, int]], every: int
) -> None:
    """For random events and a random tick interval, the breach keys handed over are
    exactly the breached cycles computed from the event times alone."""
    desk = desk_on(InMemoryTicketStore(), BREACHES, policies=POLICY)
    clock: ManualClock = desk.clock  # type: ignore[assignment]
    desk.open("T", channel="email", customer_id="c")
    at, next_tick = T0, T0 + every * S
    for trigger, seconds in steps:
        at += seconds * S
        while next_tick <= at:
            clock.set(next_tick)
            desk.tick()
            next_tick += every * S
        clock.set(at)
        with contextlib.suppress(InvalidTransition):
            desk.apply("T", trigger)
    end = at + 2 * H + every * S
    while next_tick <= end:
        clock.set(next_tick)
        desk.tick()
        next_tick += every * S
    report = POLICY.evaluate(desk.store.get("T"), now=next_tick - every * S)
    breached = {
        f"T/{c.metric}/{c.metric}/{c.cycle}"
        for c in report.all_clocks()
        if c.breached and c.instant_at(c.target.duration) <= next_tick - every * S
    }
    assert breached == set(handed(desk))
    assert len(handed(desk)) == len(set(handed(desk)))


# -- events in order of occurrence -------------------------------------------------------------


def test_a_late_pickup_goes_before_the_warning_that_was_recorded() -> None:
    """A pickup at 20 s reported at 26 s, after the 22.5 s warning: accepted, met, no breach."""
    desk = desk_on(InMemoryTicketStore())
    desk.open("C-1", channel="phone", customer_id="c")
    desk.clock.set(T0 + 23 * S)  # type: ignore[attr-defined]
    assert ["C-1/ringing/first_response/1"] == [e.key for e in desk.tick()]
    desk.clock.set(T0 + 26 * S)  # type: ignore[attr-defined]
    ticket = desk.apply("C-1", "agent_reply", at=T0 + 20 * S)
    assert ["created", "agent_reply", "escalate"] == [e.kind for e in ticket.events]
    clock = desk.report("C-1")[FR]
    assert (T0 + 20 * S, False) == (clock.stopped_at, clock.breached)
    desk.clock.set(T0 + 5 * M)  # type: ignore[attr-defined]
    assert [] == desk.tick()


def test_a_late_event_that_breaks_the_log_is_refused_and_changes_nothing() -> None:
    """A resolution reported late, before a customer reply that needs an open ticket... is fine;
    a reopen dated before the resolution is not."""
    desk = desk_on(InMemoryTicketStore())
    desk.open("E-1", channel="email", customer_id="c")
    desk.clock.set(T0 + H)  # type: ignore[attr-defined]
    desk.apply("E-1", "resolve")
    before = desk.store.get("E-1")
    with pytest.raises(InvalidTransition, match="not allowed"):
        desk.apply("E-1", "reopen", at=T0 + 30 * M)
    assert before == desk.store.get("E-1")


def test_an_event_from_the_future_is_refused() -> None:
    """An event dated beyond the tolerance after the desk's clock is refused; nothing changes."""
    desk = desk_on(InMemoryTicketStore())
    desk.open("E-1", channel="email", customer_id="c")
    with pytest.raises(EventFromTheFuture):
        desk.apply("E-1", "agent_reply", at=T0 + 6 * M)
    with pytest.raises(EventFromTheFuture):
        desk.open("E-2", channel="email", customer_id="c", at=T0 + H)
    assert 1 == desk.store.get("E-1").version
    desk.apply("E-1", "agent_reply", at=T0 + 4 * M)  # within the tolerance
    desk.apply("E-1", "add_note", at=T0 + 1 * M)  # a later report of an earlier note


# -- the tick plan -------------------------------------------------------------------------------


def test_handlers_get_the_ticket_after_the_desks_own_actions_and_the_new_eta() -> None:
    """RaisePriority and InformCustomer in one level: the customer is told the new deadline."""
    ladder = EscalationPolicy(
        [EscalationLevel("hurry", AtBreach(FR), [RaisePriority(Priority.URGENT), InformCustomer()])]
    )
    desk = desk_on(InMemoryTicketStore(), ladder)
    desk.open("E-1", channel="email", customer_id="c")
    desk.clock.set(T0 + 25 * H)  # type: ignore[attr-defined]
    [escalation] = desk.tick()
    ticket = desk.store.get("E-1")
    assert Priority.URGENT is ticket.priority
    assert T0 + 8 * H == escalation.eta  # the urgent resolution target, not the normal 72 h
    handler: RecordingHandler = desk.handler  # type: ignore[assignment]
    assert [escalation] == handler.handled


class FailsFor(RecordingHandler):
    def __init__(self, ticket_id: str) -> None:
        super().__init__()
        self.ticket_id = ticket_id

    def handle(self, decision: Escalation, ticket: Ticket) -> None:
        if ticket.id == self.ticket_id:
            raise RuntimeError("the host's mail server is down")
        super().handle(decision, ticket)


def test_one_failing_ticket_never_stops_the_others(tmp_path: Path) -> None:
    """A handler failure and an unreadable ticket are reported; every other breach goes out."""
    store = SqliteTicketStore(tmp_path / "desk.sqlite3")
    desk = Desk(store, clock=ManualClock(T0), escalation=CALLS, handler=FailsFor("C-2"))
    for i in range(5):
        desk.open(f"C-{i}", channel="phone", customer_id="c")
    store._db.execute("UPDATE ticket_events SET data = 'not json' WHERE ticket_id = 'C-3'")
    desk.clock.set(T0 + 40 * S)  # type: ignore[attr-defined]
    result = desk.tick()
    assert {"C-0", "C-1", "C-4"} == {e.ticket_id for e in result}
    assert {("C-2", "RuntimeError"), ("C-3", "StoreError")} == {
        (f.ticket_id, f.error.split(":")[0]) for f in result.failures
    }
    desk.handler = RecordingHandler()  # the mail server is back
    assert {"C-2"} == {e.ticket_id for e in desk.tick()}  # retried at once: still due


def test_a_conflicting_save_keeps_what_was_handed_over() -> None:
    """A web request saves the ticket between the tick's load and save: records land once."""

    class Interloper(RecordingHandler):
        def handle(self, decision: Escalation, ticket: Ticket) -> None:
            super().handle(decision, ticket)
            web.apply(ticket.id, "add_note", text="customer called again")

    store = InMemoryTicketStore()
    web = desk_on(store)
    desk = Desk(store, clock=web.clock, escalation=CALLS, handler=Interloper())
    desk.open("C-1", channel="phone", customer_id="c")
    web.clock.set(T0 + 40 * S)  # type: ignore[attr-defined]
    assert 2 == len(desk.tick())
    ticket = store.get("C-1")
    assert {"C-1/ringing/first_response/1", "C-1/missed/first_response/1"} == fired_keys(ticket)
    assert [] == desk.tick()


# -- idempotent hosts ------------------------------------------------------------------------------


def test_opening_a_taken_id_is_ticket_exists() -> None:
    """A duplicate id is not a concurrency problem: it says so."""
    desk = desk_on(InMemoryTicketStore())
    desk.open("E-1", channel="email", customer_id="c")
    with pytest.raises(TicketExists):
        desk.open("E-1", channel="chat", customer_id="d")


def test_an_idempotency_key_applies_once_across_a_restart(tmp_path: Path) -> None:
    """A webhook retried after a restart changes nothing and returns the same ticket."""
    path = tmp_path / "desk.sqlite3"
    desk = desk_on(SqliteTicketStore(path))
    desk.open("E-1", channel="email", customer_id="c")
    first = desk.apply("E-1", "customer_reply", idempotency_key="hook-7")
    again = desk_on(SqliteTicketStore(path)).apply(
        "E-1", "customer_reply", idempotency_key="hook-7"
    )
    assert first == again
    assert 2 == again.version


# -- the outbox ----------------------------------------------------------------------------------


def test_care_events_leave_the_desk_through_the_outbox() -> None:
    """Opened, resolved, reopened and breached are queued with the ticket, then drained."""
    desk = desk_on(InMemoryTicketStore())
    desk.open("C-1", channel="phone", customer_id="c")
    desk.clock.set(T0 + 40 * S)  # type: ignore[attr-defined]
    desk.tick()
    desk.apply("C-1", "agent_reply")
    desk.apply("C-1", "resolve")
    desk.apply("C-1", "customer_reply")
    seen: list[CareEvent] = []
    assert 4 == desk.drain_events(seen.append)
    assert ["ticket_opened", "sla_breached", "ticket_resolved", "ticket_reopened"] == [
        e.kind for e in seen
    ]
    assert all(e.data["ticket_id"] == "C-1" for e in seen)
    assert 0 == desk.drain_events(seen.append)


def test_a_drain_that_dies_before_acknowledging_enrols_nobody_twice() -> None:
    """The same care event handed to the scheduler twice plans one survey."""
    customers = InMemoryDirectory([Customer("c", name="Citra", locale="id", consent={"email"})])
    desk = desk_on(InMemoryTicketStore())
    jobs = InMemoryJobStore()
    care = CampaignScheduler(
        [csat_after_resolution()], jobs, RecordingSender(), customers, clock=desk.clock
    )
    desk.open("E-1", channel="email", customer_id="c")
    desk.apply("E-1", "resolve")

    def dies_after_handling(event: CareEvent) -> None:
        care.handle(event)
        if event.kind == "ticket_resolved":
            raise RuntimeError("the worker died before acknowledging")

    with pytest.raises(RuntimeError):
        desk.drain_events(dies_after_handling)
    assert 1 == desk.drain_events(care.handle)  # the next worker gets the same event again
    desk.clock.set(T0 + 3 * H)  # type: ignore[attr-defined]
    assert 1 == len(care.run_due().sent)


# -- threads -------------------------------------------------------------------------------------


class LockedHandler(RecordingHandler):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def handle(self, decision: Escalation, ticket: Ticket) -> None:
        with self.lock:
            self.calls.append(decision.key)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_sixteen_threads_share_one_store(kind: str, tmp_path: Path) -> None:
    """Threads open, answer and tick over one store: no error, each breach handed over once."""
    store: TicketStore = (
        InMemoryTicketStore() if kind == "memory" else SqliteTicketStore(tmp_path / "d.sqlite3")
    )
    handler = LockedHandler()
    clock = ManualClock(T0)
    ladder = EscalationPolicy([EscalationLevel("missed", AtBreach(FR), [Notify("lead")])])
    desk = Desk(store, clock=clock, escalation=ladder, handler=handler)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                desk.open(f"C-{n}-{i}", channel="phone", customer_id="c")
                if i % 2:
                    desk.apply(f"C-{n}-{i}", "agent_reply")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def tick() -> None:
        try:
            for _ in range(10):
                desk.tick(limit=20)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clock.set(T0 + M)
    tickers = [threading.Thread(target=tick) for _ in range(16)]
    for t in tickers:
        t.start()
    for t in tickers:
        t.join()
    assert [] == errors
    expected = {f"C-{n}-{i}/missed/first_response/1" for n in range(16) for i in range(0, 25, 2)}
    assert expected == set(handler.calls)
    assert len(expected) == len(handler.calls)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_late_event_is_stored_at_its_place_by_every_store(kind: str, tmp_path: Path) -> None:
    """The stored log equals the ticket the desk returned: the later events were rewritten."""
    store: TicketStore = (
        InMemoryTicketStore() if kind == "memory" else SqliteTicketStore(tmp_path / "d.sqlite3")
    )
    desk = desk_on(store)
    desk.open("C-1", channel="phone", customer_id="c")
    desk.clock.set(T0 + 40 * S)  # type: ignore[attr-defined]
    desk.tick()
    desk.apply("C-1", "hold")
    late = desk.apply("C-1", "agent_reply", at=T0 + 20 * S, idempotency_key="pbx-1")
    assert ["created", "agent_reply", "escalate", "escalate", "hold"] == [
        e.kind for e in late.events
    ]
    assert late == store.get("C-1")
    assert late == desk.apply("C-1", "agent_reply", at=T0 + 20 * S, idempotency_key="pbx-1")


def test_an_inform_customer_handler_tells_the_new_deadline() -> None:
    """The ETA notice rendered inside the handler carries the deadline after the raise."""
    ladder = EscalationPolicy(
        [EscalationLevel("hurry", AtBreach(FR), [RaisePriority(Priority.URGENT), InformCustomer()])]
    )
    directory = InMemoryDirectory(
        [Customer("siti", name="Siti", locale="id", timezone="Asia/Jakarta")]
    )
    told: list[str] = []

    class Teller(RecordingHandler):
        def handle(self, decision: Escalation, ticket: Ticket) -> None:
            told.append(desk.eta_message(ticket.id, eta=decision.eta).body)

    desk = Desk(
        InMemoryTicketStore(),
        clock=ManualClock(T0),
        escalation=ladder,
        handler=Teller(),
        directory=directory,
    )
    desk.open("E-1", channel="email", customer_id="siti")
    desk.clock.set(T0 + 25 * H)  # type: ignore[attr-defined]
    desk.tick()
    assert "3 Mar 2026 00.00.00" in told[0]  # T0 + 8 h (urgent), in Jakarta time, not 5 Mar


def test_no_survey_after_an_abandoned_call() -> None:
    """The resolution's own data travels with its care event: a hung-up caller gets no CSAT."""
    customers = InMemoryDirectory([Customer("c", name="Citra", locale="id", consent={"email"})])
    desk = desk_on(InMemoryTicketStore())
    care = CampaignScheduler(
        [csat_after_resolution()],
        InMemoryJobStore(),
        RecordingSender(),
        customers,
        clock=desk.clock,
    )
    desk.open("C-1", channel="phone", customer_id="c")
    desk.apply("C-1", "resolve", actor="caller", abandoned=True)
    desk.open("C-2", channel="phone", customer_id="c")
    desk.apply("C-2", "agent_reply")
    desk.apply("C-2", "resolve")
    enrolled: list[str] = []
    desk.drain_events(lambda e: enrolled.extend(t.key for t in care.handle(e)))
    assert [e.split("/")[-1].split("@")[0] for e in enrolled] == ["C-2"]


def test_an_apply_that_meets_a_concurrent_save_is_applied_on_the_newer_ticket() -> None:
    """Another writer saves between the apply's load and save: applied again, nothing lost."""

    class Racing(InMemoryTicketStore):
        raced = False

        def get(self, ticket_id: str) -> Ticket:
            ticket = super().get(ticket_id)
            if not self.raced and ticket.version == 1:
                self.raced = (
                    True  # the other writer saves first; this reader now holds a stale copy
                )
                note = Lifecycle().apply(ticket, "add_note", at=ticket.created_at, text="called")
                super().save(note, expected_version=1)
            return ticket

    desk = desk_on(Racing())
    desk.open("E-1", channel="email", customer_id="c")
    ticket = desk.apply("E-1", "agent_reply")
    assert ["created", "add_note", "agent_reply"] == [e.kind for e in ticket.events]
    assert ticket == desk.store.get("E-1")
