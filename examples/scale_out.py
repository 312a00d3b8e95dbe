"""Several workers on one PostgreSQL database: every breach handed over once.

Run it against a server (the local one by default; it makes and drops a schema
of its own)::

    CAREKIT_PG_DSN=postgresql://postgres@127.0.0.1/test python examples/scale_out.py

A web front opens phone calls through its own desk; two workers run
``Desk.run`` on theirs. The calls breach their 30 s pickup target after a
second here (a strict policy for the demo); each save announces its due
instant, the listening workers wake, claim with ``FOR UPDATE SKIP LOCKED`` and
hand each breach over once.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import timedelta

from carekit import AtBreach, Desk, EscalationLevel, EscalationPolicy, Metric, Notify, SlaPolicy
from carekit.stores.postgres import PostgresTicketStore, upgrade
from carekit.testing import RecordingHandler

LADDER = EscalationPolicy(
    [EscalationLevel("missed call", AtBreach(Metric.FIRST_RESPONSE), [Notify("floor lead")])]
)
PICKUP = SlaPolicy("demo pickup", {Metric.FIRST_RESPONSE: timedelta(seconds=1)})


# --8<-- [start:main]
def main(dsn: str, schema: str, calls: int = 40) -> int:
    """Open ``calls`` calls, let two workers hand the breaches over; return how many."""
    upgrade(dsn, schema)  # what `python -m carekit db upgrade` does at deployment
    handler = RecordingHandler()  # the host's on-call board; it de-duplicates on keys
    stores = [PostgresTicketStore(dsn, schema=schema) for _ in range(3)]
    web = Desk(stores[0], policies=PICKUP, escalation=LADDER)
    workers = [
        Desk(store, policies=PICKUP, escalation=LADDER, handler=handler) for store in stores[1:]
    ]
    stop = threading.Event()
    threads = [
        threading.Thread(target=w.run, args=(stop,), kwargs={"poll": timedelta(minutes=5)})
        for w in workers
    ]
    for thread in threads:
        thread.start()
    for i in range(calls):
        web.open(f"CALL-{i}", channel="phone", customer_id=f"c-{i}")
    deadline = time.monotonic() + 60
    while len(handler.handled) < calls and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    keys = [e.key for e in handler.handled]
    assert len(keys) == len(set(keys)) == calls, "every breach handed over once"
    print(f"{calls} calls, {len(keys)} breaches handed over, each once, by 2 workers")
    return len(keys)


# --8<-- [end:main]


if __name__ == "__main__":
    import psycopg

    dsn = os.environ.get("CAREKIT_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"carekit_demo_{uuid.uuid4().hex[:8]}"
    try:
        main(dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
