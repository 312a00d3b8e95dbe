"""A sync face on carekit.aio's async stores, so that the stores' contract tests run on them.

Every coroutine method is run to completion on one event loop (the store's
pool belongs to it); iteration and ``len`` collect the async answers.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest


class Blocking:
    """Calls an async store's methods and waits for their answers."""

    def __init__(self, store: Any, runner: asyncio.Runner) -> None:
        self.store = store
        self.runner = runner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            return self.runner.run(result) if inspect.iscoroutine(result) else result

        return call

    def __iter__(self) -> Iterator[Any]:
        async def collect() -> list[Any]:
            return [ticket async for ticket in self.store]

        return iter(self.runner.run(collect()))

    def __len__(self) -> int:
        if hasattr(type(self.store), "__len__"):
            return len(self.store)
        return int(self.runner.run(self.store.count()))


def async_store(
    kind: str, request: pytest.FixtureRequest, make_postgres: Callable[[str, str], Any]
) -> Iterator[Blocking]:
    """``aio-memory`` (``make_postgres`` unused) or ``aio-postgres``, opened and closed."""
    from carekit.aio import AsyncInMemoryJobStore, AsyncInMemoryTicketStore  # noqa: PLC0415

    with asyncio.Runner() as runner:
        if kind == "aio-memory-tickets":
            yield Blocking(AsyncInMemoryTicketStore(), runner)
        elif kind == "aio-memory-jobs":
            yield Blocking(AsyncInMemoryJobStore(), runner)
        else:
            dsn = request.getfixturevalue("pg_dsn")
            store = make_postgres(dsn, request.getfixturevalue("pg_schema"))
            runner.run(store.open())
            try:
                yield Blocking(store, runner)
            finally:
                runner.run(store.close())
