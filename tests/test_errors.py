"""Typed errors carry a stable code and JSON-ready data; the lifecycle says which refusal it was."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from carekit import Lifecycle, Ticket, exceptions
from carekit.exceptions import (
    CarekitError,
    InvalidTransition,
    InvalidTriggerData,
    PolicyError,
    PolicyFileError,
    TransitionRefused,
    UnknownTrigger,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ERRORS = [
    obj
    for name in exceptions.__all__
    if inspect.isclass(obj := getattr(exceptions, name)) and issubclass(obj, CarekitError)
]


def test_every_error_has_its_own_stable_code() -> None:
    """Codes are unique, lower_snake_case, and never the root's placeholder."""
    codes = [e.code for e in ERRORS if e is not CarekitError]
    assert len(codes) == len(set(codes))
    assert all(c.replace("_", "").isalpha() and c.islower() for c in codes)
    assert "carekit_error" not in codes


def test_to_dict_is_json_ready_with_the_errors_data() -> None:
    """An HTTP API can return ``error.to_dict()`` as it is."""
    refused = UnknownTrigger("T-1", "open", "bogus", ("resolve",), "no such trigger")
    data = refused.to_dict()
    assert "unknown_trigger" == data["code"]
    assert ["resolve"] == data["allowed"]
    assert "T-1" == data["ticket_id"]
    nested = PolicyFileError([PolicyError("targets.email", "24x", "is not a duration")])
    assert "policy" == json.loads(json.dumps(nested.to_dict()))["errors"][0]["code"]


@pytest.mark.parametrize(
    ("trigger", "data", "kind"),
    [
        ("bogus", {}, UnknownTrigger),
        ("assign", {}, InvalidTriggerData),
        ("set_priority", {"priority": "whenever"}, InvalidTriggerData),
        ("close", {}, TransitionRefused),
    ],
)
def test_the_lifecycle_tells_its_refusals_apart(
    trigger: str, data: dict[str, Any], kind: type[InvalidTransition]
) -> None:
    """An unknown trigger, bad or missing data, and a refused move are different errors."""
    ticket = Ticket.open("T-1", channel="email", customer_id="c", at=T0)
    with pytest.raises(kind) as info:
        Lifecycle().apply(ticket, trigger, at=T0, **data)
    assert isinstance(info.value, InvalidTransition)
    assert kind.code == info.value.to_dict()["code"]


def test_the_how_to_lists_every_error_with_its_code_and_status() -> None:
    """The HTTP table of docs/howto.md is the errors' own http_status and code, all of them."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "howto.md").read_text("utf-8")
    section = page.split("## Answer API calls with the right HTTP status")[1].split("\n## ")[0]
    rows = {
        cells[0].strip("` "): (cells[1].strip("` "), int(cells[2]))
        for line in section.splitlines()
        if line.startswith("| `")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    errors = {name: getattr(exceptions, name) for name in exceptions.__all__}
    assert set(errors) == set(rows)
    for name, cls in errors.items():
        assert (cls.code, cls.http_status) == rows[name], name
    assert len({cls.code for cls in errors.values()}) == len(errors)  # codes are distinct
