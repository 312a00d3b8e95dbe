"""Reply windows: how long after a customer's last message a channel allows free-form replies.

WhatsApp Business allows free-form messages only within 24 hours of the
customer's last message to the business (its *customer-service window*);
outside it, only pre-approved message templates may be sent. The window is
wall-clock time, not business hours: a WhatsApp ticket opened on Friday at
17:00 under Monday-to-Friday hours is due on Monday, but its window closes on
Saturday at 17:00.

:data:`WHATSAPP_WINDOW` is that rule; :func:`window_closes` reads it from a
ticket's event log (its last inbound message: the one that opened it, or a
later customer message). Pure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from carekit._check import checked, typed_fields
from carekit._model import Channel, Role, Ticket, as_channel
from carekit.exceptions import InvalidValue

__all__ = ["WHATSAPP_WINDOW", "ReplyWindow", "last_inbound", "window_closes"]

_INBOUND = frozenset({Role.CREATED, Role.CUSTOMER_MESSAGE})


@attrs.frozen(field_transformer=typed_fields)
class ReplyWindow:
    """A channel's customer-service window.

    Attributes:
        channel: the channel it rules.
        length: how long after the customer's last message free-form messages
            may go out (wall-clock time).
    """

    channel: Channel = attrs.field(converter=as_channel)
    length: timedelta = timedelta(hours=24)

    def __attrs_post_init__(self) -> None:
        if self.length <= timedelta(0):
            raise InvalidValue("length", self.length, "a positive duration")

    @checked
    def closes(self, last_inbound: datetime | None) -> datetime | None:
        """When the window opened by ``last_inbound`` closes (``None``: it never opened)."""
        return None if last_inbound is None else last_inbound + self.length

    @checked
    def is_open(self, last_inbound: datetime | None, now: datetime) -> bool:
        """Whether a free-form message may go out at ``now``."""
        closes = self.closes(last_inbound)
        return closes is not None and now < closes


WHATSAPP_WINDOW = ReplyWindow(Channel.WHATSAPP, timedelta(hours=24))
"""WhatsApp Business's customer-service window: 24 hours after the customer's last message."""


@checked
def last_inbound(ticket: Ticket, now: datetime | None = None) -> datetime | None:
    """When the customer last wrote on ``ticket`` (at or before ``now``, if given).

    Its opening, or a later customer message.
    """
    return next(
        (
            e.at
            for e in reversed(ticket.events)
            if not e.roles.isdisjoint(_INBOUND) and (now is None or e.at <= now)
        ),
        None,
    )


@checked
def window_closes(
    ticket: Ticket, window: ReplyWindow = WHATSAPP_WINDOW, now: datetime | None = None
) -> datetime | None:
    """When ``ticket``'s reply window closes, if its channel has ``window`` (else ``None``).

    ``now``: as the log stood then (later messages ignored).
    """
    if ticket.channel is not window.channel:
        return None
    return window.closes(last_inbound(ticket, now))
