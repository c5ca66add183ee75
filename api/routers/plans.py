"""Plans: create (solved off the request path), read, one courier's route, figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CourierReader, CurrentPrincipal, Planner, Reader, ServiceDep
from api.errors import ApiError
from api.quality import plan_kpis
from api.scenario_schemas import PlanKpisOut
from api.schemas import Accepted, LiveRouteOut, PathsOut, PlanCreateIn, PlanOut, PlanSummaryOut

router = APIRouter(prefix="/v1/plans", tags=["plans"])


@router.post("", status_code=202, response_model=Accepted)
def create_plan(body: PlanCreateIn, service: ServiceDep, principal: Planner) -> Accepted:
    """Queue a day for solving (dispatcher, planner); poll `GET /v1/plans/{id}` for the result."""
    return service.create_plan(body, principal)


@router.get("", response_model=list[PlanSummaryOut])
def list_plans(
    service: ServiceDep, principal: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[PlanSummaryOut]:
    return service.list_plans(principal, limit)


@router.get("/{plan_id}", response_model=PlanOut)
def get_plan(plan_id: str, service: ServiceDep, principal: Reader) -> PlanOut:
    """Status, routes with ETAs and lateness, unassigned stops with reasons, and figures."""
    return service.get_plan(plan_id, principal)


@router.get("/{plan_id}/kpis", response_model=PlanKpisOut)
def get_kpis(plan_id: str, service: ServiceDep, principal: Reader) -> PlanKpisOut:
    """The plan's figures and the day's service quality: lateness percentiles, hours,
    overtime, cost, and from the records actual on-time rate, failures, proactive-call
    coverage and per-courier grades."""
    plan = service.get_plan(plan_id, principal)
    if plan.kpis is None:
        raise ApiError(409, "conflict", f"plan {plan_id} is {plan.status}, not solved yet")
    return plan_kpis(service.store, plan_id, plan.kpis)


@router.get("/{plan_id}/paths", response_model=PathsOut)
def plan_paths(
    plan_id: str,
    service: ServiceDep,
    principal: CurrentPrincipal,
    courier_id: Annotated[str | None, Query(description="only this courier's route (a courier key: their own)")] = None,
) -> PathsOut:
    """Each route's legs as points along the streets of the plan's road map (straight lines
    without one), done or ahead, and each courier's next leg from where they last reported.
    Show the map's attribution (`attribution`) with them."""
    return service.plan_paths(plan_id, courier_id, principal)


@router.get("/{plan_id}/couriers/{courier_id}/route", response_model=LiveRouteOut)
def courier_route(plan_id: str, courier_id: str, service: ServiceDep, principal: CourierReader) -> LiveRouteOut:
    """One courier's current route and version; a courier key reads only its own, phones masked."""
    return service.courier_route(plan_id, courier_id, principal)
