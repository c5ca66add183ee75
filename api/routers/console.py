"""What the static console (`/console`) needs besides the plan API: its settings, who a key
belongs to, and where a plan's depots and stops are (the plan itself carries no coordinates).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentPrincipal, Reader, ServiceDep
from api.errors import ApiError
from api.schemas import ProblemIn
from api.store import repo

router = APIRouter(prefix="/v1/console", tags=["console"])

COURIER_PLAN_LOOKBACK = 20
"""How many of the newest plans are searched for a courier's current route."""


class ConsoleConfig(BaseModel):
    tile_url: str | None


class Me(BaseModel):
    role: str
    courier_id: str | None = None
    plan_id: str | None = None
    """For a courier: the newest solved plan in which they have a route."""


class Place(BaseModel):
    id: str
    lat: float
    lon: float


class CourierPlace(BaseModel):
    id: str
    depot: str
    end_depot: str | None
    shift_start: datetime
    shift_end: datetime


class PlacesOut(BaseModel):
    plan_id: str
    depots: list[Place]
    couriers: list[CourierPlace]
    stops: list[Place]


@router.get("/config", response_model=ConsoleConfig)
def console_config(service: ServiceDep) -> ConsoleConfig:
    """Console settings; no key needed (the tile URL is no secret)."""
    return ConsoleConfig(tile_url=service.settings.tile_url)


@router.get("/me", response_model=Me)
def whoami(service: ServiceDep, principal: CurrentPrincipal) -> Me:
    """The caller's role (and courier id), so the console shows what that role may use."""
    if principal.role != "courier" or principal.courier_id is None:
        return Me(role=principal.role)
    with service.store.transaction(readonly=True) as s:
        summaries = repo.list_plan_summaries(s, COURIER_PLAN_LOOKBACK)
    for summary in summaries:
        if summary.status != "solved":
            continue
        try:
            service.courier_route(summary.id, principal.courier_id, principal)
        except ApiError:
            continue
        return Me(role="courier", courier_id=principal.courier_id, plan_id=summary.id)
    return Me(role="courier", courier_id=principal.courier_id)


@router.get("/plans/{plan_id}/places", response_model=PlacesOut)
def plan_places(plan_id: str, service: ServiceDep, principal: Reader) -> PlacesOut:
    """Depot and stop coordinates and courier shifts of a plan, for the map and the timeline."""
    with service.store.transaction(readonly=True) as s:
        record = repo.get_plan(s, plan_id)
    problem = ProblemIn.model_validate(record.problem)
    return PlacesOut(
        plan_id=plan_id,
        depots=[Place(id=d.id, lat=d.lat, lon=d.lon) for d in problem.depots],
        couriers=[
            CourierPlace(
                id=c.id, depot=c.depot, end_depot=c.end_depot, shift_start=c.shift_start, shift_end=c.shift_end
            )
            for c in problem.couriers
        ],
        stops=[Place(id=st.id, lat=st.lat, lon=st.lon) for st in problem.stops],
    )
