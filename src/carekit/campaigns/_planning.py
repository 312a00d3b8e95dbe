"""Campaign planning: pure functions from (campaign, customer, anchor, now) to touches.

Theory of operation
-------------------
A :class:`Campaign` is a trigger (what enrols a customer), steps (what to
send and how long after the anchor), a send window in the customer's time
zone, an optional frequency cap, exit rules and a re-entry rule.

:func:`plan_touches` turns one enrolment into :class:`Touch` values, each with a UTC
instant and a stable key ``campaign/customer/step/occurrence``, moved into
the send window. :func:`decide_touch` re-checks a touch at send time against the
customer (consent, preferred channel), the window and the cap, and returns
:class:`Send`, :class:`Defer` or :class:`Suppress` with the reason. Both are
pure: the shell (:class:`~carekit.campaigns.CampaignScheduler`) does the I/O.

Decided edge cases: a window whose end is before its start crosses midnight;
a send time in a DST gap moves to the first valid instant; a birthday on
29 February is celebrated on 28 February in other years.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Literal

import attrs

from carekit._check import checked, typed_fields
from carekit._duration import format_duration
from carekit._model import CareEvent, Channel, Customer, as_channel
from carekit._time import local_to_utc, to_utc, zone
from carekit._window import WHATSAPP_WINDOW, ReplyWindow
from carekit.exceptions import InvalidValue

__all__ = [
    "Campaign",
    "Cap",
    "Defer",
    "Every",
    "Expired",
    "OnDate",
    "OnEvent",
    "OnHealth",
    "OnSegment",
    "Send",
    "SendWindow",
    "SentTouch",
    "Step",
    "Suppress",
    "Touch",
    "decide_touch",
    "plan_touches",
]


def _hhmm(value: str, field: str) -> time:
    try:
        hours, minutes = (int(p) for p in value.split(":"))
        return time(0, 0) if hours == 24 and minutes == 0 else time(hours, minutes)
    except (ValueError, AttributeError):
        raise InvalidValue(field, value, "a time as 'HH:MM'") from None


def _data(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _strings(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _days(value: Iterable[int]) -> frozenset[int]:
    return frozenset(value)


def _steps(value: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(value)


# -- triggers -------------------------------------------------------------------------


@attrs.frozen
class OnEvent:
    """Enrol on a host event of ``kind`` (and ``condition``, if given)."""

    kind: str
    condition: Callable[[CareEvent, Customer], bool] | None = attrs.field(default=None, eq=False)

    @checked
    def matches(self, event: CareEvent, customer: Customer) -> bool:
        """Whether ``event`` enrols ``customer``."""
        return event.kind == self.kind and (
            self.condition is None or self.condition(event, customer)
        )


@attrs.frozen(init=False)
class OnHealth(OnEvent):
    """Enrol when a customer's health band changes to ``band`` (a ``health_changed`` event).

    :meth:`HealthModel.changed <carekit.health.HealthModel.changed>` makes the
    event; with ``became`` (the default) only a change *into* the band enrols.
    """

    band: str = "red"
    became: bool = True

    @checked
    def __init__(
        self,
        band: str = "red",
        *,
        became: bool = True,
        condition: Callable[[CareEvent, Customer], bool] | None = None,
    ) -> None:
        if band not in {"green", "yellow", "red"}:
            raise InvalidValue("band", band, "one of green, yellow, red")
        self.__attrs_init__("health_changed", condition, band, became)

    @checked
    def matches(self, event: CareEvent, customer: Customer) -> bool:
        """Whether ``event`` reports the customer entering (or in) ``band``."""
        return (
            event.kind == self.kind
            and event.data.get("band") == self.band
            and not (self.became and event.data.get("previous") == self.band)
            and (self.condition is None or self.condition(event, customer))
        )


@attrs.frozen
class OnDate:
    """Enrol yearly on a date field of the customer (``birthday``), at ``at`` local time.

    A date of 29 February falls on 28 February in years without one.
    """

    field: str = "birthday"
    at: str = "09:00"
    default_timezone: str = "UTC"

    @checked
    def next_anchor(self, customer: Customer, now: datetime) -> tuple[datetime, str] | None:
        """The next yearly instant at or after ``now`` (in UTC) and its occurrence (the year)."""
        day = getattr(customer, self.field, None)
        if not isinstance(day, date):
            return None
        tz = zone(customer.timezone or self.default_timezone)
        local_now = now.astimezone(tz)
        for year in (local_now.year, local_now.year + 1):
            wall = datetime.combine(_in_year(day, year), _hhmm(self.at, "at"))
            instant = local_to_utc(wall, tz)
            if instant >= now:
                return instant, str(year)
        return None  # pragma: no cover - next year is always later


def _in_year(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


@attrs.frozen(field_transformer=typed_fields)
class Every:
    """Enrol periodically (check-ins): every ``period`` after the customer's start."""

    period: timedelta

    def __attrs_post_init__(self) -> None:
        if self.period < timedelta(days=1):
            raise InvalidValue("period", self.period, "at least one day")


