"""The ready-made senders, against real local servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from carekit import Channel, Customer
from carekit.campaigns import CampaignScheduler, CareEvent, Rejected, RetryLater, Sent
from carekit.campaigns.recipes import csat_after_resolution
from carekit.exceptions import InvalidValue
from carekit.i18n import Message
from carekit.senders.webhook import WebhookSender, sign, verify
from carekit.stores.memory import InMemoryJobStore
from carekit.testing import InMemoryDirectory, ManualClock

SECRET = "a-shared-secret-of-32-bytes-long"
SITI = Customer("siti", name="Siti", locale="id", timezone="Asia/Jakarta", consent={"email"})
MESSAGE = Message("csat_survey", "id", "Bagaimana layanan kami?", "Halo Siti ...")


class Receiver(BaseHTTPRequestHandler):
    """The host's endpoint: verifies each request, de-duplicates on the key, answers as told."""

    received: ClassVar[dict[str, dict[str, Any]]] = {}
    refusals: ClassVar[list[str]] = []
    answers: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            verify(
                body,
                self.headers["Carekit-Timestamp"],
                self.headers["Carekit-Signature"],
                SECRET,
                now=time.time(),
            )
        except InvalidValue as refused:
            self.refusals.append(refused.field)
            self._answer(401, {}, b'{"error": "bad signature"}')
            return
        if self.answers:
            self._answer(*self.answers.pop(0))
            return
        key = self.headers["Idempotency-Key"]
        self.received.setdefault(key, json.loads(body))
        self._answer(200, {}, json.dumps({"id": f"msg-{len(self.received)}"}).encode())

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received.clear()
    Receiver.refusals.clear()
    Receiver.answers.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/messages"
    server.shutdown()
    server.server_close()


def test_the_webhook_sender_posts_signed_json_once_per_key(receiver: str) -> None:
    """The scheduler's surveys reach the host signed, with their keys; a retry is one message."""
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
    sender = WebhookSender(receiver, SECRET)
    care = CampaignScheduler(
        [csat_after_resolution(timedelta(0))],
        InMemoryJobStore(),
        sender,
        InMemoryDirectory([SITI]),
        clock=ManualClock(start),
    )
    [touch] = care.handle(
        CareEvent("ticket_resolved", "siti", start, id="T-1", data={"ticket_id": "T-1"})
    )
    report = care.run_due()
    assert ((touch.key, "msg-1"),) == report.provider_ids
    got = Receiver.received[touch.key]
    assert ("siti", "email", "id", "csat_survey") == (
        got["customer_id"],
        got["channel"],
        got["locale"],
        got["template"],
    )
    assert "T-1" in got["body"]
    assert isinstance(
        sender.send(MESSAGE, customer=SITI, channel=Channel.EMAIL, key=touch.key), Sent
    )
    assert 1 == len(Receiver.received)  # the receiver de-duplicated the retry on its key


def test_the_receivers_answers_become_typed_results(receiver: str) -> None:
    """429 with Retry-After and 503: RetryLater; 400: Rejected with the answer; no server:
    RetryLater."""
    sender = WebhookSender(receiver, SECRET)
    Receiver.answers.extend([
        (429, {"Retry-After": "120"}, b"slow down"),
        (503, {}, b""),
        (400, {}, b"unknown customer"),
    ])  # fmt: skip
    results = [sender.send(MESSAGE, customer=SITI, channel=Channel.EMAIL, key=f"k{i}")
               for i in range(3)]  # fmt: skip
    assert RetryLater(timedelta(seconds=120), "HTTP 429: slow down") == results[0]
    assert isinstance(results[1], RetryLater)
    assert Rejected("HTTP 400: unknown customer") == results[2]
    nowhere = WebhookSender("http://127.0.0.1:1/messages", SECRET, timeout=2)
    result = nowhere.send(MESSAGE, customer=SITI, channel=Channel.EMAIL, key="k")
    assert isinstance(result, RetryLater)
    assert "unreachable" in result.reason


