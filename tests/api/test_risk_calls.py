"""Risk-aware ETAs and calls through the service (CONTRACTS.md 3, "Risk"): each visit ahead
carries `eta_p90` and `p_late`; a call opens on risk before the median ETA is late, carries
its chance, p90 and `call_by`, and the list is ranked by `call_by`. Hand-made days on a line
east of the hub (see test_live_corrections), so each test knows what the plan says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from api.plans.changes import worth_changing
from api.plans.service import PlanService
from api.settings import Settings
from api.store import Store
from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.replan import LivePlan, retime
from optimizer.solution import Route
from optimizer.travel.haversine import HaversineSource
from tests.api.test_live_corrections import (
    BOSS,
    PAST,
    InlineExecutor,
    open_calls,
    planned,
    report,
    seconds,
    stop,
    visits,
)


def _service(folder: Path, **settings: object) -> PlanService:
    config = Settings(
        database_url=f"sqlite:///{folder / 'ontime.sqlite'}",
        api_keys="",
        polish_time_limit_s=0,
        replan_time_limit_s=0.5,
        check_invariants=True,
        **settings,  # type: ignore[arg-type]
    )
    store = Store(config.database_url)
    store.migrate()
    executor = InlineExecutor()
    return PlanService(config, store, executor, lambda: None, replan_executor=executor)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PlanService]:
    made = _service(tmp_path, call_risk=0.5)
    yield made
    made.store.dispose()


@pytest.fixture
def no_risk(tmp_path: Path) -> Iterator[PlanService]:
    made = _service(tmp_path, call_risk=0)
    yield made
    made.store.dispose()


def tight_day() -> tuple[list[dict[str, object]], dict[str, list[str]]]:
    """c1 drives s1..s4 from 08:00; s4's window ends a few minutes after its planned start and
    s3's later: on time as planned, but only just (s4 more than s3)."""
    stops = [
        stop("s1", 1, PAST),
        stop("s2", 2, PAST),
        stop("s3", 3, PAST, ("08:00", "08:40")),
        stop("s4", 4, PAST, ("08:00", "08:33")),
    ]
    return stops, {"c1": ["s1", "s2", "s3", "s4"]}


def test_every_visit_ahead_carries_a_p90_and_a_chance_of_a_late_start(service: PlanService) -> None:
    plan_id = planned(service, *tight_day())
    shown = visits(service, plan_id)
    for _, visit in shown.values():
        assert visit.eta_p90 is not None and visit.eta_p90 >= visit.eta
        assert 0 <= visit.p_late <= 1
    chances = [shown[s][1].p_late for s in ("s1", "s2", "s3", "s4")]
    assert chances[0] < 0.05 < chances[3] and chances[2] < chances[3]  # the spread grows along the route
    report(service, plan_id, "c1", "stop_completed", "08:09", stop_id="s1")
    after = visits(service, plan_id)
    assert after["s1"][1].status == "done" and after["s1"][1].p_late == 0.0


def test_a_call_opens_on_risk_before_the_eta_is_late_with_its_chance_p90_and_call_by(service: PlanService) -> None:
    plan_id = planned(service, *tight_day())
    s4 = visits(service, plan_id)["s4"][1]
    assert s4.late_min == 0 and s4.p_late >= 0.5, "the day is not as tight as this test needs"
    call = open_calls(service, plan_id)["s4"]
    assert (call.kind, call.late_min, call.p_late) == ("late", 0.0, s4.p_late)
    assert call.eta_p90 == s4.eta_p90 and call.eta_p90 is not None and call.eta_p90 > call.window.end
    assert call.call_by == call.window.end - timedelta(minutes=30)
    assert "chance" in call.reason


def test_the_call_list_is_ranked_by_the_latest_time_a_call_is_still_useful(service: PlanService) -> None:
    stops, routes = tight_day()
    stops.append(stop("s5", 1, PAST, ("08:00", "08:03")))  # late whatever happens, but its window ends first
    routes["c1"].append("s5")
    plan_id = planned(service, stops, routes)
    listed = service.list_calls(plan_id, BOSS, "open")
    assert [c.stop_id for c in listed][:2] == ["s5", "s4"]
    assert [c.call_by for c in listed] == sorted(c.call_by for c in listed if c.call_by is not None)


def test_a_risk_call_closes_once_the_stop_is_served(service: PlanService) -> None:
    plan_id = planned(service, *tight_day())
    assert "s4" in open_calls(service, plan_id)
    for k, hhmm in enumerate(("08:08", "08:17", "08:26", "08:35")):
        report(service, plan_id, "c1", "stop_completed", hhmm, stop_id=f"s{k + 1}")
    assert "s4" not in open_calls(service, plan_id)


def test_without_a_risk_threshold_no_call_opens_while_the_eta_is_on_time(no_risk: PlanService) -> None:
    plan_id = planned(no_risk, *tight_day())
    assert visits(no_risk, plan_id)["s4"][1].p_late >= 0.5
    assert open_calls(no_risk, plan_id) == {}


def test_a_slow_morning_raises_the_risk_of_what_is_left(service: PlanService) -> None:
    """Completions each later than planned teach the service the courier's pace."""
    stops = [stop(f"s{k}", k, PAST) for k in range(1, 11)]
    plan_id = planned(service, stops, {"c1": [s["id"] for s in stops]})
    first = {s: v.eta for s, (_, v) in visits(service, plan_id).items()}
    slow = first["s1"] + timedelta(minutes=2)
    for k in range(1, 8):  # each stretch half as slow again as planned
        at = slow + (first[f"s{k}"] - first["s1"]) * 1.5
        report(service, plan_id, "c1", "stop_completed", at.strftime("%H:%M"), stop_id=f"s{k}")
    route = service.get_plan(plan_id, BOSS).routes[0]
    assert route.pace > 1.1


def _line_problem() -> Problem:
    hub = Depot("hub", Location(31.22, 121.50))
    day_start = seconds(PAST, "00:00")
    courier = Courier("c1", "hub", 8 * 3600, 20 * 3600, speed_mps=5.0)
    s1 = Stop("s1", Location(31.22, 121.53), (TimeWindow(8 * 3600, 8 * 3600 + 900),), 300)
    s2 = Stop("s2", Location(31.22, 121.51), (TimeWindow(8 * 3600, 10 * 3600),), 300)
    return Problem("line", (hub,), (courier,), (s1, s2), day_start=day_start)


def test_a_searched_plan_changes_routes_only_if_it_saves_enough_lateness_per_route_changed() -> None:
    problem = _line_problem()
    source = HaversineSource()
    late = LivePlan(problem, (Route("c1", ("s2", "s1")),), {})
    on_time = LivePlan(problem, (Route("c1", ("s1", "s2")),), {})
    late_day, on_time_day = retime(late, source), retime(on_time, source)
    saved = late_day.late_s - on_time_day.late_s
    assert saved > 0
    assert worth_changing(late, late_day, on_time, on_time_day, per_route_s=saved)
    assert not worth_changing(late, late_day, on_time, on_time_day, per_route_s=saved + 1)
    assert not worth_changing(on_time, on_time_day, late, late_day, per_route_s=0)  # never worse
    assert worth_changing(late, late_day, late, late_day, per_route_s=0)  # asked for: kept unless worse
