from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import settings

from carekit import Lifecycle, Ticket

# `pytest --hypothesis-profile=long` before a release: ten times the examples everywhere
# a test does not fix its own count, and 125 fuzz calls per public callable (test_fuzz.py).
settings.register_profile("long", max_examples=1000)


@pytest.fixture
def t0() -> datetime:
    return datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def lifecycle() -> Lifecycle:
    return Lifecycle()


@pytest.fixture
def ticket(t0: datetime) -> Ticket:
    return Ticket.open("T-1", channel="email", customer_id="c-1", at=t0)


# -- PostgreSQL: the local server when it answers ----------------------------------------
#
# The PostgreSQL tests run against CAREKIT_PG_DSN (default: the local server). Each test
# gets a schema of its own, named after this session, dropped when the test ends; the
# session drops any left over. Without a server the tests are skipped (one line in the
# summary); with CAREKIT_REQUIRE_PG=1 (as .ci/run sets) a missing server fails them.

PG_DSN = os.environ.get("CAREKIT_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
_SESSION = f"ck{os.getpid()}_{uuid.uuid4().hex[:6]}"


@functools.cache
def _pg_problem() -> str | None:
    try:
        import psycopg  # noqa: PLC0415 - only for the PostgreSQL tests

        with psycopg.connect(PG_DSN, connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """The DSN of a reachable PostgreSQL server, or a skip (a failure when required)."""
    problem = _pg_problem()
    if problem is not None:
        reason = f"no PostgreSQL server at {PG_DSN} ({problem}); set CAREKIT_PG_DSN"
        if os.environ.get("CAREKIT_REQUIRE_PG") == "1":
            pytest.fail(f"CAREKIT_REQUIRE_PG=1 and {reason}")
        pytest.skip(reason)
    yield PG_DSN
    import psycopg  # noqa: PLC0415

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        left = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{_SESSION}%",)
        ).fetchall()
        for (name,) in left:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh PostgreSQL schema name for one test (created by the store), dropped after."""
    import psycopg  # noqa: PLC0415

    name = f"{_SESSION}_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
