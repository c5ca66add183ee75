"""Read views: the plan state as the API shows it. First the reads (a plan, the plans, one
courier's route), then the one domain -> wire path of the live service: routes (from the
stored snapshot), figures, stops left out, calls."""

from __future__ import annotations

from api.errors import ApiError
from api.plans import paths
from api.plans.runtime import Runtime
from api.plans.state import CourierSnapshot, PlanState, SnapshotVisit
from api.schemas import (
    BreakOut,
    CallOut,
    CustomerOut,
    HandoverOut,
    KpisOut,
    LiveRouteOut,
    LiveVisitOut,
    PlaceOut,
    PlanOut,
    PlanSummaryOut,
    ProblemIn,
    StopIn,
    UnassignedOut,
    WindowOut,
    at,
    seconds_since,
)
from api.store import repo
from api.store.records import CallRecord, PlanRecord
from optimizer.handover import Handover, is_handover
from optimizer.trips import is_reload


def get_plan(rt: Runtime, plan_id: str) -> PlanOut:
    with rt.store.transaction(readonly=True) as s:
        record = repo.get_plan(s, plan_id)
    return plan_out(record, rt.state_of(record), rt.wire(record), mask=False)


def list_plans(rt: Runtime, limit: int = 100) -> list[PlanSummaryOut]:
    with rt.store.transaction(readonly=True) as s:
        plans = repo.list_plan_summaries(s, limit)
    return [
        PlanSummaryOut(id=p.id, name=p.name, status=p.status, version=p.version, created_at=p.created_at) for p in plans
    ]


def courier_route(rt: Runtime, plan_id: str, courier_id: str, *, mask: bool) -> LiveRouteOut:
    """One courier's current route; 404 for a courier the plan does not have, 409 unsolved."""
    with rt.store.transaction(readonly=True) as s:
        record = repo.get_plan(s, plan_id)
    wire = rt.wire(record)
    if not any(c.id == courier_id for c in wire.couriers):
        raise ApiError(404, "not_found", f"plan {plan_id} has no courier {courier_id}")
    if record.status != "solved" or not record.state:
        raise ApiError(409, "conflict", f"plan {plan_id} is {record.status}, not solved yet")
    state = rt.state_of(record)
    routes = routes_out(state, wire, mask=mask, only=courier_id)
    if not routes:
        raise ApiError(404, "not_found", f"courier {courier_id} has no route in plan {plan_id}")
    problem = state.problem(wire)
    courier = next(c for c in problem.couriers if c.id == courier_id)
    places = paths.route_places(problem, courier, [(v.stop_id, v.status) for v in routes[0].visits])
    leg = paths.next_leg(state, problem, courier, places, rt.maps.resolve(wire.road_map))
    return routes[0].model_copy(update={"next_leg": leg.points if leg else None})


def plan_out(record: PlanRecord, state: PlanState, wire: ProblemIn, *, mask: bool) -> PlanOut:
    """`GET /v1/plans/{id}`: status, and once solved the routes, stops left out and figures."""
    solved = record.status == "solved" and bool(record.state)
    stops_total = len(wire.stops) - len(state.cancelled_stops())
    return PlanOut(
        id=record.id,
        name=record.name,
        status=record.status,
        version=record.version,
        error=record.error,
        engine=state.engine,
        now=at(wire.day_start, state.now_s) if solved and state.now_s else None,
        routes=routes_out(state, wire, mask=mask) if solved else [],
        unassigned=unassigned_out(state) if solved else [],
        kpis=kpis_out(state, stops_total, wire) if solved else None,
    )


def routes_out(state: PlanState, wire: ProblemIn, *, mask: bool, only: str | None = None) -> list[LiveRouteOut]:
    """Routes as the API shows them (of courier `only`, if given); phones masked for couriers."""
    customers = {s.id: s for s in wire.stops}
    meetings = {m.id: m for m in state.handovers}
    return [
        route_out(courier_id, entry, state.version_of(courier_id), wire, customers, meetings, mask=mask)
        for courier_id, entry in state.snapshot.items()
        if only is None or courier_id == only
    ]


