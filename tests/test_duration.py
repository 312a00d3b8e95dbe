from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carekit import format_duration, parse_duration
from carekit.exceptions import InvalidValue


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("24h", 86_400),
        ("1h30m", 5400),
        ("2d", 172_800),
        ("PT4H", 14_400),
        ("P1DT2H", 93_600),
    ],
)
def test_parse(text: str, seconds: int) -> None:
    """Compact and ISO 8601 forms."""
    assert timedelta(seconds=seconds) == parse_duration(text)


@pytest.mark.parametrize("text", ["", "24x", "h", "1.5h", "PT"])
def test_bad_durations_are_typed_errors(text: str) -> None:
    """Anything else is an InvalidValue (a ValueError) naming the text."""
    with pytest.raises(InvalidValue) as info:
        parse_duration(text)
    assert text == info.value.value
    assert isinstance(info.value, ValueError)


@given(st.integers(min_value=0, max_value=10**8))
def test_format_then_parse_round_trips(seconds: int) -> None:
    """format_duration is the inverse of parse_duration."""
    assert timedelta(seconds=seconds) == parse_duration(format_duration(timedelta(seconds=seconds)))


def test_a_duration_too_long_for_a_timedelta_is_an_invalid_value() -> None:
    """99,999,999,999 days: a typed error, not an OverflowError."""
    with pytest.raises(InvalidValue, match="shorter than"):
        parse_duration("99999999999d")
