"""WhatsApp's 24-hour customer-service window: the ticket's, the trigger's, the scheduler's.

A free-form message may go out within 24 hours (wall clock) of the customer's
last message; outside it only an approved template, or another consented
channel, or nothing, with the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carekit import (
    BusinessCalendar,
    Channel,
    Desk,
    EscalationLevel,
    EscalationPolicy,
    Lifecycle,
    Metric,
    Notify,
    SlaPolicy,
    Ticket,
    WindowClosing,
)
from carekit.campaigns import (
    WHATSAPP_WINDOW,
    Campaign,
    CampaignScheduler,
    CareEvent,
    OnEvent,
    ReplyWindow,
    Send,
    SendWindow,
    Step,
    Suppress,
    Touch,
    decide_touch,
    window_closes,
)
from carekit.campaigns.recipes import csat_after_resolution
from carekit.exceptions import InvalidValue
from carekit.i18n import TEMPLATES, ApprovedTemplate, CatalogRenderer, Money
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.stores.sqlite import SqliteJobStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingHandler, RecordingSender
from tests import test_campaigns

FRIDAY_17 = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # 17:00 in Jakarta
H = timedelta(hours=1)
OFFICE = BusinessCalendar("Asia/Jakarta", hours={"mon-fri": ["08:00-17:00"]})
POLICY = SlaPolicy("office", {Metric.FIRST_RESPONSE: timedelta(hours=4)}, OFFICE)

SITI = attrs.evolve(
    test_campaigns.SITI, consent={"whatsapp", "email"}, preferred_channel="whatsapp"
)
ONLY_WHATSAPP = attrs.evolve(SITI, id="dewi", consent={"whatsapp"})


# -- the rule and the ticket's window -------------------------------------------------------


def test_a_window_is_positive() -> None:
    with pytest.raises(InvalidValue, match="length"):
        ReplyWindow("whatsapp", timedelta(0))
    with pytest.raises(InvalidValue):
        ReplyWindow("pigeon")


@given(st.integers(0, 10**6), st.integers(-(10**5), 2 * 10**5))
def test_the_window_is_wall_clock_24_hours(last: int, later: int) -> None:
    """Open exactly from the last message up to (not at) 24 hours after it."""
    inbound = FRIDAY_17 + timedelta(seconds=last)
    now = inbound + timedelta(seconds=later)
    assert WHATSAPP_WINDOW.is_open(inbound, now) == (
        timedelta(0) <= now - inbound < timedelta(hours=24) or now < inbound
    )
    assert not WHATSAPP_WINDOW.is_open(None, now)


def test_a_friday_evening_ticket_is_due_monday_but_its_window_closes_saturday() -> None:
    """The SLA report shows both: the business-hours deadline and the wall-clock window."""
    ticket = Ticket.open("W-1", channel="whatsapp", customer_id="siti", at=FRIDAY_17)
    report = POLICY.evaluate(ticket, now=FRIDAY_17 + H)
    assert datetime(2026, 3, 9, 5, 0, tzinfo=UTC) == report[Metric.FIRST_RESPONSE].due_at  # Mon 12
    assert FRIDAY_17 + timedelta(hours=24) == report.window_closes  # Saturday 17:00 WIB
    assert "whatsapp window closes at 2026-03-07 10:00:00 UTC" in report.explain()
    email = Ticket.open("E-1", channel="email", customer_id="siti", at=FRIDAY_17)
    assert None is POLICY.evaluate(email, now=FRIDAY_17).window_closes


def test_each_customer_message_reopens_the_window() -> None:
    life = Lifecycle()
    ticket = Ticket.open("W-1", channel="whatsapp", customer_id="siti", at=FRIDAY_17)
    ticket = life.apply(ticket, "agent_reply", at=FRIDAY_17 + H, actor="ana")
    assert FRIDAY_17 + 24 * H == window_closes(ticket)  # an agent's reply does not open it
    ticket = life.apply(ticket, "customer_reply", at=FRIDAY_17 + 30 * H, actor="customer")
    assert FRIDAY_17 + 54 * H == window_closes(ticket)
    assert FRIDAY_17 + 24 * H == window_closes(ticket, now=FRIDAY_17 + 2 * H)  # as it was then


# -- the escalation trigger ----------------------------------------------------------------------


def _desk(now: datetime) -> tuple[Desk, ManualClock, list[Any]]:
    handler = RecordingHandler()
    clock = ManualClock(now)
    policy = EscalationPolicy(
        [EscalationLevel("window", WindowClosing(lead=2 * H), [Notify("whatsapp_team")])]
    )
    desk = Desk(
        InMemoryTicketStore(),
        clock=clock,
        policies=POLICY,
        escalation=policy,
        handler=handler,
    )
    return desk, clock, handler.handled


def test_window_closing_warns_before_the_window_not_the_deadline() -> None:
    """Friday 17:00: warned Saturday 15:00 (2 h before the window closes), once."""
    desk, clock, handed = _desk(FRIDAY_17)
    desk.open("W-1", channel="whatsapp", customer_id="siti")
    desk.open("E-1", channel="email", customer_id="siti")
    clock.set(FRIDAY_17 + 22 * H - timedelta(seconds=1))
    desk.tick()
    assert [] == handed
    clock.set(FRIDAY_17 + 22 * H)
    desk.tick()
    desk.tick()
    assert [("W-1", FRIDAY_17 + 22 * H)] == [(e.ticket_id, e.due_at) for e in handed]
    assert handed[0].key == f"W-1/window/reply_window/{int(FRIDAY_17.timestamp())}"


def test_an_answer_in_time_owes_no_warning_and_a_new_message_a_new_one() -> None:
    desk, clock, handed = _desk(FRIDAY_17)
    desk.open("W-1", channel="whatsapp", customer_id="siti")
    clock.set(FRIDAY_17 + H)
    desk.apply("W-1", "agent_reply", actor="ana")
    clock.set(FRIDAY_17 + 30 * H)
    desk.tick()
    assert [] == handed  # answered inside the window
    desk.apply("W-1", "customer_reply", actor="customer")
    clock.set(FRIDAY_17 + 60 * H)  # never answered: the warning is owed, late
    desk.tick()
    [warning] = handed
    assert FRIDAY_17 + 52 * H == warning.due_at
    assert 8 * H == warning.late


def test_window_closing_refuses_a_lead_as_long_as_the_window() -> None:
    with pytest.raises(InvalidValue, match="lead"):
        WindowClosing(lead=24 * H)


# -- the pure decision ---------------------------------------------------------------------


def _touch(channel: str | None = None, template: str = "csat_survey") -> Touch:
    return Touch("c/siti/0/1", "c", "siti", 0, "1", FRIDAY_17, template, channel)  # type: ignore[arg-type]


CAMPAIGN = Campaign("c", OnEvent("x"), [Step(timedelta(0), "csat_survey")], group="service")
NOW = FRIDAY_17 + 30 * H  # Saturday 23:00 WIB: 6 h after the window closed
ALWAYS = attrs.evolve(CAMPAIGN, window=SendWindow("00:00", "24:00"))


def _decide(customer: Any, inbound: datetime | None, *, approved: bool) -> Any:
    return decide_touch(
        ALWAYS,
        _touch(),
        customer,
        now=NOW,
        last_inbound={} if inbound is None else {Channel.WHATSAPP: inbound},
        approved=approved,
    )


def test_inside_the_window_free_form() -> None:
    assert Send("whatsapp") == _decide(SITI, NOW - 23 * H, approved=False)  # type: ignore[arg-type]


def test_outside_the_window_the_approved_template() -> None:
    assert Send("whatsapp", form="template") == _decide(SITI, FRIDAY_17, approved=True)  # type: ignore[arg-type]


def test_outside_the_window_without_a_template_another_consented_channel() -> None:
    decision = _decide(SITI, FRIDAY_17, approved=False)
    assert isinstance(decision, Send)
    assert "email" == decision.channel
    assert "the whatsapp window closed at 2026-03-07 10:00 UTC" in decision.reason
    assert decision.reason.endswith("fell back to email")


def test_outside_the_window_without_a_template_or_another_channel_suppressed() -> None:
    decision = _decide(ONLY_WHATSAPP, None, approved=False)
    assert isinstance(decision, Suppress)
    assert "no whatsapp message from the customer" in decision.reason
    assert "no other channel open to it" in decision.reason


def test_without_windows_whatsapp_is_free() -> None:
    decision = decide_touch(ALWAYS, _touch(), SITI, now=NOW, windows=())
    assert Send("whatsapp") == decision  # type: ignore[arg-type]


# -- templates: every approved reference renders, in every shipped language ------------------

T = {"ticket_id": "T"}
FIELDS = {
    "name": "Siti",
    "ticket_id": "T-1",
    "eta": FRIDAY_17,
    "voucher_value": Money(50000, "IDR"),
    "voucher_code": "MAAF-1",
    "shop": "Toko Siti",
    "opens_at": FRIDAY_17,
    "reply_by": FRIDAY_17,
}


@pytest.mark.parametrize("locale", ["en", "id", "jv", "su_ID"])
@pytest.mark.parametrize("name", sorted(n for n, t in TEMPLATES.items() if t.approved))
def test_every_approved_template_renders_its_parameters(name: str, locale: str) -> None:
    """Javanese and Sundanese fall to the default (Indonesian): approved there too."""
    message = CatalogRenderer("id").render(name, locale=locale, timezone="Asia/Jakarta",
                                           fields=FIELDS)  # fmt: skip
    reference = TEMPLATES[name].approved
    assert reference is not None
    assert message.approved is not None
    assert (reference.name, message.locale) == (message.approved.name, message.approved.language)
    assert len(reference.parameters) == len(message.approved.parameters)
    assert all(p.strip() and "{" not in p for p in message.approved.parameters)


def test_a_host_declares_or_removes_approved_templates() -> None:
    renderer = CatalogRenderer(
        approved={
            "check_in": ApprovedTemplate("shop_check_in", ["name"], ["id"]),
            "csat_survey": None,
        }
    )
    assert None is renderer.approved("csat_survey", "id")
    assert None is renderer.approved("check_in", "en")  # approved in Indonesian only
    message = renderer.render("check_in", locale="id_ID", fields={"name": "Siti"})
    assert message.approved is not None
    assert ("Siti",) == message.approved.parameters
    with pytest.raises(InvalidValue, match=r"approved\.nope"):
        CatalogRenderer(approved={"nope": None})


# -- the scheduler, fed by the desk's care events ------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def jobs(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    return InMemoryJobStore() if request.param == "memory" else SqliteJobStore(tmp_path / "j.db")


def _scheduler(
    jobs: Any, now: datetime, *customers: Any
) -> tuple[CampaignScheduler, RecordingSender]:
    sender = RecordingSender()
    check_in = Campaign("check", OnEvent("ticket_resolved"), [Step(timedelta(0), "check_in")],
                        group="service", window=ALWAYS.window)  # fmt: skip
    survey = attrs.evolve(csat_after_resolution(timedelta(0)), window=ALWAYS.window)
    scheduler = CampaignScheduler(
        [survey, check_in], jobs, sender, InMemoryDirectory(customers), clock=ManualClock(now),
        default_locale="id",
    )  # fmt: skip
    return scheduler, sender


def test_the_desk_tells_the_scheduler_of_each_whatsapp_message(jobs: Any) -> None:
    """Opened Friday 17:00, resolved at once: the survey goes free-form, the check-in too;
    resolved again after the window: the survey as its template, the check-in by email."""
    desk = Desk(InMemoryTicketStore(), clock=ManualClock(FRIDAY_17), policies=POLICY)
    scheduler, sender = _scheduler(jobs, FRIDAY_17, SITI)
    desk.open("W-1", channel="whatsapp", customer_id="siti")
    desk.apply("W-1", "resolve", actor="ana")
    desk.drain_events(scheduler.handle)
    assert FRIDAY_17 == jobs.last_inbound("siti", "whatsapp")
    first = scheduler.run_due(now=FRIDAY_17 + H)
    assert 2 == len(first.sent)
    assert ((), ()) == (first.templated, first.fallbacks)
    assert {("whatsapp", "text")} == {(c, m.form) for _, c, m in sender.sent.values()}

    later = FRIDAY_17 + 30 * H
    scheduler.handle(
        CareEvent("ticket_resolved", "siti", later, id="W-1b", data={"ticket_id": "W-1"})
    )
    second = scheduler.run_due(now=later)
    [survey] = [k for k in second.sent if k.startswith("csat")]
    [check] = [k for k in second.sent if k.startswith("check")]
    assert (survey,) == second.templated
    _, channel, message = sender.sent[survey]
    assert ("whatsapp", "template") == (channel, message.form)
    assert message.approved is not None
    assert ("carekit_csat_survey", "id", ("Siti", "W-1")) == (
        message.approved.name, message.approved.language, message.approved.parameters
    )  # fmt: skip
    assert "email" == sender.sent[check][1]
    [(key, why)] = second.fallbacks
    assert key == check
    assert "window closed" in why
    state = jobs.state(check)
    assert ("done", "sent") == state[:2]
    assert state[2].startswith("on email (the whatsapp window")
    assert jobs.state(survey)[2] == "on whatsapp as its approved template"


def test_a_customer_on_whatsapp_only_gets_nothing_outside_the_window(jobs: Any) -> None:
    scheduler, sender = _scheduler(jobs, FRIDAY_17, ONLY_WHATSAPP)
    scheduler.handle(
        CareEvent("ticket_resolved", "dewi", FRIDAY_17, id="T", data={"ticket_id": "T"})
    )
    report = scheduler.run_due(now=FRIDAY_17 + H)
    [(key, why)] = report.suppressed  # the check-in: no template, no window, no other channel
    assert key.startswith("check/")
    assert "no whatsapp message from the customer" in why
    assert list(report.sent) == list(report.templated)  # the survey: as its template
    assert jobs.history(key)[-1].what == "suppressed"
