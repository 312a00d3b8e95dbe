"""Bad input never crashes: a fuzz of the public API.

Every public function, every public constructor and the public methods of a
sample of each working object (calendars, lifecycles, policies, desks, stores,
schedulers, reports, renderers) are called with values drawn two ways: values
of the right type that are wrong (naive datetimes, the years 1 and 9999, NaN,
negative and enormous numbers and durations, unknown names, empty strings) and
values of the wrong type altogether. A call may return, or raise a
``CarekitError``; any other exception fails the test, and so does a call that
changes the lists and dicts it was given.

The default profile runs in the suite within a minute; ``--hypothesis-profile=long``
runs ten times the examples (before a release). The reproducers of issue 12
are kept as explicit calls in ``CORPUS`` below.
"""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carekit
from carekit import (
    BusinessCalendar,
    Desk,
    EscalationPolicy,
    Lifecycle,
    PolicySelector,
    SlaPolicy,
    Ticket,
    loads_policies,
    parse_duration,
)
from carekit.campaigns import CampaignScheduler, CareEvent
from carekit.campaigns.recipes import all_recipes
from carekit.exceptions import CarekitError
from carekit.i18n import CatalogRenderer
from carekit.kpis import csat, kpi_report, nps
from carekit.simulate import default_escalation
from carekit.staffing import agents_for, erlang_a, erlang_c, plan_intervals
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore
from carekit.stores.sqlite import SqliteJobStore, SqliteTicketStore
from carekit.testing import InMemoryDirectory, ManualClock, RecordingSender

from .test_public_api import PUBLIC_MODULES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# -- values --------------------------------------------------------------------------------

_junk_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=6),
    st.sampled_from([object(), Decimal("NaN"), 1j, date(1, 1, 1), b"\xff", "\udcff"]),
)
wrong_type = st.recursive(
    _junk_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
instants = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(),  # naive
    st.sampled_from(
        [
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
            datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))),
            T0,
        ]
    ),
)
durations = st.one_of(
    st.timedeltas(),
    st.sampled_from([timedelta(0), timedelta.max, timedelta.min, timedelta(microseconds=1)]),
)
names = st.one_of(
    st.text(max_size=16),
    st.sampled_from(
        ["", " ", "xx", "99999999999d", "-1h", "0s", "nan", "inf", "1e309", "{x}", "None"]
    ),
)
numbers = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 10**18, 1e300, -0.0]),
)

# Parameters that ask for an amount of work: a caller who asks for a million days of
# simulation gets them. Kept small here so that the fuzz stays within its minute.
WORK = {"days": st.integers(min_value=-3, max_value=2), "limit": st.integers(-3, 50)}


