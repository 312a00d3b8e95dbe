"""Ticket lifecycle: carekit's Lifecycle against transitions, in one run.

Takes N tickets through open, agent_reply, wait_on_customer, customer_reply,
resolve, close, three ways:

* carekit's ``Lifecycle`` (one compiled graph, frozen tickets, events appended);
* ``transitions`` naively: a ``Machine`` per ticket object;
* one shared ``transitions`` ``Machine`` with ``add_model``.

Reports per-ticket set-up cost, microseconds per applied trigger and memory
per ticket (tracemalloc). Set-up is what it takes to have a ticket that the
lifecycle can drive: for carekit ``Ticket.open`` (a validated frozen ticket
with its ``created`` event; the shared lifecycle adds nothing per ticket), for
the peers a model object holding the same fields plus its ``Machine`` or its
``add_model``; the peers use ``transitions``' defaults, as a first user would.
Times are the best of three passes (one for the shared Machine, whose
``add_model`` is quadratic), with the garbage collector paused, as timeit does.

Usage: ``python benchmarks/lifecycle.py [N]``.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from _table import table
from transitions import Machine

from carekit import Lifecycle, Ticket

STATES = ["new", "open", "pending", "on_hold", "resolved", "closed"]
EDGES: list[dict[str, Any]] = [
    {"trigger": "agent_reply", "source": "new", "dest": "open"},
    {"trigger": "wait_on_customer", "source": ["new", "open", "on_hold"], "dest": "pending"},
    {"trigger": "customer_reply", "source": ["pending", "resolved"], "dest": "open"},
    {"trigger": "resolve", "source": ["new", "open", "pending", "on_hold"], "dest": "resolved"},
    {"trigger": "close", "source": "resolved", "dest": "closed"},
]
PATH = ["agent_reply", "wait_on_customer", "customer_reply", "resolve", "close"]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STAMPS = [T0 + timedelta(minutes=i) for i in range(len(PATH) + 1)]


class Model:
    """A plain model object as transitions wants one, holding what a Ticket holds."""

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.channel = "email"
        self.customer_id = "c"
        self.events: list[tuple[str, datetime]] = [("created", T0)]


def measure(
    setup: Callable[[int], list[Any]], run: Callable[[list[Any]], None], n: int, repeat: int = 3
) -> tuple[float, float, float]:
    """Return (set-up µs per ticket, µs per trigger, bytes per ticket), best of ``repeat``.

    Times are taken without tracemalloc (it slows allocation-heavy code several
    times over) and with the collector paused, best of ``repeat`` passes for every
    side alike; memory is measured in a separate, traced set-up.
    """
    best_setup = best_run = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()  # as timeit does: collector pauses are noise, not the code's cost
        try:
            t = time.perf_counter()
            objects = setup(n)
            best_setup = min(best_setup, time.perf_counter() - t)
            t = time.perf_counter()
            run(objects)
            best_run = min(best_run, time.perf_counter() - t)
        finally:
            gc.enable()
        del objects
    gc.collect()
    m = min(n, 10_000)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    objects = setup(m)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del objects
    return (best_setup / n * 1e6, best_run / (n * len(PATH)) * 1e6, (after - before) / m)


def carekit_setup(n: int) -> list[Ticket]:
    return [Ticket.open(f"T-{i}", channel="email", customer_id="c", at=T0) for i in range(n)]


def carekit_run(tickets: list[Ticket]) -> None:
    lifecycle = Lifecycle()
    apply = lifecycle.apply
    for ticket in tickets:
        t = ticket
        for trigger, at in zip(PATH, STAMPS[1:], strict=True):
            t = apply(t, trigger, at=at)
        assert t.status == "closed"


def naive_setup(n: int) -> list[Model]:
    models = []
    for i in range(n):
        model = Model(f"T-{i}")
        Machine(model=model, states=STATES, transitions=EDGES, initial="new")
        models.append(model)
    return models


def shared_setup(n: int) -> list[Model]:
    machine = Machine(model=None, states=STATES, transitions=EDGES, initial="new")
    models = [Model(f"T-{i}") for i in range(n)]
    for model in models:
        machine.add_model(model)
    return models


def transitions_run(models: list[Model]) -> None:
    # the event is recorded too, so that both sides do the same work
    for model in models:
        for trigger, at in zip(PATH, STAMPS[1:], strict=True):
            getattr(model, trigger)()
            model.events.append((trigger, at))
        assert model.state == "closed"  # type: ignore[attr-defined]  # set by transitions


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    Lifecycle.graph()  # compile once, as any process would at import
    ck = measure(carekit_setup, carekit_run, n)
    naive = measure(naive_setup, transitions_run, n)
    # add_model checks membership in a list: O(n) per ticket, minutes per pass; once is enough
    shared = measure(shared_setup, transitions_run, n, repeat=1)
    print(f"{n:,} tickets x {len(PATH)} triggers, same run, best of 3 passes (shared Machine: 1)\n")
    rows = [
        ("carekit Lifecycle", *ck, 1.0, 1.0, 1.0),
        (
            "transitions: Machine per ticket",
            *naive,
            naive[0] / ck[0],
            naive[1] / ck[1],
            naive[2] / ck[2],
        ),
        (
            "transitions: shared Machine",
            *shared,
            shared[0] / ck[0],
            shared[1] / ck[1],
            shared[2] / ck[2],
        ),
    ]
    print(
        table(
            [
                "",
                "set-up µs/ticket",
                "µs/trigger",
                "bytes/ticket",
                "set-up x",
                "trigger x",
                "memory x",
            ],
            rows,
        )
    )
    print("\n(x: the peer's figure divided by carekit's; above 1 means carekit is cheaper)")


if __name__ == "__main__":
    main()
