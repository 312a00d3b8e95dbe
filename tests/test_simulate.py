"""The simulator, the CSV replay, the reports and the command line."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import attrs
import pytest

from carekit import Channel, Metric, SlaPolicy, Status
from carekit._cli import main
from carekit.campaigns.recipes import all_recipes
from carekit.exceptions import InvalidValue
from carekit.kpis import kpi_report
from carekit.simulate import (
    DeskModel,
    Shift,
    compare,
    compare_table,
    kpis,
    render_html,
    render_text,
    replay_csv,
    shop_desk,
    simulate,
)
from carekit.stores.sqlite import SqliteJobStore, SqliteTicketStore

SMALL = DeskModel(
    name="small desk", arrivals=(4.0,) * 24, shifts=(Shift(0, 24, 2),), population=300
)


def fingerprint(result: object) -> tuple[object, ...]:
    r = result
    return (
        [(t.id, t.channel, [(e.kind, e.at) for e in t.events]) for t in r.tickets],  # type: ignore[attr-defined]
        r.escalations,  # type: ignore[attr-defined]
        r.sends,  # type: ignore[attr-defined]
        r.suppressions,  # type: ignore[attr-defined]
    )


def test_same_seed_same_run_different_seed_different_run() -> None:
    """A run is a pure function of its seed."""
    a, b, c = (simulate(SMALL, days=1, seed=s) for s in (3, 3, 4))
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(c)
    assert len(a.tickets) > 50


def test_sqlite_and_memory_stores_give_the_same_run(tmp_path: Path) -> None:
    """The stores are interchangeable: the same seed on SQLite gives the same tickets."""
    db = tmp_path / "desk.sqlite3"
    on_disk = simulate(SMALL, days=1, seed=5, store=SqliteTicketStore(db), jobs=SqliteJobStore(db))
    in_memory = simulate(SMALL, days=1, seed=5)
    assert fingerprint(in_memory) == fingerprint(on_disk)


def test_the_engine_is_really_driven() -> None:
    """Tickets go through the lifecycle, escalations fire, campaigns send, calls are abandoned."""
    result = simulate(shop_desk(), days=2, seed=7)
    statuses = {t.status for t in result.tickets}
    assert Status.RESOLVED in statuses
    assert result.escalations.get("breach", 0) > 0
    assert result.sends.get("csat_after_resolution", 0) > 100
    assert result.sends.get("apology_after_breach", 0) > 0
    abandoned = [t for t in result.tickets if any(e.data.get("abandoned") for e in t.events)]
    assert abandoned
    assert any(a.kind == "csat_rated" for a in result.answers)


def test_the_run_counts_each_delivery_path() -> None:
    """WhatsApp's window shapes the run: free-form inside it, templates or fallbacks outside;
    every send is on exactly one path; a desk of WhatsApp-only customers also suppresses."""
    result = simulate(shop_desk(), days=2, seed=7)
    assert sum(result.sends.values()) == sum(
        n for path, n in result.paths.items() if not path.startswith("suppressed")
    )
    assert result.paths["free-form on whatsapp"] > 0
    assert result.paths["approved template on whatsapp"] > 0
    assert result.paths["fallback channel: email"] > 0
    only = attrs.evolve(
        shop_desk(),
        customers=[attrs.evolve(m, consent=frozenset({Channel.WHATSAPP}))
                   for m in shop_desk().customers],
    )  # fmt: skip
    narrow = simulate(only, days=2, seed=7)
    assert narrow.paths["suppressed by the window"] > 0
    assert "fallback channel: email" not in narrow.paths
    assert any("no other channel open to it" in why for why in narrow.suppressions)


def test_what_if_sees_the_same_arrivals() -> None:
    """More agents: the same tickets arrive, first responses come sooner."""
    comparison = compare(
        SMALL,
        {"two agents": {}, "one agent": {"shifts": [Shift(0, 24, 1)]}},
        days=1,
        seed=9,
    )
    two, one = comparison.results["two agents"], comparison.results["one agent"]
    assert [t.id for t in two.tickets] == [t.id for t in one.tickets]
    assert [t.created_at for t in two.tickets] == [t.created_at for t in one.tickets]
    assert one.escalation_total >= two.escalation_total
    table = compare_table(comparison)
    assert "two agents" in table
    assert "sla_first_response" in table


def test_reports() -> None:
    """The text report names the KPIs; the HTML one is self-contained with SVG charts."""
    result = simulate(SMALL, days=1, seed=2)
    text = render_text(result, "id")
    assert "first_response_time" in text
    assert "Campaign sends" in text
    page = render_html(result)
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") >= 3
    assert "<script" not in page
    assert "src=" not in page
    assert "href=" not in page
    assert "Suppressed, with reasons" in page


CSV = """ticket_id,at,event,channel,priority,customer_id,actor
T-1,2026-03-02T09:00:00+07:00,created,email,normal,c-1,
T-1,2026-03-02T09:40:00+07:00,agent_reply,,,,dewi
T-1,2026-03-02T10:00:00+07:00,resolve,,,,dewi
T-2,2026-03-02T09:05:00+07:00,created,email,urgent,c-2,
T-2,2026-03-03T09:05:00+07:00,agent_reply,,,,budi
T-3,2026-03-02T09:06:00+07:00,created,phone,normal,c-3,
T-3,2026-03-02T09:06:20+07:00,agent_reply,,,,sari
"""


def test_replay_a_csv(tmp_path: Path) -> None:
    """Real events in time order through the desk; escalations and campaigns between them."""
    path = tmp_path / "events.csv"
    path.write_text(CSV, encoding="utf-8")
    result = replay_csv(path)
    by_id = {t.id: t for t in result.tickets}
    assert ["created", "agent_reply", "resolve"] == [e.kind for e in by_id["T-1"].events]
    assert result.escalations.get("warning") == 1  # T-2's urgent 1 h email: warned and breached
    assert result.escalations.get("breach") == 1
    assert "csat_after_resolution" in result.sends


def test_bad_csv_is_a_typed_error(tmp_path: Path) -> None:
    """Missing columns and naive times are named."""
    bad = tmp_path / "bad.csv"
    bad.write_text("id,when\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidValue, match="header"):
        replay_csv(bad)
    naive = tmp_path / "naive.csv"
    naive.write_text(CSV.replace("+07:00", ""), encoding="utf-8")
    with pytest.raises(InvalidValue, match="offset"):
        replay_csv(naive)


# -- the command line -------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "policies.toml"


@pytest.mark.parametrize("command", ["simulate", "check", "staffing"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--help works for each command and says what it does."""
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert 0 == info.value.code
    assert "usage: python -m carekit" in capsys.readouterr().out


