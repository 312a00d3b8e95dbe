"""Stores: :mod:`carekit.stores.memory` and :mod:`carekit.stores.sqlite` (durable, embedded)."""

__all__: list[str] = []
