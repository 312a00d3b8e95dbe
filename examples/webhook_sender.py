"""Care messages delivered by the host itself: carekit POSTs each one, signed, to its endpoint.

The host's endpoint (here a tiny standard-library server on 127.0.0.1) checks
the signature and the timestamp with ``carekit.senders.webhook.verify``,
de-duplicates on the ``Idempotency-Key`` and hands the message to its own
e-mail or WhatsApp gateway. carekit records the answer as the touch's fate.

Run it: ``python examples/webhook_sender.py``.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from carekit import Customer
from carekit.campaigns import CampaignScheduler, CareEvent
from carekit.campaigns.recipes import csat_after_resolution
from carekit.exceptions import InvalidValue
from carekit.senders.webhook import WebhookSender, verify
from carekit.stores.memory import InMemoryJobStore
from carekit.testing import InMemoryDirectory, ManualClock

SECRET = "change-me-to-32-random-bytes-0000"  # in production: from the environment
INBOX: dict[str, dict[str, Any]] = {}


class Endpoint(BaseHTTPRequestHandler):
    """The host's side: verify, de-duplicate on the key, deliver, answer with an id."""

    def do_POST(self) -> None:
        """One message from carekit."""
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            verify(body, self.headers["Carekit-Timestamp"], self.headers["Carekit-Signature"],
                   SECRET, now=time.time())  # fmt: skip
        except InvalidValue:
            self.send_response(401)
            self.end_headers()
            return
        key = self.headers["Idempotency-Key"]
        INBOX.setdefault(key, json.loads(body))  # hand to the gateway once per key
        answer = json.dumps({"id": f"gw-{len(INBOX)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def main() -> dict[str, dict[str, Any]]:
    """Serve the endpoint, send two surveys through it, print what arrived."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/carekit/messages"
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
    customers = [
        Customer("siti", name="Siti", locale="id", timezone="Asia/Jakarta", consent={"email"}),
        Customer("asep", name="Asep", locale="su_ID", timezone="Asia/Jakarta", consent={"email"}),
    ]
    care = CampaignScheduler(
        [csat_after_resolution(timedelta(0))],
        InMemoryJobStore(),
        WebhookSender(url, SECRET),
        InMemoryDirectory(customers),
        clock=ManualClock(start),
        default_locale="id",  # Sundanese has no catalog: the desk's language
    )
    for i, customer in enumerate(customers):
        ticket = f"T-{i + 1}"
        care.handle(CareEvent("ticket_resolved", customer.id, start, id=ticket,
                              data={"ticket_id": ticket}))  # fmt: skip
    report = care.run_due()
    for key, provider_id in report.provider_ids:
        print(f"{key} -> {provider_id}: {INBOX[key]['subject']}")
    server.shutdown()
    server.server_close()
    return INBOX


if __name__ == "__main__":
    main()