def route_out(
    courier_id: str,
    entry: CourierSnapshot,
    version: int,
    wire: ProblemIn,
    customers: dict[str, StopIn],
    meetings: dict[str, Handover],
    *,
    mask: bool,
) -> LiveRouteOut:
    day = wire.day_start
    planned = bool(entry.visits)
    return LiveRouteOut(
        courier_id=courier_id,
        version=version,
        distance_km=round(entry.distance_m / 1000, 3),
        start=at(day, entry.start_s) if planned else None,
        end=at(day, entry.end_s) if planned else None,
        visits=[
            visit_out(_unbooked(v, wire, courier_id), wire, customers.get(v.stop_id), meetings, mask=mask)
            for v in entry.visits
        ],
        breaks=[BreakOut.of(day, a, b) for a, b in entry.breaks] if planned else [],
        pace=entry.pace,
    )


def _unbooked(visit: SnapshotVisit, wire: ProblemIn, courier_id: str) -> SnapshotVisit:
    """A reload is booked by no one: it shows the courier's shift as its window, not the
    pseudo-stop's open-ended one (which reached decades ahead and drew 500,000 hour marks)."""
    if not is_reload(visit.stop_id):
        return visit
    courier = next((c for c in wire.couriers if c.id == courier_id), None)
    if courier is None:
        return visit
    start, end = seconds_since(wire.day_start, courier.shift_start), seconds_since(wire.day_start, courier.shift_end)
    return visit._replace(window_start_s=min(start, visit.eta_s), window_end_s=max(end, visit.eta_s))


def visit_out(
    visit: SnapshotVisit, wire: ProblemIn, stop: StopIn | None, meetings: dict[str, Handover], *, mask: bool
) -> LiveVisitOut:
    day = wire.day_start
    return LiveVisitOut(
        stop_id=visit.stop_id,
        eta=at(day, visit.eta_s),
        window=WindowOut.of(day, visit.window_start_s, visit.window_end_s),
        late_min=round(visit.late_s / 60, 2),
        status="done" if visit.status == "done" else "failed" if visit.status == "failed" else "planned",
        wait_min=round(visit.wait_s / 60, 2),
        departure=at(day, visit.departure_s),
        eta_p90=at(day, visit.eta_p90_s) if visit.eta_p90_s is not None else None,
        p_late=visit.p_late,
        address=stop.address if stop else "",
        customer=CustomerOut.of(stop.customer, mask=mask) if stop is not None else None,
        handover=_meeting_out(meetings, visit.stop_id),
        kind="handover"
        if is_handover(visit.stop_id)
        else "reload"
        if is_reload(visit.stop_id)
        else stop.kind
        if stop is not None
        else "delivery",
    )


def _meeting_out(meetings: dict[str, Handover], stop_id: str) -> HandoverOut | None:
    if not is_handover(stop_id):
        return None
    meeting = meetings.get(stop_id.rsplit(":", 1)[0])
    if meeting is None:
        return None
    gives = stop_id.endswith(":give")
    return HandoverOut(
        with_=meeting.taker if gives else meeting.giver,
        at=PlaceOut(lat=meeting.where.lat, lon=meeting.where.lon),
        gives=list(meeting.stop_ids) if gives else [],
        takes=[] if gives else list(meeting.stop_ids),
    )


def unassigned_out(state: PlanState) -> list[UnassignedOut]:
    return [UnassignedOut(stop_id=u.stop_id, reason=u.reason) for u in state.unassigned]


def kpis_out(state: PlanState, stops_total: int, wire: ProblemIn | None = None) -> KpisOut:
    """The plan's figures from the snapshot: a failed visit is neither on time nor late, a
    hand-over meeting is nobody's stop, the cost is at each courier's rates (without the
    problem, at `DEFAULT_COST`)."""
    used_by = {cid: c for cid, c in state.snapshot.items() if c.visits}
    used = list(used_by.values())
    visits = [v for c in used for v in c.visits if not is_handover(v.stop_id) and not is_reload(v.stop_id)]
    late = [v for v in visits if v.late_s > 0 and v.status != "failed"]
    return KpisOut.from_figures(
        stops=stops_total,
        on_time=sum(1 for v in visits if v.late_s == 0 and v.status != "failed"),
        late_stops=len(late),
        late_s=sum(v.late_s for v in late),
        distance_m=sum(c.distance_m for c in used),
        couriers_used=len(used),
        unassigned=len(state.unassigned),
        working_s=sum(c.end_s - c.start_s for c in used),
        cost=None
        if wire is None
        else wire.day_cost((cid, c.distance_m, c.end_s - c.start_s) for cid, c in used_by.items()),
    )


def call_out(call: CallRecord, wire: ProblemIn, *, mask: bool = False) -> CallOut:
    stop = next((x for x in wire.stops if x.id == call.stop_id), None)
    return CallOut.from_record(call, CustomerOut.of(stop.customer, mask=mask) if stop is not None else None)
