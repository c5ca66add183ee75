"""A stored plan's service-quality figures (`GET /v1/plans/{id}/kpis`), from the store.

The plan side is the day as it stands: the state document's last re-timed snapshot (what
`GET /v1/plans/{id}` shows), with customer-service overrides applied to the problem. The
records side: a stop's outcome is its last `stop_completed` / `stop_failed` event (its
`at` is when service started or the failure was reported), and a stop counts as called
from the first call task raised for it. Call tasks are stamped with the wall clock, but
the service's "now" is the plan's event time (CONTRACTS.md 3), so a call's time is taken
as the plan's clock when it was raised: the `at` of the event whose answer first listed it,
else the latest event received before it (or the day start, for calls raised when the plan
was solved). In a live day both clocks agree; in a replayed day only the second is right.

Driving time comes from the snapshot: working time less service, waits and breaks (so a
reported hold counts as driving).
"""

from __future__ import annotations

from datetime import datetime

from api.plans.state import PlanState
from api.scenario_schemas import CourierKpisOut, PlanKpisOut
from api.schemas import KpisOut, ProblemIn, seconds_since
from api.store import Store, repo
from api.store.records import CallRecord, EventRecord
from optimizer.kpi import DEFAULT_COST, CostModel, DayKpis, StopOutcome, day_kpis
from optimizer.model import Problem, TimeWindow
from optimizer.schedule import BreakTiming, RouteSchedule, Schedule, VisitTiming
from optimizer.solution import Route, Solution


def plan_kpis(store: Store, plan_id: str, base: KpisOut, cost_model: CostModel = DEFAULT_COST) -> PlanKpisOut:
    """`base` (the plan's own figures) with the quality figures of the plan and its records."""
    with store.transaction(readonly=True) as s:
        record = repo.get_plan(s, plan_id)
        events = repo.list_events(s, plan_id)
        calls = repo.list_calls(s, plan_id)
    wire = ProblemIn.model_validate(record.problem)
    state = PlanState.from_doc(record.state or {})
    problem = state.problem(wire)
    timed, solution = snapshot_schedule(problem, state)
    outcomes = stop_outcomes(problem, wire.day_start, events, calls)
    figures = day_kpis(problem, timed, solution, outcomes or None, cost_model=cost_model)
    return _out(base, figures)


def snapshot_schedule(problem: Problem, state: PlanState) -> tuple[Schedule, Solution]:
    """The state's snapshot as a `Schedule`, and the routes and left-out stops."""
    routes = []
    timed = []
    for courier_id, entry in state.snapshot.items():
        visits = []
        service = 0
        for v in entry.visits:
            if not problem.has_stop(v.stop_id):
                continue
            late_s = 0 if v.status == "failed" else v.late_s
            window = TimeWindow(v.window_start_s, v.window_end_s)
            visits.append(
                VisitTiming(v.stop_id, v.eta_s - v.wait_s, v.eta_s, v.wait_s, late_s, v.departure_s, window, ())
            )
            service += problem.stop_by_id(v.stop_id).service_s
        breaks = tuple(BreakTiming(f"break{k + 1}", a, b) for k, (a, b) in enumerate(entry.breaks))
        start, end = entry.start_s, entry.end_s
        waits = sum(v.wait_s for v in visits)
        resting = sum(b.end_s - b.start_s for b in breaks)
        driving = max(end - start - service - waits - resting, 0) if visits else 0
        timed.append(
            RouteSchedule(
                courier_id,
                start,
                end,
                tuple(visits),
                breaks,
                entry.distance_m,
                driving,
                waits,
                sum(v.late_s for v in visits),
                (),
                (),
            )
        )
        routes.append(Route(courier_id, tuple(v.stop_id for v in visits)))
    unassigned = tuple(u for u in state.unassigned if problem.has_stop(u.stop_id))
    return Schedule(tuple(timed)), Solution(tuple(routes), unassigned)


def stop_outcomes(
    problem: Problem, day_start: datetime, events: list[EventRecord], calls: list[CallRecord]
) -> list[StopOutcome]:
    """Each stop's last recorded outcome, with the plan-clock time of its first call."""
    called = _call_times(day_start, events, calls)
    last: dict[str, EventRecord] = {}
    for event in events:  # in time order
        stop_id = event.payload.get("stop_id")
        if event.type in ("stop_completed", "stop_failed") and isinstance(stop_id, str) and problem.has_stop(stop_id):
            last[stop_id] = event
    known = {c.id for c in problem.couriers}
    outcomes = []
    for stop_id, event in last.items():
        outcomes.append(
            StopOutcome(
                stop_id,
                "done" if event.type == "stop_completed" else "failed",
                max(seconds_since(day_start, event.at), 0),
                called.get(stop_id),
                event.courier_id if event.courier_id in known else None,
            )
        )
    return outcomes


def _call_times(day_start: datetime, events: list[EventRecord], calls: list[CallRecord]) -> dict[str, int]:
    """Stop id -> the plan-clock second its first call task was raised (see the module docstring)."""
    raised_by_event: dict[str, int] = {}
    for event in events:
        for call in (event.response or {}).get("calls", []):
            call_id = call.get("id") if isinstance(call, dict) else None
            if isinstance(call_id, str) and call_id not in raised_by_event:
                raised_by_event[call_id] = seconds_since(day_start, event.at)
    received = sorted(events, key=lambda e: e.received_at)
    first: dict[str, int] = {}
    for call in calls:
        when = raised_by_event.get(call.id)
        if when is None:
            before = [seconds_since(day_start, e.at) for e in received if e.received_at <= call.created_at]
            when = max(before, default=0)
        when = max(when, 0)
        first[call.stop_id] = min(first.get(call.stop_id, when), when)
    return first


def _out(base: KpisOut, kpis: DayKpis) -> PlanKpisOut:
    figures = kpis.figures()
    actual = kpis.actual
    couriers = [
        CourierKpisOut(
            courier_id=c.courier_id,
            stops=c.stops,
            late_stops=c.late_stops,
            on_time_rate=round(c.on_time_rate, 4),
            distance_km=round(c.distance_m / 1000, 3),
            working_hours=round(c.working_s / 3600, 2),
            overtime_hours=round(c.overtime_s / 3600, 2),
            actual_on_time_rate=None if c.actual is None else round(c.actual.on_time_rate, 4),
            failed=None if c.actual is None else c.actual.failed,
            uncalled_late=None if c.actual is None else c.actual.uncalled_late,
            grade=c.grade,
        )
        for c in kpis.couriers
        if c.used or (c.actual is not None and c.actual.recorded)
    ]
    return PlanKpisOut(
        **{**base.model_dump(), "cost": figures["cost"]},
        served=kpis.served,
        late_p50_min=float(figures["late_p50_min"] or 0.0),
        late_p90_min=float(figures["late_p90_min"] or 0.0),
        late_max_min=float(figures["late_max_min"] or 0.0),
        driving_hours=float(figures["driving_hours"] or 0.0),
        overtime_hours=float(figures["overtime_hours"] or 0.0),
        recorded=0 if actual is None else actual.recorded,
        done=0 if actual is None else actual.done,
        failed=0 if actual is None else actual.failed,
        actual_on_time_rate=None if actual is None else round(actual.on_time_rate, 4),
        actual_late_stops=0 if actual is None else actual.late_stops,
        called_late=0 if actual is None else actual.called_late,
        uncalled_late=0 if actual is None else actual.uncalled_late,
        call_coverage=None if actual is None else round(actual.call_coverage, 4),
        couriers=couriers,
    )
