"""One timeline: the SLA report and the KPIs agree on when a ticket was answered and resolved.

Random event logs, driven through a lifecycle subclass with triggers of its
own (a phone pickup with the agent-reply role, a cancellation into a custom
done state), are read by the SLA engine and by the KPIs; the instants must
be the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from carekit import Metric, SlaPolicy, Ticket
from carekit._timeline import Timeline, done_at
from carekit.exceptions import InvalidTransition
from carekit.kpis import first_response_times, reopen_rate, resolution_times
from tests.test_roles import PhoneLifecycle

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRIGGERS = [
    "phone_answered",
    "agent_reply",
    "customer_reply",
    "wait_on_customer",
    "hold",
    "resume",
    "resolve",
    "reopen",
    "cancel",
    "call_back",
    "whisper",
    "close",
]
H = timedelta(hours=1)
TARGETS = dict.fromkeys(Metric, H)


def _drive(steps: list[tuple[str, int]], channel: str) -> Ticket:
    lifecycle = PhoneLifecycle()
    ticket = Ticket.open("T", channel=channel, customer_id="c", at=T0)
    at = T0
    for trigger, seconds in steps:
        at = at + timedelta(seconds=seconds)
        try:
            ticket = lifecycle.apply(ticket, trigger, at=at, actor="ana")
        except InvalidTransition:
            continue
    return ticket


LOGS = st.builds(
    _drive,
    st.lists(
        st.tuples(st.sampled_from(TRIGGERS), st.integers(min_value=0, max_value=7200)),
        max_size=30,
    ),
    st.sampled_from(["phone", "email", "whatsapp"]),
)


@settings(max_examples=300, deadline=None)
@given(ticket=LOGS)
def test_first_response_instants_agree(ticket: Ticket) -> None:
    """The KPI's first response is the SLA clock's stop, unless a resolution came first."""
    now = ticket.last_event_at + H
    clock = SlaPolicy("p", TARGETS).evaluate(ticket, now=now)[Metric.FIRST_RESPONSE]
    answered = first_response_times([ticket])
    resolved = resolution_times([ticket])
    if clock.stopped_at is None:
        assert ([], []) == (answered, resolved)
    elif answered and (not resolved or answered[0] <= resolved[0]):
        assert ticket.created_at + answered[0] == clock.stopped_at
    else:
        assert ticket.created_at + resolved[0] == clock.stopped_at


@settings(max_examples=300, deadline=None)
@given(ticket=LOGS)
# found by this test: a reopening at the instant of a resolution ended the next cycle there
@example(ticket=_drive([("resolve", 0), ("customer_reply", 0), ("resolve", 1)], "phone"))
def test_resolution_instants_agree(ticket: Ticket) -> None:
    """Restart cycles stop at every resolution the KPIs see; a resumed clock at the last one."""
    now = ticket.last_event_at + H
    restart = SlaPolicy("p", TARGETS, reopen="restart").evaluate(ticket, now=now)
    stops = [c.stopped_at for c in restart.cycles(Metric.RESOLUTION) if c.stopped_at]
    first = resolution_times([ticket])
    last = resolution_times([ticket], first=False)
    assert [ticket.created_at + d for d in first] == stops[:1]
    reopened = reopen_rate([ticket])
    cycles = len(restart.cycles(Metric.RESOLUTION))
    assert (cycles > 1) == (reopened.value == 1.0)
    resumed = SlaPolicy("p", TARGETS).evaluate(ticket, now=now)[Metric.RESOLUTION]
    if resumed.stopped_at is not None:  # resolved now: its stop is the last resolution
        assert [resumed.stopped_at] == [ticket.created_at + d for d in last]
        assert stops[-1] == resumed.stopped_at


@settings(max_examples=300, deadline=None)
@given(ticket=LOGS, back=st.integers(min_value=-3600, max_value=30 * 7200))
def test_done_at_is_the_folds_done(ticket: Ticket, back: int) -> None:
    """The backward read of the log says what the whole fold says, at any instant."""
    now = (ticket.last_event_at - timedelta(seconds=back)).timestamp()
    assert done_at(ticket, now) is Timeline(ticket, now).done
    assert done_at(ticket) is Timeline(ticket).done
