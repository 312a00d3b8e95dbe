"""Care messages by e-mail, through the standard library's ``smtplib``.

Each message becomes one e-mail with a plain-text part and an HTML part (the
text, escaped, in paragraphs). Its ``Message-ID`` is made from the touch's
idempotency key, so a re-delivery after a crash carries the same id and mail
systems (and the host's archive) can tell it is the same message. The answers
of the SMTP server become typed results: accepted is
:class:`~carekit.campaigns.Sent` (with the Message-ID), a permanent refusal
(5xx: an unknown mailbox) is :class:`~carekit.campaigns.Rejected`, a
temporary one (4xx) or a connection failure is
:class:`~carekit.campaigns.RetryLater`.

Example::

    sender = SmtpSender("smtp.example.com", "Toko Sejahtera <care@toko.example>",
                        address=lambda customer: emails.get(customer.id),
                        port=587, starttls=True, login=("care", os.environ["SMTP_PASSWORD"]))
"""

from __future__ import annotations

import hashlib
import html
import smtplib
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate

from carekit._check import checked
from carekit._model import Channel, Customer
from carekit._send import Rejected, RetryLater, SendResult, Sent
from carekit.exceptions import InvalidValue
from carekit.i18n import Message

__all__ = ["SmtpSender", "message_id"]

_RETRY = timedelta(minutes=5)


@checked
def message_id(key: str, domain: str) -> str:
    """The ``Message-ID`` of the touch ``key``: the same on every delivery of it."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"<carekit.{digest}@{domain}>"


class SmtpSender:
    """A :class:`~carekit.protocols.MessageSender` for e-mail over SMTP.

    Args:
        host: the SMTP server.
        sender: the ``From`` address (``"Toko <care@toko.example>"``).
        port: the server's port.
        starttls: upgrade the connection with STARTTLS first.
        login: ``(user, password)``, if the server wants them.
        address: how the host finds a customer's e-mail address (from its
            directory); ``None`` or ``""`` rejects the message.
        timeout: seconds for the connection.
    """

    @checked
    def __init__(
        self,
        host: str,
        sender: str,
        *,
        address: Callable[[Customer], str | None],
        port: int = 25,
        starttls: bool = False,
        login: tuple[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        if "@" not in sender:
            raise InvalidValue("sender", sender, "an e-mail address, with a name if you like")
        self.host = host
        self.sender = sender
        self.port = port
        self.starttls = starttls
        self._login = login
        self.address = address
        self.timeout = timeout
        self.domain = sender.rsplit("@", 1)[1].strip(" >")

    def email(self, message: Message, *, to: str, key: str) -> EmailMessage:
        """The e-mail for ``message``: text and HTML parts, the key's Message-ID."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(key, self.domain)
        mail.set_content(message.body)
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in message.body.split("\n\n"))
        mail.add_alternative(
            f'<!doctype html><html lang="{html.escape(message.locale)}"><body>{paragraphs}'
            "</body></html>",
            subtype="html",
        )
        mail["Content-Language"] = message.locale  # after the parts: they reset Content-*
        return mail

    def _mail(self, message: Message, customer: Customer, key: str) -> EmailMessage | Rejected:
        to = self.address(customer)
        if not to:
            return Rejected(f"no e-mail address for customer {customer.id}")
        try:
            return self.email(message, to=to, key=key)
        except ValueError as error:  # a line break in a header: no server would take it
            return Rejected(f"cannot be mailed: {error}")

    @checked
    def send(
        self, message: Message, *, customer: Customer, channel: Channel, key: str
    ) -> SendResult:
        """Send ``message`` to the customer's address; the server's answer, typed."""
        mail = self._mail(message, customer, key)
        if isinstance(mail, Rejected):
            return mail
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self._login is not None:
                    smtp.login(*self._login)
                smtp.send_message(mail)  # one recipient: a refusal raises
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            return _refusal(code, text)
        except smtplib.SMTPResponseException as error:
            return _refusal(error.smtp_code, error.smtp_error)
        except (smtplib.SMTPException, OSError) as error:
            return RetryLater(_RETRY, f"SMTP server unreachable: {error}")
        return Sent(str(mail["Message-ID"]))


def _refusal(code: int, text: bytes | str) -> SendResult:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    reason = f"SMTP {code}: {said}"
    return Rejected(reason) if code >= 500 else RetryLater(_RETRY, reason)
