"""Building frozen attrs instances from values already validated.

The hot paths (a lifecycle step, an SLA evaluation) build many small frozen
values from parts that were checked at the boundary; running every converter
and validator again would cost more than the work itself. These helpers set
the slots directly (the slots' own setters bypass the frozen ``__setattr__``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["slot_setters"]


def slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of ``cls``'s slots, in attrs field order."""
    return tuple(cls.__dict__[field.name].__set__ for field in attrs.fields(cls))
