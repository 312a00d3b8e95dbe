"""The command line: ``python -m carekit simulate | check | staffing``.

For the people who run the desk as much as for developers: each command has
``--help``, prints plain text, and exits non-zero when something is wrong.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import attrs

from carekit._duration import parse_duration
from carekit._policy_file import PolicySet, load_policies
from carekit._sla import SlaPolicy
from carekit.exceptions import CarekitError, PolicyFileError

__all__ = ["main"]


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m carekit",
        description="carekit: simulate a care desk, check a policy file, plan staffing.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser(
        "simulate",
        help="run a care desk through days of tickets under a policy",
        description="Simulate a care desk (an Indonesian online shop by default) through the real "
        "engine: lifecycle, SLAs, escalation, campaigns. Prints a KPI report and writes an "
        "HTML report.",
    )
    sim.add_argument("--days", type=int, default=7, help="how many days to simulate (default 7)")
    sim.add_argument("--seed", type=int, default=1, help="random seed; the same seed, the same run")
    sim.add_argument(
        "--policies", type=Path, help="a policy TOML file (default: the shipped policy)"
    )
    sim.add_argument(
        "--replay", type=Path, help="replay this CSV of ticket events instead of generating"
    )
    sim.add_argument(
        "--html", type=Path, help="where to write the HTML report (default: in --workdir)"
    )
    sim.add_argument(
        "--workdir",
        type=Path,
        help="folder for the SQLite file and the report (default: a new temporary folder)",
    )
    sim.add_argument(
        "--memory", action="store_true", help="keep tickets and jobs in memory, not SQLite"
    )
    sim.add_argument("--locale", default="en", help="language of the terminal report (en, id, ...)")
    sim.add_argument(
        "--compare-policies", type=Path, help="what-if: also run under this policy file"
    )
    sim.add_argument(
        "--compare-extra-agents",
        type=int,
        help="what-if: also run with this many more agents per shift",
    )

    check = sub.add_parser(
        "check",
        help="validate a policy file and print each error with its key path",
        description="Validate a policy TOML file. Exit 0 when valid, else 1 with every error.",
    )
    check.add_argument("file", type=Path)

    staff = sub.add_parser(
        "staffing",
        help="agents per interval for a forecast of calls and a service-level target",
        description="Erlang C staffing: agents per interval for a forecast of calls.",
    )
    staff.add_argument(
        "--calls", required=True, help="calls per interval, comma-separated (e.g. 40,120,300)"
    )
    staff.add_argument(
        "--aht",
        type=_duration,
        default=timedelta(minutes=3),
        help="average handle time (default 3m)",
    )
    staff.add_argument(
        "--interval",
        type=_duration,
        default=timedelta(minutes=30),
        help="interval length (default 30m)",
    )
    staff.add_argument(
        "--level", type=float, default=0.8, help="share answered within the threshold (default 0.8)"
    )
    staff.add_argument(
        "--within", type=_duration, help="the threshold (default: the policy's phone pickup, 30s)"
    )
    staff.add_argument(
        "--policies", type=Path, help="take the phone pickup target from this policy file"
    )
    staff.add_argument(
        "--shrinkage", type=float, default=0.0, help="share of paid time off the phones (e.g. 0.3)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.file)
        if args.command == "staffing":
            return _staffing(args)
        return _simulate(args)
    except CarekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _check(path: Path) -> int:
    try:
        loaded = load_policies(path)
    except PolicyFileError as exc:
        print(f"{path}: {len(exc.errors)} error(s)")
        for error in exc.errors:
            print(f"  {error}")
        return 1
    print(f"{path}: valid")
    print(f"  calendars: {', '.join(loaded.calendars) or '(none)'}")
    for name, policy in loaded.policies.items():
        print(
            f"  policy {name!r}: {len(policy.targets)} target(s), calendar {policy.calendar.name}"
        )
    rules = loaded.selector.rules
    print(f"  selector: {len(rules)} rule(s), default {loaded.selector.default.name!r}")
    return 0


def _policy_set(path: Path | None) -> PolicySet | None:
    return load_policies(path) if path is not None else None


def _staffing(args: argparse.Namespace) -> int:
    from carekit.staffing import ServiceLevel, plan_intervals  # noqa: PLC0415 - per command

    try:
        forecast = [float(x) for x in args.calls.split(",") if x.strip()]
    except ValueError:
        print(f"error: --calls {args.calls!r}: numbers separated by commas", file=sys.stderr)
        return 2
    loaded = _policy_set(args.policies)
    policy = loaded.selector.default if loaded else SlaPolicy.default()
    target = ServiceLevel.from_policy(policy, args.level)
    if args.within is not None:
        target = attrs.evolve(target, within=args.within)
    plan = plan_intervals(
        forecast, args.aht, target, interval=args.interval, shrinkage=args.shrinkage
    )
    print(
        f"target {target.level:.0%} within {target.within.total_seconds():g}s, "
        f"AHT {args.aht.total_seconds():g}s, interval {args.interval}, "
        f"shrinkage {args.shrinkage:.0%}"
    )
    columns = ("interval", "calls", "on phones", "scheduled", "service", "ASA s", "occupancy")
    print(" ".join(f"{c:>10}" for c in columns))
    for p in plan:
        print(
            f"{p.index:>10} {p.calls:>10g} {p.on_phones:>10} {p.agents:>10} "
            f"{p.service_level:>10.1%} {p.asa.total_seconds():>10.1f} {p.occupancy:>10.1%}"
        )
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from carekit._country_holidays import country_holidays  # noqa: PLC0415 - per command
    from carekit.exceptions import MissingExtra  # noqa: PLC0415
    from carekit.simulate import (  # noqa: PLC0415
        compare,
        compare_table,
        render_html,
        render_text,
        replay_csv,
        shop_desk,
        simulate,
    )
    from carekit.simulate._engine import stderr_progress  # noqa: PLC0415
    from carekit.simulate._model import Shift  # noqa: PLC0415
    from carekit.stores.sqlite import SqliteJobStore, SqliteTicketStore  # noqa: PLC0415

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="carekit-"))
    workdir.mkdir(parents=True, exist_ok=True)
    loaded = _policy_set(args.policies)
    policies = loaded.selector if loaded else SlaPolicy.default()
    model = shop_desk()
    try:
        model = attrs.evolve(model, holidays=tuple(sorted(country_holidays("ID", [2026, 2027]))))
    except MissingExtra:
        print(
            "note: national holidays need carekit[holidays]; simulating without them",
            file=sys.stderr,
        )
    store: SqliteTicketStore | None = None
    jobs: SqliteJobStore | None = None
    if not args.memory:
        db = workdir / "desk.sqlite3"
        if db.exists():
            print(f"error: {db} exists from an earlier run: remove it or choose another --workdir")
            return 2
        store, jobs = SqliteTicketStore(db), SqliteJobStore(db)
        print(f"SQLite store: {db}", file=sys.stderr)
    started = time.perf_counter()
    if args.replay is not None:
        result = replay_csv(
            args.replay, policies=policies, store=store, jobs=jobs, progress=stderr_progress
        )
    else:
        result = simulate(
            model,
            days=args.days,
            seed=args.seed,
            policies=policies,
            store=store,
            jobs=jobs,
            progress=stderr_progress,
        )
    print(f"simulated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    print(render_text(result, args.locale))
    html_path = args.html or workdir / "report.html"
    html_path.write_text(render_html(result), encoding="utf-8")
    if args.compare_policies is not None or args.compare_extra_agents is not None:
        variants: dict[str, dict[str, object]] = {"as is": {"policies": policies}}
        if args.compare_policies is not None:
            other = load_policies(args.compare_policies)
            variants[args.compare_policies.stem] = {"policies": other.selector}
        if args.compare_extra_agents is not None:
            extra = args.compare_extra_agents
            variants[f"+{extra} per shift"] = {
                "policies": policies,
                "shifts": [Shift(s.start, s.end, s.agents + extra) for s in model.shifts],
            }
        comparison = compare(
            model, variants, days=args.days, seed=args.seed, progress=stderr_progress
        )
        print("\nWhat-if, same arrivals:")
        print(compare_table(comparison))
    print(f"\nHTML report: {html_path}")
    return 0
