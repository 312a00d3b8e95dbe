"""Ready-made care campaigns, from the customer-care playbook.

Each function returns a :class:`~carekit.campaigns.Campaign`; its arguments
are the usual knobs, and the result can be changed further with
``attrs.evolve``. Marketing touches share :data:`MARKETING_CAP` (two a week)
when the scheduler is given it; service touches are not capped.

Examples:
    >>> [c.name for c in all_recipes()]  # doctest: +NORMALIZE_WHITESPACE
    ['csat_after_resolution', 'nps_survey', 'apology_after_breach', 'care_tips_after_purchase',
     'loyalty_invitation', 'birthday_greeting', 'periodic_check_in', 'health_check_in',
     'win_back']
"""

from __future__ import annotations

from datetime import timedelta

from carekit._check import checked
from carekit._model import CareEvent, Customer
from carekit.campaigns._planning import (
    Campaign,
    Cap,
    Every,
    OnDate,
    OnEvent,
    OnHealth,
    SendWindow,
    Step,
)

__all__ = [
    "ANY_TIME",
    "DAYTIME",
    "MARKETING_CAP",
    "all_recipes",
    "apology_after_breach",
    "birthday_greeting",
    "care_tips_after_purchase",
    "csat_after_resolution",
    "health_check_in",
    "loyalty_invitation",
    "nps_survey",
    "out_of_hours_acknowledgement",
    "periodic_check_in",
    "win_back",
]

MARKETING_CAP = Cap(limit=2, period=timedelta(days=7), group="marketing")
"""At most two marketing touches per customer per week, deferred beyond that."""

DAYTIME = SendWindow("09:00", "20:00")
"""Touches go out between 09:00 and 20:00 in the customer's own zone."""

ANY_TIME = SendWindow("00:00", "24:00")
"""At any hour: for answers to the customer's own message."""

_STOP = frozenset({"unsubscribed"})


def _served(event: CareEvent, _customer: Customer) -> bool:
    return not event.data.get("abandoned")


@checked
def csat_after_resolution(delay: timedelta = timedelta(hours=2)) -> Campaign:
    """Ask how satisfied the customer is, ``delay`` after a ticket is resolved.

    Not after a call the caller abandoned (a resolution whose data says
    ``abandoned``). Exits when the customer opens a new ticket, answers, or
    unsubscribes.
    """
    return Campaign(
        "csat_after_resolution",
        OnEvent("ticket_resolved", condition=_served),
        [Step(delay, "csat_survey")],
        exit_on=_STOP | {"ticket_opened", "ticket_reopened", "csat_rated"},
        window=DAYTIME,
        group="service",
    )


@checked
def nps_survey(delay: timedelta = timedelta(days=7)) -> Campaign:
    """Ask the recommendation question a week after a resolution, at most once a quarter."""
    return Campaign(
        "nps_survey",
        OnEvent("ticket_resolved"),
        [Step(delay, "nps_survey")],
        exit_on=_STOP | {"ticket_opened", "nps_answered"},
        window=DAYTIME,
        cap=MARKETING_CAP,
        reentry=timedelta(days=90),
    )


def apology_after_breach() -> Campaign:
    """Apologise with a voucher after a service failure (an SLA breach), once a month at most.

    The host puts ``voucher_code`` and ``voucher_value`` (a :class:`~carekit.i18n.Money`)
    in the ``sla_breached`` event's data.
    """
    return Campaign(
        "apology_after_breach",
        OnEvent("sla_breached"),
        [Step(timedelta(0), "apology_voucher")],
        exit_on=_STOP,
        window=DAYTIME,
        reentry=timedelta(days=30),
        group="service",
    )


@checked
def care_tips_after_purchase(delay: timedelta = timedelta(days=3)) -> Campaign:
    """Send care tips for the product ``delay`` after a purchase."""
    return Campaign(
        "care_tips_after_purchase",
        OnEvent("purchase"),
        [Step(delay, "care_tips")],
        exit_on=_STOP | {"returned"},
        window=DAYTIME,
        cap=MARKETING_CAP,
    )


