"""Courier reports: checked against the plan, folded into the live day, answered.

A report is idempotent by its event id: a repeated id gets the first answer and changes
nothing, also when two copies race (the store's unique key decides, `Repeated`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from api.auth import Principal, require_courier_access
from api.errors import invalid
from api.plans import changes
from api.plans.changes import Answered
from api.plans.improve import request_improvement
from api.plans.runtime import Runtime
from api.plans.state import PlanState
from api.schemas import WEEK_S, EventIn, EventOut, ProblemIn, seconds_since
from api.store import Conflict, repo
from optimizer.model import Location
from optimizer.replan import CourierEvent, LivePlan, own_report, served_elsewhere


class Repeated(Exception):
    """The event id was stored by a concurrent request; answer with its first answer."""


def post_event(rt: Runtime, plan_id: str, body: EventIn, principal: Principal) -> Answered:
    """Apply one courier report (a courier may report only as themselves)."""
    require_courier_access(principal, body.courier_id)
    began = time.perf_counter()
    with rt.store.transaction(readonly=True) as s:
        first = repo.find_event(s, plan_id, body.event_id)
        wire = rt.wires.get(plan_id) or rt.wire(repo.get_plan(s, plan_id))  # a plan's problem never changes
    if first is not None and first.response is not None:
        return Answered(EventOut.model_validate(first.response), "repeated", time.perf_counter() - began)
    event = to_event(wire, body)
    ahead_s = round(rt.settings.max_event_ahead_min * 60)

    def change(plan: LivePlan, _: PlanState) -> LivePlan:
        if not any(c.id == body.courier_id for c in plan.problem.couriers):
            raise invalid("courier_id", body.courier_id, "no such courier in this plan")
        known_s = max(plan.now_s, min((c.ready_s for c in plan.problem.couriers), default=0))
        if event.at_s > known_s + ahead_s and body.at > datetime.now(UTC) + timedelta(seconds=ahead_s):
            raise invalid(
                "at",
                body.event_id,
                f"the event time lies more than {ahead_s // 60} min ahead of both the plan's latest "
                "known time and the server clock",
            )
        if body.stop_id is not None and body.type in ("stop_completed", "stop_failed"):
            route = next((r for r in plan.routes if r.courier_id == body.courier_id), None)
            if not plan.problem.has_stop(body.stop_id):
                raise invalid("stop_id", body.stop_id, "no such stop in this plan (or it was cancelled)")
            if route is None or body.stop_id not in route.stop_ids:
                # served by someone the plan (re-optimized meanwhile) did not give it to: it stands
                holder = next((r.courier_id for r in plan.routes if body.stop_id in r.stop_ids), None)
                if holder is not None and body.stop_id in plan.progress_of(holder).done:
                    raise invalid("stop_id", body.stop_id, f"courier {holder} already delivered this stop")
                return served_elsewhere(plan, event, rt.source)
        return own_report(plan, event, rt.source)

    def record_event(s: Session, response: EventOut | None) -> None:
        try:
            repo.add_event(
                s,
                plan_id,
                body.event_id,
                body.courier_id,
                body.type,
                body.at,
                body.model_dump(mode="json"),
                None if response is None else response.model_dump(mode="json"),
                principal.actor,
            )
        except Conflict:
            raise Repeated() from None

    try:
        answer = changes.advance(
            rt, plan_id, change, record_event, reoptimize=None, actor=principal.actor, only=body.courier_id, began=began
        )
    except Repeated:
        with rt.store.transaction() as s:
            repeated = repo.find_event(s, plan_id, body.event_id)
        if repeated is None or repeated.response is None:
            raise RuntimeError(f"event {body.event_id} was stored by another request without its answer") from None
        return Answered(EventOut.model_validate(repeated.response), "repeated", time.perf_counter() - began)
    if answer.improve:
        request_improvement(rt, plan_id)
    return answer


def to_event(wire: ProblemIn, body: EventIn) -> CourierEvent:
    """The report in the plan's seconds; 422 naming the field for what does not fit the day."""
    at_s = seconds_since(wire.day_start, body.at)
    if not 0 <= at_s <= WEEK_S:
        raise invalid("at", body.event_id, "the event time is outside the plan's day")
    if (body.lat is None) != (body.lon is None):
        raise invalid("lat", body.event_id, "give both lat and lon, or neither")
    position = Location(body.lat, body.lon) if body.lat is not None and body.lon is not None else None
    if body.type in ("stop_completed", "stop_failed") and body.stop_id is None:
        raise invalid("stop_id", body.event_id, f"a {body.type} event needs a stop_id")
    if body.type == "position" and position is None:
        raise invalid("lat", body.event_id, "a position event needs lat and lon")
    if body.type == "delay" and body.delay_min <= 0:
        raise invalid("delay_min", body.event_id, "a delay event needs delay_min > 0")
    return CourierEvent(
        body.event_id, body.courier_id, body.type, at_s, body.stop_id, position, round(body.delay_min * 60)
    )
