"""Reports of a simulation: a text summary for the terminal and a self-contained HTML page.

The HTML report draws its charts as inline SVG: no plotting library, no
script, no network; one file that opens anywhere.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import attrs

from carekit._check import checked
from carekit._duration import format_duration
from carekit._model import Channel
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit._sla_report import Metric
from carekit._time import zone
from carekit.kpis import KpiReport, first_response_times, kpi_report
from carekit.simulate._engine import SimulationResult
from carekit.simulate._health import band_lines
from carekit.testing import InMemoryDirectory

__all__ = ["Comparison", "compare_table", "kpis", "render_html", "render_text", "sla_by_hour"]


@checked
def kpis(
    result: SimulationResult,
    policy: SlaPolicy | PolicySelector | None = None,
    by: str | None = "channel",
) -> KpiReport:
    """The KPI report of a run, per channel by default.

    SLA achievement is graded against the policies the run used (its desk's
    selector, rules and customers included), unless ``policy`` says otherwise.
    """
    return kpi_report(
        result.tickets,
        now=result.end,
        policy=policy or result.selector,
        directory=InMemoryDirectory(result.customers),
        by=by,
        timezone=result.model.timezone,
        answers=result.answers,
    )


@checked
def sla_by_hour(
    result: SimulationResult, policy: SlaPolicy | PolicySelector | None = None
) -> list[float | None]:
    """First-response SLA achievement by the hour of the day tickets arrived (desk's zone).

    Graded against the run's own policies unless ``policy`` says otherwise.
    """
    selector = _selector(policy or result.selector)
    customers = {c.id: c for c in result.customers}
    tz = zone(result.model.timezone)
    met: Counter[int] = Counter()
    total: Counter[int] = Counter()
    for t in result.tickets:
        chosen = selector.select(t, customers.get(t.customer_id))
        report = chosen.evaluate(t, now=result.end)
        if Metric.FIRST_RESPONSE not in report:
            continue
        clock = report[Metric.FIRST_RESPONSE]
        if clock.running and not clock.breached:
            continue
        hour = t.created_at.astimezone(tz).hour
        total[hour] += 1
        met[hour] += not clock.breached
    return [met[h] / total[h] if total[h] else None for h in range(24)]


def _selector(policy: SlaPolicy | PolicySelector) -> PolicySelector:
    return policy if isinstance(policy, PolicySelector) else PolicySelector([], policy)


def _dict_lines(title: str, counts: Mapping[str, float]) -> list[str]:
    lines = [title]
    lines.extend(f"  {k:<60} {v:>6}" for k, v in counts.items())
    if not counts:
        lines.append("  (none)")
    return lines


@checked
def render_text(
    result: SimulationResult, locale: str = "en", policy: SlaPolicy | PolicySelector | None = None
) -> str:
    """The terminal report: KPIs, escalations, campaign sends, suppressions and deferrals."""
    local_start = result.start.astimezone(zone(result.model.timezone))
    head = (
        f"{result.model.name}: {result.days} day(s) from {local_start:%Y-%m-%d} (seed {result.seed}), "
        f"{len(result.tickets)} tickets, policy {result.policy!r}, up to {result.agents} agents"
    )
    lines = [head, "", kpis(result, policy).render(locale), ""]
    lines += [*_dict_lines("Escalations", result.escalations), ""]
    lines += [*_dict_lines("Campaign sends", result.sends), ""]
    lines += [*_dict_lines("Delivery paths", result.paths), ""]
    lines += [*_health_lines(result), ""]
    lines += [*_dict_lines("Suppressed (with reasons)", result.suppressions), ""]
    lines += _dict_lines("Deferred (with reasons)", result.deferrals)
    return "\n".join(lines)


def _health_lines(result: SimulationResult) -> list[str]:
    lines = ["Customer health (green / yellow / red), each day"]
    lines += band_lines(result.health_bands)
    lines.append(f"Turned red: {len(result.turned_red)}")
    for customer, day, reasons in result.turned_red[:5]:
        lines.append(f"  {customer} on {day}: {'; '.join(reasons)}")
    if len(result.turned_red) > 5:
        lines.append(f"  ... and {len(result.turned_red) - 5} more")
    lines += [
        "",
        *_dict_lines("CLV so far (historic, 25% margin), mean by tier", result.clv_by_segment),
    ]
    return lines


# -- SVG charts ----------------------------------------------------------------------------------

_W, _H, _PAD = 640, 220, 36


def _bars(
    values: Sequence[float | None],
    labels: Sequence[str],
    *,
    percent: bool = False,
    colour: str = "#2f6fb0",
) -> str:
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    if percent:
        top = 1.0
    width = (_W - 2 * _PAD) / max(1, len(values))
    parts = [f'<svg viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img">']
    parts.append(
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#999"/>'
    )
    for i, (v, label) in enumerate(zip(values, labels, strict=True)):
        x = _PAD + i * width
        if v is not None:
            h = (_H - 2 * _PAD) * v / top
            tip = f"{label}: {v:.0%}" if percent else f"{label}: {v:.1f}"
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{_H - _PAD - h:.1f}" width="{width - 2:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{html.escape(tip)}</title></rect>'
            )
        if len(values) <= 24 or i % 2 == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{_H - _PAD + 14}" font-size="10" text-anchor="middle">'
                f"{html.escape(label)}</text>"
            )
    scale = "100%" if percent else f"{top:.1f}"
    parts.append(f'<text x="4" y="{_PAD}" font-size="10">{scale}</text></svg>')
    return "".join(parts)


def _histogram(result: SimulationResult) -> str:
    edges = [0, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600]
    names = ["<30s", "<1m", "<5m", "<15m", "<1h", "<4h", "<24h", ">=24h"]
    blocks = []
    for channel in Channel:
        waits = [
            w.total_seconds()
            for w in first_response_times(t for t in result.tickets if t.channel is channel)
        ]
        if not waits:
            continue
        counts = [0] * len(names)
        for w in waits:
            counts[next((i for i, e in enumerate(edges[1:]) if w < e), len(names) - 1)] += 1
        shares: list[float | None] = [c / len(waits) for c in counts]
        blocks.append(
            f"<h3>{channel} ({len(waits)} answered)</h3>"
            + _bars(shares, names, percent=True, colour="#4f9a6a")
        )
    return "".join(blocks)


@checked
def render_html(result: SimulationResult, policy: SlaPolicy | PolicySelector | None = None) -> str:
    """A self-contained HTML report with charts (inline SVG) and tables."""
    hours = [f"{h:02d}" for h in range(24)]
    report = kpis(result, policy)
    rows = "".join(
        f"<tr><td>{html.escape(group)}</td><td>{html.escape(f.name)}</td>"
        f"<td>{html.escape(_short(f.value))}</td><td>{html.escape(f.formula)}</td></tr>"
        for group, figures in report.groups.items()
        for f in figures
    )

    def table(title: str, counts: Mapping[str, int], colour: str = "#6a4fb0") -> str:
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in counts.items())
        chart = ""
        if counts:
            labels = [k.split(":")[0][:18] for k in counts]
            chart = _bars([float(v) for v in counts.values()], labels, colour=colour)
        return f"<h2>{html.escape(title)}</h2>{chart}<table><tr><th>what</th><th>count</th></tr>{body or '<tr><td>(none)</td><td></td></tr>'}</table>"

    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(result.model.name)}: simulation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}
h2{{margin-top:2em}}</style></head><body>
<h1>{html.escape(result.model.name)}</h1>
<p>{result.days} day(s) from {result.start.astimezone(zone(result.model.timezone)):%Y-%m-%d} ({html.escape(result.model.timezone)}), seed {result.seed}, {len(result.tickets)} tickets,
policy <b>{html.escape(result.policy)}</b>, up to {result.agents} agents. Generated {generated}.</p>
<h2>First-response SLA achievement by hour of arrival</h2>{_bars(sla_by_hour(result, policy), hours, percent=True)}
<h2>Queue by hour of the day (average waiting tickets)</h2>{_bars(list(result.queue_by_hour), hours, colour="#b0702f")}
<h2>First-response time by channel</h2>{_histogram(result)}
<h2>Escalations</h2>{_bars([float(v) for v in result.escalations.values()], list(result.escalations), colour="#b03a2f") if result.escalations else "<p>(none)</p>"}
{table("Campaign sends", result.sends)}
{table("Delivery paths", result.paths)}
{table("Suppressed, with reasons", result.suppressions, "#8a8a8a")}
{table("Deferred, with reasons", result.deferrals, "#8a8a8a")}
<h2>KPIs</h2><table><tr><th>group</th><th>KPI</th><th>value</th><th>formula</th></tr>{rows}</table>
</body></html>
"""


def _short(value: object) -> str:
    if value is None:
        return "-"
    if hasattr(value, "median"):
        median = value.median
        return "-" if median is None else f"median {format_duration(median)}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


@attrs.frozen
class Comparison:
    """Two or more runs of the same arrivals side by side."""

    results: Mapping[str, SimulationResult]


@checked
def compare_table(comparison: Comparison, policy: SlaPolicy | PolicySelector | None = None) -> str:
    """SLA achievement, escalations and campaign sends per variant, as a text table."""
    names = list(comparison.results)
    figures: dict[str, dict[str, str]] = {}
    for name, result in comparison.results.items():
        report = kpis(result, policy, by=None).to_dict()["groups"]["all"]
        values = {f["name"]: f["value"] for f in report}
        row = figures.setdefault(name, {})
        for metric in (
            "sla_first_response",
            "sla_resolution",
            "call_service_level",
            "abandon_rate",
        ):
            v = values.get(metric)
            row[metric] = "-" if v is None else f"{v:.1%}"
        row["escalations"] = str(result.escalation_total)
        row["campaign sends"] = str(sum(result.sends.values()))
        row["suppressed"] = str(sum(result.suppressions.values()))
        row["red at the end"] = str(result.red_at_end)
    keys = list(next(iter(figures.values())))
    width = max(len(k) for k in keys)
    lines = [" " * width + "  " + "  ".join(f"{n:>14}" for n in names)]
    lines += [f"{k:<{width}}  " + "  ".join(f"{figures[n][k]:>14}" for n in names) for k in keys]
    return "\n".join(lines)