@checked
def loyalty_invitation(orders: int = 3) -> Campaign:
    """Invite a customer to the loyalty programme at their ``orders``-th purchase, once."""
    return Campaign(
        "loyalty_invitation",
        OnEvent("purchase", lambda event, _customer: event.data.get("order_count", 0) >= orders),
        [Step(timedelta(days=1), "loyalty_invitation")],
        exit_on=_STOP | {"joined_loyalty"},
        window=DAYTIME,
        cap=MARKETING_CAP,
        reentry="never",
    )


@checked
def birthday_greeting(at: str = "09:00") -> Campaign:
    """Greet the customer on their birthday at ``at`` local time (29 Feb: 28 Feb otherwise)."""
    return Campaign(
        "birthday_greeting",
        OnDate("birthday", at),
        [Step(timedelta(0), "birthday_greeting", expires=timedelta(hours=15))],  # that day
        exit_on=_STOP,
        window=SendWindow("08:00", "21:00"),
        group="service",
    )


@checked
def periodic_check_in(period: timedelta = timedelta(days=90)) -> Campaign:
    """Check in with the customer every ``period``."""
    return Campaign(
        "periodic_check_in",
        Every(period),
        [Step(timedelta(0), "check_in")],
        exit_on=_STOP,
        window=DAYTIME,
        cap=MARKETING_CAP,
    )


@checked
def win_back(
    delay: timedelta = timedelta(days=14),
    cooldown: timedelta = timedelta(days=60),
    band: str = "red",
) -> Campaign:
    """Invite back a customer whose health turned ``band``, ``delay`` later (then ``cooldown``).

    A purchase or another change of health (better, or worse) before it cancels it.
    """
    return Campaign(
        "win_back",
        OnHealth(band),
        [Step(delay, "win_back")],
        exit_on=_STOP | {"purchase", "health_changed"},
        window=DAYTIME,
        cap=MARKETING_CAP,
        reentry=cooldown,
    )


@checked
def health_check_in(band: str = "red") -> Campaign:
    """A care message as soon as a customer's health turns ``band``.

    The ``health_changed`` event that enrols them is also the host's cue for the
    personal part: a task for a senior agent to call (its data says why).
    """
    return Campaign(
        "health_check_in",
        OnHealth(band),
        [Step(timedelta(0), "check_in", expires=timedelta(days=3))],
        exit_on=_STOP,
        window=DAYTIME,
        group="service",
        reentry=timedelta(days=30),
    )


def _desk_closed(event: CareEvent, _customer: Customer) -> bool:
    return event.data.get("desk_open") is False and "reply_by" in event.data


def out_of_hours_acknowledgement() -> Campaign:
    """At once, a ticket opened while the desk is closed: when it opens, when to expect a reply.

    In the customer's language and zone.

    The desk's ``ticket_opened`` event says whether its calendar was open and, if
    not, ``opens_at`` and ``reply_by`` (the first-response deadline of the
    ticket's SLA policy): the message states the policy, not a fixed text. Not
    among :func:`all_recipes`: it answers a ticket rather than caring for a
    customer, and a host adds it where its desk does not answer already.
    """
    return Campaign(
        "out_of_hours_acknowledgement",
        OnEvent("ticket_opened", condition=_desk_closed),
        [Step(timedelta(0), "out_of_hours", expires=timedelta(hours=12))],
        exit_on=_STOP | {"ticket_resolved"},
        window=ANY_TIME,  # an answer to the customer's own message, while they wait for one
        transactional=True,
        group="transactional",
    )


def all_recipes() -> list[Campaign]:
    """Every recipe with its defaults."""
    return [
        csat_after_resolution(),
        nps_survey(),
        apology_after_breach(),
        care_tips_after_purchase(),
        loyalty_invitation(),
        birthday_greeting(),
        periodic_check_in(),
        health_check_in(),
        win_back(),
    ]
