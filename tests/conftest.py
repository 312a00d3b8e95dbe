from __future__ import annotations

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
