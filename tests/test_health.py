"""Customer health: each signal on a hand-built history, the points model, bands, band changes,
the TOML table, and the campaigns that react to a customer turning red."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carekit import Lifecycle, SlaPolicy, Ticket, loads_policies
from carekit.campaigns import CampaignScheduler, CareEvent, OnHealth
from carekit.campaigns.recipes import health_check_in, win_back
from carekit.exceptions import InvalidValue, PolicyError, PolicyFileError
from carekit.health import (
    DEFAULT_SIGNALS,
    BadCsat,
    Bands,
    FallingOrders,
    HealthModel,
    History,
    NpsDetractor,
    OldestOpenTicket,
    Order,
    PurchaseGap,
    Reading,
    Reassignments,
    Reopenings,
    RepeatContacts,
    Signal,
    SlaBreaches,
    health_report,
)
from carekit.kpis import kpi_report
from carekit.stores.memory import InMemoryJobStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingSender
from tests.test_campaigns import SITI

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
D = timedelta(days=1)
LIFE = Lifecycle()
WINDOW = timedelta(days=30)


def ticket(tid: str, opened: datetime, *moves: tuple[str, datetime], **kw: Any) -> Ticket:
    t = Ticket.open(tid, channel="email", customer_id="siti", at=opened, **kw)
    for trigger, at in moves:
        data = {"agent": f"agent-{len(t.events)}"} if trigger == "assign" else {}
        actor = "siti" if trigger == "customer_reply" else "ana"
        t = LIFE.apply(t, trigger, at=at, actor=actor, **data)
    return t


def answer(kind: str, score: int, at: datetime) -> CareEvent:
    return CareEvent(kind, "siti", at, id=f"{kind}-{at:%s}", data={"score": score})


def read(signal: Signal, history: History) -> Reading:
    return signal.measure(
        history, now=NOW, window=WINDOW, policy=HealthModel(policy=SlaPolicy.default()).policy
    )


# -- each signal --------------------------------------------------------------------------------


def test_sla_breaches_count_breached_clocks_of_tickets_in_the_window() -> None:
    late = ticket("T-1", NOW - 5 * D, ("agent_reply", NOW - 2 * D))  # email: 24 h first response
    fine = ticket("T-2", NOW - 4 * D, ("agent_reply", NOW - 4 * D + timedelta(hours=1)))
    old = ticket("T-0", NOW - 60 * D)  # opened before the window: not counted
    found = read(SlaBreaches(), History("siti", [late, fine, old]))
    # T-1: first response and resolution; T-2: resolution (open for 4 days, 72 h allowed)
    assert (3, "3 SLA breaches in 30 days", 1.0) == (found.value, found.sentence, found.risk)
    resolved = ticket("T-3", NOW - 4 * D, ("agent_reply", NOW - 4 * D + timedelta(hours=1)),
                      ("resolve", NOW - 4 * D + timedelta(hours=2)))  # fmt: skip
    assert 0 == read(SlaBreaches(), History("siti", [resolved])).value
    assert (
        0
        == SlaBreaches().measure(History("siti", [late]), now=NOW, window=WINDOW, policy=None).value
    )


def test_reopenings_reassignments_and_repeat_contacts() -> None:
    t1 = ticket("T-1", NOW - 10 * D, ("assign", NOW - 10 * D), ("assign", NOW - 9 * D),
                ("assign", NOW - 8 * D), ("resolve", NOW - 7 * D), ("customer_reply", NOW - 6 * D),
                tags=["billing"])  # fmt: skip
    t2 = ticket("T-2", NOW - 4 * D, tags=["billing"])  # within 7 days of T-1: a repeat contact
    t3 = ticket("T-3", NOW - 3 * D, tags=["delivery"])  # another issue
    history = History("siti", [t1, t2, t3])
    reopened = read(Reopenings(), history)
    assert (1, "1 reopened ticket in 30 days") == (reopened.value, reopened.sentence)
    assert 2 == read(Reassignments(), history).value  # the first assignment is not a hand-over
    repeat = read(RepeatContacts(), history)
    assert 1 == repeat.value
    assert "within 7 days" in repeat.sentence


def test_survey_answers() -> None:
    answers = [
        answer("csat_rated", 1, NOW - D),
        answer("csat_rated", 5, NOW - 2 * D),
        answer("nps_answered", 9, NOW - 9 * D),
        answer("nps_answered", 4, NOW - D),
        answer("csat_rated", 2, NOW - 40 * D),  # before the window
    ]
    history = History("siti", answers=answers)
    assert (1, 1.0) == (read(BadCsat(), history).value, read(BadCsat(), history).risk)
    detractor = read(NpsDetractor(), history)
    assert (4, 1.0, "NPS answer 4: a detractor") == (
        detractor.value,
        detractor.risk,
        detractor.sentence,
    )


def test_the_oldest_open_ticket() -> None:
    history = History("siti", [ticket("T-1", NOW - 10 * D, ("resolve", NOW - 9 * D)),
                               ticket("T-2", NOW - timedelta(days=3, hours=12))])  # fmt: skip
    found = read(OldestOpenTicket(), history)
    assert found.value == pytest.approx(3.5)
    assert found.risk == pytest.approx(3.5 / 7)
    assert "the oldest open ticket has waited 4 days" == found.sentence  # 3.5, rounded


def test_purchases_against_the_customers_own_rhythm() -> None:
    """Orders every 10 days, the last 30 days ago: 3 times the rhythm, the worst by default."""
    orders = [Order(NOW - (30 + 10 * k) * D, 100) for k in range(4)]
    gap = read(PurchaseGap(), History("siti", orders=orders))
    assert gap.value == pytest.approx(3.0)
    assert 1.0 == gap.risk
    assert "3.0 times the usual 10 days" in gap.sentence
    falling = [Order(NOW - 40 * D, 300), Order(NOW - 45 * D, 100), Order(NOW - 5 * D, 100)]
    fall = read(FallingOrders(), History("siti", orders=falling))
    assert fall.value == pytest.approx(0.75)
    assert 1.0 == fall.risk
    assert "down 75%" in fall.sentence


# -- the points model ------------------------------------------------------------------------------


def _troubled() -> History:
    late = ticket("T-1", NOW - 5 * D, ("agent_reply", NOW - 2 * D))
    return History("siti", [late], answers=[answer("csat_rated", 1, NOW - D)])


def test_the_score_is_100_minus_the_weighted_risks_and_explains_itself() -> None:
    model = HealthModel(policy=SlaPolicy.default())
    health = model.score(_troubled(), now=NOW)
    # a bad CSAT answer (15 of 15), 2 breaches of 3 (10 of 15), a ticket open 5 days of 7 (of 10)
    assert health.score == pytest.approx(100 - 15 - 10 - 10 * 5 / 7)
    assert "yellow" == health.band
    assert health.reasons == (
        "-15.0 1 bad survey answer (1-2 of 5) in 30 days",
        "-10.0 2 SLA breaches in 30 days",
        "-7.1 the oldest open ticket has waited 5 days",
    )
    assert [points for _, points in health.readings] == sorted(p for _, p in health.readings)
    assert "siti: 68/100, yellow" in health.explain()
    strict = HealthModel(policy=SlaPolicy.default(), bands=Bands(green=90, yellow=85))
    assert "red" == strict.score(_troubled(), now=NOW).band
    assert model.trend(_troubled(), now=NOW) == pytest.approx(health.score - 100)  # fine before


def test_a_reading_writes_its_sentence_when_first_read_and_is_frozen() -> None:
    calls: list[int] = []

    def say(count: int) -> str:
        calls.append(count)
        return f"{count} things"

    later = Reading.later("things", 3, 0.5, say, 3)
    assert [] == calls  # not written yet
    assert later == Reading("things", 3, 0.5, "3 things")  # compared by the four
    assert hash(later) == hash(Reading("things", 3, 0.5, "3 things"))
    assert "3 things" == later.sentence == later.sentence
    assert [3] == calls  # written once
    assert later != Reading("things", 3, 0.5, "three things")
    assert "Reading(signal='things', value=3, risk=0.5, sentence='3 things')" == repr(later)
    assert later == pickle.loads(pickle.dumps(Reading.later("things", 3, 0.5, say, 3)))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        later.risk = 0.0


def test_score_all_is_a_stream_and_names_a_wrong_item() -> None:
    model = HealthModel(policy=SlaPolicy.default())
    read: list[str] = []

    def base() -> Iterator[History]:
        for customer in ("a", "b", "c"):
            read.append(customer)
            yield History(customer)

    scores = model.score_all(base(), now=NOW)
    assert [] == read  # nothing read before the first score is asked for
    assert "a" == next(scores).customer_id
    assert ["a"] == read
    assert ["b", "c"] == [s.customer_id for s in scores]
    wrong = model.score_all(iter([History("a"), "b"]), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match=r"histories\[1\]"):
        list(wrong)


class ReadsNothingKnown(Signal):
    name: ClassVar[str] = "odd"
    needs: ClassVar[str | None] = "purchases"  # not a part of History


def test_weights_must_add_up_to_100_and_names_be_unique() -> None:
    with pytest.raises(PolicyError, match="needs one of"):
        HealthModel([ReadsNothingKnown(weight=100)])
    with pytest.raises(PolicyError, match="adding up to 90"):
        HealthModel([SlaBreaches(weight=90)])
    with pytest.raises(PolicyError, match="once"):
        HealthModel([BadCsat(weight=50), BadCsat(weight=50)])
    with pytest.raises(InvalidValue, match="weight"):
        SlaBreaches(weight=120)
    with pytest.raises(PolicyError, match="yellow"):
        Bands(green=30, yellow=60)


@given(st.lists(st.integers(1, 5), max_size=6), st.lists(st.integers(0, 10), max_size=4))
def test_a_bad_answer_never_raises_the_score(csat: list[int], nps: list[int]) -> None:
    """Between 0 and 100; one more bad CSAT answer never raises it; the contributions add up."""
    model = HealthModel()
    answers = [
        answer("csat_rated", s, NOW - (i + 1) * timedelta(hours=1)) for i, s in enumerate(csat)
    ]
    answers += [
        answer("nps_answered", s, NOW - (i + 1) * timedelta(hours=2)) for i, s in enumerate(nps)
    ]
    before = model.score(History("siti", answers=answers), now=NOW)
    after = model.score(History("siti", answers=[*answers, answer("csat_rated", 1, NOW)]), now=NOW)
    assert 0 <= after.score <= before.score <= 100
    assert before.score == pytest.approx(100 + sum(p for _, p in before.readings))


class LateDeliveries(Signal):
    """A host's own signal: deliveries late in the window (from its order data)."""

    name: ClassVar[str] = "late_deliveries"

    def measure(
        self, history: History, *, now: datetime, window: timedelta, policy: Any
    ) -> Reading:
        late = sum(1 for o in history.orders if o.margin == 0 and now - window < o.at <= now)
        return Reading(self.name, late, min(1.0, late / 2), f"{late} late deliveries")


