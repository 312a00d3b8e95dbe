"""Every example runs; the assertions check what each one is there to show."""

from __future__ import annotations

import json
import runpy
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from carekit import Priority, Status
from carekit.testing import ManualClock

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> dict[str, object]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        return runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        sys.path.remove(str(EXAMPLES))


def test_every_example_is_covered() -> None:
    """A new example gets a test here."""
    tested = {
        "quickstart.py",
        "custom_lifecycle.py",
        "custom_escalation.py",
        "ecommerce_journey.py",
        "call_centre.py",
        "custom_policies.py",
        "persistence.py",
        "web_desk.py",
        "scale_out.py",
        "async_web_desk.py",
        "webhook_sender.py",
        "smtp_sender.py",
        "whatsapp_sender.py",
        "agent_routing.py",
        "waiting_tickets.py",
    }
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


def test_ecommerce_journey(capsys: pytest.CaptureFixture[str]) -> None:
    """Every proactive touch of the journey goes out once, in Indonesian, in the daytime."""
    sender = run_example("ecommerce_journey.py")["main"]()  # type: ignore[operator]
    campaigns = sorted(key.split("/")[0] for key in sender.sent)
    assert [
        "apology_after_breach",
        "birthday_greeting",
        "care_tips_after_purchase",
        "csat_after_resolution",
        "loyalty_invitation",
        "nps_survey",
        "periodic_check_in",  # enrolled by the daily schedule(), sent in the daytime
    ] == campaigns
    assert {"id"} == {m.locale for m in sender.sent.values()}
    apology = next(m for k, m in sender.sent.items() if k.startswith("apology"))
    assert "Rp50.000" in apology.body
    assert "MAAF50" in apology.body
    assert all("{" not in m.body for m in sender.sent.values())  # every field filled
    assert "!! escalation T-77/breach/first_response/1" in capsys.readouterr().out


def test_call_centre() -> None:
    """At risk at 22.5 s (ticked at 23 s), breached at 30 s; the answered call never escalates."""
    result = run_example("call_centre.py")["main"]()  # type: ignore[operator]
    assert ["CALL-1/ringing/first_response/1", "CALL-1/missed/first_response/1"] == result[
        "decisions"
    ]
    assert "23 s: CALL-1/ringing/first_response/1" in result["log"]
    assert "31 s: CALL-1 breached, at risk: False" in result["log"]
    assert all(p.service_level >= 0.8 for p in result["plan"])


def test_custom_policies() -> None:
    """The VIP policy halves targets; the custom action fires; the courier wait pauses."""
    result = run_example("custom_policies.py")["main"]()  # type: ignore[operator]
    assert timedelta(hours=12) == result["plain_due"] - result["vip_due"]
    assert ["CallBack"] == [type(a).__name__ for d in result["fired"] for a in d.actions]
    assert timedelta(hours=5) == result["paused"]
    assert 1.0 == result["figure"].value


def test_persistence(tmp_path: Path) -> None:
    """After the restart nothing fires again; later work continues on the same file."""
    result = run_example("persistence.py")["main"](tmp_path)  # type: ignore[operator]
    assert ["E-1/warn/first_response/1"] == result["first"]
    assert [] == result["again"]
    assert [
        "E-1/breach/first_response/1",
        "csat_after_resolution/siti/0/E-2@20260302T060000",
    ] == result["second"]