def test_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid file: exit 0; a bad one: exit 1 with each error and its key path."""
    assert 0 == main(["check", str(EXAMPLE)])
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[policies.p.targets.email]\nfirst_response = "24x"\n[policies.q]\ncalendar = "x"\n'
    )
    assert 1 == main(["check", str(bad)])
    out = capsys.readouterr().out
    assert "policies.p.targets.email.first_response: '24x' is not a duration" in out
    assert "policies.q.calendar: 'x'" in out


def test_staffing_command(capsys: pytest.CaptureFixture[str]) -> None:
    """100 calls in half an hour at 3 minutes, 80 % in 20 s: 14 agents."""
    assert 0 == main(["staffing", "--calls", "0,100", "--aht", "3m", "--within", "20s"])
    lines = capsys.readouterr().out.splitlines()
    assert "target 80% within 20s" in lines[0]
    assert ["1", "100", "14", "14"] == lines[-1].split()[:4]


def test_simulate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One day on SQLite in a folder: the report on stdout, the HTML file written."""
    assert 0 == main(["simulate", "--days", "1", "--seed", "3", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Toko Sejahtera care desk" in out
    assert f"HTML report: {tmp_path / 'report.html'}" in out
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert (tmp_path / "desk.sqlite3").exists()
    assert 2 == main(["simulate", "--days", "1", "--workdir", str(tmp_path)])  # refuses to reuse
    with pytest.raises(SystemExit) as refused:
        main(["simulate", "--compare-without", "no_such_campaign"])
    assert 2 == refused.value.code
    assert 0 == main(["simulate", "--days", "1", "--memory", "--compare-without", "win_back"])
    assert "without win_back" in capsys.readouterr().out


def test_holidays_run_on_a_skeleton_staff() -> None:
    """On a holiday a third of the agents work: the same arrivals breach more often."""
    desk = attrs.evolve(SMALL, shifts=(Shift(0, 24, 3),))
    holiday = attrs.evolve(desk, holidays=(date(2026, 3, 2),))
    assert 1 == holiday.agents_at(10, date(2026, 3, 2))
    assert 3 == holiday.agents_at(10, date(2026, 3, 3))
    normal, short = simulate(desk, days=1, seed=11), simulate(holiday, days=1, seed=11)
    assert [t.id for t in normal.tickets] == [t.id for t in short.tickets]
    assert short.escalation_total > normal.escalation_total


def test_zero_days_is_a_typed_error() -> None:
    """A run needs at least a day."""
    with pytest.raises(InvalidValue, match="days"):
        simulate(SMALL, days=0)


def _first_response(report: object) -> float | None:
    figures = report.to_dict()["groups"]["all"]  # type: ignore[attr-defined]
    return next((f["value"] for f in figures if f["name"] == "sla_first_response"), None)


def test_each_run_is_graded_against_the_policy_it_ran() -> None:
    """A run under a strict policy reports its own achievement, not the shipped default's."""
    strict = SlaPolicy("strict", {Metric.FIRST_RESPONSE: timedelta(seconds=5)})
    result = simulate(SMALL, days=1, seed=4, policies=strict)
    own = _first_response(kpis(result, by=None))
    assert own == _first_response(kpi_report(result.tickets, now=result.end, policy=strict))
    assert own != _first_response(kpis(result, SlaPolicy.default(), by=None))
    comparison = compare(SMALL, {"default": {}, "strict": {"policies": strict}}, days=1, seed=4)
    graded = {name: _first_response(kpis(run, by=None)) for name, run in comparison.results.items()}
    assert graded["default"] != graded["strict"]
    assert own == graded["strict"]


def test_the_run_tracks_health_and_apologies_keep_customers_from_turning_red() -> None:
    """Bands each day, who turned red and why, CLV by tier; without the apology voucher after a
    breach, more customers end the run red (same arrivals, same seed)."""
    without = [c for c in all_recipes() if c.name != "apology_after_breach"]
    runs = compare(
        shop_desk(), {"apology": {}, "no apology": {"campaigns": without}}, days=3, seed=7
    )
    kept, lost = runs.results["apology"], runs.results["no apology"]
    assert 4 == len(kept.health_bands)  # each morning and the end
    assert all(sum(c.values()) == shop_desk().population for _, c in kept.health_bands)
    assert kept.turned_red
    customer, _, reasons = kept.turned_red[0]
    assert customer.startswith("c-")
    assert reasons
    assert all(r.startswith("-") for r in reasons)
    assert {"standard", "vip"} <= set(kept.clv_by_segment)
    assert lost.red_at_end > kept.red_at_end
    assert "red at the end" in compare_table(runs)
    assert "Turned red:" in render_text(kept)
