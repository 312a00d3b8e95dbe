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

import attrs
import pytest

from carekit import Channel, Customer
from carekit.campaigns import CampaignScheduler, CareEvent, Rejected, RetryLater, Sent
from carekit.campaigns.recipes import csat_after_resolution
from carekit.exceptions import InvalidValue
from carekit.i18n import ApprovedMessage, Message
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
    assert "text" == got["form"]  # free-form; with the approved template for a closed window
    assert {"name": "carekit_csat_survey", "language": "id", "parameters": ["Siti", "T-1"]} == (
        got["approved"]
    )
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


# -- WhatsApp: the Cloud API's documented shapes, from a local stand-in ----------------------


class GraphApi(BaseHTTPRequestHandler):
    """The messages endpoint: records each request; answers as scripted, else a message id."""

    requests: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []
    answers: ClassVar[list[tuple[int, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((self.path, self.headers["Authorization"], body))
        status, answer = (
            self.answers.pop(0)
            if self.answers
            else (200, {"messaging_product": "whatsapp", "contacts": [{"wa_id": body["to"]}],
                        "messages": [{"id": f"wamid.{len(self.requests)}"}]})
        )  # fmt: skip
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def graph() -> Iterator[str]:
    GraphApi.requests, GraphApi.answers = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GraphApi)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _whatsapp(base_url: str) -> Any:
    from carekit.senders.whatsapp import WhatsAppSender  # noqa: PLC0415 - needs the extra

    phones = {"siti": "6281200000001"}
    return WhatsAppSender("1234567890", "token-1", address=lambda c: phones.get(c.id),
                          base_url=base_url, timeout=5.0)  # fmt: skip


def _error(code: int, message: str = "x") -> dict[str, Any]:
    data = {"messaging_product": "whatsapp", "details": message}
    return {"error": {"message": message, "type": "OAuthException", "code": code,
                      "error_data": data}}  # fmt: skip


APPROVED = ApprovedMessage("carekit_csat_survey", "id", ("Siti", "T-1"))
WA = Customer("siti", name="Siti", locale="id", timezone="Asia/Jakarta", consent={"whatsapp"},
              preferred_channel="whatsapp")  # fmt: skip


def test_whatsapp_text_inside_the_window_template_outside(graph: str) -> None:
    """The documented request: the text, or the template with its language and parameters;
    the token in the header; the touch's key as biz_opaque_callback_data; wamid back."""
    sender = _whatsapp(graph)
    text = attrs.evolve(MESSAGE, approved=APPROVED)
    assert Sent("wamid.1") == sender.send(text, customer=WA, channel=Channel.WHATSAPP, key="k/1")
    template = attrs.evolve(text, form="template")
    assert Sent("wamid.2") == sender.send(template, customer=WA, channel=Channel.WHATSAPP,
                                          key="k/2")  # fmt: skip
    (path, auth, first), (_, _, second) = GraphApi.requests
    assert ("/v21.0/1234567890/messages", "Bearer token-1") == (path, auth)
    assert {"messaging_product": "whatsapp", "recipient_type": "individual",
            "to": "6281200000001", "biz_opaque_callback_data": "k/1", "type": "text",
            "text": {"preview_url": False, "body": "Halo Siti ..."}} == first  # fmt: skip
    assert {"name": "carekit_csat_survey", "language": {"code": "id"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "Siti"}, {"type": "text", "text": "T-1"}]}]} == (
        second["template"]
    )  # fmt: skip
    assert "text" not in second  # outside the window the text never goes
    # the same key again: not sent twice
    assert Sent("wamid.1") == sender.send(text, customer=WA, channel=Channel.WHATSAPP, key="k/1")
    assert 2 == len(GraphApi.requests)
    sender.close()


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (400, _error(131047, "Re-engagement message"), Rejected),
        (400, _error(132001, "Template name does not exist in the translation"), Rejected),
        (400, _error(131026, "Message undeliverable"), Rejected),
        (400, _error(130429, "Rate limit hit"), RetryLater),
        (
            400,
            _error(131056, "(Business Account, Consumer Account) pair rate limit hit"),
            RetryLater,
        ),
        (429, _error(80007, "Rate limit issues"), RetryLater),
        (500, _error(131000, "Something went wrong"), RetryLater),
        (503, {}, RetryLater),
        (401, _error(190, "Error validating access token"), Rejected),
        (200, {"messaging_product": "whatsapp"}, RetryLater),  # no id: not known as sent
    ],
)
def test_the_cloud_apis_errors_become_typed_results(
    graph: str, status: int, answer: dict[str, Any], expected: Any
) -> None:
    GraphApi.answers.append((status, answer))
    result: Any = _whatsapp(graph).send(MESSAGE, customer=WA, channel=Channel.WHATSAPP, key="k/1")
    assert type(result) is expected
    code = answer.get("error", {}).get("code")
    if code is not None:
        assert f"WhatsApp error {code}" in result.reason
    if code == 190:
        assert not result.permanent  # the host fixes its token; tried again with backoff
    if code in (131047, 132001, 131026):
        assert result.permanent


