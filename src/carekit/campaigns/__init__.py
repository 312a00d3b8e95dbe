"""Proactive care campaigns: planning (pure), recipes, and the scheduler (the shell).

The job store and sender protocols are in :mod:`carekit.protocols`; the
in-memory job store is :class:`carekit.stores.memory.InMemoryJobStore`.
"""

from carekit._model import CareEvent
from carekit._send import Rejected, RetryLater, SendResult, Sent
from carekit._window import WHATSAPP_WINDOW, ReplyWindow, window_closes
from carekit.campaigns._history import JobEntry
from carekit.campaigns._planning import (
    Campaign,
    Cap,
    Defer,
    Every,
    Expired,
    OnDate,
    OnEvent,
    OnHealth,
    OnSegment,
    Send,
    SendWindow,
    SentTouch,
    Step,
    Suppress,
    Touch,
    decide_touch,
    plan_touches,
)
from carekit.campaigns._scheduler import CampaignScheduler, RunReport

__all__ = [
    "WHATSAPP_WINDOW",
    "JobEntry",
    "ReplyWindow",
    "window_closes",
    "Rejected",
    "RetryLater",
    "SendResult",
    "Sent",
    "Campaign",
    "CampaignScheduler",
    "Cap",
    "CareEvent",
    "Defer",
    "Every",
    "Expired",
    "OnDate",
    "OnEvent",
    "OnHealth",
    "OnSegment",
    "RunReport",
    "Send",
    "SendWindow",
    "SentTouch",
    "Step",
    "Suppress",
    "Touch",
    "decide_touch",
    "plan_touches",
]
