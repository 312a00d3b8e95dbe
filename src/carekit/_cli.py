"""The command line: ``python -m carekit simulate | check | staffing | db``.

For the people who run the desk as much as for developers: each command has
``--help``, prints plain text, and exits non-zero when something is wrong.

Every command validates first and works second. A mistake in the arguments,
or in a file they name, prints one line ``error: ...`` and exits with 2
before anything is written; a failure during the work prints one line and
exits with 1, and removes what the run had started to write. No traceback
reaches the terminal for anything a person can get wrong.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import attrs

from carekit._duration import parse_duration
from carekit._policy_file import PolicySet, load_policies
from carekit._sla import SlaPolicy
from carekit.campaigns.recipes import all_recipes
from carekit.exceptions import CarekitError, PolicyFileError

__all__ = ["main"]

USAGE, FAILED = 2, 1  # exit statuses: a mistake in the arguments; a run that failed
MAX_DAYS = 366
MAX_INTERVALS = 100_000
MAX_EXTRA_AGENTS = 1_000


class _Usage(Exception):
    """An argument, or a file it names, is wrong: exit 2 before any work."""


class _Parser(argparse.ArgumentParser):
    """argparse with one ``error:`` line instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"error: {message} (see {self.prog} --help)\n")


def _checked(kind: str, check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from ``check``; a ValueError becomes a one-line usage error."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except (ValueError, OverflowError) as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None

    convert.__name__ = kind
    return convert


def _whole(low: int, high: int) -> Callable[[str], Any]:
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high:,}")
        return value

    return _checked("whole number", check)