@attrs.frozen
class OnSegment:
    """Enrol the customers for whom ``predicate`` holds when the host asks (churn risk)."""

    predicate: Callable[[Customer], bool] = attrs.field(eq=False)


Enrolment = OnEvent | OnDate | Every | OnSegment  # OnHealth is an OnEvent

# -- steps, windows, caps ---------------------------------------------------------------


@attrs.frozen
class Step:
    """One touch of a campaign: ``delay`` after the anchor, a template, a channel.

    Attributes:
        delay: how long after the anchor (the event, the date, the period).
        template: the template's name.
        channel: where to send; ``None`` means the customer's preferred channel.
        condition: an optional predicate on the customer and the touch at send time.
        expires: how long after it was due the touch is still worth sending; a touch
            that would go out later (deferred by its window or a cap, or by the
            provider) expires instead, with the reason (``None``: never).
    """

    delay: timedelta
    template: str
    channel: Channel | None = attrs.field(
        default=None, converter=attrs.converters.optional(as_channel)
    )
    condition: Callable[[Customer, Touch], bool] | None = attrs.field(default=None, eq=False)
    expires: timedelta | None = None


@attrs.frozen(field_transformer=typed_fields)
class SendWindow:
    """When touches may go out, in the customer's own time zone.

    An end before the start crosses midnight (``"20:00"``-``"02:00"``).
    ``days`` are weekday numbers (0 = Monday) on which a window *starts*.
    """

    start: str = "09:00"
    end: str = "20:00"
    days: frozenset[int] = attrs.field(default=frozenset(range(7)), converter=_days)

    def __attrs_post_init__(self) -> None:
        if _hhmm(self.start, "start") == _hhmm(self.end, "end") and self.end != "24:00":
            raise InvalidValue("end", self.end, "an end different from the start")
        if not self.days or not self.days <= set(range(7)):
            raise InvalidValue("days", sorted(self.days), "weekday numbers 0 (Monday) to 6")

    @checked
    def next_open(self, at: datetime, timezone: str) -> datetime:
        """``at`` when inside the window, else the window's next opening (UTC)."""
        tz = zone(timezone)
        local = at.astimezone(tz).date()
        start, end = _hhmm(self.start, "start"), _hhmm(self.end, "end")
        crosses = end <= start
        for offset in range(-1, 9):
            day = local + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens = local_to_utc(datetime.combine(day, start), tz)
            closes = local_to_utc(datetime.combine(day + timedelta(days=crosses), end), tz)
            if closes > at:
                return max(at, opens)
        raise InvalidValue("window", self, "a window that opens within a week")  # pragma: no cover


