from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carekit import (
    AfterBreach,
    AtBreach,
    Before,
    Channel,
    Customer,
    Desk,
    EscalationLevel,
    EscalationPolicy,
    Idle,
    InformCustomer,
    Metric,
    Notify,
    Priority,
    RaisePriority,
    Reassign,
    Reopened,
    SlaPolicy,
    Status,
    Ticket,
)
from carekit._escalation import fired_keys
from carekit.exceptions import ConcurrentUpdate, InvalidTransition, InvalidValue, TicketNotFound
from carekit.stores.memory import InMemoryTicketStore
from carekit.stores.sqlite import SqliteTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingHandler

FR, NR, PU, RES = Metric
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
S = timedelta(seconds=1)

EMAIL_LADDER = EscalationPolicy(
    [
        EscalationLevel("warn", Before(FR, 0.75), [Notify("agent")]),
        EscalationLevel("supervisor", AtBreach(FR), [Notify("supervisor")]),
        EscalationLevel("manager", AfterBreach(FR, 4 * H), [Notify("manager"), RaisePriority()]),
    ]
)
CALL_LADDER = EscalationPolicy(
    [
        EscalationLevel("ringing", Before(FR, 0.75), [Notify("floor")]),
        EscalationLevel("missed", AtBreach(FR), [Notify("supervisor")]),
    ]
)


def make_desk(
    escalation: EscalationPolicy, store: object = None, **kw: object
) -> tuple[Desk, ManualClock, RecordingHandler]:
    clock = ManualClock(T0)
    handler = RecordingHandler()
    desk = Desk(
        store if store is not None else InMemoryTicketStore(),  # type: ignore[arg-type]
        clock=clock,
        escalation=escalation,
        handler=handler,
        **kw,  # type: ignore[arg-type]
    )
    return desk, clock, handler


def levels_at(desk: Desk, clock: ManualClock, *offsets: timedelta) -> list[list[str]]:
    out = []
    for offset in offsets:
        clock.set(T0 + offset)
        out.append([d.level for d in desk.tick()])
    return out


def test_email_warns_at_18h_then_supervisor_then_manager() -> None:
    """A 24 h email: warning at 18 h, supervisor at 24 h, manager 4 h after the breach."""
    desk, clock, handler = make_desk(EMAIL_LADDER)
    desk.open("E-1", channel="email", customer_id="c")
    assert [[], ["warn"], [], ["supervisor"], [], ["manager"], []] == levels_at(
        desk, clock, 17 * H, 18 * H, 23 * H, 24 * H, 27 * H, 28 * H, 40 * H
    )
    assert [
        "E-1/warn/first_response/1",
        "E-1/supervisor/first_response/1",
        "E-1/manager/first_response/1",
    ] == [d.key for d in handler.handled]
    assert Priority.HIGH is desk.store.get("E-1").priority  # RaisePriority applied by the desk


def test_ringing_call_at_risk_at_22_5s_and_breached_at_30s() -> None:
    """The 30 s pickup: at-risk decision at 22.5 s, breach at 30 s, each once."""
    desk, clock, handler = make_desk(CALL_LADDER)
    desk.open("C-1", channel="phone", customer_id="c")
    assert [[], ["ringing"], [], ["missed"], []] == levels_at(
        desk, clock, 22 * S, timedelta(seconds=22.5), 29 * S, 30 * S, 31 * S
    )
    assert [T0 + timedelta(seconds=22.5), T0 + 30 * S] == [d.due_at for d in handler.handled]


def test_answered_call_does_not_escalate() -> None:
    """A pickup at 20 s stops the clock: nothing fires, nothing stays due."""
    desk, clock, handler = make_desk(CALL_LADDER)
    desk.open("C-1", channel="phone", customer_id="c")
    clock.set(T0 + 20 * S)
    desk.apply("C-1", "agent_reply")
    assert [[], []] == levels_at(desk, clock, 25 * S, H)
    assert [] == desk.store.due(T0 + 10 * H)


def test_vip_only_level_fires_only_for_vips() -> None:
    """A level with a condition on the customer's tier skips other customers."""
    vip_only = EscalationPolicy(
        [
            EscalationLevel(
                "vip desk",
                AtBreach(FR),
                [Notify("vip_desk")],
                condition=lambda t, c: c is not None and c.tier == "vip",
            )
        ]
    )
    directory = InMemoryDirectory([Customer("gold", tier="vip"), Customer("plain")])
    desk, clock, handler = make_desk(vip_only, directory=directory)
    desk.open("V", channel="email", customer_id="gold")
    desk.open("P", channel="email", customer_id="plain")
    clock.set(T0 + 25 * H)
    assert ["V"] == [d.ticket_id for d in desk.tick()]