def test_a_subclassed_signal_joins_the_model_and_the_file() -> None:
    late = LateDeliveries(weight=20)
    model = HealthModel([late, BadCsat(weight=80)])
    history = History(
        "siti", orders=[Order(NOW - D, 10, margin=0), Order(NOW - 2 * D, 10, margin=0)]
    )
    assert 80.0 == model.score(history, now=NOW).score
    policies = loads_policies(
        "[health.signals]\nlate_deliveries = { weight = 20 }\nbad_csat = { weight = 80 }\n",
        signals=[LateDeliveries],
    )
    assert policies.health is not None
    assert 80.0 == policies.health.score(history, now=NOW).score


def test_the_health_table_names_every_error_by_its_key_path() -> None:
    policies = loads_policies('[health]\nwindow = "14d"\nbands = { green = 80, yellow = 50 }\n')
    assert policies.health is not None
    assert (timedelta(days=14), 80.0) == (policies.health.window, policies.health.bands.green)
    assert [s.name for s in policies.health.signals] == [s.name for s in DEFAULT_SIGNALS]
    with pytest.raises(PolicyFileError) as caught:
        loads_policies(
            '[health]\nwindw = "14d"\nbands = { green = 30, yellow = 50 }\n'
            "[health.signals]\nsla_breaches = { wieght = 40 }\nbad_csats = { weight = 60 }\n"
            'reopenings = { limit = "x" }\nrepeat_contacts = { within = "soon" }\n'
        )
    paths = [e.path for e in caught.value.errors]
    assert paths == [
        "health.windw",
        "health.bands",
        "health.signals.sla_breaches.wieght",
        "health.signals.bad_csats",
        "health.signals.reopenings.limit",
        "health.signals.repeat_contacts.within",
    ]
    assert "did you mean 'weight'?" in str(caught.value)
    with pytest.raises(PolicyFileError, match="adding up to 50"):
        loads_policies("[health.signals]\nbad_csat = { weight = 50 }\n")
    for limit in ("2.5", "inf"):  # a count is a whole number: never quietly cut to one
        with pytest.raises(PolicyFileError, match=r"sla_breaches\.limit.*whole number"):
            loads_policies(
                f"[health.signals]\nsla_breaches = {{ weight = 100, limit = {limit} }}\n"
            )


