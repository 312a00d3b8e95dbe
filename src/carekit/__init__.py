"""carekit: customer care workflows for helpdesks, CRMs and call-centre tools.

The public names are listed here; everything else is private.
"""

from carekit.calendar import BusinessCalendar
from carekit.clock import SystemClock
from carekit.country_holidays import country_holidays
from carekit.desk import Desk
from carekit.duration import format_duration, parse_duration
from carekit.escalation import (
    Action,
    AfterBreach,
    AtBreach,
    Before,
    Decision,
    EscalationLevel,
    EscalationPolicy,
    Firing,
    Idle,
    InformCustomer,
    Notify,
    RaisePriority,
    Reassign,
    Reopened,
    Trigger,
    fired_keys,
)
from carekit.exceptions import (
    CalendarError,
    CarekitError,
    ConcurrentUpdate,
    InvalidTransition,
    InvalidValue,
    LifecycleDefinitionError,
    MissingExtra,
    NaiveDatetimeError,
    PolicyError,
    TicketNotFound,
    UnknownTimezoneError,
)
from carekit.lifecycle import Lifecycle, TransitionSpec
from carekit.model import Channel, Customer, Priority, Status, Ticket, TicketEvent
from carekit.policy_file import PolicyFileError, PolicySet, load_policies, loads_policies
from carekit.protocols import Clock, CustomerDirectory, EscalationHandler, TicketStore
from carekit.selector import PolicyRule, PolicySelector, Selection
from carekit.sla import DEFAULT_PAUSE_ON, SlaPolicy, Target, TargetKey
from carekit.sla_report import ClockState, Metric, Pause, SlaClock, SlaReport

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
    # calendars and durations
    "BusinessCalendar",
    "country_holidays",
    "format_duration",
    "parse_duration",
    # SLA
    "DEFAULT_PAUSE_ON",
    "ClockState",
    "Metric",
    "Pause",
    "SlaClock",
    "SlaPolicy",
    "SlaReport",
    "Target",
    "TargetKey",
    "PolicyRule",
    "PolicySelector",
    "Selection",
    "PolicySet",
    "load_policies",
    "loads_policies",
    # escalation
    "Action",
    "AfterBreach",
    "AtBreach",
    "Before",
    "Decision",
    "EscalationLevel",
    "EscalationPolicy",
    "Firing",
    "Idle",
    "InformCustomer",
    "Notify",
    "RaisePriority",
    "Reassign",
    "Reopened",
    "Trigger",
    "fired_keys",
    # the shell, protocols and the default clock
    "Desk",
    "Clock",
    "CustomerDirectory",
    "EscalationHandler",
    "SystemClock",
    "TicketStore",
    # errors
    "CalendarError",
    "CarekitError",
    "ConcurrentUpdate",
    "InvalidTransition",
    "InvalidValue",
    "LifecycleDefinitionError",
    "MissingExtra",
    "NaiveDatetimeError",
    "PolicyError",
    "PolicyFileError",
    "TicketNotFound",
    "UnknownTimezoneError",
]

__version__ = "0.1.0.dev0"