@attrs.frozen
class Cap:
    """At most ``limit`` touches per customer per ``period`` in ``group``.

    ``on_exceed``: ``"defer"`` until a slot frees up, or ``"drop"``.
    """

    limit: int
    period: timedelta
    group: str = "marketing"
    on_exceed: Literal["defer", "drop"] = "defer"


@attrs.frozen(field_transformer=typed_fields)
class Campaign:
    """A proactive care campaign.

    Attributes:
        name: unique; part of every touch key.
        trigger: :class:`OnEvent`, :class:`OnDate`, :class:`Every` or :class:`OnSegment`.
        steps: the touches, in order.
        exit_on: event kinds that cancel the customer's pending touches at once.
        window: when touches may go out, in the customer's zone.
        cap: an optional frequency cap (shared by campaigns with the same group).
        reentry: ``"never"`` (once per customer), ``"always"``, or a cool-down.
        transactional: service messages exempt from caps and consent (ETA notices).
        group: what kind of message it is: ``"service"``, ``"marketing"`` or
            ``"transactional"`` (or a group of your own); a scheduler's caps apply
            by group. Without one it is the cap's group; a scheduler with caps
            refuses a campaign that has neither.
    """

    name: str
    trigger: Enrolment = attrs.field(eq=False)
    steps: tuple[Step, ...] = attrs.field(converter=_steps)
    exit_on: frozenset[str] = attrs.field(default=frozenset(), converter=_strings)
    window: SendWindow = SendWindow()
    cap: Cap | None = None
    reentry: Literal["never", "always"] | timedelta = "always"
    transactional: bool = False
    group: str | None = None

    def __attrs_post_init__(self) -> None:
        if "/" in self.name or not self.name:
            raise InvalidValue("name", self.name, "a non-empty name without '/'")
        if not self.steps:
            raise InvalidValue("steps", self.steps, "at least one step")
        if self.group is not None and not self.group:
            raise InvalidValue("group", self.group, "a group name such as 'marketing'")
        if self.cap is not None:
            if self.group is None:
                object.__setattr__(self, "group", self.cap.group)  # the cap's group
            elif self.cap.group != self.group:
                raise InvalidValue("cap", self.cap.group, f"a cap of group {self.group!r}")

    @checked
    def deadline(self, touch: Touch) -> datetime | None:
        """When ``touch`` stops being worth sending: its step's ``expires`` after it was due."""
        if not 0 <= touch.step < len(self.steps):
            return None
        expires = self.steps[touch.step].expires
        return None if expires is None else touch.due_at + expires

    @checked
    def may_contact(self, customer: Customer) -> bool:
        """Whether ``customer`` may be enrolled at all.

        An unsubscribed customer (consent on no channel) gets no future touches,
        except transactional ones.
        """
        return self.transactional or self.group == "transactional" or bool(customer.consent)

    @checked
    def may_enrol(self, last: datetime | None, now: datetime) -> bool:
        """The re-entry rule: may a customer last enrolled at ``last`` enrol again now?"""
        if last is None or self.reentry == "always":
            return True
        if self.reentry == "never":
            return False
        return now - last >= self.reentry


# -- touches and decisions ----------------------------------------------------------------


@attrs.frozen(field_transformer=typed_fields)
class Touch:
    """One planned message to one customer.

    Attributes:
        key: ``campaign/customer/step/occurrence``, stable across retries and restarts.
        campaign: the campaign's name.
        customer_id: the customer.
        step: the step's index.
        occurrence: which enrolment (an event id, a year, a period number).
        due_at: when to send (UTC, inside the window when planned).
        template: the template's name.
        channel: the step's channel, or ``None`` for the preferred one.
        fields: values for the template.
        transactional: exempt from caps and consent.
        group: the cap group, if capped.
    """

    key: str
    campaign: str
    customer_id: str
    step: int
    occurrence: str
    due_at: datetime
    template: str
    channel: Channel | None = None
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=_data, hash=False)
    transactional: bool = False
    group: str | None = None


