"""What a sender says happened to a message: sent, rejected, or try again later.

A :class:`~carekit.protocols.MessageSender` returns one of these from ``send``,
and the scheduler records the fate: a sent touch is completed (with the
provider's id in the run's report), a permanently rejected one ends
``rejected`` with the provider's reason, a temporary refusal (a rate limit)
is given back to the job store until ``after``, unless the touch would be too
late by then (it expires). A sender that returns nothing is taken to have sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from carekit._check import typed_fields

__all__ = ["Rejected", "RetryLater", "SendResult", "Sent"]


@attrs.frozen(field_transformer=typed_fields)
class Sent:
    """The provider accepted the message.

    Attributes:
        provider_id: the provider's id for it (a message id), if it gave one.
    """

    provider_id: str | None = None


@attrs.frozen(field_transformer=typed_fields)
class Rejected:
    """The provider refused the message.

    Attributes:
        reason: the provider's reason, in words (or its error code).
        permanent: ``True``: never send it (an invalid address, a blocked number);
            ``False``: try again after the scheduler's retry interval.
    """

    reason: str
    permanent: bool = True


@attrs.frozen(field_transformer=typed_fields)
class RetryLater:
    """The provider asks to try again later (a rate limit, an outage).

    Attributes:
        after: how long to wait, or the instant to try again at.
        reason: why, in words.
    """

    after: timedelta | datetime
    reason: str = "the provider asked to try later"


SendResult = Sent | Rejected | RetryLater
"""What :meth:`MessageSender.send <carekit.protocols.MessageSender.send>` returns."""