# -- band changes and the campaigns that react ---------------------------------------------------


def test_a_change_of_band_is_a_care_event_and_red_enrols_the_check_in_and_win_back() -> None:
    model = HealthModel(policy=SlaPolicy.default(), bands=Bands(green=90, yellow=85))
    red = model.score(_troubled(), now=NOW)
    green = model.score(History("siti"), now=NOW - 40 * D)
    assert None is model.changed(None, green)  # a new customer in green: nothing to say
    assert None is model.changed(red, red)
    event = model.changed(green, red)
    assert event is not None
    assert ("health_changed", "red", "green") == (
        event.kind,
        event.data["band"],
        event.data["previous"],
    )
    assert "bad survey answer" in event.data["reasons"]
    jobs = InMemoryJobStore()
    scheduler = CampaignScheduler([health_check_in(), win_back()], jobs, RecordingSender(),
                                  InMemoryDirectory([SITI]), clock=ManualClock(NOW))  # fmt: skip
    planned = scheduler.handle(event)
    assert ["health_check_in", "win_back"] == [t.campaign for t in planned]
    assert NOW + 14 * D <= planned[1].due_at
    better = model.changed(red, model.score(History("siti"), now=NOW + D))
    assert better is not None
    assert "green" == better.data["band"]
    assert [] == scheduler.handle(better)  # green enrols nobody ...
    assert "cancelled" == jobs.state(planned[1].key)[0]  # ... and the pending win-back is off


