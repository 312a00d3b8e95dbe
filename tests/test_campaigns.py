"""Campaign planning and decisions (pure), and the scheduler over both job stores."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest

from carekit import Channel, Customer
from carekit.campaigns import (
    Campaign,
    CampaignScheduler,
    Cap,
    CareEvent,
    Defer,
    Expired,
    OnEvent,
    OnSegment,
    Rejected,
    RetryLater,
    Send,
    SendWindow,
    Sent,
    Step,
    Suppress,
    Touch,
    decide_touch,
    plan_touches,
)
from carekit.campaigns.recipes import (
    MARKETING_CAP,
    all_recipes,
    apology_after_breach,
    birthday_greeting,
    csat_after_resolution,
    nps_survey,
    periodic_check_in,
)
from carekit.exceptions import InvalidValue, JobNotFound
from carekit.i18n import TEMPLATES
from carekit.protocols import JobStore
from carekit.stores.memory import InMemoryJobStore
from carekit.stores.sqlite import SqliteJobStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingSender

from . import _workers
from ._blocking import async_store

H = timedelta(hours=1)
SITI = Customer(
    "siti", name="Siti", locale="id", timezone="Asia/Jakarta", consent={"email", "whatsapp"}
)
T1 = {"ticket_id": "T-1"}
JOHN = Customer("john", name="John", locale="en_US", timezone="America/New_York", consent={"email"})


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return pendulum.datetime(year, month, day, hour, minute, tz=zone)


@pytest.fixture(params=["memory", "sqlite", "postgres", "aio-memory", "aio-postgres"])
def jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param.startswith("aio-"):  # carekit.aio's stores, through a sync face
        from carekit.aio import AsyncPostgresJobStore  # noqa: PLC0415

        kind = "aio-memory-jobs" if request.param == "aio-memory" else "aio-postgres"
        yield from async_store(
            kind,
            request,
            lambda dsn, schema: AsyncPostgresJobStore(dsn, schema=schema, create=True),
        )
    elif request.param == "memory":
        yield InMemoryJobStore()
    elif request.param == "sqlite":
        store = SqliteJobStore(tmp_path / "jobs.sqlite3")
        yield store
        store.close()
    else:
        from carekit.stores.postgres import PostgresJobStore  # noqa: PLC0415 - an extra

        postgres = PostgresJobStore(
            request.getfixturevalue("pg_dsn"),
            schema=request.getfixturevalue("pg_schema"),
            create=True,
        )
        yield postgres
        postgres.close()


def make(
    jobs: JobStore, campaigns: list[Campaign], now: datetime, *customers: Customer
) -> tuple[CampaignScheduler, ManualClock, RecordingSender]:
    clock = ManualClock(now)
    sender = RecordingSender()
    directory = InMemoryDirectory(customers or (SITI, JOHN))
    scheduler = CampaignScheduler(campaigns, jobs, sender, directory, clock=clock)
    return scheduler, clock, sender


# -- the scenarios ------------------------------------------------------------------


def test_csat_next_day_in_the_window_in_each_customers_language(jobs: JobStore) -> None:
    """Resolved at 23:10 local: Jakarta hears at 09:00 WIB in Indonesian, New York at 09:00 EST."""
    resolved_jkt = local("Asia/Jakarta", 2026, 3, 2, 23, 10)
    resolved_ny = local("America/New_York", 2026, 3, 2, 23, 10)
    scheduler, clock, sender = make(jobs, [csat_after_resolution()], resolved_jkt)
    [siti] = scheduler.handle(
        CareEvent("ticket_resolved", "siti", resolved_jkt, data={"ticket_id": "T-1"})
    )
    [john] = scheduler.handle(
        CareEvent("ticket_resolved", "john", resolved_ny, data={"ticket_id": "T-2"})
    )
    assert local("Asia/Jakarta", 2026, 3, 3, 9, 0) == siti.due_at
    assert local("America/New_York", 2026, 3, 3, 9, 0) == john.due_at
    clock.set(siti.due_at)
    assert (siti.key,) == scheduler.run_due().sent
    clock.set(john.due_at)
    assert (john.key,) == scheduler.run_due().sent
    _, channel, message = sender.sent[siti.key]
    assert ("id", Channel.EMAIL) == (message.locale, channel)
    assert "permintaan Anda T-1 telah diselesaikan" in message.body
    assert "en" == sender.sent[john.key][2].locale
    assert "your request T-2 has been resolved" in sender.sent[john.key][2].body


def test_birthday_on_29_february(jobs: JobStore) -> None:
    """Born on 29 February: greeted on 28 February in common years, on the 29th in leap years."""
    leapling = attrs.evolve(SITI, birthday=date(2000, 2, 29))
    scheduler, clock, _ = make(
        jobs, [birthday_greeting()], datetime(2027, 1, 10, tzinfo=UTC), leapling
    )
    [touch] = scheduler.schedule([leapling])
    assert local("Asia/Jakarta", 2027, 2, 28, 9, 0) == touch.due_at
    assert touch.key.endswith("/2027")
    clock.set(datetime(2028, 1, 10, tzinfo=UTC))
    [touch] = scheduler.schedule([leapling])
    assert local("Asia/Jakarta", 2028, 2, 29, 9, 0) == touch.due_at
    assert [] == scheduler.schedule([leapling])  # already planned: idempotent


def test_send_time_in_a_dst_gap_moves_to_the_first_valid_instant() -> None:
    """A window opening at 02:30 on the spring-forward night opens at 03:00 EDT."""
    window = SendWindow("02:30", "05:00")
    at = local("America/New_York", 2026, 3, 8, 1, 0)
    assert datetime(2026, 3, 8, 7, 0, tzinfo=UTC) == window.next_open(at, "America/New_York")


def test_window_across_midnight() -> None:
    """20:00-02:00 means the evening and the small hours, not 02:00-20:00."""
    window = SendWindow("20:00", "02:00")
    zone = "Asia/Jakarta"
    one_am = local(zone, 2026, 3, 3, 1, 0)
    assert one_am == window.next_open(one_am, zone)
    assert local(zone, 2026, 3, 3, 20, 0) == window.next_open(local(zone, 2026, 3, 3, 3, 0), zone)
    assert local(zone, 2026, 3, 3, 21, 0) == window.next_open(local(zone, 2026, 3, 3, 21, 0), zone)


def test_cap_defers_the_third_touch(jobs: JobStore) -> None:
    """Two marketing touches a week: the third waits until the first is a week old."""
    cap = Cap(limit=2, period=timedelta(days=7), group="marketing")
    promo = Campaign("promo", OnEvent("purchase"), [Step(timedelta(0), "check_in")], cap=cap)
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    scheduler, clock, sender = make(jobs, [promo], start)
    for i in range(3):
        scheduler.handle(CareEvent("purchase", "siti", start + i * H, id=f"order-{i}"))
    clock.set(start + 3 * H)
    report = scheduler.run_due()
    assert 2 == len(report.sent)
    [(key, reason, until)] = report.deferred
    assert key.endswith("/order-2")
    assert "cap marketing: 2 per 7d" in reason
    assert start + timedelta(days=7) + 3 * H == until  # when the first send is a week old
    clock.set(start + timedelta(days=7))
    assert () == scheduler.run_due().sent  # not yet: both sends are younger than a week
    clock.set(start + timedelta(days=7) + 3 * H)  # the first send (at +3 h) is a week old
    assert (key,) == scheduler.run_due().sent


def test_missing_consent_falls_back_to_email() -> None:
    """Preferred WhatsApp without consent: email, with the reason recorded."""
    customer = attrs.evolve(JOHN, preferred_channel="whatsapp")
    campaign = csat_after_resolution()
    now = local("America/New_York", 2026, 3, 3, 10, 0)
    [touch] = plan_touches(campaign, customer, anchor=now - 2 * H, occurrence="e1", fields=T1)
    decision = decide_touch(campaign, touch, customer, now=now)
    assert Send(Channel.EMAIL, "no consent on whatsapp: fell back to email") == decision
    nobody = attrs.evolve(customer, consent=set())
    assert isinstance(decide_touch(campaign, touch, nobody, now=now), Suppress)
    sender = RecordingSender()
    directory = InMemoryDirectory([customer])
    scheduler = CampaignScheduler([campaign], InMemoryJobStore(), sender, directory)
    scheduler.jobs.enqueue(touch, enrolled_at=now)
    report = scheduler.run_due(now=now)
    assert ((touch.key, "no consent on whatsapp: fell back to email"),) == report.fallbacks
    assert Channel.EMAIL is sender.sent[touch.key][1]


def test_new_ticket_cancels_the_pending_survey(jobs: JobStore) -> None:
    """A new ticket before the survey goes out cancels it (exit rule), at once."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    scheduler, clock, sender = make(jobs, [csat_after_resolution(), nps_survey()], start)
    planned = scheduler.handle(CareEvent("ticket_resolved", "siti", start, id="T-1", data=T1))
    assert 2 == len(planned)
    scheduler.handle(CareEvent("ticket_opened", "siti", start + H, id="T-2"))
    clock.set(start + timedelta(days=30))
    assert () == scheduler.run_due().sent
    assert {} == sender.sent