def _for_annotation(annotation: object) -> st.SearchStrategy[Any]:
    """Right-typed but wrong values for a parameter of this annotation."""
    text = str(annotation)
    parts: list[st.SearchStrategy[Any]] = []
    if "datetime" in text:
        parts.append(instants)
    if "timedelta" in text:
        parts.append(durations)
    if "str" in text or "Path" in text:
        parts.append(names)
    if "int" in text or "float" in text:
        parts.append(numbers)
    if any(word in text for word in ("Sequence", "Iterable", "list", "tuple")):
        parts.append(st.lists(st.one_of(names, numbers, instants, st.none()), max_size=4))
    if "Mapping" in text or "dict" in text:
        parts.append(st.dictionaries(names, st.one_of(names, numbers, st.none()), max_size=3))
    if "date" in text:
        parts.append(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
    return st.one_of(*parts) if parts else wrong_type


def _arguments(fn: Callable[..., Any]) -> st.SearchStrategy[tuple[list[Any], dict[str, Any]]]:
    """Positional and keyword arguments for ``fn``: each one right-typed-but-bad or junk."""
    if isinstance(fn, type) and issubclass(
        fn, enum.Enum
    ):  # a lookup by value, not the functional API
        return st.tuples(st.tuples(st.one_of(names, numbers, wrong_type)).map(list), st.just({}))
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return st.just(([], {}))
    positional: list[st.SearchStrategy[Any]] = []
    keywords: dict[str, st.SearchStrategy[Any]] = {}
    for name, parameter in signature.parameters.items():
        if name in {"self", "cls"} or parameter.kind in {
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        }:
            continue
        value = (
            WORK[name]
            if name in WORK
            else st.one_of(_for_annotation(parameter.annotation), wrong_type)
        )
        if parameter.kind is parameter.KEYWORD_ONLY:
            if parameter.default is parameter.empty:
                keywords[name] = value
            else:
                keywords[name] = st.one_of(st.just(parameter.default), value)
        else:
            positional.append(value)
    return st.tuples(st.tuples(*positional).map(list), st.fixed_dictionaries(keywords))


# -- what is called --------------------------------------------------------------------------

# Names that are not entry points for input: protocols (no behaviour), errors (built by
# carekit), enums' own machinery, and the callables that read or write the file system
# by design (their paths are fuzzed through the command-line test).
SKIP = {
    "CarekitError",
    "open_database",
    "render_html",
    "compare",  # runs whole simulations: simulate() itself is fuzzed
    # the PostgreSQL stores connect to the server their arguments name (and would make
    # schemas there): their bad input is in test_postgres.py
    "PostgresTicketStore",
    "PostgresJobStore",
    "upgrade",
    "copy_from_sqlite",
    # worker loops: they run until told to stop (test_worker_loop.py)
    "Desk.run",
    "CampaignScheduler.run",
}


def _public_callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    import importlib  # noqa: PLC0415

    seen: set[int] = set()
    for module_name in sorted(PUBLIC_MODULES):
        module = importlib.import_module(module_name)
        if module_name in {"carekit.protocols", "carekit.exceptions"}:
            continue
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if name in SKIP or id(value) in seen or not callable(value):
                continue
            if isinstance(value, type) and issubclass(value, typing.Protocol):
                continue
            seen.add(id(value))
            yield f"{module_name}.{name}", value


SAMPLE_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        BusinessCalendar,
        Lifecycle,
        SlaPolicy,
        PolicySelector,
        EscalationPolicy,
        Desk,
        InMemoryTicketStore,
        SqliteTicketStore,
        InMemoryJobStore,
        SqliteJobStore,
        CampaignScheduler,
        CatalogRenderer,
        ManualClock,
        InMemoryDirectory,
    )
}


def _sample_objects(tmp: Path) -> dict[str, object]:
    """One working instance of each class with behaviour, for its methods."""
    policy = SlaPolicy.default()
    store = InMemoryTicketStore()
    desk = Desk(store, policies=policy, clock=ManualClock(T0))
    desk.open("T-1", channel="email", customer_id="c-1", at=T0)
    sqlite_store = SqliteTicketStore(tmp / "fuzz.sqlite3")
    desk_on_sqlite = Desk(sqlite_store, policies=policy, clock=ManualClock(T0))
    desk_on_sqlite.open("T-1", channel="email", customer_id="c-1", at=T0)
    directory = InMemoryDirectory()
    scheduler = CampaignScheduler(
        all_recipes(),
        InMemoryJobStore(),
        RecordingSender(),
        directory,
        clock=ManualClock(T0),
    )
    return {
        "BusinessCalendar": BusinessCalendar("Asia/Jakarta", hours={"mon-fri": ["08:00-17:00"]}),
        "Lifecycle": Lifecycle(),
        "SlaPolicy": policy,
        "PolicySelector": PolicySelector([], policy),
        "EscalationPolicy": default_escalation(),
        "Desk": desk,
        "InMemoryTicketStore": store,
        "SqliteTicketStore": sqlite_store,
        "InMemoryJobStore": InMemoryJobStore(),
        "SqliteJobStore": SqliteJobStore(tmp / "jobs.sqlite3"),
        "CampaignScheduler": scheduler,
        "CatalogRenderer": CatalogRenderer(),
        "ManualClock": ManualClock(T0),
        "InMemoryDirectory": directory,
    }


