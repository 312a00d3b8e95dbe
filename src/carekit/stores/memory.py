"""In-memory stores: tickets and campaign jobs in dicts, with heaps as due indexes.

They keep everything the durable stores promise (optimistic versions, the due
index, leased claims, idempotent enqueues) for one process: for tests,
examples, the simulator, and hosts that keep state elsewhere.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

import attrs

from carekit._check import check_count, checked
from carekit._model import CareEvent, Channel, Ticket, as_channel
from carekit._time import to_utc
from carekit.campaigns._history import JobEntry, Outcome, ending
from carekit.campaigns._history import when as _when
from carekit.campaigns._planning import SentTouch, Touch
from carekit.exceptions import ConcurrentUpdate, JobNotFound, TicketExists, TicketNotFound
from carekit.stores._codec import check_events, check_ticket_id

__all__ = ["InMemoryJobStore", "InMemoryTicketStore"]


class InMemoryTicketStore:
    """A :class:`~carekit.protocols.TicketStore` in a dict, with a heap as its due index.

    It keeps every promise of the durable stores for one process: optimistic
    versions, leased claims of due tickets, the outbox of care events, and
    the refusal of what a durable store could not keep exactly. It is
    thread-safe (one lock). ``due`` and ``claim`` cost in proportion to what
    is due (plus a logarithm), not to what is stored: entries superseded by a
    later save are skipped lazily.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[str, Ticket] = {}
        self._due: dict[str, float] = {}
        self._leases: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._outbox: dict[int, CareEvent] = {}
        self._seq = 0

    @checked
    def get(self, ticket_id: str) -> Ticket:
        """Return the ticket or raise :class:`~carekit.exceptions.TicketNotFound`."""
        try:
            return self._tickets[ticket_id]
        except KeyError:
            raise TicketNotFound(ticket_id) from None

    @checked
    def save(
        self,
        ticket: Ticket,
        *,
        expected_version: int,
        due_at: datetime | None = None,
        care_events: Sequence[CareEvent] = (),
        release: bool = False,
        rewrite_from: int | None = None,
    ) -> None:
        """Store ``ticket`` if the stored version is ``expected_version`` (0: new).

        ``rewrite_from``: the log changed from that index on (a late event).

        Raises:
            TicketExists: ``expected_version`` is 0 and the id is taken.
            ConcurrentUpdate: the stored version is not ``expected_version``.
            InvalidValue: a durable store could not keep an event exactly.
        """
        at = None if due_at is None else to_utc(due_at, "due_at").timestamp()
        first = expected_version if rewrite_from is None else min(rewrite_from, expected_version)
        check_ticket_id(ticket.id)
        check_events(ticket.events[first:], as_json=False)
        with self._lock:
            current = self._tickets.get(ticket.id)
            actual = current.version if current is not None else 0
            if expected_version == 0 and current is not None:
                raise TicketExists(ticket.id)
            if actual != expected_version or ticket.version < actual:
                raise ConcurrentUpdate(ticket.id, expected_version, actual)
            self._tickets[ticket.id] = ticket
            self._index(ticket.id, at)
            if release:
                self._leases.pop(ticket.id, None)
            for event in care_events:
                self._seq += 1
                self._outbox[self._seq] = event

    def _index(self, ticket_id: str, at: float | None) -> None:
        if at is None:
            self._due.pop(ticket_id, None)
        elif self._due.get(ticket_id) != at:
            self._due[ticket_id] = at
            heapq.heappush(self._heap, (at, ticket_id))
        if len(self._heap) > 2 * len(self._due) + 64:
            self._heap = [(t, tid) for tid, t in self._due.items()]
            heapq.heapify(self._heap)

    @checked
    def load(self, tickets: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Bulk-insert new tickets with their due instants (for set-ups and benchmarks).

        Raises:
            TicketExists: an id is taken; nothing is stored.
            NaiveDatetimeError: a due instant has no time zone; nothing is stored.
        """
        batch = [
            (t, None if due is None else to_utc(due, "due_at").timestamp()) for t, due in tickets
        ]
        with self._lock:
            taken = [t.id for t, _ in batch if t.id in self._tickets]
            if taken:
                raise TicketExists(taken[0])
            for ticket, at in batch:
                self._tickets[ticket.id] = ticket
                if at is not None:
                    self._due[ticket.id] = at
            self._heap = [(at, tid) for tid, at in self._due.items()]
            heapq.heapify(self._heap)

    def _scan(self, cutoff: float, limit: int | None, *, free_only: bool) -> list[str]:
        heap, current, leases = self._heap, self._due, self._leases
        taken: list[tuple[float, str]] = []
        ids: list[str] = []
        while heap and heap[0][0] <= cutoff and (limit is None or len(ids) < limit):
            at, tid = heapq.heappop(heap)
            if current.get(tid) != at or (ids and ids[-1] == tid):
                continue  # superseded entry
            taken.append((at, tid))
            if not free_only or leases.get(tid, 0.0) <= cutoff:
                ids.append(tid)
        for entry in taken:
            heapq.heappush(heap, entry)
        return ids

    @checked
    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids due at or before ``now``, earliest first, claimed or not."""
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        with self._lock:
            return self._scan(cutoff, limit, free_only=False)

    @checked
    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[str]:
        """Lease up to ``limit`` due tickets no one holds, earliest first."""
        check_count("limit", limit)
        cutoff = to_utc(now, "now").timestamp()
        until = cutoff + lease.total_seconds()
        with self._lock:
            ids = self._scan(cutoff, limit, free_only=True)
            for tid in ids:
                self._leases[tid] = until
            return ids

    @checked
    def outbox(self, limit: int = 100) -> list[tuple[int, CareEvent]]:
        """Care events saved with tickets and not yet acknowledged, oldest first."""
        check_count("limit", limit)
        with self._lock:
            return list(itertools.islice(self._outbox.items(), limit))

    @checked
    def acknowledge(self, seqs: Iterable[int]) -> None:
        """Remove handled care events from the outbox."""
        with self._lock:
            for seq in seqs:
                self._outbox.pop(seq, None)

    def __iter__(self) -> Iterator[Ticket]:
        """Iterate over the stored tickets in the order they were first saved."""
        with self._lock:
            return iter(list(self._tickets.values()))

    def __len__(self) -> int:
        return len(self._tickets)


@attrs.define
class _Job:
    touch: Touch
    enrolled_at: datetime
    state: str = "pending"  # pending, done, cancelled
    due: float = 0.0
    lease_until: float | None = None
    outcome: str | None = None
    reason: str | None = None
    history: list[JobEntry] = attrs.Factory(list)


class InMemoryJobStore:
    """A :class:`~carekit.protocols.JobStore` in memory: a dict and a heap of due instants.

    Thread-safe (one lock).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._enrolled: dict[str, datetime] = {}  # campaign/customer -> last enrolment
        self._heap: list[tuple[float, str]] = []
        self._sent: dict[str, list[tuple[str, str | None, datetime]]] = {}
        self._inbound: dict[tuple[str, Channel], datetime] = {}

    @checked
    def enqueue(self, touch: Touch, *, enrolled_at: datetime) -> bool:
        """Add ``touch`` unless its key exists."""
        with self._lock:
            if touch.key in self._jobs:
                return False
            due = touch.due_at.timestamp()
            self._jobs[touch.key] = job = _Job(touch, enrolled_at, due=due)
            job.history.append(JobEntry(to_utc(enrolled_at, "enrolled_at"), "enqueued",
                                        until=touch.due_at))  # fmt: skip
            heapq.heappush(self._heap, (due, touch.key))
            prefix = touch.key.rsplit("/", 2)[0]  # campaign/customer: the scheduler's question
            self._enrolled[prefix] = max(self._enrolled.get(prefix, enrolled_at), enrolled_at)
            return True

    @checked
    def enqueue_many(self, touches: Iterable[Touch], *, enrolled_at: datetime) -> int:
        """Add many touches; return how many were new (as the SQL stores do)."""
        return sum(self.enqueue(t, enrolled_at=enrolled_at) for t in touches)

    @checked
    def cancel(
        self, *, key: str | None = None, prefix: str | None = None, at: datetime | None = None
    ) -> int:
        """Cancel pending jobs by key or prefix (``at``: when; default: now)."""
        entry = JobEntry(_when(at), "cancelled")
        with self._lock:
            keys = (
                [key]
                if key is not None
                else [k for k in self._jobs if prefix and k.startswith(prefix)]
            )
            n = 0
            for k in keys:
                job = self._jobs.get(k)
                if job is not None and job.state == "pending":
                    job.state = "cancelled"
                    job.history.append(entry)
                    n += 1
            return n

    @checked
    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[Touch]:
        """Lease due jobs; an expired lease makes a job claimable again."""
        check_count("limit", limit)
        with self._lock:
            cutoff = now.timestamp()
            until = cutoff + lease.total_seconds()
            claimed = JobEntry(to_utc(now, "now"), "claimed")
            out: list[Touch] = []
            heap, jobs = self._heap, self._jobs
            while heap and heap[0][0] <= cutoff and len(out) < limit:
                at, key = heapq.heappop(heap)
                job = jobs[key]
                current = job.lease_until if job.lease_until is not None else job.due
                if job.state != "pending" or current != at:
                    continue  # superseded entry
                job.lease_until = until
                job.history.append(claimed)
                heapq.heappush(heap, (until, key))
                out.append(job.touch)
            return out

    @checked
    def complete(self, key: str, *, outcome: str, at: datetime, reason: str = "") -> None:
        """End the job; sent touches count for caps."""
        with self._lock:
            self._finish(self._job(key), outcome, at, reason)

    def _finish(self, job: _Job, outcome: str, at: datetime, reason: str) -> None:
        job.state, job.outcome, job.lease_until = "done", outcome, None
        job.history.append(ending(outcome, reason, to_utc(at, "at")))
        if reason:
            job.reason = reason
        if outcome == "sent":
            t = job.touch
            self._sent.setdefault(t.customer_id, []).append((t.key, t.group, at))

    @checked
    def complete_many(self, outcomes: Iterable[Outcome], *, at: datetime) -> None:
        """End many jobs (``(key, outcome)`` or ``(key, outcome, reason)``): all, or none."""
        done = [(key, outcome, "".join(why)) for key, outcome, *why in outcomes]
        with self._lock:
            jobs = [self._job(key) for key, _, _ in done]  # all known, or nothing changes
            for job, (_, outcome, reason) in zip(jobs, done, strict=True):
                self._finish(job, outcome, at, reason)

    @checked
    def release(
        self,
        key: str,
        *,
        until: datetime,
        reason: str,
        at: datetime | None = None,
        retry: bool = False,
    ) -> None:
        """Make the job due again at ``until`` (``retry``: after a failure, not a rule)."""
        entry = JobEntry(
            _when(at), "retry" if retry else "deferred", reason, to_utc(until, "until")
        )
        with self._lock:
            job = self._job(key)
            job.due, job.lease_until, job.reason = until.timestamp(), None, reason
            job.history.append(entry)
            heapq.heappush(self._heap, (job.due, key))

    @checked
    def history(self, key: str) -> list[JobEntry]:
        """What happened to the job, oldest first."""
        with self._lock:
            return list(self._job(key).history)

    @checked
    def sent_since(self, customer_id: str, since: datetime) -> list[SentTouch]:
        """The customer's sends after ``since``."""
        with self._lock:
            return [
                SentTouch(key, customer_id, group, at)
                for key, group, at in self._sent.get(customer_id, ())
                if at > since
            ]

    @checked
    def last_enrolled(self, prefix: str) -> datetime | None:
        """When a job whose key starts with ``prefix`` was last enqueued (as the SQL stores)."""
        with self._lock:
            if prefix.endswith("/") and prefix.count("/") == 2:  # campaign/customer/: indexed
                return self._enrolled.get(prefix[:-1])
            return max(
                (job.enrolled_at for key, job in self._jobs.items() if key.startswith(prefix)),
                default=None,
            )

    @checked
    def note_inbound(self, customer_id: str, channel: Channel | str, at: datetime) -> None:
        """Remember the customer's message on ``channel`` (the latest is kept)."""
        at, channel = to_utc(at, "at"), as_channel(channel)
        with self._lock:
            known = self._inbound.get((customer_id, channel))
            if known is None or at > known:
                self._inbound[customer_id, channel] = at

    @checked
    def last_inbound(self, customer_id: str, channel: Channel | str) -> datetime | None:
        """When the customer last wrote on ``channel``."""
        with self._lock:
            return self._inbound.get((customer_id, as_channel(channel)))

    @checked
    def state(self, key: str) -> tuple[str, str | None, str | None]:
        """(state, outcome, last reason) of a job, for tests and dashboards."""
        with self._lock:
            job = self._job(key)
            return job.state, job.outcome, job.reason

    def _job(self, key: str) -> _Job:
        job = self._jobs.get(key)
        if job is None:
            raise JobNotFound(key)
        return job
