"""The loop of a worker process: work while there is work, then wait for more.

``Desk.run`` and ``CampaignScheduler.run`` are this loop around their own step
(``tick`` or ``run_due``). When a step hands nothing over, the loop waits for
the next poll, or less: a store that can announce work (PostgreSQL's
LISTEN/NOTIFY) has a ``wait(timeout)`` that returns as soon as a ticket or job
is saved with a due instant, and says which instant; the loop then sleeps
until that instant. A lost announcement only delays work until the next poll.
A store error (the database went away) is waited out: the loop tries again
after a pause that doubles up to the poll interval, and never stops for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from carekit.exceptions import StoreError

__all__ = ["run_loop"]

log = logging.getLogger("carekit.worker")
_SLICE = 1.0  # the longest a worker waits without looking at its stop event


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
    interval = poll.total_seconds()
    busy = 0
    pause = 0.05
    wake_at: float | None = None
    while not stop.is_set():
        try:
            if step():
                busy += 1
                continue
            pause = 0.05
        except StoreError as exc:
            log.warning("store error, trying again in %.1f s: %s", pause, exc)
            stop.wait(pause)
            pause = min(pause * 2, interval)
            continue
        timeout = interval if wake_at is None else max(0.0, min(interval, wake_at - time.time()))
        wake_at = _idle(wait, stop, timeout)
    return busy


def _idle(
    wait: Callable[[float], float | None] | None, stop: threading.Event, timeout: float
) -> float | None:
    """Wait up to ``timeout`` (in slices of at most a second, so that ``stop`` is seen).

    Returns an announced due instant still to come, or None.
    """
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
            return announced if announced > time.time() else None
    return None
