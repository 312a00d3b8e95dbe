"""carekit.aio: the async fronts decide exactly as the sync ones, because they run the same steps.

The equivalence tests drive a sync desk and scheduler and their async twins
through the same random days (opens, replies, refused triggers, late events,
ticks, campaigns) and compare everything: answers, errors, tickets, hand-overs,
outboxes and messages. The rest checks what only the async side has: awaiting
async parts, refusing them in a sync front, the worker task loop (under
asyncio and trio), and several tasks on one PostgreSQL schema.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carekit import (
    AtBreach,
    Before,
    Customer,
    Desk,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
    RaisePriority,
    Ticket,
)
from carekit.aio import (
    AsyncCampaignScheduler,
    AsyncDesk,
    AsyncInMemoryJobStore,
    AsyncInMemoryTicketStore,
    AsyncPostgresJobStore,
    AsyncPostgresTicketStore,
)
from carekit.campaigns import CampaignScheduler, RunReport, Touch
from carekit.campaigns.recipes import apology_after_breach, csat_after_resolution
from carekit.exceptions import CarekitError, InvalidType, StoreError
from carekit.i18n import Message
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingSender

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LADDER = EscalationPolicy(
    [
        EscalationLevel("warn", Before(Metric.FIRST_RESPONSE, 0.5), [Notify("lead")]),
        EscalationLevel("missed", AtBreach(Metric.FIRST_RESPONSE), [Notify("supervisor")]),
        EscalationLevel("late", AtBreach(Metric.RESOLUTION), [RaisePriority(), Notify("head")]),
    ]
)
CUSTOMERS = [
    Customer(
        "siti", name="Siti", locale="id", timezone="Asia/Jakarta", consent={"email", "whatsapp"}
    ),
    Customer("john", name="John", locale="en_US", timezone="America/New_York", consent={"email"}),
]
CAMPAIGNS = [csat_after_resolution(timedelta(minutes=30)), apology_after_breach()]


class Pager:
    """A sync handler: records each key once, and fails for tickets named in ``broken``."""

    def __init__(self, broken: frozenset[str] = frozenset()) -> None:
        self.seen: list[str] = []
        self.broken = broken

    def handle(self, escalation: Escalation, ticket: Ticket) -> None:
        if ticket.id in self.broken:
            raise RuntimeError("pager down")
        self.seen.append(escalation.key)


class AsyncPager(Pager):
    """The same handler, async (it yields to the loop before recording)."""

    async def handle(self, escalation: Escalation, ticket: Ticket) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().handle(escalation, ticket)


class AsyncSender(RecordingSender):
    """RecordingSender, async."""

    async def send(  # type: ignore[override]
        self, message: Message, *, customer: Customer, channel: Any, key: str
    ) -> None:
        await asyncio.sleep(0)
        super().send(message, customer=customer, channel=channel, key=key)


class AsyncDirectory(InMemoryDirectory):
    """InMemoryDirectory, async."""

    async def get(self, customer_id: str) -> Customer | None:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().get(customer_id)


OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("open"),
            st.integers(0, 5),
            st.sampled_from(["phone", "email", "chat", "whatsapp"]),
            st.sampled_from(["siti", "john", "nobody"]),
        ),
        st.tuples(
            st.just("apply"),
            st.integers(0, 5),
            st.sampled_from(
                ["agent_reply", "customer_reply", "resolve", "reopen", "close", "teleport"]
            ),
            st.integers(-90, 5),  # minutes before now: late webhooks, and a few from the future
        ),
        st.tuples(st.just("advance"), st.integers(1, 60 * 30)),
        st.tuples(st.just("tick"), st.integers(1, 4)),
        st.tuples(st.just("care"), st.integers(1, 5)),
    ),
    max_size=40,
)


def _outcome(call: Any) -> object:
    try:
        return call()
    except CarekitError as exc:
        return exc.code


async def _outcome_async(call: Any) -> object:
    try:
        return await call()
    except CarekitError as exc:
        return exc.code


def _summary(result: object) -> object:
    """What to compare of an answer (tick results carry failures and counts too)."""
    failures = getattr(result, "failures", None)
    if failures is not None:
        return (list(result), failures, result.claimed)  # type: ignore[call-overload, attr-defined]
    return result


def sync_day(ops: list[tuple[Any, ...]], broken: frozenset[str]) -> list[object]:
    clock = ManualClock(T0)
    pager = Pager(broken)
    desk = Desk(
        InMemoryTicketStore(),
        clock=clock,
        escalation=LADDER,
        handler=pager,
        directory=InMemoryDirectory(CUSTOMERS),
    )
    sender = RecordingSender()
    care = CampaignScheduler(
        CAMPAIGNS, InMemoryJobStore(), sender, InMemoryDirectory(CUSTOMERS), clock=clock
    )
    log: list[object] = []
    for op in ops:
        kind = op[0]
        if kind == "open":
            log.append(_outcome(partial(desk.open, f"T-{op[1]}", channel=op[2], customer_id=op[3])))
        elif kind == "apply":
            at = clock.now() - timedelta(minutes=op[3])
            log.append(_outcome(partial(desk.apply, f"T-{op[1]}", op[2], at=at)))
        elif kind == "advance":
            clock.advance(timedelta(minutes=op[1]))
        elif kind == "tick":
            log.append(_summary(desk.tick(limit=op[1])))
        else:
            log.append(desk.drain_events(care.handle, limit=op[1]))
            log.append(care.run_due())
    log += [pager.seen, sorted(desk.store, key=lambda t: t.id), desk.store.outbox(1000)]
    log.append({k: (c.id, ch, m) for k, (c, ch, m) in sender.sent.items()})
    return log


async def async_day(ops: list[tuple[Any, ...]], broken: frozenset[str]) -> list[object]:
    clock = ManualClock(T0)
    pager = AsyncPager(broken)
    desk = AsyncDesk(
        AsyncInMemoryTicketStore(),
        clock=clock,
        escalation=LADDER,
        handler=pager,
        directory=AsyncDirectory(CUSTOMERS),
    )
    sender = AsyncSender()
    care = AsyncCampaignScheduler(
        CAMPAIGNS, AsyncInMemoryJobStore(), sender, AsyncDirectory(CUSTOMERS), clock=clock
    )
    log: list[object] = []
    for op in ops:
        kind = op[0]
        if kind == "open":
            log.append(
                await _outcome_async(
                    partial(desk.open, f"T-{op[1]}", channel=op[2], customer_id=op[3])
                )
            )
        elif kind == "apply":
            at = clock.now() - timedelta(minutes=op[3])
            log.append(await _outcome_async(partial(desk.apply, f"T-{op[1]}", op[2], at=at)))
        elif kind == "advance":
            clock.advance(timedelta(minutes=op[1]))
        elif kind == "tick":
            log.append(_summary(await desk.tick(limit=op[1])))
        else:
            log.append(await desk.drain_events(care.handle, limit=op[1]))
            log.append(await care.run_due())
    tickets = [t async for t in desk.store]
    log += [pager.seen, sorted(tickets, key=lambda t: t.id), await desk.store.outbox(1000)]
    log.append({k: (c.id, ch, m) for k, (c, ch, m) in sender.sent.items()})
    return log


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, broken=st.frozensets(st.sampled_from(["T-1", "T-2"]), max_size=1))
def test_the_async_fronts_do_exactly_what_the_sync_ones_do(
    ops: list[tuple[Any, ...]], broken: frozenset[str]
) -> None:
    """Same days, same everything: answers, typed errors, tickets, hand-overs, outbox, messages."""
    assert sync_day(ops, broken) == asyncio.run(async_day(ops, broken))


def test_a_day_with_everything_in_it_is_not_empty() -> None:
    """The equivalence is about real work: a fixed day hands over, sends and refuses."""
    ops: list[tuple[Any, ...]] = [
        ("open", 1, "email", "siti"),
        ("open", 1, "email", "siti"),  # taken
        ("apply", 1, "teleport", 0),  # unknown trigger
        ("advance", 60 * 25),
        ("tick", 4),
        ("apply", 1, "agent_reply", 0),
        ("apply", 1, "resolve", 0),
        ("care", 5),
        ("advance", 40),
        ("care", 5),
    ]
    log = sync_day(ops, frozenset())
    assert log == asyncio.run(async_day(ops, frozenset()))
    assert "ticket_exists" in log
    assert "unknown_trigger" in log
    handed = cast("list[str]", log[-4])
    assert {"T-1/warn/first_response/1", "T-1/missed/first_response/1"} <= set(handed)
    sent = cast("dict[str, object]", log[-1])
    assert {"csat_after_resolution"} == {k.split("/")[0] for k in sent}
    [apology] = [r for r in log if isinstance(r, RunReport) and r.suppressed]
    assert "voucher_code} is missing" in apology.suppressed[0][1]  # no care_data hook: refused


def test_a_sync_front_refuses_async_parts_when_made() -> None:
    """An async handler, directory, store or sender in a sync front: a typed error, at once."""
    with pytest.raises(InvalidType, match="handler") as info:
        Desk(InMemoryTicketStore(), handler=AsyncPager())
    assert isinstance(info.value, TypeError)
    with pytest.raises(InvalidType, match="store"):
        Desk(AsyncInMemoryTicketStore())
    with pytest.raises(InvalidType, match="directory"):
        Desk(InMemoryTicketStore(), directory=AsyncDirectory([]))
    with pytest.raises(InvalidType, match="sender"):
        CampaignScheduler([], InMemoryJobStore(), AsyncSender(), InMemoryDirectory([]))


def test_an_async_front_takes_plain_parts_too() -> None:
    """A plain handler and directory in an AsyncDesk are called as they are."""

    async def day() -> list[str]:
        clock = ManualClock(T0)
        pager = Pager()
        desk = AsyncDesk(
            AsyncInMemoryTicketStore(),
            clock=clock,
            escalation=LADDER,
            handler=pager,
            directory=InMemoryDirectory(CUSTOMERS),
        )
        await desk.open("T-1", channel="phone", customer_id="siti")
        clock.advance(timedelta(minutes=5))
        await desk.tick()
        return pager.seen

    assert ["T-1/warn/first_response/1", "T-1/missed/first_response/1"] == asyncio.run(day())


def test_async_methods_check_their_arguments_when_awaited() -> None:
    """A wrong type is the same typed error as in the sync desk, raised by the await."""
    desk = AsyncDesk(AsyncInMemoryTicketStore())
    call = desk.tick(now="yesterday")  # type: ignore[arg-type]
    with pytest.raises(InvalidType, match="now"):
        asyncio.run(call)


def test_the_worker_task_runs_until_stopped_and_hands_each_breach_over_once() -> None:
    """AsyncDesk.run as a task beside others; stopping it ends it; each key once."""

    async def day() -> tuple[int, list[str]]:
        pager = AsyncPager()
        desk = AsyncDesk(AsyncInMemoryTicketStore(), escalation=LADDER, handler=pager)
        past = datetime.now(UTC) - timedelta(minutes=10)
        for i in range(5):
            await desk.open(f"T-{i}", channel="phone", customer_id="c", at=past)
        stop = asyncio.Event()
        workers = [
            asyncio.create_task(desk.run(stop, poll=timedelta(milliseconds=20))) for _ in range(3)
        ]
        for _ in range(200):
            if len(pager.seen) >= 10:
                break
            await asyncio.sleep(0.01)
        stop.set()
        busy = sum(await asyncio.gather(*workers))
        return busy, pager.seen

    busy, seen = asyncio.run(day())
    assert busy >= 1
    assert sorted(seen) == sorted(set(seen))
    assert 10 == len(seen)  # warn and missed for each of the 5 calls


def test_the_worker_loops_run_under_trio_through_anyio() -> None:
    """The in-memory async stores and the worker loops need no asyncio: trio runs them."""
    import anyio  # noqa: PLC0415 - dev extras: anyio and trio
    import trio  # noqa: PLC0415

    class TrioPager(Pager):
        async def handle(self, escalation: Escalation, ticket: Ticket) -> None:  # type: ignore[override]
            await trio.sleep(0)
            super().handle(escalation, ticket)

    async def day() -> tuple[list[str], int]:
        pager = TrioPager()
        sender = RecordingSender()
        clock = ManualClock(T0 + timedelta(minutes=10))
        desk = AsyncDesk(AsyncInMemoryTicketStore(), clock=clock, escalation=LADDER, handler=pager)
        care = AsyncCampaignScheduler(
            CAMPAIGNS, AsyncInMemoryJobStore(), sender, InMemoryDirectory(CUSTOMERS), clock=clock
        )
        await desk.open("T-1", channel="phone", customer_id="siti", at=T0)
        survey = Touch("csat_after_resolution/siti/0/T-1", "csat_after_resolution", "siti", 0,
                       "T-1", T0, "csat_survey",
                       fields={"name": "Siti", "ticket_id": "T-1"})  # fmt: skip
        assert await care.jobs.enqueue(survey, enrolled_at=T0)
        stop = anyio.Event()
        rounds = 0
        async with anyio.create_task_group() as tasks:

            async def work() -> None:
                nonlocal rounds
                rounds += await care.run(stop, poll=timedelta(milliseconds=20))

            tasks.start_soon(desk.run, stop)
            tasks.start_soon(work)
            with anyio.move_on_after(5):
                while len(pager.seen) < 2 or not sender.sent:
                    await trio.sleep(0.01)
            stop.set()
        return pager.seen, len(sender.sent)

    seen, sent = trio.run(day)
    assert ["T-1/warn/first_response/1", "T-1/missed/first_response/1"] == seen
    assert 1 == sent


# -- PostgreSQL, async ---------------------------------------------------------------------


@pytest.fixture
def pg(pg_dsn: str, pg_schema: str) -> tuple[str, str]:
    return pg_dsn, pg_schema


def test_async_postgres_tasks_hand_each_breach_over_once(pg: tuple[str, str]) -> None:
    """Four worker tasks, each with its own pool, on one schema: 60 breaches, each once."""
    dsn, schema = pg

    async def day() -> tuple[list[str], int]:
        pager = AsyncPager()
        async with AsyncPostgresTicketStore(dsn, schema=schema, create=True) as front:
            desk = AsyncDesk(front, escalation=LADDER, handler=pager)
            past = datetime.now(UTC) - timedelta(minutes=10)
            await asyncio.gather(
                *(desk.open(f"T-{i}", channel="phone", customer_id="c", at=past) for i in range(30))
            )
            stop = asyncio.Event()
            stores = [AsyncPostgresTicketStore(dsn, schema=schema) for _ in range(4)]
            for store in stores:
                await store.open()
            workers = [
                asyncio.create_task(
                    AsyncDesk(store, escalation=LADDER, handler=pager).run(
                        stop, poll=timedelta(milliseconds=50), limit=5
                    )
                )
                for store in stores
            ]
            for _ in range(500):
                if len(pager.seen) >= 60:
                    break
                await asyncio.sleep(0.02)
            stop.set()
            await asyncio.gather(*workers)
            for store in stores:
                await store.close()
            return pager.seen, len(await front.due(datetime.now(UTC)))

    seen, still_due = asyncio.run(day())
    assert 60 == len(seen)
    assert len(seen) == len(set(seen))
    assert 0 == still_due


def test_an_async_worker_wakes_on_notify(pg: tuple[str, str]) -> None:
    """A worker polling hourly wakes when a save announces a due instant (LISTEN/NOTIFY)."""
    dsn, schema = pg

    async def day() -> float:
        pager = AsyncPager()
        async with (
            AsyncPostgresTicketStore(dsn, schema=schema, create=True) as worker_store,
            AsyncPostgresTicketStore(dsn, schema=schema) as web_store,
        ):
            stop = asyncio.Event()
            worker = AsyncDesk(worker_store, escalation=LADDER, handler=pager)
            task = asyncio.create_task(worker.run(stop, poll=timedelta(hours=1)))
            await asyncio.sleep(0.3)  # the worker found nothing and listens
            started = asyncio.get_running_loop().time()
            web = AsyncDesk(web_store, escalation=LADDER)
            await web.open(
                "T-1", channel="phone", customer_id="c", at=datetime.now(UTC) - timedelta(minutes=5)
            )
            while len(pager.seen) < 2:
                await asyncio.sleep(0.01)
                assert asyncio.get_running_loop().time() - started < 10
            elapsed = asyncio.get_running_loop().time() - started
            stop.set()
            await task
            return elapsed

    assert asyncio.run(day()) < 5  # not the hour of its poll


def test_an_async_store_that_is_not_open_or_cannot_connect_says_so(pg: tuple[str, str]) -> None:
    """Typed StoreErrors: used before open; no server; no tables without create."""
    dsn, schema = pg
    store = AsyncPostgresJobStore(dsn, schema=schema)
    with pytest.raises(StoreError, match="not open"):
        asyncio.run(store.last_enrolled("x"))
    with pytest.raises(StoreError, match="not open"):
        asyncio.run(store.wait(0.1))
    with pytest.raises(StoreError, match="db upgrade"):
        asyncio.run(store.open())
    nowhere = AsyncPostgresJobStore("postgresql://postgres@127.0.0.1:1/none", schema=schema)
    with pytest.raises(StoreError, match="connect"):
        asyncio.run(nowhere.open())


def test_sync_and_async_stores_share_one_schema(pg: tuple[str, str]) -> None:
    """A ticket saved by the async store is read by the sync one, and back."""
    from carekit.stores.postgres import PostgresTicketStore  # noqa: PLC0415

    dsn, schema = pg

    async def write() -> Ticket:
        async with AsyncPostgresTicketStore(dsn, schema=schema, create=True) as store:
            desk = AsyncDesk(store)
            await desk.open("T-1", channel="email", customer_id="c")
            return await desk.apply("T-1", "agent_reply")

    written = asyncio.run(write())
    sync = PostgresTicketStore(dsn, schema=schema)
    try:
        assert written == sync.get("T-1")
        resolved = Desk(sync).apply("T-1", "resolve")
    finally:
        sync.close()

    async def read() -> Ticket:
        async with AsyncPostgresTicketStore(dsn, schema=schema) as store:
            return await store.get("T-1")

    assert resolved == asyncio.run(read())


def test_stop_is_seen_promptly_by_a_thread_free_loop() -> None:
    """A stopped AsyncDesk.run with an hour's poll returns within a second or so."""

    async def day() -> float:
        desk = AsyncDesk(AsyncInMemoryTicketStore(), escalation=LADDER)
        stop = asyncio.Event()
        task = asyncio.create_task(desk.run(stop, poll=timedelta(hours=1)))
        await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        stop.set()
        await task
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(day()) < 2
    assert threading.active_count() >= 1
