"""Waiting tickets: follow-ups on tickets that wait on the customer, as pure decisions.

:class:`FollowUpPolicy` owes a waiting ticket nudges and then an automatic
resolution, and a resolved ticket nobody answered its close, per channel and
priority (:class:`FollowUpRule`), in working time, before a WhatsApp window
closes; each decision is a :class:`FollowUp` with a stable key. The
out-of-hours acknowledgement is a campaign recipe
(:func:`carekit.campaigns.recipes.out_of_hours_acknowledgement`) and "send
later" a desk method (:meth:`carekit.Desk.send_later`).
"""

from __future__ import annotations

from carekit._follow_up import FollowUp, FollowUpPolicy, FollowUpRule

__all__ = ["FollowUp", "FollowUpPolicy", "FollowUpRule"]
