"""carekit: customer care workflows for helpdesks, CRMs and call-centre tools.

The names a host needs, on one screen. The rest lives in clearly named
subpackages: :mod:`carekit.campaigns`, :mod:`carekit.kpis`,
:mod:`carekit.staffing`, :mod:`carekit.i18n`, :mod:`carekit.stores`,
:mod:`carekit.simulate`, :mod:`carekit.testing`, with every interface a host
implements in :mod:`carekit.protocols` and every error in
:mod:`carekit.exceptions`. Modules whose names start with an underscore are
private.
"""

from carekit._calendar import BusinessCalendar
from carekit._clock import SystemClock
from carekit._country_holidays import country_holidays
from carekit._desk import Desk, TickFailure, TickResult
from carekit._duration import format_duration, parse_duration
from carekit._escalation import (
    Action,
    AfterBreach,
    AtBreach,
    Before,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationTrigger,
    Firing,
    Idle,
    InformCustomer,
    Notify,
    RaisePriority,
    Reassign,
    Reopened,
    WindowClosing,
)
from carekit._lifecycle import Lifecycle, Move, TriggerSpec
from carekit._model import Channel, Customer, Priority, Role, Status, Ticket, TicketEvent
from carekit._policy_file import PolicySet, load_policies, loads_policies
from carekit._selector import PolicyRule, PolicySelector
from carekit._sla import SlaPolicy, Target, TargetKey
from carekit._sla_report import ClockState, Metric, SlaClock, SlaReport
from carekit.exceptions import CarekitError

__all__ = [
    # values
    "Channel",
    "Customer",
    "Priority",
    "Status",
    "Ticket",
    "TicketEvent",
    # the lifecycle
    "Lifecycle",
    "Move",
    "Role",
    "TriggerSpec",
    # calendars and durations
    "BusinessCalendar",
    "country_holidays",
    "format_duration",
    "parse_duration",
    # SLA policies and reports
    "ClockState",
    "Metric",
    "SlaClock",
    "SlaPolicy",
    "SlaReport",
    "Target",
    "TargetKey",
    "PolicyRule",
    "PolicySelector",
    "PolicySet",
    "load_policies",
    "loads_policies",
    # escalation
    "EscalationPolicy",
    "EscalationLevel",
    "EscalationTrigger",
    "Firing",
    "Before",
    "AtBreach",
    "AfterBreach",
    "Idle",
    "Reopened",
    "WindowClosing",
    "Action",
    "Notify",
    "Reassign",
    "RaisePriority",
    "InformCustomer",
    "Escalation",
    # the shell
    "Desk",
    "TickResult",
    "TickFailure",
    "SystemClock",
    # the root of every error (the rest: carekit.exceptions)
    "CarekitError",
]

__version__ = "0.1.0.dev0"