def _fraction(*, above_zero: bool) -> Callable[[str], Any]:
    def check(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (0 < value < 1 if above_zero else 0 <= value < 1):
            low = "above 0" if above_zero else "from 0"
            raise ValueError(f"expected a fraction {low} and below 1, such as 0.8")
        return value

    return _checked("fraction", check)


def _duration(*, above_zero: bool) -> Callable[[str], Any]:
    def check(text: str) -> timedelta:
        value = parse_duration(text)
        if value < timedelta(0) or (above_zero and not value):
            raise ValueError(
                f"expected a duration {'above zero' if above_zero else 'of zero or more'}"
            )
        return value

    return _checked("duration", check)


def _calls(text: str) -> list[float]:
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or not all(parts):
        raise ValueError("expected numbers of calls separated by commas, such as 40,120,300")
    if len(parts) > MAX_INTERVALS:
        raise ValueError(f"expected at most {MAX_INTERVALS:,} intervals")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{part!r} is not a number of calls (zero or more)")
        values.append(value)
    return values


def _input_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise ValueError("no such file" if not path.exists() else "is not a file")
    return path


def _output_file(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise ValueError("is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"its folder {str(path.parent)!r} does not exist")
    return path


def _folder(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ValueError("is a file, not a folder")
    return path


def _locale(text: str) -> str:
    from carekit.i18n import _locale as parse  # noqa: PLC0415 - babel loads at first use

    try:
        parse(text)
    except CarekitError:
        raise ValueError("expected a known locale such as 'en', 'id' or 'en_US'") from None
    return text


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m carekit",
        description="carekit: simulate a care desk, check a policy file, plan staffing.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _simulate_arguments(
        sub.add_parser(
            "simulate",
            help="run a care desk through days of tickets under a policy",
            description="Simulate a care desk (an Indonesian online shop by default) through the "
            "real engine: lifecycle, SLAs, escalation, campaigns. Prints a KPI report and writes "
            "an HTML report.",
        )
    )
    check = sub.add_parser(
        "check",
        help="validate a policy file and print each error with its key path",
        description="Validate a policy TOML file. Exit 0 when valid, else 1 with every error.",
    )
    check.add_argument("file", type=_checked("file", _input_file))
    _db_arguments(
        sub.add_parser(
            "db",
            help="create or migrate carekit's PostgreSQL schema; copy a SQLite desk into it",
            description="PostgreSQL (carekit[postgres]): 'upgrade' creates or migrates the "
            "schema; 'copy' copies a SQLite desk (tickets, outbox, jobs) into an empty schema.",
        )
    )
    _staffing_arguments(
        sub.add_parser(
            "staffing",
            help="agents per interval for a forecast of calls and a service-level target",
            description="Erlang C staffing: agents per interval for a forecast of calls.",
        )
    )
    return parser


def _simulate_arguments(sim: argparse.ArgumentParser) -> None:
    add = sim.add_argument
    add("--days", type=_whole(1, MAX_DAYS), default=7, help="days to simulate (default 7)")
    add("--seed", type=_whole(0, 2**63), default=1, help="random seed; the same seed, the same run")
    add("--policies", type=_checked("file", _input_file), help="a policy TOML file")
    add("--replay", type=_checked("file", _input_file), help="replay this CSV of ticket events")
    add("--html", type=_checked("file", _output_file), help="where to write the HTML report")
    add(
        "--workdir",
        type=_checked("folder", _folder),
        help="folder for the SQLite file and the report (default: a new temporary folder)",
    )
    add("--memory", action="store_true", help="keep tickets and jobs in memory, not SQLite")
    add("--locale", type=_checked("locale", _locale), default="en", help="report language")
    add(
        "--compare-policies",
        type=_checked("file", _input_file),
        help="what-if: also run under this policy file",
    )
    add(
        "--compare-extra-agents",
        type=_whole(1, MAX_EXTRA_AGENTS),
        help="what-if: also run with this many more agents per shift",
    )
    add(
        "--compare-without",
        choices=[c.name for c in all_recipes()],
        help="what-if: also run without this campaign (apology_after_breach: who turns red?)",
    )


def _db_arguments(db: argparse.ArgumentParser) -> None:
    actions = db.add_subparsers(dest="action", required=True)
    for name, text in (
        ("upgrade", "create or migrate the schema"),
        ("copy", "copy a SQLite desk into an empty schema"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--dsn", required=True, help="postgresql://user@host:port/database")
        action.add_argument("--schema", default="carekit", help="the schema (default carekit)")
        if name == "copy":
            action.add_argument(
                "--from",
                dest="source",
                required=True,
                type=_checked("file", _input_file),
                help="the SQLite file of the desk",
            )


def _db(args: argparse.Namespace) -> int:
    from carekit.stores import _pg, postgres  # noqa: PLC0415 - an optional extra

    with _usage("--schema"):
        _pg.schema_name(args.schema)
    if args.action == "upgrade":
        found = postgres.upgrade(args.dsn, args.schema)
        print(f"schema {args.schema}: version {found or 'none'} -> {postgres.SCHEMA_VERSION}")
        return 0
    counts = postgres.copy_from_sqlite(str(args.source), args.dsn, args.schema)
    copied = ", ".join(f"{n} {table}" for table, n in counts.items())
    print(f"copied {args.source} into schema {args.schema}: {copied}")
    return 0


def _staffing_arguments(staff: argparse.ArgumentParser) -> None:
    staff.add_argument(
        "--calls",
        required=True,
        type=_checked("calls", _calls),
        help="calls per interval, comma-separated (e.g. 40,120,300)",
    )
    options: list[tuple[str, Callable[[str], Any], object, str]] = [
        ("--aht", _duration(above_zero=True), timedelta(minutes=3), "average handle time (3m)"),
        ("--interval", _duration(above_zero=True), timedelta(minutes=30), "interval length (30m)"),
        ("--level", _fraction(above_zero=True), 0.8, "share answered within the threshold (0.8)"),
        ("--within", _duration(above_zero=False), None, "the threshold (the policy's pickup, 30s)"),
        (
            "--policies",
            _checked("file", _input_file),
            None,
            "take the pickup target from this file",
        ),
        (
            "--shrinkage",
            _fraction(above_zero=False),
            0.0,
            "share of paid time off the phones (0.3)",
        ),
    ]
    for flag, kind, default, text in options:
        staff.add_argument(flag, type=kind, default=default, help=text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.file)
        if args.command == "staffing":
            return _staffing(args)
        if args.command == "db":
            return _db(args)
        return _simulate(args)
    except _Usage as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except (CarekitError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FAILED


def _check(path: Path) -> int:
    try:
        loaded = load_policies(path)
    except PolicyFileError as exc:
        print(f"{path}: {len(exc.errors)} error(s)")
        for error in exc.errors:
            print(f"  {error}")
        return FAILED
    print(f"{path}: valid")
    print(f"  calendars: {', '.join(loaded.calendars) or '(none)'}")
    for name, policy in loaded.policies.items():
        print(
            f"  policy {name!r}: {len(policy.targets)} target(s), calendar {policy.calendar.name}"
        )
    rules = loaded.selector.rules
    print(f"  selector: {len(rules)} rule(s), default {loaded.selector.default.name!r}")
    return 0


@contextmanager
def _usage(option: str) -> Iterator[None]:
    """Errors raised while reading what ``option`` names are usage errors (exit 2)."""
    try:
        yield
    except CarekitError as exc:
        raise _Usage(f"{option}: {_one_line(exc)}") from exc


def _one_line(exc: CarekitError) -> str:
    if isinstance(exc, PolicyFileError):
        more = f" (and {len(exc.errors) - 1} more; run 'check')" if len(exc.errors) > 1 else ""
        return f"{exc.errors[0]}{more}"
    return str(exc)


def _policy_set(path: Path | None, option: str = "--policies") -> PolicySet | None:
    if path is None:
        return None
    with _usage(option):
        return load_policies(path)


def _staffing(args: argparse.Namespace) -> int:
    from carekit.staffing import ServiceLevel, plan_intervals  # noqa: PLC0415 - per command

    loaded = _policy_set(args.policies)
    policy = loaded.selector.default if loaded else SlaPolicy.default()
    with _usage("--policies" if loaded else "--level"):
        target = ServiceLevel.from_policy(policy, args.level)
    if args.within is not None:
        target = attrs.evolve(target, within=args.within)
    with _usage("--calls"):
        plan = plan_intervals(
            args.calls, args.aht, target, interval=args.interval, shrinkage=args.shrinkage
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


@attrs.frozen
class _Plan:
    """A simulate run, validated: what it reads and where it writes."""

    policies: Any
    other: PolicySet | None
    workdir: Path
    own_workdir: bool  # created by this run: removed when the run fails
    db: Path | None
    html: Path


def _prepare(args: argparse.Namespace) -> _Plan:
    loaded = _policy_set(args.policies)
    other = _policy_set(args.compare_policies, "--compare-policies")
    if args.replay is not None:
        from carekit.simulate._replay import _rows  # noqa: PLC0415 - per command

        with _usage("--replay"):
            _rows(args.replay)
    workdir: Path | None = args.workdir
    if workdir is not None and not args.memory and (workdir / "desk.sqlite3").exists():
        raise _Usage(
            f"{workdir / 'desk.sqlite3'} exists from an earlier run: "
            "remove it or choose another --workdir"
        )
    own = workdir is None or not workdir.exists()
    if workdir is None:  # everything is checked: the run's own folder can be made
        workdir = Path(tempfile.mkdtemp(prefix="carekit-"))
    db = None if args.memory else workdir / "desk.sqlite3"
    html = args.html or workdir / "report.html"
    policies = loaded.selector if loaded else SlaPolicy.default()
    return _Plan(policies, other, workdir, own, db, html)


def _simulate(args: argparse.Namespace) -> int:
    plan = _prepare(args)
    plan.workdir.mkdir(parents=True, exist_ok=True)
    try:
        _run(args, plan)
    except BaseException:
        _undo(plan)
        raise
    return 0


def _undo(plan: _Plan) -> None:
    """Remove what a failed run started to write."""
    if plan.own_workdir:
        shutil.rmtree(plan.workdir, ignore_errors=True)
    elif plan.db is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{plan.db}{suffix}").unlink(missing_ok=True)


def _run(args: argparse.Namespace, plan: _Plan) -> None:
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

    model = shop_desk()
    try:
        model = attrs.evolve(model, holidays=tuple(sorted(country_holidays("ID", [2026, 2027]))))
    except MissingExtra:
        print(
            "note: national holidays need carekit[holidays]; simulating without them",
            file=sys.stderr,
        )
    store = jobs = None
    if plan.db is not None:
        store, jobs = SqliteTicketStore(plan.db), SqliteJobStore(plan.db)
        print(f"SQLite store: {plan.db}", file=sys.stderr)
    started = time.perf_counter()
    run: dict[str, Any] = {"policies": plan.policies, "store": store, "jobs": jobs}
    if args.replay is not None:
        result = replay_csv(args.replay, progress=stderr_progress, **run)
    else:
        result = simulate(model, days=args.days, seed=args.seed, progress=stderr_progress, **run)
    print(f"simulated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    report = render_text(result, args.locale)
    _write(plan.html, render_html(result))
    print(report)
    if plan.other is not None or args.compare_extra_agents is not None or args.compare_without:
        variants: dict[str, dict[str, object]] = {"as is": {"policies": plan.policies}}
        if plan.other is not None:
            variants[args.compare_policies.stem] = {"policies": plan.other.selector}
        if args.compare_extra_agents is not None:
            extra = args.compare_extra_agents
            variants[f"+{extra} per shift"] = {
                "policies": plan.policies,
                "shifts": [Shift(s.start, s.end, s.agents + extra) for s in model.shifts],
            }
        if args.compare_without:
            variants[f"without {args.compare_without}"] = {
                "policies": plan.policies,
                "campaigns": [c for c in all_recipes() if c.name != args.compare_without],
            }
        comparison = compare(
            model, variants, days=args.days, seed=args.seed, progress=stderr_progress
        )
        print("\nWhat-if, same arrivals:")
        print(compare_table(comparison))
    print(f"\nHTML report: {plan.html}")


def _write(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a temporary file beside it, then a rename)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
