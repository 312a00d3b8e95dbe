"""WhatsApp through Meta's Cloud API: free-form text inside the window, templates outside it.

The scheduler decides the form (:attr:`Message.form <carekit.i18n.Message.form>`):
``"text"`` inside the customer's 24-hour window, ``"template"`` (its
:class:`~carekit.i18n.ApprovedMessage`: name, language, parameters) outside it.
This sender POSTs the documented request to
``{base_url}/{version}/{phone_number_id}/messages`` with the access token, and
maps the answer to a :data:`~carekit.campaigns.SendResult`:

* 200 with ``messages[0].id``: :class:`~carekit.campaigns.Sent` with that id (``wamid...``);
* a rate limit (codes 4, 80007, 130429, 131056), a temporary outage (1, 2,
  131000, 131016, 133004), HTTP 429 or 5xx, or no answer at all:
  :class:`~carekit.campaigns.RetryLater`;
* a message that can never go as it is (131047: more than 24 hours since the
  customer's last message; 131026: undeliverable; 132000-132015: a template
  that does not exist or does not match; 131051, 131053, 100, 131009):
  :class:`~carekit.campaigns.Rejected`;
* an account or token problem the host must fix (0, 3, 10, 190, 131031, 368,
  131049): ``Rejected(permanent=False)``, tried again with the scheduler's backoff.

The Cloud API takes no idempotency key. The touch's key is sent as
``biz_opaque_callback_data`` (it comes back on the status webhooks), and the
sender remembers the keys it sent in ``sent`` (a mapping from key to message
id): give it a durable mapping to dedupe re-deliveries across restarts.

Needs the ``whatsapp`` extra (``httpx``), imported when a sender is made.
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from datetime import timedelta
from typing import Any

from carekit._check import checked
from carekit._model import Channel, Customer
from carekit._send import Rejected, RetryLater, SendResult, Sent
from carekit.exceptions import InvalidValue, MissingExtra
from carekit.i18n import Message

__all__ = ["WhatsAppSender"]

_RETRY = timedelta(minutes=1)
_RETRY_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})
_FIX_CODES = frozenset({0, 3, 10, 190, 368, 131031, 131049})  # the host's account or token


def _httpx() -> Any:
    try:
        import httpx  # noqa: PLC0415 - an optional extra, imported when a sender is made
    except ImportError as exc:
        raise MissingExtra("whatsapp", "httpx") from exc
    return httpx


class WhatsAppSender:
    """A :class:`~carekit.protocols.MessageSender` for the WhatsApp Cloud API.

    Args:
        phone_number_id: the business phone number's id at Meta.
        token: the access token (a system user's, from the environment).
        address: the customer's WhatsApp number (E.164 digits) from your
            directory; ``None`` for a customer without one (the touch is rejected).
        base_url: the Graph API's address (a local stand-in in tests).
        version: the Graph API version.
        timeout: seconds to wait for an answer.
        sent: key -> message id of what was sent (default: in memory); a touch
            whose key is in it is not sent again.
        client: an ``httpx.Client`` to use (default: one of the sender's own).
    """

    @checked
    def __init__(
        self,
        phone_number_id: str,
        token: str,
        *,
        address: Callable[[Customer], str | None],
        base_url: str = "https://graph.facebook.com",
        version: str = "v21.0",
        timeout: float = 10.0,
        sent: MutableMapping[str, str] | None = None,
        client: Any = None,
    ) -> None:
        httpx = _httpx()
        if not phone_number_id.isdigit():
            raise InvalidValue("phone_number_id", phone_number_id, "the number's id (digits)")
        if not token:
            raise InvalidValue("token", "(empty)", "an access token")
        if not base_url.startswith(("https://", "http://")):
            raise InvalidValue("base_url", base_url, "an http:// or https:// URL")
        self.url = f"{base_url.rstrip('/')}/{version}/{phone_number_id}/messages"
        self.address = address
        self.sent: MutableMapping[str, str] = {} if sent is None else sent
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._headers = {"Authorization": f"Bearer {token}"}
        self._network_errors = (httpx.HTTPError,)  # unreachable, timed out, a broken answer

    def close(self) -> None:
        """Close the sender's HTTP client."""
        self._client.close()

    @checked
    def payload(self, message: Message, *, to: str, key: str) -> dict[str, Any]:
        """The request's JSON: a text inside the window, the approved template outside it."""
        base: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "biz_opaque_callback_data": key,
        }
        if message.form == "text":
            return {**base, "type": "text", "text": {"preview_url": False, "body": message.body}}
        approved = message.approved
        if approved is None:
            raise InvalidValue("message.approved", None, "an approved template to send")
        parameters = [{"type": "text", "text": value} for value in approved.parameters]
        template: dict[str, Any] = {"name": approved.name, "language": {"code": approved.language}}
        if parameters:
            template["components"] = [{"type": "body", "parameters": parameters}]
        return {**base, "type": "template", "template": template}

    @checked
    def send(
        self, message: Message, *, customer: Customer, channel: Channel, key: str
    ) -> SendResult:
        """Send on WhatsApp once per key; the Cloud API's answer as a SendResult."""
        if key in self.sent:
            return Sent(self.sent[key])
        if channel is not Channel.WHATSAPP:
            return Rejected(f"the WhatsApp sender cannot send on {channel}")
        to = self.address(customer)
        if not to:
            return Rejected(f"no WhatsApp number for customer {customer.id}")
        if message.form == "template" and message.approved is None:
            return Rejected(f"{message.template} has no approved template to send")
        try:
            answer = self._client.post(
                self.url,
                json=self.payload(message, to=to, key=key),
                headers=self._headers,
            )
        except self._network_errors as exc:
            return RetryLater(_RETRY, f"WhatsApp unreachable: {exc}")
        return self._result(answer.status_code, answer.headers.get("Retry-After"), answer.content,
                            key)  # fmt: skip

    def _result(self, status: int, retry_after: str | None, content: bytes, key: str) -> SendResult:
        try:
            found = json.loads(content or b"null")
        except ValueError:
            found = None
        if 200 <= status < 300:
            try:
                message_id = str(found["messages"][0]["id"])
            except (KeyError, IndexError, TypeError):
                return RetryLater(_RETRY, f"HTTP {status} without a message id")
            self.sent[key] = message_id
            return Sent(message_id)
        return _refusal(status, retry_after, found)


def _refusal(status: int, retry_after: str | None, found: object) -> SendResult:
    """A Graph API error as a SendResult, by its code (the documented way), else by status."""
    error = found.get("error") if isinstance(found, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    text = str(error.get("message", "")) if isinstance(error, dict) else ""
    details = error.get("error_data", {}) if isinstance(error, dict) else {}
    if isinstance(details, dict) and details.get("details"):
        text = f"{text}: {details['details']}" if text else str(details["details"])
    reason = f"WhatsApp error {code}: {text}" if code is not None else f"HTTP {status}"
    wait = timedelta(seconds=int(retry_after)) if retry_after and retry_after.isdigit() else _RETRY
    if code in _FIX_CODES:
        return Rejected(reason, permanent=False)
    if code in _RETRY_CODES or status == 429 or status >= 500:
        return RetryLater(wait, reason)
    return Rejected(reason)