def test_crash_between_claim_and_complete_sends_exactly_once(tmp_path: Path) -> None:
    """Kill the worker after it sent and before it completed: one send, two attempts."""
    jobs, sent = str(tmp_path / "jobs.sqlite3"), str(tmp_path / "sent.sqlite3")
    resolved = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    first = _workers.scheduler(jobs, sent, resolved)
    [touch] = first.handle(CareEvent("ticket_resolved", "c-1", resolved, id="T-1", data=T1))
    ctx = multiprocessing.get_context("spawn")
    worker = ctx.Process(target=_workers.run_and_die, args=(jobs, sent, touch.due_at.timestamp()))
    worker.start()
    worker.join(60)
    assert 17 == worker.exitcode  # it died inside the sender
    # Within the lease nobody else takes it; after the lease it is sent again, same key.
    assert () == _workers.scheduler(jobs, sent, touch.due_at + timedelta(minutes=1)).run_due().sent
    later = _workers.scheduler(jobs, sent, touch.due_at + timedelta(minutes=6))
    assert (touch.key,) == later.run_due().sent
    rows = sqlite3.connect(sent).execute("SELECT key, attempts FROM sent").fetchall()
    assert [(touch.key, 2)] == rows  # delivered twice, recorded once: de-duplicated on the key
    store = SqliteJobStore(jobs)
    assert ("done", "sent", "on email") == store.state(touch.key)
    # the history shows the crash: two claims, one ending
    assert ["enqueued", "claimed", "claimed", "sent"] == [e.what for e in store.history(touch.key)]


