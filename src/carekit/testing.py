"""Fakes for tests and examples: a manual clock, a customer directory, recording handlers.

The in-memory stores are in :mod:`carekit.stores.memory`.

These are public and supported: use them to test your own code built on carekit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from carekit._check import checked
from carekit._model import Customer, Ticket
from carekit._time import to_utc
from carekit.exceptions import InvalidValue

if TYPE_CHECKING:
    from carekit._escalation import Escalation
    from carekit._model import Channel
    from carekit.i18n import Message

__all__ = [
    "InMemoryDirectory",
    "ManualClock",
    "RecordingHandler",
    "RecordingSender",
]


class ManualClock:
    """A clock that only moves when told to.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> clock.advance(timedelta(seconds=30)).isoformat()
        '2026-01-01T00:00:30+00:00'
    """

    @checked
    def __init__(self, start: datetime) -> None:
        self._now = to_utc(start, "start")

    def now(self) -> datetime:
        """Return the clock's current instant."""
        return self._now

    @checked
    def set(self, at: datetime) -> None:
        """Move the clock to ``at`` (forwards or backwards)."""
        self._now = to_utc(at, "at")

    @checked
    def advance(self, by: timedelta) -> datetime:
        """Move the clock forwards by ``by`` and return the new instant."""
        if by < timedelta(0):
            raise InvalidValue("by", by, "a duration of zero or more")
        self._now = self._now + by
        return self._now


class InMemoryDirectory:
    """A :class:`~carekit.protocols.CustomerDirectory` over a dict."""

    @checked
    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self.customers = {c.id: c for c in customers}

    @checked
    def get(self, customer_id: str) -> Customer | None:
        """The customer, or ``None``."""
        return self.customers.get(customer_id)

    @checked
    def add(self, customer: Customer) -> None:
        """Add or replace a customer."""
        self.customers[customer.id] = customer


class RecordingHandler:
    """An :class:`~carekit.protocols.EscalationHandler` that records what it is handed.

    ``fail_times`` makes it raise that many times first (to test retries);
    ``seen`` de-duplicates on the decision's key, as a real handler must.
    """

    @checked
    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times = fail_times
        self.handled: list[Escalation] = []
        self.seen: set[str] = set()

    @checked
    def handle(self, decision: Escalation, ticket: Ticket) -> None:
        """Record ``decision`` (once per key), or raise while failures are left."""
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("handler failed on purpose")
        if decision.key not in self.seen:
            self.seen.add(decision.key)
            self.handled.append(decision)


class RecordingSender:
    """A :class:`~carekit.campaigns.MessageSender` that records, de-duplicating on the key.

    ``attempts`` counts every call (a re-delivery included); ``sent`` keeps one
    entry per key, as a real sender must. ``fail_times`` makes it raise first.
    """

    @checked
    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times = fail_times
        self.attempts = 0
        self.sent: dict[str, tuple[Customer, Channel, Message]] = {}

    @checked
    def send(self, message: Message, *, customer: Customer, channel: Channel, key: str) -> None:
        """Record the message once per key."""
        self.attempts += 1
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("sender failed on purpose")
        self.sent.setdefault(key, (customer, channel, message))
