"""The plan's state document: what the store keeps of a live day, and its conversions.

The document is plain JSON (stored in `plans.state`): each courier's whole-day sequence and
route version, their progress, stops left out, the customer-service overrides (rebooked
windows, cancelled stops, stops not to call about again) and a snapshot of the last
re-timed day, which `GET` answers from without recomputing anything.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from api.schemas import (
    BreakOut,
    CustomerOut,
    HandoverOut,
    KpisOut,
    LiveRouteOut,
    LiveVisitOut,
    PlaceOut,
    ProblemIn,
    UnassignedOut,
    WindowOut,
    at,
    mask_phone,
)
from optimizer.events import OpenCall, PlanView, StopStatus, StopView
from optimizer.handover import Handover, is_handover, with_handovers
from optimizer.kpi import DEFAULT_COST
from optimizer.model import Location, Problem, TimeWindow
from optimizer.replan import Anchor, DayState, Hold, LivePlan, Progress
from optimizer.schedule import BreakTiming
from optimizer.solution import Route, Unassigned

State = dict[str, Any]

LEGACY_SEEN_S = 2**31
"""An anchor stored before anchors said which reports they had seen: it stands, as it did."""


def initial_state(
    problem: Problem, routes: tuple[Route, ...], unassigned: tuple[Unassigned, ...], engine: str
) -> State:
    return {
        "engine": engine,
        "now_s": 0,
        "routes": {r.courier_id: {"version": 1, "stops": list(r.stop_ids)} for r in routes},
        "progress": {},
        "unassigned": [[u.stop_id, u.reason] for u in unassigned],
        "overrides": {"windows": {}, "cancelled": [], "quiet": []},
        "failed_called": [],
        "snapshot": {},
        "seq": 0,
    }


def domain_problem(wire: ProblemIn, state: State) -> Problem:
    """The day's problem with customer-service overrides applied."""
    problem = with_handovers(wire.to_domain(), handovers(state))
    windows = state.get("overrides", {}).get("windows", {})
    cancelled = cancelled_stops(state)
    if not windows and not cancelled:
        return problem
    stops = tuple(
        replace(s, windows=tuple(TimeWindow(a, b) for a, b in windows[s.id])) if s.id in windows else s
        for s in problem.stops
        if s.id not in cancelled
    )
    return replace(problem, stops=stops)


def cancelled_stops(state: State) -> set[str]:
    """Stops customer service cancelled that no courier has attempted: they leave the day. A
    stop already served or attempted stays, as the fact it is (the attempt took its courier's
    time, and the parcel is still on their van)."""
    attempted = {
        stop_id
        for doc in state.get("progress", {}).values()
        for key in ("done", "failed")
        for stop_id in doc.get(key, {})
    }
    return set(state.get("overrides", {}).get("cancelled", [])) - attempted


def handovers(state: State) -> tuple[Handover, ...]:
    """The hand-overs planned so far: [giver, taker, stops, lat, lon, meet_s] each."""
    return tuple(
        Handover(str(g), str(t), tuple(str(s) for s in stops), Location(lat, lon), int(meet))
        for g, t, stops, lat, lon, meet in state.get("handovers", [])
    )


def _taken_breaks(problem: Problem, courier_id: str, at_s: int, doc: list[Any]) -> tuple[BreakTiming, ...]:
    """[break, start, end] of each break an anchor holds taken. An anchor stored before
    anchors kept the timing names the break only: it is held to have ended by the anchor."""
    durations = {b.id: b.duration_s for c in problem.couriers if c.id == courier_id for b in c.breaks}
    return tuple(
        BreakTiming(str(b[0]), int(b[1]), int(b[2]))
        if isinstance(b, list)
        else BreakTiming(str(b), at_s - durations.get(str(b), 0), at_s)
        for b in doc
    )


def live_plan(problem: Problem, state: State) -> LivePlan:
    progress = {cid: _progress_from(doc) for cid, doc in state.get("progress", {}).items()}
    routes = tuple(
        Route(c.id, tuple(s for s in state["routes"].get(c.id, {}).get("stops", []) if problem.has_stop(s)))
        for c in problem.couriers
    )
    unassigned = tuple(Unassigned(sid, reason) for sid, reason in state.get("unassigned", []) if problem.has_stop(sid))
    anchors = {
        cid: Anchor(
            int(a[0]),
            Location(a[1], a[2]) if a[1] is not None else None,
            int(a[3]),
            bool(a[4]),
            tuple((str(x[0]), int(x[1]), int(x[2])) for x in (a[5] if len(a) > 5 else [])),
            int(a[6]) if len(a) > 6 else LEGACY_SEEN_S,
            _taken_breaks(problem, cid, int(a[3]), a[7] if len(a) > 7 else []),
        )
        for cid, a in state.get("anchors", {}).items()
    }
    parcels = state.get("parcels", {})
    loaded = {str(sid): str(cid) for sid, cid in parcels.get("loaded", {}).items() if problem.has_stop(sid)}
    departed = frozenset(str(cid) for cid in parcels.get("departed", []))
    return LivePlan(
        problem, routes, progress, unassigned, int(state.get("now_s", 0)), anchors, loaded, departed, handovers(state)
    )