def test_two_processes_never_claim_the_same_job(tmp_path: Path) -> None:
    """Two workers on one SQLite file split the due jobs between them, without overlap."""
    path = str(tmp_path / "jobs.sqlite3")
    store = SqliteJobStore(path)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    touches = [
        Touch(f"c/cust-{i}/0/x", "c", f"cust-{i}", 0, "x", now - timedelta(seconds=i), "check_in")
        for i in range(300)
    ]
    assert 300 == store.enqueue_many(touches, enrolled_at=now)
    ctx = multiprocessing.get_context("spawn")
    outs = [str(tmp_path / f"claimed-{n}.json") for n in range(2)]
    workers = [
        ctx.Process(target=_workers.claim_all, args=(path, out, now.timestamp())) for out in outs
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    a, b = (set(json.loads(Path(out).read_text())) for out in outs)
    assert set() == a & b
    assert {t.key for t in touches} == a | b


# -- the job store contract -------------------------------------------------------------------


def touch(key: str, due: datetime, customer: str = "siti") -> Touch:
    return Touch(
        key,
        key.split("/", maxsplit=1)[0],
        customer,
        0,
        key.rsplit("/", 1)[-1],
        due,
        "check_in",
        group="marketing",
    )


def test_job_store_contract(jobs: JobStore) -> None:
    """Idempotent enqueue, cancel by key and prefix, leased claims, release, complete, history."""
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    lease = timedelta(minutes=5)
    assert jobs.enqueue(touch("a/siti/0/1", t0), enrolled_at=t0)
    assert not jobs.enqueue(touch("a/siti/0/1", t0 + H), enrolled_at=t0)  # same key: ignored
    jobs.enqueue(touch("a/siti/0/2", t0 + timedelta(seconds=1)), enrolled_at=t0 + H)
    jobs.enqueue(touch("b/siti/0/1", t0 + timedelta(seconds=2)), enrolled_at=t0)
    jobs.enqueue(touch("b/john/0/1", t0 + timedelta(seconds=3), "john"), enrolled_at=t0)
    assert t0 + H == jobs.last_enrolled("a/siti/")
    assert None is jobs.last_enrolled("c/siti/")
    assert 1 == jobs.cancel(prefix="b/siti/")
    assert 0 == jobs.cancel(key="b/siti/0/1")
    claimed = [t.key for t in jobs.claim(t0 + H, limit=2, lease=lease)]
    assert ["a/siti/0/1", "a/siti/0/2"] == claimed
    assert ["b/john/0/1"] == [t.key for t in jobs.claim(t0 + H, limit=10, lease=lease)]
    assert [] == jobs.claim(t0 + H, limit=10, lease=lease)  # all leased
    jobs.complete("a/siti/0/1", outcome="sent", at=t0 + H)
    jobs.release("a/siti/0/2", until=t0 + 2 * H, reason="outside the send window")
    assert [] == jobs.claim(t0 + H + 2 * lease, limit=10, lease=lease)[:0]
    again = [t.key for t in jobs.claim(t0 + 2 * H, limit=10, lease=lease)]
    assert ["b/john/0/1", "a/siti/0/2"] == again  # john's lease ran out; a/2 is due again
    [sent] = jobs.sent_since("siti", t0)
    assert ("a/siti/0/1", "marketing", t0 + H) == (sent.key, sent.group, sent.at)
    assert [] == jobs.sent_since("siti", t0 + H)


def test_bulk_enqueue_is_idempotent_and_counts_only_new_jobs(jobs: Any) -> None:
    """enqueue_many: the new jobs are pending and claimable; known keys are left as they are.

    (PostgreSQL's bulk path once lost the column defaults and refused every job.)
    """
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    first = [touch(f"bulk/siti/0/{i}", t0) for i in range(5)]
    assert 5 == jobs.enqueue_many(first, enrolled_at=t0)
    jobs.complete("bulk/siti/0/0", outcome="sent", at=t0)
    more = [touch(f"bulk/siti/0/{i}", t0) for i in range(8)]
    assert 3 == jobs.enqueue_many(more, enrolled_at=t0 + H)
    assert 0 == jobs.enqueue_many([], enrolled_at=t0)
    assert ("done", "sent", None) == jobs.state("bulk/siti/0/0")
    assert ("pending", None, None) == jobs.state("bulk/siti/0/7")
    claimed = jobs.claim(t0, limit=20, lease=timedelta(minutes=5))
    assert {f"bulk/siti/0/{i}" for i in range(1, 8)} == {t.key for t in claimed}
    assert t0 + H == jobs.last_enrolled("bulk/siti/")
    assert t0 + H == jobs.last_enrolled("bulk/")  # any key prefix, in every store
    assert None is jobs.last_enrolled("bulk/john/")


def test_complete_many_records_all_or_nothing(jobs: Any) -> None:
    """complete_many: every outcome recorded (sends count for caps); an unknown key: none."""
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    jobs.enqueue_many([touch(f"m/siti/0/{i}", t0) for i in range(4)], enrolled_at=t0)
    jobs.claim(t0, limit=10, lease=timedelta(minutes=5))
    with pytest.raises(JobNotFound):
        jobs.complete_many([("m/siti/0/0", "sent"), ("m/siti/0/nope", "sent")], at=t0)
    assert ("pending", None, None) == jobs.state("m/siti/0/0")
    jobs.complete_many([("m/siti/0/0", "sent"), ("m/siti/0/1", "suppressed: x")], at=t0 + H)
    assert ("done", "sent", None) == jobs.state("m/siti/0/0")
    assert ("done", "suppressed: x", None) == jobs.state("m/siti/0/1")
    assert ["m/siti/0/0"] == [t.key for t in jobs.sent_since("siti", t0)]
    jobs.complete_many([], at=t0)
    jobs.complete_many([("m/siti/0/2", "sent", "on email (no consent on whatsapp)")], at=t0 + H)
    assert ("done", "sent", "on email (no consent on whatsapp)") == jobs.state("m/siti/0/2")
    [*_, last] = jobs.history("m/siti/0/2")
    assert ("sent", "on email (no consent on whatsapp)", t0 + H) == (
        last.what,
        last.reason,
        last.at,
    )


def test_a_jobs_history_tells_every_step_in_every_store(jobs: Any) -> None:
    """history(): enqueued (due when), claimed, deferred until when and why, retried, the end
    with its reason; cancelled jobs too; an unknown key is JobNotFound."""
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    lease = timedelta(minutes=5)
    jobs.enqueue(touch("h/siti/0/1", t0), enrolled_at=t0 - H)
    jobs.enqueue(touch("h/siti/0/2", t0 + 9 * H), enrolled_at=t0 - H)
    jobs.claim(t0, limit=1, lease=lease)
    jobs.release("h/siti/0/1", until=t0 + 2 * H, reason="outside the send window", at=t0)
    jobs.claim(t0 + 2 * H, limit=1, lease=lease)
    jobs.release("h/siti/0/1", until=t0 + 3 * H, reason="sender failed: boom", at=t0 + 2 * H,
                 retry=True)  # fmt: skip
    jobs.claim(t0 + 3 * H, limit=1, lease=lease)
    jobs.complete("h/siti/0/1", outcome="suppressed: no consent", at=t0 + 3 * H)
    assert 1 == jobs.cancel(key="h/siti/0/2", at=t0 + 4 * H)
    assert [
        (t0 - H, "enqueued", "", t0),
        (t0, "claimed", "", None),
        (t0, "deferred", "outside the send window", t0 + 2 * H),
        (t0 + 2 * H, "claimed", "", None),
        (t0 + 2 * H, "retry", "sender failed: boom", t0 + 3 * H),
        (t0 + 3 * H, "claimed", "", None),
        (t0 + 3 * H, "suppressed", "no consent", None),
    ] == [(e.at, e.what, e.reason, e.until) for e in jobs.history("h/siti/0/1")]
    assert [("enqueued", t0 + 9 * H), ("cancelled", None)] == [
        (e.what, e.until) for e in jobs.history("h/siti/0/2")
    ]
    with pytest.raises(JobNotFound):
        jobs.history("h/siti/0/nope")


def test_the_last_inbound_message_per_customer_and_channel(jobs: Any) -> None:
    """note_inbound keeps the latest per customer and channel, whatever the order told."""
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    assert None is jobs.last_inbound("siti", "whatsapp")
    jobs.note_inbound("siti", "whatsapp", t0 + H)
    jobs.note_inbound("siti", "whatsapp", t0)  # a late webhook: older, kept out
    jobs.note_inbound("siti", "email", t0 + 2 * H)
    jobs.note_inbound("budi", "whatsapp", t0 + 3 * H)
    assert t0 + H == jobs.last_inbound("siti", "whatsapp")
    assert t0 + 2 * H == jobs.last_inbound("siti", "email")
    assert t0 + 3 * H == jobs.last_inbound("budi", "whatsapp")
    with pytest.raises(InvalidValue):
        jobs.note_inbound("siti", "pigeon", t0)


@pytest.mark.parametrize("batch", [False, True])
def test_batched_completions_send_and_cap_as_the_unbatched_ones(
    jobs: JobStore, batch: bool
) -> None:
    """batch_completions records a round's outcomes in one write, yet a customer's cap still
    sees the sends of the same round: two of three promotions, the third deferred."""
    cap = Cap(limit=2, period=timedelta(days=7), group="marketing")
    promo = Campaign("promo", OnEvent("purchase"), [Step(timedelta(0), "check_in")], cap=cap)
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    budi = Customer("budi", name="Budi", locale="id", timezone="Asia/Jakarta", consent={"email"})
    clock = ManualClock(start)
    sender = RecordingSender()
    scheduler = CampaignScheduler(
        [promo], jobs, sender, InMemoryDirectory([SITI, budi]), clock=clock,
        batch_completions=batch,
    )  # fmt: skip
    for i in range(3):
        scheduler.handle(CareEvent("purchase", "siti", start + i * H, id=f"order-{i}"))
        scheduler.handle(CareEvent("purchase", "budi", start + i * H, id=f"order-{i}"))
    clock.set(start + 3 * H)
    report = scheduler.run_due()
    assert 4 == len(report.sent)
    assert {"promo/siti/0/order-2", "promo/budi/0/order-2"} == {k for k, *_ in report.deferred}
    for key in report.sent:
        assert ("done", "sent", "on email") == jobs.state(key)  # type: ignore[attr-defined]
    assert scheduler.batch_completions is batch


# -- planning details ---------------------------------------------------------------------------


def test_keys_are_stable_and_touches_planned_in_the_window() -> None:
    """campaign/customer/step/occurrence; each step moved into the customer's window."""
    campaign = Campaign(
        "onboarding",
        OnEvent("signup"),
        [Step(timedelta(0), "check_in"), Step(timedelta(days=3), "care_tips")],
        window=SendWindow("09:00", "17:00", days={0, 1, 2, 3, 4}),
    )
    friday_night = local("Asia/Jakarta", 2026, 3, 6, 22, 0)
    first, second = plan_touches(campaign, SITI, anchor=friday_night, occurrence="signup-1")
    assert ("onboarding/siti/0/signup-1", "onboarding/siti/1/signup-1") == (first.key, second.key)
    assert local("Asia/Jakarta", 2026, 3, 9, 9, 0) == first.due_at  # Monday morning
    assert local("Asia/Jakarta", 2026, 3, 10, 9, 0) == second.due_at  # Monday 22:00 -> Tuesday


def test_decide_defers_outside_the_window_and_names_reasons() -> None:
    """At send time the window is checked again (the customer may have moved zones)."""
    campaign = csat_after_resolution()
    now = local("Asia/Jakarta", 2026, 3, 3, 10, 0)
    [t] = plan_touches(campaign, SITI, anchor=now - 2 * H, occurrence="e")
    moved = attrs.evolve(SITI, timezone="America/New_York")  # 22:00 there
    decision = decide_touch(campaign, t, moved, now=now)
    assert isinstance(decision, Defer)
    assert "window" in decision.reason
    assert Suppress("unknown customer") == decide_touch(campaign, t, None, now=now)


def test_reentry_rules(jobs: JobStore) -> None:
    """'never' enrols once; a cool-down waits; periodic check-ins follow their period."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    churny = attrs.evolve(SITI, tier="at_risk")
    flagged = Campaign("win_back", OnSegment(lambda c: c.tier == "at_risk"),
                       [Step(timedelta(0), "win_back")], cap=MARKETING_CAP,
                       reentry=timedelta(days=60))  # fmt: skip
    scheduler, clock, _ = make(
        jobs, [flagged, periodic_check_in(timedelta(days=30))], start, churny
    )
    assert 2 == len(scheduler.schedule([churny]))
    clock.set(start + timedelta(days=10))
    assert [] == scheduler.schedule([churny])
    clock.set(start + timedelta(days=31))
    assert ["periodic_check_in"] == [t.campaign for t in scheduler.schedule([churny])]
    clock.set(start + timedelta(days=61))
    assert {"periodic_check_in", "win_back"} == {t.campaign for t in scheduler.schedule([churny])}


def test_sender_failure_is_retried_with_the_same_key(jobs: JobStore) -> None:
    """A sender that raises gets the touch again later, same key, sent once."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    scheduler, clock, sender = make(jobs, [csat_after_resolution()], start)
    sender.fail_times = 1
    [t] = scheduler.handle(CareEvent("ticket_resolved", "siti", start, id="T-1", data=T1))
    clock.set(t.due_at)
    assert 1 == len(scheduler.run_due().failed)
    clock.set(t.due_at + timedelta(minutes=11))
    assert (t.key,) == scheduler.run_due().sent
    assert 2 == sender.attempts
    assert [t.key] == list(sender.sent)


def test_recipes_are_valid_and_distinct() -> None:
    """Every recipe builds, with a unique name and templates the renderer knows."""
    recipes = all_recipes()
    assert len({c.name for c in recipes}) == len(recipes)
    assert {s.template for c in recipes for s in c.steps} <= set(TEMPLATES)


def test_bad_campaigns_are_refused() -> None:
    """Names with '/', no steps, empty windows: typed errors."""
    with pytest.raises(InvalidValue):
        Campaign("a/b", OnEvent("x"), [Step(timedelta(0), "check_in")])
    with pytest.raises(InvalidValue):
        Campaign("a", OnEvent("x"), [])
    with pytest.raises(InvalidValue):
        SendWindow("09:00", "09:00")


def test_unknown_zone_and_language_fall_back_to_the_desks(jobs: JobStore) -> None:
    """A customer with no zone or locale gets the desk's: Jakarta hours, Indonesian."""
    anonymous = Customer("anon", name="Budi", consent={"email"})
    resolved = local("Asia/Jakarta", 2026, 3, 2, 23, 10)
    clock = ManualClock(resolved)
    sender = RecordingSender()
    scheduler = CampaignScheduler(
        [csat_after_resolution()],
        jobs,
        sender,
        InMemoryDirectory([anonymous]),
        clock=clock,
        default_timezone="Asia/Jakarta",
        default_locale="id",
    )
    [t] = scheduler.handle(
        CareEvent("ticket_resolved", "anon", resolved, id="T-5", data={"ticket_id": "T-5"})
    )
    assert local("Asia/Jakarta", 2026, 3, 3, 9, 0) == t.due_at
    clock.set(t.due_at)
    assert (t.key,) == scheduler.run_due().sent
    assert "id" == sender.sent[t.key][2].locale


def test_campaign_names_must_be_unique() -> None:
    """Two campaigns with one name would share keys: refused."""
    with pytest.raises(InvalidValue, match="unique names"):
        CampaignScheduler(
            [csat_after_resolution(), csat_after_resolution()],
            InMemoryJobStore(),
            RecordingSender(),
            InMemoryDirectory(),
        )


def test_a_touch_that_cannot_render_is_suppressed_with_its_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A forgotten field never reaches the customer: the touch ends suppressed, logged, named."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    scheduler, clock, sender = make(InMemoryJobStore(), [apology_after_breach()], start)
    [touch] = scheduler.handle(CareEvent("sla_breached", "siti", start, id="T-1:first_response:1",
                                         data={"ticket_id": "T-1"}))  # fmt: skip
    clock.set(touch.due_at)
    report = scheduler.run_due()
    [(key, reason)] = report.suppressed
    assert touch.key == key
    assert "apology_voucher" in reason
    assert "{voucher_code} is missing" in reason
    assert {} == sender.sent
    assert 0 == sender.attempts
    assert ("done", f"suppressed: {reason}", None) == scheduler.jobs.state(key)  # type: ignore[attr-defined]
    assert reason in caplog.text


@pytest.mark.parametrize("locale", ["jv_ID", "su_ID"])
def test_javanese_and_sundanese_customers_get_the_desks_default_language(locale: str) -> None:
    """The scheduler's default language is the renderer's fallback: Indonesian, not English."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    customer = Customer("asep", name="Asep", locale=locale, timezone="Asia/Jakarta",
                        consent={"email"})  # fmt: skip
    sender = RecordingSender()
    scheduler = CampaignScheduler(
        [csat_after_resolution(timedelta(minutes=5))], InMemoryJobStore(), sender,
        InMemoryDirectory([customer]), clock=ManualClock(start), default_locale="id",
    )  # fmt: skip
    [touch] = scheduler.handle(
        CareEvent("ticket_resolved", "asep", start, id="T-9", data={"ticket_id": "T-9"})
    )
    assert (touch.key,) == scheduler.run_due(now=touch.due_at).sent
    message = sender.sent[touch.key][2]
    assert "id" == message.locale
    assert "Halo Asep" in message.body


def test_a_campaigns_group_drives_the_shared_caps() -> None:
    """A promotion of group marketing without a cap of its own is still capped by the
    scheduler's marketing cap (it once sent 5 of 5 within an hour); service is not."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    promo = Campaign("promo", OnEvent("purchase"), [Step(timedelta(0), "check_in")],
                     group="marketing")  # fmt: skip
    thanks = Campaign("thanks", OnEvent("purchase"), [Step(timedelta(0), "check_in")],
                      group="service")  # fmt: skip
    sender = RecordingSender()
    scheduler = CampaignScheduler(
        [promo, thanks], InMemoryJobStore(), sender, InMemoryDirectory([SITI]),
        clock=ManualClock(start), caps=[MARKETING_CAP],
    )  # fmt: skip
    for i in range(5):
        scheduler.handle(CareEvent("purchase", "siti", start + i * timedelta(minutes=5),
                                   id=f"o-{i}"))  # fmt: skip
    report = scheduler.run_due(now=start + H)
    assert 2 == sum(k.startswith("promo/") for k in report.sent)
    assert 5 == sum(k.startswith("thanks/") for k in report.sent)
    assert 3 == len(report.deferred)
    assert all("cap marketing" in reason for _, reason, _ in report.deferred)


