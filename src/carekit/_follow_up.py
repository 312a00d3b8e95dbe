"""Follow-ups on waiting tickets, as decisions: nudges, an automatic resolution, a close.

Nudges and then an automatic resolution for a ticket that waits on the
customer; the closing of a resolved ticket nobody answered.

Theory of operation
-------------------
A ticket *waits* from the moment it last became ``pending`` (the desk asked the
customer something) until it leaves that status. While it waits, a
:class:`FollowUpPolicy` owes a nudge after each of its rule's ``nudges``
(working time of the calendar since the wait began), then a resolution after
``resolve_after``. A resolved ticket that stays resolved ``close_after``
(wall time) is owed a close. Each decision has a key
``ticket/follow_up/<action><n>@<start>``, so a new wait owes new nudges and a
re-delivered decision is recognised. On WhatsApp a nudge is moved earlier to
``lead`` before the customer's 24-hour window closes, when that is still after
the wait began: a nudge after the window would need an approved template.
Pure: the host (or the desk) carries the decisions out, as lifecycle events by
``carekit`` and messages through the campaign scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal

import attrs

from carekit._calendar import BusinessCalendar
from carekit._check import checked, typed_fields
from carekit._model import Channel, Priority, Status, Ticket, as_channel, as_priority
from carekit._time import to_utc
from carekit._timeline import Timeline
from carekit._window import window_closes
from carekit.exceptions import InvalidValue

__all__ = ["FollowUp", "FollowUpPolicy", "FollowUpRule"]


def _durations(value: object) -> tuple[timedelta, ...]:
    found = tuple(value) if isinstance(value, list | tuple) else (value,)
    for d in found:
        if not isinstance(d, timedelta) or d <= timedelta(0):
            raise InvalidValue("nudges", d, "positive durations, in order")
    if list(found) != sorted(found):
        raise InvalidValue("nudges", list(found), "durations in increasing order")
    return found


def _positive(_: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
        raise InvalidValue(attribute.name, value, "a positive duration, or None (never)")


@attrs.frozen(field_transformer=typed_fields)
class FollowUpRule:
    """What is owed to a waiting ticket, and to a resolved one.

    Attributes:
        nudges: working time after the wait began at which to nudge ("Are you
            still there?"), in increasing order.
        resolve_after: working time after the wait began at which to resolve it
            with a closing message (``None``: never).
        close_after: wall time a resolved ticket stays resolved before it is
            closed for good (``None``: never).
    """

    nudges: tuple[timedelta, ...] = attrs.field(
        default=(timedelta(hours=24), timedelta(hours=48)), converter=_durations
    )
    resolve_after: timedelta | None = attrs.field(default=timedelta(hours=72), validator=_positive)
    close_after: timedelta | None = attrs.field(default=timedelta(days=7), validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.resolve_after is not None and self.nudges and self.nudges[-1] >= self.resolve_after:
            raise InvalidValue("resolve_after", self.resolve_after, "a duration after every nudge")


@attrs.frozen
class FollowUp:
    """A follow-up that fell due.

    Attributes:
        key: ``ticket/follow_up/<action><n>@<start>``; the same follow-up always has it.
        ticket_id: the ticket.
        action: ``"nudge"``, ``"resolve"`` or ``"close"``.
        number: the nudge's number (1, 2, ...); 0 for the others.
        due_at: when it fell due.
        template: the message to send with it (``"nudge"``, ``"auto_resolved"``),
            or ``None`` (a close says nothing).
        reason: why, in words.
    """

    key: str
    ticket_id: str
    action: Literal["nudge", "resolve", "close"]
    number: int
    due_at: datetime
    template: str | None
    reason: str


_Key = tuple[Channel | None, Priority | None]


class FollowUpPolicy:
    """Follow-ups per channel and priority, decided purely from a ticket's log.

    Args:
        rule: the rule for every ticket without a more specific one.
        rules: per ``(channel, priority)``, ``(channel, None)`` or ``(None, priority)``.
        calendar: the working time the nudges and the resolution count in (24/7
            when ``None``).
        lead: how long before a WhatsApp window closes a nudge goes at the latest.
    """

    @checked
    def __init__(
        self,
        rule: FollowUpRule | None = None,
        *,
        rules: Mapping[tuple[Channel | str | None, Priority | int | str | None], FollowUpRule]
        | None = None,
        calendar: BusinessCalendar | None = None,
        lead: timedelta = timedelta(hours=1),
    ) -> None:
        self.rule = rule or FollowUpRule()
        self.rules: dict[_Key, FollowUpRule] = {
            (None if c is None else as_channel(c), None if p is None else as_priority(p)): r
            for (c, p), r in (rules or {}).items()
        }
        self.calendar = calendar or BusinessCalendar.always_open()
        self.lead = lead

    def rule_for(self, ticket: Ticket) -> FollowUpRule:
        """The most specific rule: channel and priority, channel, priority, then the default."""
        for key in (
            (ticket.channel, ticket.priority),
            (ticket.channel, None),
            (None, ticket.priority),
        ):
            if key in self.rules:
                return self.rules[key]
        return self.rule

    def _owed(self, ticket: Ticket) -> list[FollowUp]:
        """Every follow-up the ticket's log owes, due or not, in order."""
        log = Timeline(ticket)
        status, since = log.statuses[-1][1], datetime.fromtimestamp(log.statuses[-1][0], UTC)
        rule = self.rule_for(ticket)
        stamp = f"{since:%Y%m%dT%H%M%S}"
        owed: list[FollowUp] = []
        if status == Status.PENDING:
            closes = window_closes(ticket)
            for n, after in enumerate(rule.nudges, 1):
                due = self.calendar.add(since, after)
                why = f"waiting on the customer since {since:%Y-%m-%d %H:%M} UTC"
                if closes is not None and since < closes - self.lead < due:
                    due, why = closes - self.lead, f"{why}; before the WhatsApp window closes"
                owed.append(FollowUp(f"{ticket.id}/follow_up/nudge{n}@{stamp}", ticket.id,
                                     "nudge", n, due, "nudge", why))  # fmt: skip
            if rule.resolve_after is not None:
                due = self.calendar.add(since, rule.resolve_after)
                why = f"no answer from the customer since {since:%Y-%m-%d %H:%M} UTC"
                owed.append(FollowUp(f"{ticket.id}/follow_up/resolve@{stamp}", ticket.id,
                                     "resolve", 0, due, "auto_resolved", why))  # fmt: skip
        elif log.done and status != Status.CLOSED and rule.close_after is not None:
            why = f"resolved since {since:%Y-%m-%d %H:%M} UTC without a reply"
            owed.append(FollowUp(f"{ticket.id}/follow_up/close@{stamp}", ticket.id, "close", 0,
                                 since + rule.close_after, None, why))  # fmt: skip
        return owed

    def _pending(self, ticket: Ticket, fired: frozenset[str] | set[str]) -> list[FollowUp]:
        """What is owed and not fired; a nudge sent supersedes the earlier ones of its wait."""
        owed = self._owed(ticket)
        latest = max((f.number for f in owed if f.action == "nudge" and f.key in fired), default=0)
        return [
            f for f in owed
            if f.key not in fired and not (f.action == "nudge" and f.number <= latest)
        ]  # fmt: skip

    @checked
    def decide(
        self, ticket: Ticket, *, now: datetime, fired: frozenset[str] | set[str] = frozenset()
    ) -> tuple[FollowUp, ...]:
        """The follow-ups due at ``now`` and not in ``fired``.

        Of a wait's nudges only the latest due one (two in a row say nothing
        more); a resolution or a close makes the nudges moot.
        """
        now = to_utc(now, "now")
        due = [f for f in self._pending(ticket, fired) if f.due_at <= now]
        final = [f for f in due if f.action != "nudge"]
        return tuple(final) if final else tuple(due[-1:])

    @checked
    def next_due(
        self, ticket: Ticket, *, fired: frozenset[str] | set[str] = frozenset()
    ) -> datetime | None:
        """When :meth:`decide` has something new, or ``None``."""
        return min((f.due_at for f in self._pending(ticket, fired)), default=None)