def test_on_health_matches_only_a_change_into_its_band() -> None:
    def event(band: str, previous: str) -> CareEvent:
        return CareEvent("health_changed", "siti", NOW, data={"band": band, "previous": previous})

    assert OnHealth("red").matches(event("red", "yellow"), SITI)
    assert not OnHealth("red").matches(event("yellow", "green"), SITI)
    assert not OnHealth("red").matches(event("red", "red"), SITI)
    assert OnHealth("red", became=False).matches(event("red", "red"), SITI)
    assert OnHealth("yellow").matches(event("yellow", "red"), SITI)
    with pytest.raises(InvalidValue, match="band"):
        OnHealth("purple")


def test_the_kpi_report_shows_health_by_segment_and_who_turned_red() -> None:
    model = HealthModel(policy=SlaPolicy.default(), bands=Bands(green=90, yellow=85))
    histories = [_troubled(), History("budi"), History("asep")]
    before = list(model.score_all(histories, now=NOW - 40 * D))
    after = list(model.score_all(histories, now=NOW))
    tiers = {"siti": "vip", "budi": "standard", "asep": "standard"}
    health = health_report(after, before=before, segment=tiers)
    assert {
        "standard": {"green": 2, "yellow": 0, "red": 0},
        "vip": {"green": 0, "yellow": 0, "red": 1},
        "all": {"green": 2, "yellow": 0, "red": 1},
    } == health.distribution
    [(customer, reasons)] = health.turned_red
    assert "siti" == customer
    assert reasons[0].endswith("bad survey answer (1-2 of 5) in 30 days")
    assert () == health_report(after, before=after).turned_red  # red already: not "turned"
    report = kpi_report(histories[0].tickets, now=NOW, health=health)
    text = report.render()
    assert "[health]" in text
    assert "siti: -15.0 1 bad survey answer" in text
    assert report.to_dict()["health"]["turned_red"][0]["customer_id"] == "siti"