def test_paused_ticket_does_not_escalate_while_paused() -> None:
    """Resolution pauses while pending: no warning until the customer answers."""
    ladder = EscalationPolicy([EscalationLevel("late", AtBreach(RES), [Notify("lead")])])
    policy = SlaPolicy("p", {RES: 10 * H})
    desk, clock, handler = make_desk(ladder, policies=policy)
    desk.open("E-1", channel="email", customer_id="c")
    clock.set(T0 + 2 * H)
    desk.apply("E-1", "wait_on_customer")
    assert [[], []] == levels_at(desk, clock, 11 * H, 30 * H)
    clock.set(T0 + 30 * H)
    desk.apply("E-1", "customer_reply")  # 28 h paused: due at 38 h
    assert [[], ["late"]] == levels_at(desk, clock, 37 * H, 38 * H)


def test_priority_raise_does_not_fire_a_level_twice() -> None:
    """After RaisePriority tightens the target, the already-fired level stays fired."""
    ladder = EscalationPolicy(
        [
            EscalationLevel(
                "warn", Before(RES, 0.5), [Notify("lead"), RaisePriority(Priority.URGENT)]
            )
        ]
    )
    desk, clock, handler = make_desk(ladder)
    desk.open("E-1", channel="email", customer_id="c")  # normal: 72 h, warn at 36 h
    assert [["warn"], [], []] == levels_at(desk, clock, 36 * H, 37 * H, 80 * H)
    ticket = desk.store.get("E-1")
    assert Priority.URGENT is ticket.priority  # urgent: 8 h, long past
    assert 1 == len(handler.handled)


def test_new_customer_message_starts_a_new_cycle() -> None:
    """Next-response levels fire once per cycle: a new customer message, a new key."""
    ladder = EscalationPolicy([EscalationLevel("slow", AtBreach(NR), [Notify("lead")])])
    desk, clock, handler = make_desk(ladder)
    desk.open("E-1", channel="chat", customer_id="c")
    clock.set(T0 + 10 * S)
    desk.apply("E-1", "agent_reply")
    clock.set(T0 + 20 * S)
    desk.apply("E-1", "customer_reply")  # chat next response: 2 min
    assert [["slow"], []] == levels_at(desk, clock, 20 * S + 2 * timedelta(minutes=1), H)
    clock.set(T0 + 2 * H)
    desk.apply("E-1", "agent_reply")
    clock.set(T0 + 3 * H)
    desk.apply("E-1", "customer_reply")
    assert [["slow"]] == levels_at(desk, clock, 3 * H + 2 * timedelta(minutes=1))
    assert ["E-1/slow/next_response/1", "E-1/slow/next_response/2"] == [
        d.key for d in handler.handled
    ]


def test_resolving_stops_what_was_pending() -> None:
    """A ticket resolved before its breach never escalates."""
    desk, clock, handler = make_desk(EMAIL_LADDER)
    desk.open("E-1", channel="email", customer_id="c")
    clock.set(T0 + H)
    desk.apply("E-1", "resolve")
    assert [[], []] == levels_at(desk, clock, 30 * H, 100 * H)
    assert [] == handler.handled


def test_reassign_and_inform_customer() -> None:
    """Reassign is applied by the desk; InformCustomer goes to the handler."""
    ladder = EscalationPolicy(
        [EscalationLevel("tier2", AtBreach(FR), [Reassign("tier2"), InformCustomer()])]
    )
    desk, clock, handler = make_desk(ladder)
    desk.open("E-1", channel="email", customer_id="c")
    clock.set(T0 + 24 * H)
    [decision] = desk.tick()
    assert "tier2" == desk.store.get("E-1").assignee
    assert [decision] == handler.handled
    assert InformCustomer() in decision.actions


def test_handler_failure_is_retried_and_not_marked_fired() -> None:
    """A raising handler loses nothing: the decision comes back on the next tick."""
    desk, clock, handler = make_desk(CALL_LADDER)
    handler.fail_times = 2
    desk.open("C-1", channel="phone", customer_id="c")
    clock.set(T0 + 23 * S)
    assert [] == desk.tick()
    assert [] == desk.tick()
    assert "escalate" not in [e.kind for e in desk.store.get("C-1").events]
    assert ["ringing"] == [d.level for d in desk.tick()]
    assert ["ringing"] == [d.level for d in handler.handled]


def test_idle_and_reopened_triggers() -> None:
    """Idle fires after no agent activity; Reopened on the second reopen."""
    ladder = EscalationPolicy(
        [
            EscalationLevel("idle", Idle(4 * H), [Notify("lead")]),
            EscalationLevel("ping-pong", Reopened(times=2), [Notify("quality")]),
        ]
    )
    desk, clock, handler = make_desk(ladder, policies=SlaPolicy("none", {}))
    desk.open("E-1", channel="email", customer_id="c")
    clock.set(T0 + 3 * H)
    desk.apply("E-1", "agent_reply", actor="dewi")
    assert [[], ["idle"]] == levels_at(desk, clock, 6 * H, 7 * H)
    for n, trigger in enumerate(["resolve", "reopen", "resolve", "reopen"], start=8):
        clock.set(T0 + n * H)
        desk.apply("E-1", trigger)
    clock.set(T0 + 11 * H + 1 * S)
    assert ["ping-pong"] == [d.level for d in desk.tick()]


