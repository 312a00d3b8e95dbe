from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carekit import (
    Channel,
    Customer,
    Metric,
    Priority,
    Status,
    Ticket,
    load_policies,
    loads_policies,
)
from carekit.exceptions import PolicyError, PolicyFileError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "policies.toml"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 08:00 in Jakarta


def test_the_example_file_loads_completely() -> None:
    """Calendars, policies, targets by channel and priority, and the selector."""
    loaded = load_policies(EXAMPLE)
    assert {"jakarta", "contact_centre"} == set(loaded.calendars)
    assert {"standard", "vip"} == set(loaded.policies)
    standard = loaded.policies["standard"]
    email_urgent = Ticket.open(
        "t", channel="email", customer_id="c", at=T0, priority=Priority.URGENT
    )
    found = standard.target_for(Metric.FIRST_RESPONSE, email_urgent)
    assert found is not None
    assert (timedelta(hours=1), "email/urgent") == (found[0].duration, found[1])
    phone = Ticket.open("p", channel=Channel.PHONE, customer_id="c", at=T0)
    found = standard.target_for(Metric.FIRST_RESPONSE, phone)
    assert found is not None
    assert loaded.calendars["contact_centre"] is found[0].calendar
    assert loaded.policies["vip"] is loaded.selector.select(phone, Customer("c", tier="vip"))
    assert standard is loaded.selector.select(phone, Customer("c"))


def test_the_example_calendar_means_its_hours() -> None:
    """Lunch is closed, Saturday is a half day, the Nyepi eve override holds."""
    jakarta = load_policies(EXAMPLE).calendars["jakarta"]
    monday = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 WIB
    assert timedelta(hours=8) == jakarta.between(monday, monday + timedelta(days=1))
    eve = datetime(2026, 3, 18, 1, 0, tzinfo=UTC)
    assert timedelta(hours=4) == jakarta.between(eve, eve + timedelta(days=1))


@pytest.mark.parametrize(
    ("toml", "path", "value"),
    [
        (
            '[policies.p.targets.email]\nfirst_response = "24x"',
            "policies.p.targets.email.first_response",
            "24x",
        ),
        ('[policies.p.targets]\nemail = { fax = "1h" }', "policies.p.targets.email.fax", "1h"),
        (
            '[policies.p.targets]\nresolution = { duration = "2h", warn_at = [2] }',
            "policies.p.targets.resolution.warn_at",
            [2],
        ),
        ('[policies.p]\ncalendar = "nowhere"', "policies.p.calendar", "nowhere"),
        ('[policies.p]\nreopen = "sometimes"', "policies.p.reopen", "sometimes"),
        ('[policies.p]\npause_on = { lunch = ["pending"] }', "policies.p.pause_on.lunch", "lunch"),
        (
            '[calendars.c]\nhours = { mon = ["25:00-26:00"] }',
            "calendars.c.hours.monday",
            "25:00-26:00",
        ),
        ('[calendars.c]\ntimezone = "Mars/Base"\nhours = {}', "calendars.c", "Mars/Base"),
        ('[selector]\ndefault = "ghost"', "selector.default", "ghost"),
        ("[extras]\nx = 1", "extras", {"x": 1}),
        ("[policies.p]\nlunch = 1", "policies.p.lunch", 1),
        ("[calendars.c]\nshifts = 2\nhours = {}", "calendars.c.shifts", 2),
        (
            '[policies.p.targets]\nresolution = { duration = "2h", grace = "1h" }',
            "policies.p.targets.resolution.grace",
            "1h",
        ),
        (
            '[policies.p]\n[selector]\nrules = [{ policy = "p", colour = "red" }]',
            "selector.rules[0].colour",
            "red",
        ),
    ],
)
def test_each_error_names_its_key_path_and_value(toml: str, path: str, value: object) -> None:
    """A bad file raises PolicyFileError naming where and what."""
    with pytest.raises(PolicyFileError) as info:
        loads_policies(toml)
    error = info.value
    assert isinstance(error, PolicyError)
    assert isinstance(error, ValueError)
    assert (path, value) == (error.errors[0].path, error.errors[0].value)
    assert str(error).startswith(f"{path}: ")


def test_the_issue_example_message() -> None:
    """targets.email.first_response: '24x' is not a duration."""
    with pytest.raises(
        PolicyFileError, match=r"targets\.email\.first_response: '24x' is not a duration"
    ):
        loads_policies('[policies.std.targets.email]\nfirst_response = "24x"')


def test_every_error_is_reported_at_once() -> None:
    """Two mistakes, two errors: the whole file is checked, not just up to the first."""
    with pytest.raises(PolicyFileError) as info:
        loads_policies('[policies.a.targets]\nresolution = "soon"\n[policies.b]\ncalendar = "x"\n')
    assert ["policies.a.targets.resolution", "policies.b.calendar"] == [
        e.path for e in info.value.errors
    ]


def test_invalid_toml_and_missing_file() -> None:
    """Syntax errors and unreadable files are PolicyFileErrors too."""
    with pytest.raises(PolicyFileError, match="not valid TOML"):
        loads_policies("[policies\n")
    with pytest.raises(PolicyFileError, match="cannot be read"):
        load_policies("/nonexistent/policies.toml")


def test_country_holidays_in_a_file() -> None:
    """country_holidays uses the optional extra and closes national holidays."""
    loaded = loads_policies(
        '[calendars.id]\ntimezone = "Asia/Jakarta"\nhours = { "mon-fri" = ["08:00-17:00"] }\n'
        'country_holidays = { country = "ID", years = [2026] }\n'
    )
    independence_day = datetime(2026, 8, 17, 3, 0, tzinfo=UTC)
    assert not loaded.calendars["id"].is_open(independence_day)