@attrs.frozen
class SentTouch:
    """A touch that was sent: what caps count."""

    key: str
    customer_id: str
    group: str | None
    at: datetime


@attrs.frozen
class Send:
    """Send now, on ``channel`` (``reason`` says why, when it is not the one asked for).

    ``form`` is ``"text"`` (free-form) or ``"template"``: outside the channel's
    reply window, only as its approved template.
    """

    channel: Channel
    reason: str = ""
    form: Literal["text", "template"] = "text"


@attrs.frozen
class Defer:
    """Not now: try again at ``until``, because ``reason``."""

    until: datetime
    reason: str


@attrs.frozen
class Suppress:
    """Never: drop the touch, because ``reason``."""

    reason: str


@attrs.frozen
class Expired(Suppress):
    """Never: the touch would go out too late to matter (after its step's ``expires``)."""


TouchDecision = Send | Defer | Suppress


@checked
def plan_touches(
    campaign: Campaign,
    customer: Customer,
    *,
    anchor: datetime,
    occurrence: str,
    fields: Mapping[str, Any] | None = None,
    default_timezone: str = "UTC",
) -> tuple[Touch, ...]:
    """The touches of one enrolment: each step after ``anchor``, moved into the window.

    The customer's zone decides the window (the desk's default when the
    customer has none; then UTC).
    """
    anchor = to_utc(anchor, "anchor")
    timezone = customer.timezone or default_timezone
    return tuple(
        Touch(
            key=f"{campaign.name}/{customer.id}/{i}/{occurrence}",
            campaign=campaign.name,
            customer_id=customer.id,
            step=i,
            occurrence=occurrence,
            due_at=campaign.window.next_open(anchor + step.delay, timezone),
            template=step.template,
            channel=step.channel,
            fields={"name": customer.name, **(fields or {})},
            transactional=campaign.transactional,
            group=campaign.group,
        )
        for i, step in enumerate(campaign.steps)
    )


_FALLBACK = (
    Channel.EMAIL,
    Channel.WHATSAPP,
    Channel.CHAT,
    Channel.WEB,
    Channel.SOCIAL,
    Channel.PHONE,
)


@checked
def decide_touch(
    campaign: Campaign,
    touch: Touch,
    customer: Customer | None,
    *,
    now: datetime,
    sent: Sequence[SentTouch] = (),
    caps: Iterable[Cap] = (),
    default_timezone: str = "UTC",
    windows: Iterable[ReplyWindow] = (WHATSAPP_WINDOW,),
    last_inbound: Mapping[Channel, datetime] | None = None,
    approved: bool = False,
) -> TouchDecision:
    """Send, defer or suppress ``touch`` at ``now``; pure.

    ``sent`` is the customer's recent sends (all campaigns); ``caps`` the caps
    in force for the touch's group (the campaign's own is always included).
    The window is the customer's zone, or ``default_timezone`` when unknown.

    ``windows`` are the channels' reply windows (WhatsApp's 24 hours), opened by
    the customer's last message on each channel (``last_inbound``). Inside one a
    message goes free-form; outside it only as its approved template (if
    ``approved``: the template has one in the customer's language), else on
    another consented channel, else not at all, with the reason.
    """
    now = to_utc(now, "now")
    if customer is None:
        return Suppress("unknown customer")
    step = campaign.steps[touch.step]
    if step.condition is not None and not step.condition(customer, touch):
        return Suppress("step condition not met")
    timezone = customer.timezone or default_timezone
    opening = campaign.window.next_open(now, timezone)
    if opening > now:
        return _in_time(campaign, touch, Defer(opening, "outside the send window"), now)
    wanted = touch.channel or customer.preferred_channel or Channel.EMAIL
    rules = _Rules(tuple(windows), last_inbound or {}, now, approved=approved)
    if touch.transactional:  # service messages: no marketing consent, no cap; the window holds
        return rules.allow(Send(wanted), customer, consent=False)
    channel = _consented_channel(wanted, customer)
    if isinstance(channel, Send):
        channel = rules.allow(channel, customer, consent=True)
    if isinstance(channel, Suppress):
        return channel
    capped = _capped(campaign, touch, sent, (*((campaign.cap,) if campaign.cap else ()), *caps),
                     now=now, timezone=timezone)  # fmt: skip
    return _in_time(campaign, touch, capped or channel, now)