def _method_names() -> list[str]:
    return sorted(
        f"{class_name}.{name}"
        for class_name, cls in SAMPLE_CLASSES.items()
        for name, value in vars(cls).items()
        if not name.startswith("_")
        and f"{class_name}.{name}" not in SKIP
        and (inspect.isfunction(value) or isinstance(value, classmethod))
    )


# -- the check -------------------------------------------------------------------------------


def _snapshot(values: object) -> str:
    return repr(values)


def call_safely(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> str:
    """Call ``fn``; return "ok" or the CarekitError's code. Anything else propagates."""
    before = _snapshot((args, kwargs))
    try:
        fn(*args, **kwargs)
        outcome = "ok"
    except CarekitError as exc:
        outcome = exc.code
    assert before == _snapshot((args, kwargs)), "the call changed its arguments"
    return outcome


FUNCTIONS = dict(_public_callables())


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return _sample_objects(tmp_path_factory.mktemp("fuzz"))


# An eighth of the profile's examples per callable: 12 by default (the suite's minute),
# 125 with --hypothesis-profile=long (registered in conftest.py, run before a release).
FUZZ = settings(
    max_examples=max(4, settings().max_examples // 8),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@FUZZ
@given(data=st.data())
def test_public_callables_raise_only_carekit_errors(name: str, data: st.DataObject) -> None:
    """Every public function and constructor: returns, or raises a CarekitError."""
    fn = FUNCTIONS[name]
    args, kwargs = data.draw(_arguments(fn), label="arguments")
    call_safely(fn, args, kwargs)


METHODS = _method_names()


@pytest.mark.parametrize("name", METHODS)
@FUZZ
@given(data=st.data())
def test_public_methods_raise_only_carekit_errors(
    name: str, objects: dict[str, object], data: st.DataObject
) -> None:
    """Every public method of a working object: returns, or raises a CarekitError."""
    class_name, method = name.split(".")
    fn = getattr(objects[class_name], method)
    args, kwargs = data.draw(_arguments(fn), label="arguments")
    call_safely(fn, args, kwargs)


# -- the corpus: issue 12's reproducers, each a typed error now ---------------------------

S = timedelta(seconds=1)
DEEP = "x = " + "[" * 1000 + "]" * 1000


def _ticket() -> Ticket:
    return Ticket.open("T-1", channel="email", customer_id="c-1", at=T0)


CORPUS: list[tuple[str, Callable[[], object], str]] = [
    ("overlong duration", lambda: parse_duration("99999999999d"), "invalid_value"),
    (
        "overlong duration in a file",
        lambda: loads_policies('[policies.p.targets]\nresolution = "99999999999d"'),
        "policy_file",
    ),
    ("holidays = 5", lambda: loads_policies("[calendars.j]\nholidays = 5"), "policy_file"),
    ("selector rules = 5", lambda: loads_policies("[selector]\nrules = 5"), "policy_file"),
    ("1,000-deep arrays", lambda: loads_policies(DEEP), "policy_file"),
    ("hours=None", lambda: BusinessCalendar(hours=None), "invalid_type"),  # type: ignore[arg-type]
    (
        "a number for a duration",
        lambda: BusinessCalendar.always_open().add(T0, 3600),  # type: ignore[arg-type]
        "invalid_type",
    ),
    (
        "a list as trigger",
        lambda: Lifecycle().apply(_ticket(), ["x"], at=T0),  # type: ignore[arg-type]
        "invalid_type",
    ),
    ("csat([5, None])", lambda: csat([5, None]), "invalid_type"),  # type: ignore[list-item]
    ("nps([9, '10'])", lambda: nps([9, "10"]), "invalid_type"),  # type: ignore[list-item]
    (
        "a list as ticket_id in an answer",
        lambda: kpi_report(
            [_ticket()],
            now=T0,
            answers=[CareEvent("csat_rated", "c-1", T0, data={"score": 5, "ticket_id": [1]})],
        ),
        "invalid_value",
    ),
    (
        "render('xx')",
        lambda: kpi_report([_ticket()], now=T0 + timedelta(hours=1)).render("xx"),
        "invalid_value",
    ),
    ("shrinkage 1.5", lambda: plan_intervals([50], 180 * S, shrinkage=1.5), "staffing"),
    ("shrinkage 1", lambda: plan_intervals([50], 180 * S, shrinkage=1.0), "staffing"),
    ("shrinkage -1", lambda: plan_intervals([50], 180 * S, shrinkage=-1.0), "staffing"),
    ("interval 0", lambda: plan_intervals([50], 180 * S, interval=timedelta(0)), "staffing"),
    ("1e6 calls a second", lambda: agents_for(1e6, 180 * S), "ok"),
    ("1e8 Erlangs", lambda: erlang_c(100_020_000, 1e8 / 180, 180 * S), "ok"),
    (
        "a 365-day target",
        lambda: erlang_a(14, 100 / 1800, 180 * S, 60 * S, timedelta(days=365)),
        "ok",
    ),
    (
        "a 1 µs handle time",
        lambda: erlang_a(1, 100 / 1800, timedelta(microseconds=1), 60 * S, 20 * S),
        "ok",
    ),
    (
        "an instant in year 1",
        lambda: BusinessCalendar("Europe/Berlin", hours={"mon": ["08:00-17:00"]}).add(
            datetime(1, 1, 1, tzinfo=UTC), 3600 * S
        ),
        "ok",
    ),
    (
        "an instant in year 9999",
        lambda: BusinessCalendar("Europe/Berlin", hours={"mon": ["08:00-17:00"]}).next_open(
            datetime(9999, 12, 20, tzinfo=UTC)
        ),
        "ok",
    ),
    (
        "past the year 9999",
        lambda: BusinessCalendar("UTC", hours={"mon": ["08:00-17:00"]}).add(
            datetime(9999, 12, 30, tzinfo=UTC), timedelta(hours=100)
        ),
        "calendar",
    ),
    (
        "60,000 working hours",
        lambda: BusinessCalendar("UTC", hours={"mon-fri": ["08:00-17:00"]}).add(
            T0, timedelta(hours=60_000)
        ),
        "ok",
    ),
    ("an unknown channel", lambda: carekit.Channel("whatsap"), "invalid_value"),
    (
        "9999-12-31 at UTC-12",
        lambda: carekit.TicketEvent(
            "note", datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12)))
        ),
        "out_of_range",
    ),
]


