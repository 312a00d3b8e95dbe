"""carekit for asyncio hosts (FastAPI, Litestar, Django async...).

:class:`AsyncDesk` and :class:`AsyncCampaignScheduler` are the sync desk and
scheduler as coroutines: they run the very same steps (one place decides, two
thin shells do the I/O), over async stores. Handlers, directories and senders
may be async (the ``Async...`` protocols of :mod:`carekit.protocols`) or plain.

Stores: :class:`AsyncPostgresTicketStore` and :class:`AsyncPostgresJobStore`
(``carekit[postgres]``, psycopg's async API) for production, the in-memory
ones for tests. The worker loops (``run``) and the in-memory stores also run
under trio through anyio; the PostgreSQL stores need asyncio (as psycopg does).
"""

from carekit.aio._desk import AsyncDesk
from carekit.aio._scheduler import AsyncCampaignScheduler
from carekit.aio.memory import AsyncInMemoryJobStore, AsyncInMemoryTicketStore
from carekit.aio.postgres import AsyncPostgresJobStore, AsyncPostgresTicketStore
from carekit.protocols import (
    AsyncCustomerDirectory,
    AsyncEscalationHandler,
    AsyncJobStore,
    AsyncMessageSender,
    AsyncTicketStore,
)

__all__ = [
    "AsyncCampaignScheduler",
    "AsyncCustomerDirectory",
    "AsyncDesk",
    "AsyncEscalationHandler",
    "AsyncInMemoryJobStore",
    "AsyncInMemoryTicketStore",
    "AsyncJobStore",
    "AsyncMessageSender",
    "AsyncPostgresJobStore",
    "AsyncPostgresTicketStore",
    "AsyncTicketStore",
]
