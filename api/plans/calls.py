"""Call tasks: the proactive call list, and what the customer said (an outcome).

`accepted_late` only quiets the stop and `unreachable` only records the attempt; `cancelled`
and `rebooked` change the day and take the change path (`changes.advance`), `rebooked`
re-optimizing the courier who holds the stop. Of two outcomes for one call only the first
applies; the second gets 409, also when both race.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import ApiError, invalid
from api.plans import changes, views
from api.plans.improve import request_improvement
from api.plans.runtime import Runtime
from api.plans.state import PlanState
from api.schemas import WEEK_S, CallOut, EventOut, OutcomeIn, seconds_since
from api.store import repo
from optimizer.replan import LivePlan, change_stop


def list_calls(rt: Runtime, plan_id: str, status: str | None) -> list[CallOut]:
    """The plan's call tasks, open and most urgent first."""
    with rt.store.transaction(readonly=True) as s:
        record = repo.get_plan(s, plan_id)
        calls = repo.list_calls(s, plan_id, status)
    wire = rt.wire(record)
    out = [views.call_out(c, wire) for c in calls]
    out.sort(key=lambda c: (c.status != "open", c.call_by or c.window.end, c.created_at))
    return out


def record_outcome(rt: Runtime, call_id: str, body: OutcomeIn, principal: Principal) -> CallOut:
    with rt.store.transaction(readonly=True) as s:
        call = repo.get_call(s, call_id)
        record = repo.get_plan(s, call.plan_id)
    wire = rt.wire(record)
    if call.status != "open":
        raise ApiError(409, "conflict", f"call {call_id} is already closed ({call.outcome or 'resolved'})")
    new_window: tuple[int, int] | None = None
    if body.outcome == "rebooked":
        if body.new_window is None:
            raise invalid("new_window", call_id, "a rebooked call needs the new window")
        start = seconds_since(wire.day_start, body.new_window.start)
        end = seconds_since(wire.day_start, body.new_window.end)
        if not 0 <= start <= end <= WEEK_S:
            raise invalid("new_window", call_id, "the window must end after it starts, within the plan's week")
        new_window = (start, end)
    stop_id = call.stop_id

    def amend(state: PlanState) -> PlanState:
        if body.outcome == "cancelled":
            return state.with_cancelled(stop_id)
        if body.outcome == "rebooked" and new_window is not None:
            return state.with_rebooked(stop_id, new_window, failed=call.kind == "failed")
        return state

    def change(plan: LivePlan, state: PlanState) -> LivePlan:
        return change_stop(plan, state.problem(wire), stop_id, rt.source, rebooked=body.outcome == "rebooked")

    def close_call(s: Session, _: EventOut | None) -> None:
        closing = body.outcome != "unreachable"
        repo.update_call(
            s,
            call_id,
            outcome=body.outcome,
            outcome_actor=principal.actor,
            new_window=body.new_window.model_dump(mode="json") if body.new_window else None,
            **({"status": "done", "closed_at": datetime.now(UTC)} if closing else {}),
        )
        repo.add_audit(s, call.plan_id, principal.actor, f"call_{body.outcome}", {"call": call_id, "note": body.note})
        if closing:
            changes.enqueue_call(s, call.plan_id, "call_closed", repo.get_call(s, call_id), wire)

    if body.outcome in ("accepted_late", "unreachable"):
        with rt.changing(call.plan_id), rt.store.plan_transaction(call.plan_id) as s:
            changes.require_open(s, call_id)
            if body.outcome == "accepted_late":
                state = rt.state_of(repo.get_plan(s, call.plan_id)).with_quiet(stop_id)
                rt.write_state(s, call.plan_id, replace(state, seq=state.seq + 1))
            close_call(s, None)
    else:
        answer = changes.advance(
            rt,
            call.plan_id,
            change,
            close_call,
            amend=amend,
            reoptimize=True if body.outcome == "rebooked" else None,
            actor=principal.actor,
            closing={call_id},
            focus=frozenset({call.courier_id}) if call.courier_id else frozenset(),
        )
        if answer.improve:
            request_improvement(rt, call.plan_id)
    rt.wake_outbox()
    with rt.store.transaction() as s:
        return views.call_out(repo.get_call(s, call_id), wire)
