"""A sender for hosts that deliver messages themselves: a signed JSON POST per message.

Each message is POSTed to the host's URL as JSON, with three headers:

* ``Carekit-Timestamp``: the Unix time of the request;
* ``Carekit-Signature``: ``sha256=`` and the hex HMAC-SHA256 of
  ``"<timestamp>." + body`` under the shared secret;
* ``Idempotency-Key``: the touch's key (the same on every retry).

The receiver checks the signature and the age of the timestamp with
:func:`verify` (a request older than the replay window is refused, so a
captured request cannot be replayed later), de-duplicates on the key, and
answers: a 2xx is :class:`~carekit.campaigns.Sent` (a JSON ``"id"`` in the
answer becomes the provider id), 429 and 5xx are
:class:`~carekit.campaigns.RetryLater` (honouring ``Retry-After`` seconds),
other 4xx are :class:`~carekit.campaigns.Rejected`; a network failure is
``RetryLater`` too.

Example::

    sender = WebhookSender("https://shop.example/carekit/messages", secret=os.environ["SECRET"])
    scheduler = CampaignScheduler(campaigns, jobs, sender, directory)
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from datetime import timedelta

from carekit._check import checked
from carekit._clock import SystemClock
from carekit._model import Channel, Customer
from carekit._send import Rejected, RetryLater, SendResult, Sent
from carekit.exceptions import InvalidValue
from carekit.i18n import Message
from carekit.protocols import Clock

__all__ = ["WebhookSender", "sign", "verify"]

_DEFAULT_RETRY = timedelta(minutes=1)


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if len(key) < 16:
        raise InvalidValue("secret", "(hidden)", "a shared secret of at least 16 bytes")
    return key


@checked
def sign(body: bytes, timestamp: int, secret: str | bytes) -> str:
    """The ``Carekit-Signature`` header for ``body`` sent at ``timestamp``."""
    digest = hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@checked
def verify(
    body: bytes,
    timestamp: str,
    signature: str,
    secret: str | bytes,
    *,
    now: float,
    window: timedelta = timedelta(minutes=5),
) -> None:
    """Check a request as its receiver: the signature, and a timestamp within ``window``.

    Raises:
        InvalidValue: the signature does not match (``field`` ``"signature"``), or
            the timestamp is not a number or is older or newer than ``window``
            (``field`` ``"timestamp"``: a replay).
    """
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidValue("timestamp", timestamp, "Unix seconds") from None
    if abs(now - sent_at) > window.total_seconds():
        raise InvalidValue("timestamp", timestamp, f"a request at most {window} old (a replay?)")
    expected = sign(body, sent_at, secret).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise InvalidValue("signature", signature, "the HMAC-SHA256 of the body and timestamp")


class WebhookSender:
    """A :class:`~carekit.protocols.MessageSender` that POSTs signed JSON to the host.

    Args:
        url: where to POST (``https://`` in production).
        secret: the shared secret (at least 16 bytes).
        timeout: seconds to wait for the answer.
        clock: the source of the timestamps (default: the system clock).
    """

    @checked
    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise InvalidValue("url", url, "an http:// or https:// URL")
        self.url = url
        self._secret = _key(secret)
        self.timeout = timeout
        self.clock = clock if clock is not None else SystemClock()

    def body(self, message: Message, *, customer: Customer, channel: Channel, key: str) -> bytes:
        """The JSON the receiver gets."""
        data = {
            "key": key,
            "customer_id": customer.id,
            "channel": str(channel),
            "template": message.template,
            "locale": message.locale,
            "subject": message.subject,
            "body": message.body,
            "form": message.form,  # "template": outside a reply window, send only `approved`
            "approved": None
            if message.approved is None
            else {
                "name": message.approved.name,
                "language": message.approved.language,
                "parameters": list(message.approved.parameters),
            },
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()

    @checked
    def send(
        self, message: Message, *, customer: Customer, channel: Channel, key: str
    ) -> SendResult:
        """POST the message; the receiver's answer as a :data:`~carekit.campaigns.SendResult`."""
        body = self.body(message, customer=customer, channel=channel, key=key)
        stamp = int(self.clock.now().timestamp())
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Carekit-Timestamp": str(stamp),
                "Carekit-Signature": sign(body, stamp, self._secret),
                "Idempotency-Key": key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return Sent(_provider_id(answer.read()))
        except urllib.error.HTTPError as error:
            return _refusal(error.code, error.headers.get("Retry-After"), error.read())
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            return RetryLater(_DEFAULT_RETRY, f"webhook unreachable: {error}")


def _provider_id(answer: bytes) -> str | None:
    try:
        found = json.loads(answer or b"null")
    except ValueError:
        return None
    value = found.get("id") if isinstance(found, dict) else None
    return None if value is None else str(value)


def _refusal(status: int, retry_after: str | None, answer: bytes) -> SendResult:
    text = answer[:200].decode("utf-8", "replace").strip()
    reason = f"HTTP {status}" + (f": {text}" if text else "")
    if status == 429 or status >= 500:
        wait = int(retry_after) if retry_after and retry_after.isdigit() else None
        return RetryLater(timedelta(seconds=wait) if wait else _DEFAULT_RETRY, reason)
    return Rejected(reason)