def _in_time(
    campaign: Campaign, touch: Touch, decision: TouchDecision, now: datetime
) -> TouchDecision:
    """``decision``, unless the touch would go out after its deadline: then it expires."""
    deadline = campaign.deadline(touch)
    if deadline is None:
        return decision
    late = now if isinstance(decision, Send) else getattr(decision, "until", None)
    if late is not None and late > deadline:
        why = getattr(decision, "reason", "") or "it was due"
        return Expired(f"expired: {format_duration(late - touch.due_at)} after it was due ({why})")
    return decision


def _consented_channel(wanted: Channel, customer: Customer) -> Send | Suppress:
    """``wanted`` if the customer agreed to it, else the first consented fallback, with why."""
    if customer.consents_to(wanted):
        return Send(wanted)
    fallback = next(
        (c for c in (customer.preferred_channel, *_FALLBACK) if c and customer.consents_to(c)),
        None,
    )
    if fallback is None:
        return Suppress(f"no consent on {wanted} nor on any other channel")
    return Send(fallback, f"no consent on {wanted}: fell back to {fallback}")


@attrs.frozen
class _Rules:
    """The channels' reply windows at ``now``, for one customer."""

    windows: tuple[ReplyWindow, ...]
    last_inbound: Mapping[Channel, datetime]
    now: datetime
    approved: bool

    def closed(self, channel: Channel) -> str | None:
        """Why ``channel`` takes no free-form message now, or ``None``."""
        window = next((w for w in self.windows if w.channel is channel), None)
        if window is None:
            return None
        last = self.last_inbound.get(channel)
        closes = window.closes(last)
        if closes is None:
            return f"no {channel} message from the customer, so no {channel} window"
        if self.now >= closes:
            return f"the {channel} window closed at {closes:%Y-%m-%d %H:%M} UTC"
        return None

    def allow(self, send: Send, customer: Customer, *, consent: bool) -> Send | Suppress:
        """``send`` free-form in its window, or as its approved template, or elsewhere, or not."""
        closed = self.closed(send.channel)
        if closed is None:
            return send
        if self.approved:
            return attrs.evolve(send, form="template")
        why = f"{closed} and the message has no approved template"
        other = next(
            (
                c
                for c in (customer.preferred_channel, *_FALLBACK)
                if c
                and c is not send.channel
                and (customer.consents_to(c) or not consent)
                and self.closed(c) is None
            ),
            None,
        )
        if other is None:
            return Suppress(f"{why}, and no other channel open to it")
        return Send(other, f"{why}: fell back to {other}")


def _capped(
    campaign: Campaign,
    touch: Touch,
    sent: Sequence[SentTouch],
    caps: Iterable[Cap],
    *,
    now: datetime,
    timezone: str,
) -> Defer | Suppress | None:
    """The first cap of the touch's group that is full: drop, or defer until it frees up."""
    for cap in caps:
        if cap.group != touch.group:
            continue
        window_start = now - cap.period
        recent = sorted(
            s.at
            for s in sent
            if s.group == cap.group and s.at > window_start and s.key != touch.key
        )
        if len(recent) >= cap.limit:
            why = f"cap {cap.group}: {cap.limit} per {format_duration(cap.period)} reached"
            if cap.on_exceed == "drop":
                return Suppress(why)
            free_at = recent[len(recent) - cap.limit] + cap.period
            return Defer(campaign.window.next_open(free_at, timezone), why)
    return None
