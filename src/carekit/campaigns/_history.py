"""A job's history: one entry per thing that happened to it, kept by the job store.

A job is enqueued (due at its instant), claimed by a worker, perhaps deferred
(until when, and why: the send window, a cap, the provider's rate limit) or
given back for a retry after a failure, claimed again, and ends once: sent (on
which channel, as what, and why on that one), suppressed, rejected, expired or
cancelled, each with its reason. :meth:`JobStore.history
<carekit.protocols.JobStore.history>` returns the entries, oldest first.

The SQL stores keep them as JSON lines appended to the job's row, in the same
statement that changes the job: a history never disagrees with its job.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import attrs

from carekit._check import typed_fields
from carekit._time import to_utc

__all__ = ["ENDINGS", "JobEntry", "Outcome", "ending", "entries", "when"]

Outcome = tuple[str, str] | tuple[str, str, str]
"""A job's ending for ``complete_many``: ``(key, outcome)`` or ``(key, outcome, reason)``."""

ENDINGS: frozenset[str] = frozenset({"sent", "suppressed", "rejected", "expired", "cancelled"})
"""The entries that end a job."""


@attrs.frozen(field_transformer=typed_fields)
class JobEntry:
    """One thing that happened to a job.

    Attributes:
        at: when (UTC).
        what: ``enqueued``, ``claimed``, ``deferred`` (by a rule: the window, a
            cap), ``retry`` (given back after a failure or a provider's "later"),
            or an ending: ``sent``, ``suppressed``, ``rejected``, ``expired``,
            ``cancelled``.
        reason: why, in words (for ``sent``: on which channel, and why that one).
        until: when it is due again (``enqueued``, ``deferred``, ``retry``).
    """

    at: datetime
    what: str
    reason: str = ""
    until: datetime | None = None

    def line(self) -> str:
        """The entry as one JSON line, as the SQL stores keep it."""
        until = None if self.until is None else self.until.timestamp()
        return json.dumps([self.at.timestamp(), self.what, self.reason, until]) + "\n"


def entries(text: str) -> list[JobEntry]:
    """The entries of a history kept as JSON lines (see :meth:`JobEntry.line`)."""
    out = []
    for line in text.splitlines():
        at, what, reason, until = json.loads(line)
        out.append(
            JobEntry(
                datetime.fromtimestamp(at, UTC),
                what,
                reason,
                None if until is None else datetime.fromtimestamp(until, UTC),
            )
        )
    return out


def ending(outcome: str, reason: str, at: datetime) -> JobEntry:
    """The entry that ends a job with ``outcome`` (``"sent"``, ``"suppressed: why"``...).

    ``reason``, when given, says more than the outcome (a sent touch's channel and
    fallback); otherwise the outcome's own words after its state are the reason.
    """
    what, _, said = outcome.partition(": ")
    return JobEntry(at, what, reason or said)


def when(at: datetime | None) -> datetime:
    """``at`` in UTC, or the store's now when the caller did not say (a host's own cancel)."""
    return datetime.now(UTC) if at is None else to_utc(at, "at")