@pytest.mark.parametrize(("name", "call", "outcome"), CORPUS, ids=[c[0] for c in CORPUS])
def test_the_corpus_of_reproducers(name: str, call: Callable[[], object], outcome: str) -> None:
    """Each measured defect of issue 12, kept: the typed error it gets now (or an answer)."""
    assert outcome == call_safely(call, [], {})


# -- the census: calls and offenders per callable, for the closing note ----------------------


def census(examples: int, tmp: Path) -> list[tuple[str, int, int, str]]:
    """Call each target ``examples`` times; count the calls that raised a builtin error."""
    import signal  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    from hypothesis.errors import NonInteractiveExampleWarning  # noqa: PLC0415

    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    objects = _sample_objects(tmp)
    targets = list(FUNCTIONS.items()) + [
        (name, getattr(objects[name.split(".")[0]], name.split(".")[1])) for name in METHODS
    ]

    def hang(*_: object) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, hang)
    rows = []
    for name, fn in targets:
        strategy = _arguments(fn)
        bad = 0
        kinds: dict[str, int] = {}
        for _ in range(examples):
            args, kwargs = strategy.example()
            signal.alarm(2)
            try:
                call_safely(fn, args, kwargs)
            except (Exception, AssertionError) as exc:
                bad += 1
                kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
            finally:
                signal.alarm(0)
        rows.append((name, examples, bad, ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))))
    return rows


if __name__ == "__main__":
    import sys
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    rows = census(n, Path(tempfile.mkdtemp()))
    for row in rows:
        if row[2]:
            print(f"{row[0]:<60} {row[2]:>4}/{row[1]}  {row[3]}")
    offenders = sum(1 for r in rows if r[2])
    print(
        f"\n{len(rows)} callables, {sum(r[1] for r in rows)} calls, "
        f"{sum(r[2] for r in rows)} builtin errors or hangs, in {offenders} callables"
    )
