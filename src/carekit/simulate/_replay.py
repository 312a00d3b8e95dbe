"""Replaying real ticket events from CSV, and what-if comparisons of variants.

The CSV format (a header row, then one event per row, in any order)::

    ticket_id,at,event,channel,priority,customer_id,actor
    T-1,2026-03-02T09:00:00+07:00,created,email,normal,c-1,
    T-1,2026-03-02T09:40:00+07:00,agent_reply,,,,dewi
    T-1,2026-03-02T09:41:00+07:00,resolve,,,,dewi

``at`` is ISO 8601 with its offset; ``event`` is ``created`` or a lifecycle
trigger; ``channel``, ``priority`` and ``customer_id`` are read on ``created``
rows; ``actor`` is optional. The desk's escalations and campaigns run in
virtual time between the events, as they would have.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carekit._check import checked
from carekit._escalation import EscalationPolicy
from carekit._model import Customer
from carekit._selector import PolicySelector
from carekit._sla import SlaPolicy
from carekit.campaigns._planning import Campaign
from carekit.campaigns.recipes import all_recipes
from carekit.exceptions import CarekitError, InvalidValue
from carekit.protocols import JobStore, TicketStore
from carekit.simulate._engine import TICK, SimulationResult, _Run, default_escalation, simulate
from carekit.simulate._model import DeskModel
from carekit.simulate._report import Comparison
from carekit.stores.memory import InMemoryJobStore, InMemoryTicketStore

__all__ = ["compare", "replay_csv"]

COLUMNS = ("ticket_id", "at", "event", "channel", "priority", "customer_id", "actor")


def _rows(path: str | Path) -> list[dict[str, str]]:
    try:
        return _read(path)
    except CarekitError:
        raise
    except UnicodeDecodeError as exc:
        raise InvalidValue("csv", str(path), "a UTF-8 text file") from exc
    except OSError as exc:
        raise InvalidValue("csv", str(path), f"a readable file ({exc.strerror or exc})") from exc
    except ValueError as exc:  # a NUL in the path
        raise InvalidValue("csv", str(path), "a file name without NUL characters") from exc


def _read(path: str | Path) -> list[dict[str, str]]:
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or ())]
        if missing:
            raise InvalidValue(
                "csv", reader.fieldnames, f"a header with the columns {list(COLUMNS)}"
            )
        rows = list(reader)
    for n, row in enumerate(rows, start=2):
        try:
            row["_at"] = datetime.fromisoformat(row["at"]).astimezone(UTC).isoformat()
        except (TypeError, ValueError, OverflowError):
            raise InvalidValue(
                f"csv line {n}: at", row.get("at"), "an ISO 8601 instant with its offset"
            ) from None
        if datetime.fromisoformat(row["at"]).tzinfo is None:
            raise InvalidValue(f"csv line {n}: at", row["at"], "an instant with its UTC offset")
    return sorted(rows, key=lambda r: r["_at"])


@checked
def replay_csv(
    path: str | Path,
    *,
    model: DeskModel | None = None,
    policies: SlaPolicy | PolicySelector | None = None,
    escalation: EscalationPolicy | None = None,
    campaigns: Sequence[Campaign] | None = None,
    store: TicketStore | None = None,
    jobs: JobStore | None = None,
    progress: Callable[[str], None] | None = None,
) -> SimulationResult:
    """Feed the CSV's events through the desk in time order; return the same result as a run."""
    rows = _rows(path)
    if not rows:
        raise InvalidValue("csv", str(path), "at least one event")
    model = model or DeskModel(name=f"replay of {Path(path).name}", population=0)
    first = datetime.fromisoformat(rows[0]["_at"])
    run = _Run(
        model,
        seed=0,
        start=first,
        policies=policies or SlaPolicy.default(),
        escalation=escalation or default_escalation(),
        campaigns=all_recipes() if campaigns is None else campaigns,
        store=store if store is not None else InMemoryTicketStore(),
        jobs=jobs if jobs is not None else InMemoryJobStore(),
    )
    next_tick = first.timestamp()
    for n, row in enumerate(rows, start=1):
        at = datetime.fromisoformat(row["_at"])
        while next_tick <= at.timestamp():
            run.clock.set(datetime.fromtimestamp(next_tick, UTC))
            run.tick(next_tick)
            next_tick += TICK
        run.clock.set(at)
        _apply(run, row, model)
        run.desk.drain_events(run.scheduler.handle)
        if progress is not None and n % 1000 == 0:
            progress(f"{n}/{len(rows)} events replayed")
    for _ in range(12):  # an hour of ticks after the last event
        run.clock.set(datetime.fromtimestamp(next_tick, UTC))
        run.tick(next_tick)
        next_tick += TICK
    days = max(1, round((run.now() - first).total_seconds() / 86_400))
    return run.result(seed=0, days=days, start=first)


def _apply(run: Any, row: Mapping[str, str], model: DeskModel) -> None:
    ticket_id, event = row["ticket_id"], row["event"]
    actor = row.get("actor") or None
    if event == "created":
        customer_id = row.get("customer_id") or f"customer-of-{ticket_id}"
        if run.directory.get(customer_id) is None:
            run.directory.add(
                Customer(  # a replay sends nothing: the id stands in for a name
                    customer_id,
                    name=row.get("customer_name") or customer_id,
                    locale="id",
                    timezone=model.timezone,
                    consent={"email"},
                )
            )
        run.desk.open(
            ticket_id,
            channel=row.get("channel") or "email",
            customer_id=customer_id,
            priority=row.get("priority") or "normal",
        )
        return
    run.desk.apply(ticket_id, event, actor=actor)


@checked
def compare(
    model: DeskModel,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    days: int = 7,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Run the same arrivals under each variant and return the runs side by side.

    A variant is ``simulate`` keyword arguments (``policies``, ``escalation``,
    ``campaigns``), or ``shifts`` to change the headcount.
    """
    results = {}
    for name, options in variants.items():
        opts = dict(options)
        variant_model = model
        if "shifts" in opts:
            from attrs import evolve  # noqa: PLC0415 - only for this option

            variant_model = evolve(model, shifts=tuple(opts.pop("shifts")))
        if progress is not None:
            progress(f"variant {name}")
        results[name] = simulate(variant_model, days=days, seed=seed, **opts)
    return Comparison(results)
