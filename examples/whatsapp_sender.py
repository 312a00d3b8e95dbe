"""WhatsApp care messages through the Cloud API: free-form in the 24-hour window, else templates.

A tiny stand-in for Meta's Graph API runs on 127.0.0.1 and speaks the
documented request and response shapes: it checks the token, answers a
message id (``wamid...``), and refuses a free-form text to a customer who has
not written for 24 hours (error 131047), as WhatsApp does. carekit never
triggers that refusal: it knows each customer's window from the desk's events
and sends the approved template instead.

Run it: ``python examples/whatsapp_sender.py``.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from carekit import Customer
from carekit.campaigns import CampaignScheduler, CareEvent
from carekit.campaigns.recipes import csat_after_resolution
from carekit.senders.whatsapp import WhatsAppSender
from carekit.stores.memory import InMemoryJobStore
from carekit.testing import InMemoryDirectory, ManualClock

TOKEN = "test-token"  # in production: a system user's token, from the environment
PHONES = {"siti": "6281200000001", "budi": "6281200000002"}


class GraphApi(BaseHTTPRequestHandler):
    """The Cloud API's messages endpoint, as documented, with the 24-hour rule."""

    received: list[dict[str, Any]] = []  # noqa: RUF012 - the stand-in's inbox
    last_inbound: dict[str, datetime] = {}  # noqa: RUF012 - phone -> the customer's last message
    now: datetime = datetime.now(UTC)

    def do_POST(self) -> None:
        """One message request."""
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, _error(190, "Error validating access token"))
        if request.get("messaging_product") != "whatsapp" or request.get("type") not in (
            "text", "template"
        ):  # fmt: skip
            return self._answer(400, _error(100, "Invalid parameter"))
        last = self.last_inbound.get(request["to"])
        if request["type"] == "text" and (last is None or self.now - last >= timedelta(hours=24)):
            return self._answer(400, _error(131047, "Re-engagement message"))
        self.received.append(request)
        wamid = f"wamid.{len(self.received)}"
        return self._answer(200, {"messaging_product": "whatsapp",
                                  "contacts": [{"input": request["to"], "wa_id": request["to"]}],
                                  "messages": [{"id": wamid}]})  # fmt: skip

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def _error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": message},
                      "fbtrace_id": "local"}}  # fmt: skip


def serve() -> tuple[ThreadingHTTPServer, str]:
    """Start the stand-in; return it and its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), GraphApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> list[dict[str, Any]]:
    """Siti wrote an hour ago (free-form); Budi two days ago (the approved template)."""
    server, base_url = serve()
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
    GraphApi.now, GraphApi.received = start, []
    customers = [
        Customer(c, name=c.title(), locale="id", timezone="Asia/Jakarta", consent={"whatsapp"},
                 preferred_channel="whatsapp")
        for c in PHONES
    ]  # fmt: skip
    sender = WhatsAppSender("1234567890", TOKEN, address=lambda c: PHONES.get(c.id),
                            base_url=base_url)  # fmt: skip
    care = CampaignScheduler(
        [csat_after_resolution(timedelta(0))],
        InMemoryJobStore(),
        sender,
        InMemoryDirectory(customers),
        clock=ManualClock(start),
        default_locale="id",
    )
    wrote = {"siti": start - timedelta(hours=1), "budi": start - timedelta(days=2)}
    for customer, at in wrote.items():  # the desk's events: each customer's last message
        GraphApi.last_inbound[PHONES[customer]] = at
        care.handle(CareEvent("customer_message", customer, at, data={"channel": "whatsapp"}))
        care.handle(CareEvent("ticket_resolved", customer, start, id=f"T-{customer}",
                              data={"ticket_id": f"T-{customer}"}))  # fmt: skip
    report = care.run_due()
    for key, wamid in report.provider_ids:
        form = "template" if key in report.templated else "text"
        print(f"{key} -> {wamid} ({form})")
    sender.close()
    server.shutdown()
    server.server_close()
    return GraphApi.received


if __name__ == "__main__":
    main()
