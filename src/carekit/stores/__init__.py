"""Durable stores (standard library only). See :mod:`carekit.stores.sqlite`."""
