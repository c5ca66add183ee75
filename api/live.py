"""Compatibility names for the plan state's first home: the state is `api.plans.state`
(typed, one codec), its read views `api.plans.views`. These accept a stored document or a
`PlanState`, for callers that still hold documents (tests reading the store directly)."""

from __future__ import annotations

from collections.abc import Mapping

from api.plans import state as _state
from api.plans.state import LEGACY_SEEN_S, Doc, PlanState, initial_state, next_state
from api.plans.state import snapshot as _snapshot
from api.schemas import ProblemIn, seconds_since
from optimizer.events import OpenCall, PlanView
from optimizer.handover import Handover
from optimizer.model import Problem
from optimizer.replan import DayState, LivePlan

__all__ = [
    "LEGACY_SEEN_S",
    "PlanState",
    "cancelled_stops",
    "domain_problem",
    "handovers",
    "initial_state",
    "live_plan",
    "next_state",
    "plan_view",
    "seconds_since",
    "snapshot",
]


def as_state(state: PlanState | Doc) -> PlanState:
    return state if isinstance(state, PlanState) else PlanState.from_doc(state)


def domain_problem(wire: ProblemIn, state: PlanState | Doc) -> Problem:
    """The day's problem with customer-service overrides applied."""
    return as_state(state).problem(wire)


def live_plan(problem: Problem, state: PlanState | Doc) -> LivePlan:
    return as_state(state).live_plan(problem)


def cancelled_stops(state: PlanState | Doc) -> set[str]:
    return as_state(state).cancelled_stops()


def handovers(state: PlanState | Doc) -> tuple[Handover, ...]:
    return as_state(state).handovers


def plan_view(state: PlanState | Doc, problem: Problem, calls: Mapping[str, OpenCall]) -> PlanView:
    return _state.plan_view(as_state(state), problem, calls)


def snapshot(day: DayState) -> Doc:
    """The snapshot of `day` as stored (`{"couriers": {...}}`)."""
    doc: Doc = PlanState(snapshot=_snapshot(day)).to_doc()["snapshot"]
    return doc
