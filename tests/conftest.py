from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carekit import Lifecycle, Ticket


@pytest.fixture
def t0() -> datetime:
    return datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def lifecycle() -> Lifecycle:
    return Lifecycle()


@pytest.fixture
def ticket(t0: datetime) -> Ticket:
    return Ticket.open("T-1", channel="email", customer_id="c-1", at=t0)
