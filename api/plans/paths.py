"""Where the couriers drive: each route's legs as points along the streets of the plan's road
map (straight lines without one), and each courier's next leg from where they last reported.
"""

from __future__ import annotations

import itertools

from api.errors import ApiError
from api.plans.runtime import Runtime
from api.plans.state import PlanState
from api.roads import ATTRIBUTION, leg_path
from api.schemas import CourierPathOut, LegOut, PathsOut
from api.store import repo
from optimizer.model import Courier, Location, Problem
from optimizer.travel.roads import RoadSource

Place = tuple[str, str, Location]
"""(id, status, where): a depot or a visit along a route."""


def plan_paths(rt: Runtime, plan_id: str, only: str | None = None) -> PathsOut:
    """Every route's legs (or courier `only`'s); 404 for an unknown courier, 409 unsolved."""
    with rt.store.transaction(readonly=True) as s:
        record = repo.get_plan(s, plan_id)
    wire = rt.wire(record)
    if only is not None and not any(c.id == only for c in wire.couriers):
        raise ApiError(404, "not_found", f"plan {plan_id} has no courier {only}")
    if record.status != "solved" or not record.state:
        raise ApiError(409, "conflict", f"plan {plan_id} is {record.status}, not solved yet")
    state = rt.state_of(record)
    problem = state.problem(wire)
    source = rt.maps.resolve(wire.road_map)
    name = None if source is None else (wire.road_map or rt.maps.default)
    couriers = {c.id: c for c in problem.couriers}
    out = []
    for courier_id, snapshot in state.snapshot.items():
        if only is not None and courier_id != only:
            continue
        courier = couriers[courier_id]
        if not snapshot.visits:  # a courier the plan does not use drives nowhere
            out.append(CourierPathOut(courier_id=courier_id, legs=[], next_leg=None))
            continue
        ahead = [(v.stop_id, "planned" if v.status in ("next", "ahead") else "done") for v in snapshot.visits]
        places = route_places(problem, courier, ahead)
        legs = [
            LegOut(
                from_id=a[0],
                to_id=b[0],
                done=b[1] != "planned",
                points=leg_path(source, a[2], b[2], courier.profile, courier.speed_mps),
            )
            for a, b in itertools.pairwise(places)
        ]
        out.append(
            CourierPathOut(courier_id=courier_id, legs=legs, next_leg=next_leg(state, problem, courier, places, source))
        )
    return PathsOut(plan_id=plan_id, road_map=name, attribution=ATTRIBUTION if name else None, couriers=out)


def route_places(problem: Problem, courier: Courier, visits: list[tuple[str, str]]) -> list[Place]:
    """The courier's start depot, their visits that have a place, and their end depot."""
    where = {s.id: s.location for s in problem.stops}
    depots = {d.id: d.location for d in problem.depots}
    places: list[Place] = [(courier.start_depot, "done", depots[courier.start_depot])]
    places += [(stop_id, status, where[stop_id]) for stop_id, status in visits if stop_id in where]
    places.append((courier.home_depot, "planned", depots[courier.home_depot]))
    return places


def next_leg(
    state: PlanState, problem: Problem, courier: Courier, places: list[Place], source: RoadSource | None
) -> LegOut | None:
    """From the courier's last reported position (unless a stop done since is later) or their
    last place done, to the first place still planned; None once the route is driven."""
    ahead = next((k for k, p in enumerate(places) if p[1] == "planned"), None)
    if ahead is None:
        return None
    here: Place = places[max(ahead - 1, 0)]
    progress = state.progress.get(courier.id)
    snapshot = state.snapshot.get(courier.id)
    behind = [v.departure_s for v in snapshot.visits if v.status in ("done", "failed")] if snapshot else []
    if progress is not None and progress.position is not None and progress.position[1] >= max(behind, default=-1):
        here = ("position", "done", progress.position[0])
    target = places[ahead]
    points = leg_path(source, here[2], target[2], courier.profile, courier.speed_mps)
    return LegOut(from_id=here[0], to_id=target[0], done=False, points=points)