def _errors(text: str) -> list[tuple[str, str]]:
    with pytest.raises(PolicyFileError) as info:
        loads_policies(text)
    return [(e.path, str(e)) for e in info.value.errors]


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('[calendars.j]\nhours = { mon = "08:00-17:00" }\nholidays = 5', "calendars.j.holidays"),
        ("[selector]\nrules = 5", "selector.rules"),
        (
            '[calendars.j]\nhours = { mon = "08:00-17:00" }\nholidays = ["2026-02-30"]',
            "calendars.j.holidays[0]",
        ),
        (
            '[calendars.j]\nhours = { mon = "08:00-17:00" }\n'
            'country_holidays = { country = "ID", years = [2026], sub = "JK" }',
            "calendars.j.country_holidays.sub",
        ),
        (
            '[policies.p]\npause_on = { resolution = ["pendng"] }\n'
            '[policies.p.targets]\nresolution = "1d"',
            "policies.p.pause_on.resolution",
        ),
    ],
)
def test_each_mistake_is_reported_once_at_its_key_path(text: str, path: str) -> None:
    """Wrong types, a bad holiday, an unknown key, a misspelled status: one error, its path."""
    errors = _errors(text)
    assert [path] == [p for p, _ in errors]


def test_a_value_is_printed_once() -> None:
    """The message names the value once, not twice."""
    [(_, message)] = _errors('[calendars.j]\nhours = { mon = "08:00-25:00" }')
    assert 1 == message.count("08:00-25:00")


def test_an_invalid_calendar_is_not_reported_as_missing_where_used() -> None:
    """A calendar that exists but is broken: its own error, and no 'not defined' elsewhere."""
    errors = _errors(
        '[calendars.j]\nhours = { mon = "08:00-25:00" }\n'
        '[policies.p]\ncalendar = "j"\n[policies.p.targets]\nresolution = "1d"'
    )
    assert ["calendars.j.hours.monday"] == [p for p, _ in errors]


def test_broken_toml_says_where_without_a_none() -> None:
    """Broken TOML and 1,000-deep arrays are policy-file errors that read well."""
    [(_, message)] = _errors("[policies\n")
    assert "None" not in message
    assert "not valid TOML" in message
    [(_, deep)] = _errors("x = " + "[" * 1000 + "]" * 1000)
    assert "not valid TOML" in deep


def test_a_lifecycles_own_states_can_pause_clocks() -> None:
    """pause_on may name a host's state when the reader is told the lifecycle's states."""
    text = (
        '[policies.p]\npause_on = { resolution = ["waiting_on_vendor"] }\n'
        '[policies.p.targets]\nresolution = "1d"'
    )
    states = [*(s.value for s in Status), "waiting_on_vendor"]
    policies = loads_policies(text, states=states)
    assert "waiting_on_vendor" in policies.policies["p"].pause_on[Metric.RESOLUTION]


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('[calendars.j]\ntimezon = "UTC"', "calendars.j.timezon"),
        ('[calendars.j]\nhours = { funday = ["08:00-12:00"] }', "calendars.j.hours.funday"),
        ('[calendars.j]\noverrides = { "2026-02-30" = [] }', "calendars.j.overrides.2026-02-30"),
        ('[calendars.j]\nholidays = ["2026-01-01", "2026-13-01"]', "calendars.j.holidays[1]"),
        (
            '[calendars.j.country_holidays]\ncountry = "ID"\nyears = [2026]\nsubdivision = "JK"',
            "calendars.j.country_holidays.subdivision",
        ),
        ('[policies.p]\ncalender = "x"', "policies.p.calender"),
        ('[policies.p.targets]\nfirst_respons = "1h"', "policies.p.targets.first_respons"),
        (
            '[policies.p.targets.first_response]\nduraton = "1h"',
            "policies.p.targets.first_response.duraton",
        ),
        (
            '[policies.p.targets.email]\nfirst_reponse = "1h"',
            "policies.p.targets.email.first_reponse",
        ),
        ('[policies.p.pause_on]\nresolutoin = ["pending"]', "policies.p.pause_on.resolutoin"),
        ('[policies.p]\n[selector]\ndefualt = "p"', "selector.defualt"),
        ('[policies.p]\n[[selector.rules]]\npolicy = "p"\nteir = "vip"', "selector.rules[0].teir"),
        ('[policies.p]\n[[selector.rules]]\npolicy = "p"\ntier = 5', "selector.rules[0].tier"),
        ('[policies.p]\n[[selector.rules]]\npolicy = "p"\nname = [1]', "selector.rules[0].name"),
        ('[polices.p]\nreopen = "resume"', "polices"),
    ],
)
def test_a_typo_anywhere_is_one_error_at_its_key_path(text: str, path: str) -> None:
    """Unknown keys are errors in every table, each reported once, where it is."""
    with pytest.raises(PolicyFileError) as info:
        loads_policies(text)
    paths = [error.path for error in info.value.errors]
    assert [path] == [p for p in paths if p == path]
    assert paths.count(path) == 1
    if "holidays" not in text or "country" not in text:  # the extra may be missing
        assert [path] == paths


def test_a_typo_gets_a_suggestion() -> None:
    """The nearest known key is offered."""
    with pytest.raises(PolicyFileError, match="did you mean 'timezone'"):
        loads_policies('[calendars.j]\ntimezon = "UTC"')
