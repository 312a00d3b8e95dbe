"""carekit: customer care workflows for helpdesks, CRMs and call-centre tools.

The public names are listed here; everything else is private.
"""

from carekit.clock import SystemClock
from carekit.exceptions import (
    CalendarError,
    CarekitError,
    ConcurrentUpdate,
    InvalidTransition,
    InvalidValue,
    NaiveDatetimeError,
    PolicyError,
    TicketNotFound,
    UnknownTimezoneError,
)
from carekit.lifecycle import Lifecycle, TransitionSpec
from carekit.model import Channel, Customer, Priority, Status, Ticket, TicketEvent
from carekit.protocols import Clock, TicketStore

__all__ = [
    # domain
    "Channel",
    "Customer",
    "Priority",
    "Status",
    "Ticket",
    "TicketEvent",
    # lifecycle
    "Lifecycle",
    "TransitionSpec",
    # protocols and the default clock
    "Clock",
    "SystemClock",
    "TicketStore",
    # errors
    "CalendarError",
    "CarekitError",
    "ConcurrentUpdate",
    "InvalidTransition",
    "InvalidValue",
    "NaiveDatetimeError",
    "PolicyError",
    "TicketNotFound",
    "UnknownTimezoneError",
]

__version__ = "0.1.0.dev0"
