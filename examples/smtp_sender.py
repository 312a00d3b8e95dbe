"""Care messages by e-mail: the scheduler sends through SmtpSender to an SMTP server.

Here the server is a local aiosmtpd one (``pip install aiosmtpd``) that keeps
what it receives; in production, your mail relay with STARTTLS and a login.
The customer's address comes from the host's own records (``address=``).

Run it: ``python examples/smtp_sender.py``.
"""

from __future__ import annotations

import email
import socket
from datetime import UTC, datetime, timedelta
from email.message import Message as Mail
from typing import Any

from aiosmtpd.controller import Controller

from carekit import Customer
from carekit.campaigns import CampaignScheduler, CareEvent
from carekit.campaigns.recipes import csat_after_resolution
from carekit.senders.smtp import SmtpSender
from carekit.stores.memory import InMemoryJobStore
from carekit.testing import InMemoryDirectory, ManualClock

EMAILS = {"siti": "siti@example.id"}  # the host's own customer records


class Relay:
    """A stand-in mail relay: it keeps each message it accepts."""

    def __init__(self) -> None:
        self.received: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Accept a message."""
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def main() -> list[Mail]:
    """Send one survey by e-mail and print what the relay received."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    relay = Relay()
    server = Controller(relay, hostname="127.0.0.1", port=port)
    server.start()
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
    siti = Customer("siti", name="Siti", locale="id", timezone="Asia/Jakarta", consent={"email"})
    care = CampaignScheduler(
        [csat_after_resolution(timedelta(0))],
        InMemoryJobStore(),
        SmtpSender(
            "127.0.0.1",
            "Toko Sejahtera <care@toko.example>",
            port=port,
            address=lambda customer: EMAILS.get(customer.id),
        ),
        InMemoryDirectory([siti]),
        clock=ManualClock(start),
    )
    care.handle(CareEvent("ticket_resolved", "siti", start, id="T-1", data={"ticket_id": "T-1"}))
    report = care.run_due()
    server.stop()
    for mail in relay.received:
        print(f"{mail['To']}: {mail['Subject']} ({mail['Message-ID']})")
    print(f"sent: {len(report.sent)}, provider ids: {[i for _, i in report.provider_ids]}")
    return relay.received


if __name__ == "__main__":
    main()