def test_tick_loads_only_what_is_due() -> None:
    """With 1,000 open tickets and 3 due, a tick loads 3 tickets."""

    class CountingStore(InMemoryTicketStore):
        def __init__(self) -> None:
            super().__init__()
            self.loads = 0

        def get(self, ticket_id: str) -> Ticket:
            self.loads += 1
            return super().get(ticket_id)

    store = CountingStore()
    desk, clock, handler = make_desk(EMAIL_LADDER, store=store)
    for i in range(1000):
        clock.set(T0 + i * timedelta(minutes=1))
        desk.open(f"E-{i}", channel="email", customer_id="c")
    store.loads = 0
    clock.set(T0 + 18 * H + 2 * timedelta(minutes=1))  # the first three reach their warning
    fired = desk.tick()
    assert ["E-0", "E-1", "E-2"] == [d.ticket_id for d in fired]
    assert 3 == store.loads


def test_restart_on_sqlite_fires_nothing_twice_and_loses_nothing(tmp_path: Path) -> None:
    """Tick, drop the desk, open another on the same file, tick: exactly-once decisions."""
    path = tmp_path / "desk.sqlite3"
    desk, clock, handler = make_desk(EMAIL_LADDER, store=SqliteTicketStore(path))
    desk.open("E-1", channel="email", customer_id="c")
    clock.set(T0 + 10 * H)
    desk.open("E-2", channel="email", customer_id="c")
    clock.set(T0 + 24 * H)
    first = [d.key for d in desk.tick()]
    assert ["E-1/warn/first_response/1", "E-1/supervisor/first_response/1"] == first
    desk.store.close()  # type: ignore[attr-defined]

    again, clock2, handler2 = make_desk(EMAIL_LADDER, store=SqliteTicketStore(path))
    clock2.set(T0 + 24 * H)
    assert [] == again.tick()
    clock2.set(T0 + 28 * H)
    assert ["E-2/warn/first_response/1", "E-1/manager/first_response/1"] == sorted(
        (d.key for d in again.tick()), key=lambda k: k.startswith("E-1")
    )


def test_bad_input_is_typed_and_changes_nothing() -> None:
    """Unknown ticket, refused trigger, stale save: typed errors, store unchanged."""
    desk, clock, handler = make_desk(EMAIL_LADDER)
    with pytest.raises(TicketNotFound):
        desk.apply("nope", "agent_reply")
    ticket = desk.open("E-1", channel="email", customer_id="c")
    due = desk.store.due(T0 + 100 * H)
    with pytest.raises(InvalidTransition):
        desk.apply("E-1", "close")
    assert ticket == desk.store.get("E-1")
    stale = desk.store.get("E-1")
    desk.apply("E-1", "agent_reply")
    with pytest.raises(ConcurrentUpdate):
        desk.store.save(
            desk.lifecycle.apply(stale, "resolve", at=T0), expected_version=stale.version
        )
    assert Status.OPEN == desk.store.get("E-1").status
    assert due == ["E-1"]
    with pytest.raises(InvalidValue):
        Before(FR, fraction=0.5, lead=H)
    with pytest.raises(InvalidValue):
        EscalationPolicy(
            [EscalationLevel("a", AtBreach(FR), []), EscalationLevel("a", AtBreach(FR), [])]
        )


def test_decide_is_pure() -> None:
    """decide() on the same ticket, report and now gives the same decisions, keyed stably."""
    policy = SlaPolicy.default()
    call = Ticket.open("C-1", channel=Channel.PHONE, customer_id="c", at=T0)
    now = T0 + 40 * S
    report = policy.evaluate(call, now=now)
    first = CALL_LADDER.decide(call, report, now=now)
    assert first == CALL_LADDER.decide(call, report, now=now)
    assert ["C-1/ringing/first_response/1", "C-1/missed/first_response/1"] == [d.key for d in first]
    assert () == CALL_LADDER.decide(call, report, now=now, fired={d.key for d in first})


def test_inform_customer_message_in_their_language_and_zone() -> None:
    """The ETA notice carries the resolution deadline in the customer's zone and language."""
    directory = InMemoryDirectory(
        [Customer("siti", name="Siti", locale="id", timezone="Asia/Jakarta")]
    )
    desk, clock, handler = make_desk(EMAIL_LADDER, directory=directory)
    desk.open("E-1", channel="email", customer_id="siti")  # normal: resolution in 72 h
    message = desk.eta_message("E-1")
    assert "id" == message.locale
    assert "paling lambat 5 Mar 2026 16.00.00" in message.body  # 09:00 UTC + 72 h, in WIB
    assert message.body.startswith("Halo Siti")


def test_fired_keys_are_read_from_the_ticket() -> None:
    """The keys a desk recorded are on the ticket, and decide() skips them by default."""
    desk, clock, handler = make_desk(CALL_LADDER)
    desk.open("C-1", channel="phone", customer_id="c")
    clock.set(T0 + 31 * S)
    desk.tick()
    ticket = desk.store.get("C-1")
    assert {"C-1/ringing/first_response/1", "C-1/missed/first_response/1"} == fired_keys(ticket)
    report = SlaPolicy.default().evaluate(ticket, now=T0 + 40 * S)
    assert () == CALL_LADDER.decide(ticket, report, now=T0 + 40 * S)