def test_campaigns_without_a_group_are_refused_under_shared_caps() -> None:
    """Shared caps and a campaign of no group: refused when the scheduler is made."""
    bare = Campaign("bare", OnEvent("purchase"), [Step(timedelta(0), "check_in")])
    assert bare.group is None
    with pytest.raises(InvalidValue, match="bare") as info:
        CampaignScheduler([bare], InMemoryJobStore(), RecordingSender(), InMemoryDirectory([]),
                          caps=[MARKETING_CAP])  # fmt: skip
    assert "campaigns" == info.value.field
    CampaignScheduler([bare], InMemoryJobStore(), RecordingSender(), InMemoryDirectory([]))
    with pytest.raises(InvalidValue, match="cap"):
        Campaign("odd", OnEvent("x"), [Step(timedelta(0), "check_in")], group="service",
                 cap=MARKETING_CAP)  # fmt: skip
    capped = Campaign("c", OnEvent("x"), [Step(timedelta(0), "check_in")], cap=MARKETING_CAP)
    assert "marketing" == capped.group
    assert {"service", "marketing"} >= {c.group for c in all_recipes()}
    assert None not in {c.group for c in all_recipes()}


def test_unsubscribing_stops_future_enrolment_too() -> None:
    """The unsubscribe event cancels what is pending; the consent change keeps the next
    daily schedule() from enrolling next year's birthday again."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    fan = Customer("fan", name="Fan", locale="id", timezone="Asia/Jakarta",
                   birthday=date(1990, 3, 20), consent={"email"})  # fmt: skip
    directory = InMemoryDirectory([fan])
    scheduler = CampaignScheduler(
        [birthday_greeting()], InMemoryJobStore(), RecordingSender(), directory,
        clock=ManualClock(start),
    )  # fmt: skip
    [greeting] = scheduler.schedule([fan])
    gone = attrs.evolve(fan, consent=set())  # the host records the unsubscribe
    directory.add(gone)
    scheduler.handle(CareEvent("unsubscribed", "fan", start + H))
    assert ("cancelled", None, None) == scheduler.jobs.state(greeting.key)  # type: ignore[attr-defined]
    assert [] == scheduler.schedule([gone], now=start + timedelta(days=30))
    assert [] == scheduler.schedule([gone], now=start + timedelta(days=400))
    service = Campaign("eta", OnEvent("x"), [Step(timedelta(0), "check_in")],
                       transactional=True)  # fmt: skip
    assert service.may_contact(gone)
    assert not birthday_greeting().may_contact(gone)


class ScriptedSender:
    """A sender that answers with the next of ``results`` (and records what it was asked)."""

    def __init__(self, *results: object) -> None:
        self.results = list(results)
        self.calls: list[str] = []

    def send(self, message: Any, *, customer: Customer, channel: Channel, key: str) -> Any:
        self.calls.append(key)
        return self.results.pop(0)


def _one_survey(sender: Any, start: datetime) -> tuple[CampaignScheduler, Touch]:
    scheduler = CampaignScheduler(
        [csat_after_resolution(timedelta(0))], InMemoryJobStore(), sender,
        InMemoryDirectory([SITI]), clock=ManualClock(start),
    )  # fmt: skip
    [touch] = scheduler.handle(CareEvent("ticket_resolved", "siti", start, id="T-1", data=T1))
    return scheduler, touch


def test_typed_send_results_decide_each_fate() -> None:
    """Sent keeps the provider's id; Rejected ends the job with the reason, or (not permanent)
    tries later; RetryLater gives it back until then; anything else is a failure, retried."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    later = RetryLater(timedelta(minutes=30), "rate limited")
    sender = ScriptedSender(later, Rejected("busy", permanent=False), "ok?", Sent("wamid.7"))
    scheduler, touch = _one_survey(sender, start)
    jobs: Any = scheduler.jobs
    minutes = [start + timedelta(minutes=m) for m in range(100)]
    first = scheduler.run_due(now=start)
    assert ((touch.key, "rate limited", minutes[30]),) == first.deferred  # as the provider said
    assert () == scheduler.run_due(now=minutes[29]).deferred  # not yet due
    second = scheduler.run_due(now=minutes[30])  # backoff: retry (10 min) doubled per retry
    assert ((touch.key, "rejected for now: busy", minutes[50]),) == second.deferred
    assert not scheduler.run_due(now=minutes[49])
    third = scheduler.run_due(now=minutes[50])
    assert touch.key == third.failed[0][0]
    assert "not a SendResult" in third.failed[0][1]
    assert not scheduler.run_due(now=minutes[89])  # 40 minutes after the third retry
    fourth = scheduler.run_due(now=minutes[90])
    assert ((touch.key, "wamid.7"),) == fourth.provider_ids
    assert ("done", "sent", "on email, provider id wamid.7") == jobs.state(touch.key)
    assert [
        ("enqueued", "", start),
        ("claimed", "", None),
        ("retry", "rate limited", minutes[30]),
        ("claimed", "", None),
        ("retry", "rejected for now: busy", minutes[50]),
        ("claimed", "", None),
        ("retry", "the sender returned 'ok?', not a SendResult", minutes[90]),
        ("claimed", "", None),
        ("sent", "on email, provider id wamid.7", None),
    ] == [(e.what, e.reason, e.until) for e in jobs.history(touch.key)]
    assert [touch.key] * 4 == sender.calls  # always the same key