def test_the_receiver_refuses_forged_tampered_and_replayed_requests(receiver: str) -> None:
    """A wrong secret, a changed body, an old timestamp: refused by verify(), named."""
    wrong = WebhookSender(receiver, "another-secret-of-32-bytes-long!")
    assert isinstance(wrong.send(MESSAGE, customer=SITI, channel=Channel.EMAIL, key="k"), Rejected)
    old = WebhookSender(receiver, SECRET, clock=ManualClock(datetime.now(UTC) - timedelta(hours=1)))
    assert isinstance(old.send(MESSAGE, customer=SITI, channel=Channel.EMAIL, key="k"), Rejected)
    assert ["signature", "timestamp"] == Receiver.refusals
    body = b'{"key": "k"}'
    stamp = int(time.time())
    signature = sign(body, stamp, SECRET)
    verify(body, str(stamp), signature, SECRET, now=stamp + 60)
    with pytest.raises(InvalidValue, match="signature"):
        verify(body + b" ", str(stamp), signature, SECRET, now=stamp)
    with pytest.raises(InvalidValue, match="signature"):  # a forged header of any text
        verify(body, str(stamp), "sha256=\u00e9\udcff", SECRET, now=stamp)
    with pytest.raises(InvalidValue, match="replay"):
        verify(body, str(stamp), signature, SECRET, now=stamp + 301)
    with pytest.raises(InvalidValue, match="16 bytes"):
        WebhookSender(receiver, "short")
    with pytest.raises(InvalidValue, match="URL"):
        WebhookSender("ftp://x", SECRET)


# -- SMTP, against a real local SMTP server (aiosmtpd) ---------------------------------------


class Mailbox:
    """An aiosmtpd handler: keeps what arrives; refuses one mailbox for good, one for now."""

    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("full@"):
            return "452 4.2.2 mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import email  # noqa: PLC0415

        self.mails.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller  # noqa: PLC0415 - a dev dependency

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def test_the_smtp_sender_mails_text_and_html_with_the_keys_message_id(
    smtp_server: tuple[int, Mailbox],
) -> None:
    """One e-mail per send: both parts, the language, a Message-ID made from the key."""
    from carekit.senders.smtp import SmtpSender, message_id  # noqa: PLC0415

    port, mailbox = smtp_server
    emails = {"siti": "siti@example.id", "gone": "gone@example.id", "full": "full@example.id"}
    sender = SmtpSender("127.0.0.1", "Toko Sejahtera <care@toko.example>", port=port,
                        address=lambda c: emails.get(c.id))  # fmt: skip
    message = Message("csat_survey", "id", "Bagaimana layanan kami?", "Halo Siti <3 & terima kasih")
    result = sender.send(message, customer=SITI, channel=Channel.EMAIL, key="csat/siti/0/T-1")
    [mail] = mailbox.mails
    assert Sent(message_id("csat/siti/0/T-1", "toko.example")) == result
    assert mail["Message-ID"] == message_id("csat/siti/0/T-1", "toko.example")
    assert ("Bagaimana layanan kami?", "siti@example.id", "id") == (
        mail["Subject"],
        mail["To"],
        mail["Content-Language"],
    )
    text, page = (part.get_payload(decode=True).decode() for part in mail.get_payload())
    assert "Halo Siti <3 & terima kasih" in text
    assert "Halo Siti &lt;3 &amp; terima kasih" in page
    gone = sender.send(message, customer=Customer("gone"), channel=Channel.EMAIL, key="k2")
    assert isinstance(gone, Rejected)
    assert "550" in gone.reason
    full = sender.send(message, customer=Customer("full"), channel=Channel.EMAIL, key="k3")
    assert isinstance(full, RetryLater)
    assert "452" in full.reason
    nobody = sender.send(message, customer=Customer("nobody"), channel=Channel.EMAIL, key="k4")
    assert Rejected("no e-mail address for customer nobody") == nobody
    broken = Message("csat_survey", "id", "Bagaimana\r\nBcc: all@example.id", "x")
    refused = sender.send(broken, customer=SITI, channel=Channel.EMAIL, key="k5")
    assert isinstance(refused, Rejected)  # no header injection, no ValueError for the host
    assert "cannot be mailed" in refused.reason
    down = SmtpSender("127.0.0.1", "care@toko.example", port=1, timeout=2,
                      address=lambda c: emails.get(c.id))  # fmt: skip
    assert isinstance(down.send(message, customer=SITI, channel=Channel.EMAIL, key="k"), RetryLater)
    assert 1 == len(mailbox.mails)
