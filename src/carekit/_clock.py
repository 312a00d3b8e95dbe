"""The system clock, the shell's default :class:`~carekit.protocols.Clock`."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SystemClock"]


class SystemClock:
    """The wall clock, in UTC.

    Examples:
        >>> SystemClock().now().tzinfo
        datetime.timezone.utc
    """

    def now(self) -> datetime:
        """Return the current instant in UTC."""
        return datetime.now(UTC)