def test_a_permanent_rejection_ends_the_touch_with_the_providers_reason() -> None:
    """Rejected (permanent): recorded with the reason, never tried again."""
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    sender = ScriptedSender(Rejected("131026: message undeliverable"))
    scheduler, touch = _one_survey(sender, start)
    report = scheduler.run_due(now=start)
    assert ((touch.key, "131026: message undeliverable"),) == report.rejected
    assert (
        ("done", "rejected: 131026: message undeliverable")
        == scheduler.jobs.state(  # type: ignore[attr-defined]
            touch.key
        )[:2]
    )
    assert not scheduler.run_due(now=start + timedelta(days=1))
    assert 1 == len(sender.calls)


def test_a_birthday_greeting_too_late_to_matter_expires_with_a_reason() -> None:
    """Deferred by the provider past its day, or claimed the next day: it expires, unsent."""
    fan = Customer("fan", name="Fan", locale="id", timezone="Asia/Jakarta",
                   birthday=date(1990, 3, 20), consent={"email"})  # fmt: skip
    start = local("Asia/Jakarta", 2026, 3, 2, 10, 0)
    sender = ScriptedSender(RetryLater(timedelta(days=1), "daily quota used up"))
    scheduler = CampaignScheduler([birthday_greeting()], InMemoryJobStore(), sender,
                                  InMemoryDirectory([fan]), clock=ManualClock(start),
                                  fields={"shop": "Toko"})  # fmt: skip
    [greeting] = scheduler.schedule([fan])
    report = scheduler.run_due(now=greeting.due_at)
    [(key, why)] = report.expired
    assert greeting.key == key
    assert "expired" in why
    assert "daily quota used up" in why
    late = RecordingSender()
    again = CampaignScheduler([birthday_greeting()], InMemoryJobStore(), late,
                              InMemoryDirectory([fan]), clock=ManualClock(start))  # fmt: skip
    [greeting] = again.schedule([fan])
    [(_, why)] = again.run_due(now=greeting.due_at + timedelta(days=1)).expired
    assert why.startswith("expired: 1d after it was due")
    assert {} == late.sent
    late_day = greeting.due_at + timedelta(days=1)
    decision = decide_touch(birthday_greeting(), greeting, fan, now=late_day)
    assert isinstance(decision, Expired)  # the pure decision names the fate; a Suppress too
    assert isinstance(decision, Suppress)
