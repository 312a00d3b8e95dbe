"""Ready-made message senders (the :class:`~carekit.protocols.MessageSender` protocol).

Each sender is optional: the protocol stays the primary interface, and a host
may write its own in a few lines. :mod:`carekit.senders.webhook` needs only the
standard library.
"""

__all__: list[str] = []
