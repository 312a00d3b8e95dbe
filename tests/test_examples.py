"""Every example runs; the assertions check what each one is there to show."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from carekit import Priority, Status

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> dict[str, object]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        return runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        sys.path.remove(str(EXAMPLES))


def test_every_example_is_covered() -> None:
    """A new example gets a test here."""
    tested = {"quickstart.py", "custom_lifecycle.py", "custom_escalation.py"}
    assert tested == {p.name for p in EXAMPLES.glob("*.py")}


def test_quickstart(capsys: pytest.CaptureFixture[str]) -> None:
    """The quickstart resolves its ticket, shows the refusal and the history."""
    ticket = run_example("quickstart.py")["main"]()  # type: ignore[operator]
    out = capsys.readouterr().out
    assert Status.RESOLVED is ticket.status
    assert Priority.HIGH is ticket.priority
    assert "refused, ticket unchanged" in out
    assert "Fri 16:30 created" in out  # shown in the customer's Jakarta time
    assert "first response due 2026-03-07 09:30 UTC (running)" in out
    assert "first_response (cycle 1): target 1d [email] in 24/7" in out
    assert "stopped 2026-03-06 10:10:00 UTC after 40m: met" in out
    assert "paused 2026-03-06 10:11:00 UTC to 2026-03-06 12:30:00 UTC (pending)" in out


def test_custom_lifecycle(capsys: pytest.CaptureFixture[str]) -> None:
    """The subclass adds a state, its triggers, and a guard that refuses a close."""
    ticket = run_example("custom_lifecycle.py")["main"]()  # type: ignore[operator]
    out = capsys.readouterr().out
    assert Status.CLOSED is ticket.status
    assert "waiting_on_vendor" in [e.status_after for e in ticket.events]
    assert "refused: refused by a guard" in out
    assert "vendor_reply" in out


def test_custom_escalation(capsys: pytest.CaptureFixture[str]) -> None:
    """The custom trigger fires for the VIP only; the custom action reaches the handler."""
    handler = run_example("custom_escalation.py")["main"]()  # type: ignore[operator]
    keys = sorted(handler.done)
    assert ["T-1/breach/resolution/1", "T-2/breach/resolution/1"] == [
        k for k in keys if "breach" in k
    ]
    [stuck] = [k for k in keys if "stuck" in k]
    assert stuck.startswith("T-1/vip stuck/pending/")
    assert ["page on_call_lead about T-1"] == handler.done[stuck]
    assert ["incident (major) for T-2"] == handler.done["T-2/breach/resolution/1"]