def test_whatsapp_refuses_what_it_cannot_send(graph: str) -> None:
    """Another channel, no number, a template message without a template: Rejected, no request;
    an unreachable API: RetryLater; bad settings: InvalidValue."""
    sender = _whatsapp(graph)
    assert isinstance(sender.send(MESSAGE, customer=WA, channel=Channel.EMAIL, key="a"), Rejected)
    nobody = Customer("budi", name="Budi", consent={"whatsapp"})
    assert isinstance(sender.send(MESSAGE, customer=nobody, channel=Channel.WHATSAPP, key="b"),
                      Rejected)  # fmt: skip
    bare = attrs.evolve(MESSAGE, form="template")
    assert isinstance(sender.send(bare, customer=WA, channel=Channel.WHATSAPP, key="c"), Rejected)
    assert [] == GraphApi.requests
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    down = _whatsapp(f"http://127.0.0.1:{port}")
    assert isinstance(down.send(MESSAGE, customer=WA, channel=Channel.WHATSAPP, key="d"),
                      RetryLater)  # fmt: skip
    from carekit.senders.whatsapp import WhatsAppSender  # noqa: PLC0415 - needs the extra

    with pytest.raises(InvalidValue, match="phone_number_id"):
        WhatsAppSender("abc", "t", address=lambda c: None)
    with pytest.raises(InvalidValue, match="base_url"):
        WhatsAppSender("1", "t", address=lambda c: None, base_url="ftp://x")


def test_the_scheduler_sends_whatsapp_by_the_window_through_the_api(graph: str) -> None:
    """End to end: a customer who wrote an hour ago gets text; one who wrote two days ago the
    approved template; a rate limit is retried with the same key."""
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    phones = {"siti": "6281200000001", "budi": "6281200000002"}
    from carekit.senders.whatsapp import WhatsAppSender  # noqa: PLC0415 - needs the extra

    sender = WhatsAppSender("1234567890", "token-1", address=lambda c: phones.get(c.id),
                            base_url=graph)  # fmt: skip
    people = [attrs.evolve(WA, id=c, name=c.title()) for c in phones]
    care = CampaignScheduler([csat_after_resolution(timedelta(0))], InMemoryJobStore(), sender,
                             InMemoryDirectory(people), clock=ManualClock(start))  # fmt: skip
    for who, ago in (("siti", timedelta(hours=1)), ("budi", timedelta(days=2))):
        care.handle(CareEvent("customer_message", who, start - ago, data={"channel": "whatsapp"}))
        care.handle(CareEvent("ticket_resolved", who, start, id=f"T-{who}",
                              data={"ticket_id": f"T-{who}"}))  # fmt: skip
    GraphApi.answers.append((400, _error(130429, "Rate limit hit")))
    first = care.run_due(now=start)
    assert 1 == len(first.sent)
    [(limited, why, until)] = first.deferred
    assert "130429" in why
    assert start + timedelta(minutes=1) == until
    second = care.run_due(now=until)
    assert (limited,) == second.sent
    kinds = {body["to"]: body["type"] for _, _, body in GraphApi.requests[1:]}
    assert {"6281200000001": "text", "6281200000002": "template"} == kinds
    keys = [body["biz_opaque_callback_data"] for _, _, body in GraphApi.requests]
    assert keys.count(limited) == 2  # tried twice, with the same key
    sender.close()
