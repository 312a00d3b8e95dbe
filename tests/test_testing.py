from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carekit import SystemClock
from carekit.protocols import Clock
from carekit.testing import ManualClock


def test_manual_clock_moves_only_when_told(t0: datetime) -> None:
    """set and advance move the clock; nothing else does."""
    clock = ManualClock(t0)
    assert t0 == clock.now() == clock.now()
    assert t0 + timedelta(seconds=30) == clock.advance(timedelta(seconds=30))
    clock.set(t0)
    assert t0 == clock.now()
    with pytest.raises(ValueError, match="zero or more"):
        clock.advance(timedelta(seconds=-1))


def test_clocks_satisfy_the_protocol(t0: datetime) -> None:
    """Both shipped clocks are Clocks; the system clock is aware and UTC."""
    assert isinstance(ManualClock(t0), Clock)
    assert isinstance(SystemClock(), Clock)
    assert UTC == SystemClock().now().tzinfo
