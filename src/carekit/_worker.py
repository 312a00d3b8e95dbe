"""The loop of a worker process: work while there is work, then wait for more.

``Desk.run`` and ``CampaignScheduler.run`` (and their async twins) are this loop
around their own step (``tick`` or ``run_due``). When a step hands nothing
over, the loop waits for the next poll, or less: a store that can announce work
(PostgreSQL's LISTEN/NOTIFY) has a ``wait(timeout)`` that returns as soon as a
ticket or job is saved with a due instant, and says which instant; the loop
then sleeps until that instant. A lost announcement only delays work until the
next poll. A store error (the database went away) is waited out: the loop tries
again after a pause that doubles up to the poll interval, and never stops for it.

The decisions are :func:`loop_plan`'s alone; :func:`run_loop` and
:func:`run_loop_async` only carry them out, with threads or with ``await``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from datetime import timedelta
from typing import Any, Protocol

from carekit.exceptions import StoreError

__all__ = ["AsyncStop", "loop_plan", "run_loop", "run_loop_async"]

log = logging.getLogger("carekit.worker")
_SLICE = 1.0  # the longest a worker waits without looking at its stop event
Plan = Generator[tuple[str, float], object, None]


class AsyncStop(Protocol):
    """What an async worker loop is stopped with: an ``asyncio.Event`` or an ``anyio.Event``."""

    def is_set(self) -> bool:
        """Whether the loop should end."""
        ...

    async def wait(self) -> Any:
        """Return once the event is set."""
        ...


def loop_plan(interval: float) -> Plan:
    """The loop's decisions, as ``(what, seconds)`` requests to its driver.

    ``("step", 0)`` is answered with what the step returned (whether it handed
    something over) or the :class:`StoreError` it raised; ``("pause", s)``
    with nothing; ``("listen", s)`` with the first due instant announced
    within ``s`` seconds (epoch seconds), or None.
    """
    pause = 0.05
    wake_at: float | None = None
    while True:
        outcome = yield ("step", 0.0)
        if isinstance(outcome, StoreError):
            log.warning("store error, trying again in %.1f s: %s", pause, outcome)
            yield ("pause", pause)
            pause = min(pause * 2, interval)
            continue
        if outcome:
            continue
        pause = 0.05
        timeout = interval if wake_at is None else max(0.0, min(interval, wake_at - time.time()))
        announced = yield ("listen", timeout)
        wake_at = announced if isinstance(announced, float) and announced > time.time() else None


def run_loop(
    step: Callable[[], bool],
    wait: Callable[[float], float | None] | None,
    stop: threading.Event,
    poll: timedelta,
) -> int:
    """Call ``step`` until ``stop`` is set; return how many steps handed something over.

    ``step`` returns whether it handed something over (then it is called again at
    once). ``wait(seconds)`` blocks until work is announced or the time is up and
    returns the earliest announced due instant (epoch seconds), if any.
    """
    plan = loop_plan(poll.total_seconds())
    what, seconds = next(plan)
    busy = 0
    while not stop.is_set():
        reply: object = None
        if what == "step":
            try:
                reply = step()
            except StoreError as exc:
                reply = exc
            busy += reply is True
        elif what == "pause":
            stop.wait(seconds)
        else:
            reply = _listen(wait, stop, seconds)
        what, seconds = plan.send(reply)
    return busy


def _listen(
    wait: Callable[[float], float | None] | None, stop: threading.Event, timeout: float
) -> float | None:
    """Wait up to ``timeout`` (in slices of at most a second, so that ``stop`` is seen)."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if wait is None:
            stop.wait(min(left, _SLICE))
            continue
        announced = wait(min(left, _SLICE))
        if announced is not None:
            return announced
    return None


async def run_loop_async(
    step: Callable[[], Awaitable[bool]],
    wait: Callable[[float], Awaitable[float | None]] | None,
    stop: AsyncStop,
    poll: timedelta,
) -> int:
    """:func:`run_loop` with ``await``: the same plan, for the async fronts."""
    plan = loop_plan(poll.total_seconds())
    what, seconds = next(plan)
    busy = 0
    while not stop.is_set():
        reply: object = None
        if what == "step":
            try:
                reply = await step()
            except StoreError as exc:
                reply = exc
            busy += reply is True
        elif what == "pause":
            await _pause(stop, seconds)
        else:
            reply = await _listen_async(wait, stop, seconds)
        what, seconds = plan.send(reply)
    return busy


async def _listen_async(
    wait: Callable[[float], Awaitable[float | None]] | None, stop: AsyncStop, timeout: float
) -> float | None:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if wait is None:
            await _pause(stop, min(left, _SLICE))
            continue
        announced = await wait(min(left, _SLICE))
        if announced is not None:
            return announced
    return None


async def _pause(stop: AsyncStop, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stop`` is set, under asyncio or (with anyio) trio."""
    try:
        import anyio  # noqa: PLC0415 - optional: it is what lets the loop run under trio
    except ImportError:  # pragma: no cover - anyio comes with most async web stacks
        import asyncio  # noqa: PLC0415

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        return
    with anyio.move_on_after(seconds):
        await stop.wait()
