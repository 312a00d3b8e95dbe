"""Ready-made message senders (the :class:`~carekit.protocols.MessageSender` protocol).

Each sender is optional: the protocol stays the primary interface, and a host
may write its own in a few lines. :mod:`carekit.senders.webhook` and
:mod:`carekit.senders.smtp` need only the standard library;
:mod:`carekit.senders.whatsapp` (the Cloud API) needs the ``whatsapp`` extra (httpx).
"""

__all__: list[str] = []