def _call(
    base: str, method: str, path: str, body: Mapping[str, object] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 (a free port), in a thread; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive(), "the server did not stop (its lifespan hung)"


@pytest.fixture
def web_desk(tmp_path: Path) -> Iterator[tuple[str, dict[str, Any], Path, ManualClock]]:
    """The example's app served over real HTTP."""
    module = run_example("web_desk.py")
    db = tmp_path / "desk.sqlite3"
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = module["make_app"](module["make_desk"](db, clock=clock))  # type: ignore[operator]
    with serve(app) as base:
        yield base, module, db, clock


def test_web_desk_over_real_http(
    web_desk: tuple[str, dict[str, Any], Path, ManualClock],
) -> None:
    """Open, a late pickup, a retried webhook, a duplicate id; the worker pages once per key."""
    base, module, db, clock = web_desk
    assert (201, {"id": "C-1", "status": "new"}) == _call(
        base, "POST", "/tickets", {"id": "C-1", "channel": "phone", "customer_id": "c-1"}
    )
    assert (
        409
        == _call(base, "POST", "/tickets", {"id": "C-1", "channel": "phone", "customer_id": "c"})[0]
    )
    assert 409 == _call(base, "POST", "/tickets/C-1/events", {"trigger": "close"})[0]  # refused
    assert 422 == _call(base, "POST", "/tickets/C-1/events", {"trigger": "teleport"})[0]
    assert 404 == _call(base, "POST", "/tickets/nope/events", {"trigger": "resolve"})[0]
    # 16 calls at once from the phone system, on the server's threads
    with ThreadPoolExecutor(16) as pool:
        codes = list(
            pool.map(
                lambda i: _call(
                    base,
                    "POST",
                    "/tickets",
                    {"id": f"P-{i}", "channel": "phone", "customer_id": "c"},
                )[0],
                range(16),
            )
        )
    assert [201] * 16 == codes
    # the worker: it pages once per key, whatever the number of passes
    handler = module["OnCall"]()
    worker = module["make_desk"](db, handler, clock)
    clock.advance(timedelta(seconds=40))
    for _ in range(3):
        worker.tick()
    assert {f"P-{i}/missed call/first_response/1" for i in range(16)} <= set(handler.seen)
    # a pickup at 20 s reported late, after the warning went out; then the webhook is retried
    picked = (worker.store.get("C-1").created_at + timedelta(seconds=20)).isoformat()
    body = {"trigger": "agent_reply", "at": picked, "idempotency_key": "pbx-991"}
    status, first = _call(base, "POST", "/tickets/C-1/events", body)
    assert 200 == status
    assert (200, first) == _call(base, "POST", "/tickets/C-1/events", body)
    assert "met" == _call(base, "GET", "/tickets/C-1/sla")[1]["first_response"]["state"]


def test_scale_out(pg_dsn: str, pg_schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Two workers on PostgreSQL, woken by the web front's saves: each breach once."""
    module = runpy.run_path(str(EXAMPLES / "scale_out.py"))  # not as __main__: its schema
    assert 40 == module["main"](pg_dsn, pg_schema)
    assert "40 calls, 40 breaches handed over, each once, by 2 workers" in capsys.readouterr().out


def test_webhook_sender(capsys: pytest.CaptureFixture[str]) -> None:
    """Two surveys reach the host's endpoint signed, in Indonesian (the Sundanese one too)."""
    inbox = run_example("webhook_sender.py")["main"]()  # type: ignore[operator]
    assert 2 == len(inbox)
    assert {"id"} == {m["locale"] for m in inbox.values()}
    assert "-> gw-1: Bagaimana layanan kami?" in capsys.readouterr().out


def test_smtp_sender(capsys: pytest.CaptureFixture[str]) -> None:
    """The survey reaches the relay as an e-mail, in Indonesian, with the key's Message-ID."""
    [mail] = run_example("smtp_sender.py")["main"]()  # type: ignore[operator]
    assert "Bagaimana layanan kami?" == mail["Subject"]
    assert "siti@example.id" == mail["To"]
    assert mail["Message-ID"] in capsys.readouterr().out


def test_async_web_desk_over_real_http(pg_dsn: str, pg_schema: str) -> None:
    """FastAPI + AsyncDesk on PostgreSQL: typed errors as statuses, 17 calls at once, the
    background worker woken by NOTIFY (its poll is an hour) paging each key once, a late and
    retried webhook."""
    module = runpy.run_path(str(EXAMPLES / "async_web_desk.py"))
    app = module["make_app"](pg_dsn, pg_schema, poll=timedelta(hours=1))
    past = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    with serve(app) as base:
        assert (201, {"id": "C-1", "status": "new"}) == _call(
            base,
            "POST",
            "/tickets",
            {"id": "C-1", "channel": "phone", "customer_id": "c", "at": past},
        )
        assert (
            409
            == _call(
                base, "POST", "/tickets", {"id": "C-1", "channel": "phone", "customer_id": "c"}
            )[0]
        )
        assert 409 == _call(base, "POST", "/tickets/C-1/events", {"trigger": "close"})[0]
        assert 422 == _call(base, "POST", "/tickets/C-1/events", {"trigger": "teleport"})[0]
        assert 404 == _call(base, "POST", "/tickets/nope/events", {"trigger": "resolve"})[0]
        assert (
            422
            == _call(base, "POST", "/tickets", {"id": "C-2", "channel": "fax", "customer_id": "c"})[
                0
            ]
        )
        with ThreadPoolExecutor(16) as pool:
            codes = list(
                pool.map(
                    lambda i: _call(
                        base,
                        "POST",
                        "/tickets",
                        {"id": f"P-{i}", "channel": "phone", "customer_id": "c", "at": past},
                    )[0],
                    range(16),
                )
            )
        assert [201] * 16 == codes
        expected = {f"{t}/{level}/first_response/1" for t in ["C-1", *(f"P-{i}" for i in range(16))]
                    for level in ("ringing", "missed call")}  # fmt: skip
        deadline = time.monotonic() + 20
        pages: dict[str, int] = {}
        while set(pages) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
            pages = _call(base, "GET", "/pages")[1]
        assert expected == set(pages)
        assert {1} == set(pages.values())
        picked = (datetime.fromisoformat(past) + timedelta(seconds=20)).isoformat()
        body = {"trigger": "agent_reply", "at": picked, "idempotency_key": "pbx-991"}
        status, first = _call(base, "POST", "/tickets/C-1/events", body)
        assert 200 == status
        assert (200, first) == _call(base, "POST", "/tickets/C-1/events", body)
        assert "met" == _call(base, "GET", "/tickets/C-1/sla")[1]["first_response"]["state"]


def test_whatsapp_sender(capsys: pytest.CaptureFixture[str]) -> None:
    """Siti (wrote an hour ago) gets text; Budi (two days ago) the approved template; the
    stand-in, which refuses text outside the window as WhatsApp does, refused nothing."""
    received = run_example("whatsapp_sender.py")["main"]()  # type: ignore[operator]
    kinds = {body["to"]: body["type"] for body in received}
    assert {"6281200000001": "text", "6281200000002": "template"} == kinds
    [template] = [b["template"] for b in received if b["type"] == "template"]
    assert ("carekit_csat_survey", {"code": "id"}) == (template["name"], template["language"])
    out = capsys.readouterr().out
    assert "(text)" in out
    assert "(template)" in out


def test_routing(capsys: pytest.CaptureFixture[str]) -> None:
    """Each strategy routes the morning's chats; refunds only to those who can."""
    choices = run_example("agent_routing.py")["main"]()  # type: ignore[operator]
    assert set(choices) == {"least loaded", "round robin", "skills first", "sticky"}
    refunds = [1, 5, 9]  # the chats that need the refunds skill
    for chosen in choices.values():
        assert all(chosen[i] in {"ana", "citra"} for i in refunds)
    assert choices["sticky"][5] == "citra"  # c-0's previous agent, on shift by then
    assert choices["skills first"][0] == "budi"  # speaks English, on shift at 09:00
    assert "C-11" in capsys.readouterr().out


def test_waiting_tickets(capsys: pytest.CaptureFixture[str]) -> None:
    """Acknowledged at once, nudged twice, resolved with a message, then closed."""
    received = run_example("waiting_tickets.py")["main"]()  # type: ignore[operator]
    assert received == [
        "Kami telah menerima permintaan Anda T-7",
        "Apakah Anda masih di sana?",
        "Apakah Anda masih di sana?",
        "Kami telah menutup permintaan Anda T-7",
    ]
    out = capsys.readouterr().out
    assert "reaches Siti at Mon 08:00 UTC" in out
    assert "T-7 is closed" in out