def _progress_from(doc: dict[str, Any]) -> Progress:
    position = doc.get("position")
    hold = doc.get("hold")
    return Progress(
        done={k: int(v) for k, v in doc.get("done", {}).items()},
        failed={k: int(v) for k, v in doc.get("failed", {}).items()},
        position=(Location(position[0], position[1]), int(position[2])) if position else None,
        hold=Hold(int(hold[0]), int(hold[1]), Location(hold[2], hold[3]) if hold[2] is not None else None)
        if hold
        else None,
        last_report_s=int(doc.get("last", -1)),
    )


def _progress_doc(progress: Progress) -> dict[str, Any]:
    hold = progress.hold
    return {
        "done": dict(progress.done),
        "failed": dict(progress.failed),
        "position": [progress.position[0].lat, progress.position[0].lon, progress.position[1]]
        if progress.position
        else None,
        "hold": [
            hold.at_s,
            hold.until_s,
            hold.position.lat if hold.position else None,
            hold.position.lon if hold.position else None,
        ]
        if hold
        else None,
        "last": progress.last_report_s,
    }


def next_state(
    previous: State, live: LivePlan, day: DayState, versions: dict[str, int], previous_day: DayState | None = None
) -> State:
    """The document after a change: new sequences, versions, progress and snapshot.
    `previous_day`, the day `previous`'s snapshot was taken of, lets the snapshot keep the
    entries of couriers whose timing is the very same object (not re-timed since)."""
    state = dict(previous)
    state["now_s"] = live.now_s
    state["routes"] = {
        r.courier_id: {"version": versions.get(r.courier_id, 1), "stops": list(r.stop_ids)} for r in live.routes
    }
    state["progress"] = {cid: _progress_doc(p) for cid, p in live.progress.items()}
    state["anchors"] = {cid: _anchor_doc(a) for cid, a in live.anchors.items()}
    state["parcels"] = {"loaded": dict(live.loaded), "departed": sorted(live.departed)}
    state["handovers"] = [
        [h.giver, h.taker, list(h.stop_ids), h.where.lat, h.where.lon, h.meet_s] for h in live.handovers
    ]
    state["unassigned"] = [[u.stop_id, u.reason] for u in day.unassigned]
    state["snapshot"] = snapshot(day, previous_day, previous.get("snapshot"))
    state["seq"] = int(previous.get("seq", 0)) + 1
    return state


def _anchor_doc(anchor: Anchor) -> list[Any]:
    where = anchor.position
    presumed = [list(item) for item in anchor.presumed]
    return [
        anchor.locked,
        where.lat if where else None,
        where.lon if where else None,
        anchor.at_s,
        anchor.heading,
        presumed,
        anchor.seen_s,
        [[b.break_id, b.start_s, b.end_s] for b in anchor.breaks_taken],
    ]


