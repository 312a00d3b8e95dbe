"""The 30-second pickup: a ringing phone, its escalations, and the staffing it takes.

A call rings; at 22.5 s (75 % of the pickup target) the floor lead is warned,
at 30 s the supervisor hears of the missed pickup. Then: how many agents does
a morning of calls need to answer 80 % within 30 s?
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from carekit import (
    AtBreach,
    Before,
    Desk,
    EscalationLevel,
    EscalationPolicy,
    Metric,
    Notify,
    SlaPolicy,
)
from carekit.staffing import ServiceLevel, agents_for, erlang_c, plan_intervals
from carekit.stores.memory import InMemoryTicketStore
from carekit.testing import ManualClock, RecordingHandler


def main() -> dict[str, object]:
    """Ring two calls, tick through them, then plan a morning; return what happened."""
    policy = SlaPolicy.default()
    ladder = EscalationPolicy(
        [
            EscalationLevel("ringing", Before(Metric.FIRST_RESPONSE, 0.75), [Notify("floor_lead")]),
            EscalationLevel("missed", AtBreach(Metric.FIRST_RESPONSE), [Notify("supervisor")]),
        ]
    )
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # 08:00 in Jakarta
    handler = RecordingHandler()
    desk = Desk(
        InMemoryTicketStore(), clock=clock, policies=policy, escalation=ladder, handler=handler
    )

    desk.open("CALL-1", channel="phone", customer_id="c-1")
    desk.open("CALL-2", channel="phone", customer_id="c-2")
    log = []
    for second in range(41):
        clock.set(datetime(2026, 3, 2, 1, 0, second, tzinfo=UTC))
        if second == 18:
            desk.apply("CALL-2", "agent_reply", actor="sari")  # picked up at 18 s
        log += [f"{second:>2} s: {d.key}" for d in desk.tick()]
        if second in (22, 23, 30, 31):
            clock_state = desk.report("CALL-1")[Metric.FIRST_RESPONSE]
            log.append(f"{second:>2} s: CALL-1 {clock_state.state}, at risk: {clock_state.at_risk}")
    print("\n".join(log))

    pickup = ServiceLevel.from_policy(policy)  # 80 % within the policy's 30 s
    half_hours = [60, 140, 260, 320, 300, 240]  # 08:00-11:00 in half hours
    seconds = pickup.within.total_seconds()
    print(f"\nTarget: {pickup.level:.0%} of calls within {seconds:.0f} s, AHT 4 min")
    plan = plan_intervals(half_hours, timedelta(minutes=4), pickup, shrinkage=0.3)
    for p in plan:
        when = f"{8 + p.index // 2:02d}:{30 * (p.index % 2):02d}"
        print(
            f"  {when}  {p.calls:>4.0f} calls  {p.on_phones:>3} on the phones, "
            f"{p.agents:>3} scheduled"
            f"  -> {p.service_level:.1%} in 30 s, ASA {p.asa.total_seconds():.0f} s"
        )
    peak = agents_for(320 / 1800, timedelta(minutes=4), pickup)
    short = erlang_c(peak - 1, 320 / 1800, timedelta(minutes=4)).service_level(pickup.within)
    print(f"\nAt the peak, one agent fewer would answer only {short:.1%} in 30 s.")
    return {"log": log, "decisions": [d.key for d in handler.handled], "plan": plan, "peak": peak}


if __name__ == "__main__":
    main()
