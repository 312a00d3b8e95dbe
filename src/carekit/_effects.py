"""One decision, two shells: the steps of an operation, run by a sync or an async driver.

The desk and the scheduler decide in one place for both of their fronts
(:class:`~carekit.Desk` and :class:`~carekit.aio.AsyncDesk`, the two campaign
schedulers). Each operation is written once, as a generator of *steps*: it
yields a :class:`Call` wherever it needs the outside world (a store, the
host's handler, directory or sender) and gets the answer back from the
``yield``; an exception the call raised is thrown into the generator at that
``yield``, so the operation's own ``try``/``except`` sees it exactly as if it
had made the call itself. :func:`drive` drives the steps with plain calls;
:func:`drive_async` awaits what the calls return. Neither driver decides
anything.

Example::

    def fetch_twice(store, ticket_id):          # the steps
        first = yield Call(store.get, ticket_id)
        again = yield Call(store.get, ticket_id)
        return first == again

    drive(fetch_twice(sync_store, "T-1"))                # a Desk
    await drive_async(fetch_twice(async_store, "T-1"))   # an AsyncDesk
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

from carekit.exceptions import InvalidType

__all__ = ["Call", "Steps", "drive", "drive_async", "refuse_async"]

T = TypeVar("T")


class Call:
    """One call to the outside world that an operation's steps ask its driver to make."""

    __slots__ = ("args", "function", "kwargs")

    def __init__(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"Call({getattr(self.function, '__qualname__', self.function)!r}, ...)"


Steps = Generator[Call, Any, T]
"""An operation written as steps: it yields calls and returns its result."""


def drive(steps: Steps[T]) -> T:
    """Drive ``steps`` with plain calls (the sync shells); return their result.

    Raises:
        InvalidType: a call returned an awaitable (an async store or handler
            given to a sync desk or scheduler); nothing after it ran.
    """
    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            call = steps.send(reply) if error is None else steps.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        error = None
        try:
            reply = call.function(*call.args, **call.kwargs)
        except Exception as exc:  # the operation decides what a failure means
            error, reply = exc, None
            continue
        if inspect.isawaitable(reply):
            _close(reply)
            steps.close()
            name = getattr(call.function, "__qualname__", repr(call.function))
            raise InvalidType(
                name, reply, "a plain (not async) method: use carekit.aio for async parts"
            )


async def drive_async(steps: Steps[T]) -> T:
    """Drive ``steps``, awaiting each call's answer when it is awaitable (the async shells).

    Sync parts (a plain directory, renderer or handler) are called as they are,
    so an async desk takes either kind.
    """
    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            call = steps.send(reply) if error is None else steps.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        error = None
        try:
            reply = call.function(*call.args, **call.kwargs)
            if inspect.isawaitable(reply):
                reply = await reply
        except Exception as exc:  # the operation decides what a failure means
            error, reply = exc, None


def refuse_async(owner: str, **parts: tuple[object, str]) -> None:
    """Refuse async parts given to a sync shell, at construction (not at the first tick).

    ``parts`` maps an argument's name to the object and the method the shell calls.

    Raises:
        InvalidType: that method is a coroutine function.
    """
    for name, (part, method) in parts.items():
        if part is not None and inspect.iscoroutinefunction(getattr(part, method, None)):
            raise InvalidType(
                name, part, f"a {name} with a plain {method}(): give async ones to {owner}"
            )


def _close(reply: Awaitable[Any]) -> None:
    close = getattr(reply, "close", None)  # a coroutine never awaited: no warning
    if close is not None:
        close()