def snapshot(
    day: DayState, previous_day: DayState | None = None, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    unchanged: set[str] = set()
    if previous_day is not None and previous is not None:
        was = {id(c) for c in previous_day.couriers}
        unchanged = {c.courier_id for c in day.couriers if id(c) in was} & set(previous.get("couriers", {}))
    couriers = {}
    for c in day.couriers:
        if c.courier_id in unchanged:
            assert previous is not None
            couriers[c.courier_id] = previous["couriers"][c.courier_id]
            continue
        timed = c.timed
        couriers[c.courier_id] = {
            # the day began at the first visit when part of the route is already behind
            "start_s": min([timed.start_s] + [v.eta_s for v in c.visits if v.status in ("done", "failed", "presumed")]),
            "end_s": timed.end_s,
            "distance_m": timed.distance_m,
            "breaks": [[b.start_s, b.end_s] for b in timed.breaks],
            "visits": [
                [
                    v.stop_id,
                    v.status,
                    v.eta_s,
                    v.late_s,
                    v.window.start_s,
                    v.window.end_s,
                    v.timing.wait_s if v.timing else 0,
                    v.timing.departure_s if v.timing else v.eta_s,
                ]
                for v in c.visits
            ],
        }
    return {"couriers": couriers}


def plan_view(
    state: State, problem: Problem, calls: dict[str, OpenCall], since: tuple[State, PlanView] | None = None
) -> PlanView:
    """What `decide_events` needs of a state document.

    `since`: an earlier state of the plan and its view. The couriers whose snapshot entry is
    the very same object in both (not re-timed in between) are taken from that view instead of
    being rebuilt, unless the overrides (cancelled stops, new windows) changed in between."""
    couriers = state.get("snapshot", {}).get("couriers", {})
    routes: dict[str, tuple[str, ...]] = {}
    stops: dict[str, StopView] = {}
    kept: set[str] = set()
    if since is not None and since[0].get("overrides") == state.get("overrides"):
        earlier, view = since
        was = earlier.get("snapshot", {}).get("couriers", {})
        kept = {cid for cid, doc in couriers.items() if was.get(cid) is doc and cid in view.routes}
        stops = {sid: stop for sid, stop in view.stops.items() if stop.courier_id in kept}
        routes = {cid: view.routes[cid] for cid in kept}
    for courier_id, doc in couriers.items():
        if courier_id in kept:
            continue
        free = []
        for sid, status, eta, late, ws, we, _wait, _dep in doc["visits"]:
            if not problem.has_stop(sid):
                continue
            if is_handover(sid):  # a meeting is in the courier's route, but nobody's booking: no call
                if status in ("next", "ahead"):
                    free.append(sid)
                continue
            kind: StopStatus = "done" if status == "done" else "failed" if status == "failed" else "planned"
            stops[sid] = StopView(sid, courier_id, kind, eta, late, ws, we)
            if status in ("next", "ahead"):
                free.append(sid)
        routes[courier_id] = tuple(free)
    for sid, _reason in state.get("unassigned", []):
        if problem.has_stop(sid) and sid not in stops:
            stop = problem.stop_by_id(sid)
            stops[sid] = StopView(sid, None, "dropped", None, 0, stop.earliest_s, stop.latest_s)
    versions = {cid: int(doc["version"]) for cid, doc in state.get("routes", {}).items()}
    return PlanView(
        int(state.get("now_s", 0)),
        routes,
        versions,
        stops,
        calls,
        frozenset(state.get("failed_called", [])),
        frozenset(state.get("overrides", {}).get("quiet", [])),
    )


def routes_out(state: State, wire: ProblemIn, *, mask: bool, only: str | None = None) -> list[LiveRouteOut]:
    """Routes as the API shows them; phones masked for couriers."""
    day = wire.day_start
    customers = {s.id: s for s in wire.stops}
    meetings = {m.id: m for m in handovers(state)}
    versions = state.get("routes", {})
    out = []
    for courier_id, doc in state.get("snapshot", {}).get("couriers", {}).items():
        if only is not None and courier_id != only:
            continue
        visits = []
        for sid, status, eta, late, ws, we, wait, dep in doc["visits"]:
            stop = customers.get(sid)
            customer = None
            if stop is not None:
                phone = mask_phone(stop.customer.phone) if mask else stop.customer.phone
                customer = CustomerOut(name=stop.customer.name, phone=phone)
            visits.append(
                LiveVisitOut(
                    stop_id=sid,
                    eta=at(day, eta),
                    window=WindowOut(start=at(day, ws), end=at(day, we)),
                    late_min=round(late / 60, 2),
                    status="done" if status == "done" else "failed" if status == "failed" else "planned",
                    wait_min=round(wait / 60, 2),
                    departure=at(day, dep),
                    address=stop.address if stop else "",
                    customer=customer,
                    handover=_meeting_out(meetings, sid),
                )
            )
        out.append(
            LiveRouteOut(
                courier_id=courier_id,
                version=int(versions.get(courier_id, {}).get("version", 1)),
                distance_km=round(doc["distance_m"] / 1000, 3),
                start=at(day, doc["start_s"]) if doc["visits"] else None,
                end=at(day, doc["end_s"]) if doc["visits"] else None,
                visits=visits,
                breaks=[BreakOut(start=at(day, a), end=at(day, b)) for a, b in doc["breaks"]] if doc["visits"] else [],
            )
        )
    return out


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


def unassigned_out(state: State) -> list[UnassignedOut]:
    return [UnassignedOut(stop_id=sid, reason=reason) for sid, reason in state.get("unassigned", [])]


def kpis(state: State, stops_total: int) -> KpisOut:
    couriers = state.get("snapshot", {}).get("couriers", {})
    used = [c for c in couriers.values() if c["visits"]]
    visits = [v for c in used for v in c["visits"] if not is_handover(v[0])]
    late = [v for v in visits if v[3] > 0 and v[1] != "failed"]
    on_time = sum(1 for v in visits if v[3] == 0 and v[1] != "failed")
    return KpisOut(
        stops=stops_total,
        late_stops=len(late),
        on_time_rate=round(on_time / stops_total, 4) if stops_total else 1.0,
        distance_km=round(sum(c["distance_m"] for c in used) / 1000, 3),
        couriers_used=len(used),
        unassigned=len(state.get("unassigned", [])),
        late_minutes=round(sum(v[3] for v in late) / 60, 1),
        working_hours=round(sum(c["end_s"] - c["start_s"] for c in used) / 3600, 2),
        cost=round(
            DEFAULT_COST.cost(
                sum(c["distance_m"] for c in used), sum(c["end_s"] - c["start_s"] for c in used), len(used)
            ),
            2,
        ),
    )


def seconds_since(day_start: datetime, when: datetime) -> int:
    return int((when - day_start).total_seconds())
