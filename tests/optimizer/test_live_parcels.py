"""Parcels are physical: a delivery's parcel is at the hub or on one van, and re-optimization
never moves a loaded parcel to another courier (no hand-over is planned)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from api.schemas import ProblemIn
from optimizer.engines import solve
from optimizer.errors import InvalidProblem
from optimizer.invariants import check_day
from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.params import SolveParams
from optimizer.replan import (
    CourierEvent,
    LivePlan,
    ReplanPolicy,
    change_stop,
    load_parcels,
    reoptimize,
    retime,
    served_elsewhere,
)
from optimizer.solution import Route, Unassigned
from optimizer.travel.euclidean import EuclideanSource

SOURCE = EuclideanSource(scale=1)
POLICY = ReplanPolicy(time_limit_s=30.0, iterations=200)


def at(x: float) -> Location:
    return Location(0, x, planar=True)


def two_couriers(windows: list[tuple[int, int]], *, at_hub: bool = False, on: str | None = None) -> Problem:
    stops = tuple(
        Stop(f"s{k + 1}", at(100.0 * (k + 1)), (TimeWindow(a, b),), 10, at_hub=at_hub, parcel_on=on)
        for k, (a, b) in enumerate(windows)
    )
    fleet = tuple(Courier(f"c{k + 1}", "hub", 0, 100_000, profile="planar") for k in range(2))
    return Problem("parcels", (Depot("hub", at(0)),), fleet, stops)


def held_on_the_road(problem: Problem) -> LivePlan:
    """c1 left with s1-s3 and is held at 50 s for 2000 s; c2 is idle at the hub."""
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")), Route("c2", ())), {})
    return plan.with_event(CourierEvent("e1", "c1", "delay", at_s=50, delay_s=2_000))


def test_a_parcel_on_a_van_stays_on_it_when_its_stop_is_late() -> None:
    held = held_on_the_road(two_couriers([(0, 5_000), (0, 5_000), (0, 400)]))
    day = retime(held, SOURCE)
    assert "s3" in day.couriers[0].late_stops
    better = reoptimize(held, day, SOURCE, POLICY)
    assert better.loaded == {"s1": "c1", "s2": "c1", "s3": "c1"} and better.departed == {"c1"}
    assert {s for r in better.routes if r.courier_id == "c1" for s in r.stop_ids} == {"s1", "s2", "s3"}
    assert next(r for r in better.routes if r.courier_id == "c2").stop_ids == ()


def test_a_parcel_kept_at_the_hub_goes_to_the_courier_who_can_make_it() -> None:
    held = held_on_the_road(two_couriers([(0, 5_000), (0, 5_000), (0, 400)], at_hub=True))
    better = reoptimize(held, retime(held, SOURCE), SOURCE, POLICY)
    assert better.loaded == {}
    assert "s3" in next(r for r in better.routes if r.courier_id == "c2").stop_ids


def test_parcels_of_a_courier_who_has_not_left_are_still_at_the_hub() -> None:
    problem = two_couriers([(3_000, 3_500), (3_000, 3_500), (3_000, 3_100)])
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")), Route("c2", ())), {})
    # c1 is told at 100 s that they will not leave before 4000 s: nothing has left the hub yet
    held = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=100, delay_s=3_900))
    assert load_parcels(held, retime(held, SOURCE)).loaded == {}
    better = retime(reoptimize(held, retime(held, SOURCE), SOURCE, POLICY), SOURCE)
    assert better.late_s < retime(held, SOURCE).late_s
    assert better.couriers[1].ahead, "the idle courier takes stops still at the hub"


def test_a_loaded_parcel_that_cannot_be_served_is_left_out_naming_its_van() -> None:
    problem = two_couriers([(0, 5_000), (0, 5_000), (0, 5_000)])
    plan = LivePlan(
        problem, (Route("c1", ("s1", "s2")), Route("c2", ())), {}, (Unassigned("s3", "dropped"),), loaded={"s3": "c1"}
    )
    plan = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=50, delay_s=90_000))
    # asserts only what holds for any answer: a short search will do
    better = reoptimize(plan, retime(plan, SOURCE), SOURCE, ReplanPolicy(time_limit_s=0.5))
    assert "s3" not in next(r for r in better.routes if r.courier_id == "c2").stop_ids
    if "s3" not in {s for r in better.routes for s in r.stop_ids}:
        assert "c1's van" in next(u.reason for u in better.unassigned if u.stop_id == "s3")


def test_a_parcel_the_problem_puts_on_a_van_is_planned_on_that_van() -> None:
    problem = two_couriers([(0, 5_000)] * 3, on="c2")
    solution = solve(problem, SOURCE.matrix(problem), SolveParams(time_limit_s=30, iterations=100))
    assert solution.feasible and solution.engine == "ortools"
    assert {s for r in solution.routes if r.courier_id == "c2" for s in r.stop_ids} == {"s1", "s2", "s3"}


WIRE = {
    "name": "wire",
    "depots": [{"id": "hub", "lat": 31.22, "lon": 121.54}],
    "couriers": [
        {
            "id": cid,
            "depot": "hub",
            "shift_start": "2026-11-26T08:00:00+08:00",
            "shift_end": "2026-11-26T18:00:00+08:00",
        }
        for cid in ("c1", "c2")
    ],
    "stops": [
        {
            "id": "o1",
            "lat": 31.23,
            "lon": 121.51,
            "windows": [{"start": "2026-11-26T09:00:00+08:00", "end": "2026-11-26T11:00:00+08:00"}],
        }
    ],
}


def wire_with(parcel: object) -> ProblemIn:
    body = {**WIRE, "stops": [{**WIRE["stops"][0], "parcel": parcel}]}  # type: ignore[dict-item]
    return ProblemIn.model_validate(body)


def test_the_wire_says_where_a_parcel_is() -> None:
    assert wire_with({"at": "hub"}).to_domain().stops[0].at_hub
    assert wire_with({"on": "c2"}).to_domain().stops[0].parcel_on == "c2"
    assert wire_with(None).to_domain().stops[0].parcel_on is None


def test_a_parcel_on_an_unknown_van_is_refused_naming_the_stop() -> None:
    with pytest.raises(InvalidProblem) as refused:
        wire_with({"on": "c9"}).to_domain()
    assert [(i.field, i.id) for i in refused.value.issues] == [("stops.parcel", "o1")]


def handover_day(minutes: int | None) -> LivePlan:
    """c1 is on the road with s1-s3 and held two hours; s3 must start by 700; c2 is idle."""
    problem = two_couriers([(0, 50_000), (0, 50_000), (0, 700)])
    if minutes is not None:
        problem = replace(problem, handover_s=minutes * 60)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")), Route("c2", ())), {})
    return plan.with_event(CourierEvent("e1", "c1", "delay", at_s=50, delay_s=7_200))


def test_a_hand_over_is_planned_only_where_the_plan_allows_it() -> None:
    held = handover_day(None)
    kept = reoptimize(held, retime(held, SOURCE), SOURCE, POLICY)
    assert kept.handovers == () and next(r for r in kept.routes if r.courier_id == "c2").stop_ids == ()


def test_a_late_parcel_is_handed_to_a_colleague_who_comes_to_meet_its_courier() -> None:
    held = handover_day(5)
    before = retime(held, SOURCE)
    moved = reoptimize(held, before, SOURCE, POLICY)
    assert len(moved.handovers) == 1
    handover = moved.handovers[0]
    assert (handover.giver, handover.taker, handover.stop_ids) == ("c1", "c2", ("s3",))
    routes = {r.courier_id: r.stop_ids for r in moved.routes}
    assert routes["c2"] == (handover.take_id, "s3")  # the taker comes first, then delivers
    assert handover.give_id in routes["c1"] and "s3" not in routes["c1"]
    after = retime(moved, SOURCE)
    assert after.late_s < before.late_s
    take = after.visits[handover.take_id][1]
    give = after.visits[handover.give_id][1]
    # both spend the hand-over's five minutes; the giver waits for the taker where they are
    assert give.eta_s >= take.eta_s and take.timing is not None and take.timing.departure_s - take.eta_s == 300
    # the parcel is on c1's van until the meeting, on c2's from then on
    assert moved.loaded["s3"] == "c1"
    met = moved.with_event(CourierEvent("p2", "c2", "position", take.timing.departure_s + 1, position=at(300)))
    assert load_parcels(met, retime(met, SOURCE)).loaded["s3"] == "c2"


def test_a_planned_meeting_stays_first_when_the_day_is_re_planned_again() -> None:
    held = handover_day(5)
    moved = reoptimize(held, retime(held, SOURCE), SOURCE, POLICY)
    again = reoptimize(moved, retime(moved, SOURCE), SOURCE, POLICY)
    handover = moved.handovers[0]
    routes = {r.courier_id: r.stop_ids for r in again.routes}
    assert routes["c2"].index(handover.take_id) < routes["c2"].index("s3")
    assert sorted(s for r in again.routes for s in r.stop_ids) == sorted(s.id for s in again.problem.stops)


def test_a_parcel_left_out_still_takes_its_room_on_the_van() -> None:
    """c1 (room for 2) left with s1 and s2; s2 can no longer be made on time. Leaving s2 out does
    not free its room for s3, still at the hub: s2's parcel is on the van all the same."""
    stops = (
        Stop("s1", at(100), (TimeWindow(0, 5_000),), 10, (1,)),
        Stop("s2", at(200), (TimeWindow(0, 100),), 10, (1,)),
        Stop("s3", at(300), (TimeWindow(0, 5_000),), 10, (1,), at_hub=True),
    )
    fleet = (
        Courier("c1", "hub", 0, 100_000, (2,), profile="planar"),
        Courier("c2", "hub", 0, 100_000, (0,), profile="planar"),
    )
    problem = Problem("full van", (Depot("hub", at(0)),), fleet, stops, ("parcels",))
    plan = LivePlan(problem, (Route("c1", ("s1", "s2")), Route("c2", ())), {}, (Unassigned("s3", "no room"),))
    plan = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=50, delay_s=1_000))
    # capacity is a hard constraint: the first solution shows it as well as any
    better = reoptimize(plan, retime(plan, SOURCE), SOURCE, ReplanPolicy(time_limit_s=30.0, iterations=1))
    assert better.loaded == {"s1": "c1", "s2": "c1"}
    assert "s3" not in {s for r in better.routes for s in r.stop_ids}
    assert check_day(better, retime(better, SOURCE), source=SOURCE) == ()


def test_a_stop_from_the_hub_no_van_has_room_for_is_left_out_not_a_failed_re_plan() -> None:
    """c1 (room for 3) left full with s1, s2 and s5, then attempted s4, a colleague's stop (its
    parcel is aboard too); the plan still has s3, at the hub, after s5. No van has room for s3
    (c2 has none): a re-plan leaves it out with a reason instead of failing on it."""
    stops = (
        Stop("s1", at(100), (TimeWindow(0, 5_000),), 10, (1,)),
        Stop("s2", at(200), (TimeWindow(0, 5_000),), 10, (1,)),
        Stop("s3", at(300), (TimeWindow(0, 5_000),), 10, (1,), at_hub=True),
        Stop("s4", at(250), (TimeWindow(0, 5_000),), 10, (1,)),
        Stop("s5", at(280), (TimeWindow(0, 5_000),), 10, (1,)),
    )
    fleet = (
        Courier("c1", "hub", 0, 100_000, (3,), profile="planar"),
        Courier("c2", "hub", 0, 100_000, (0,), profile="planar"),
    )
    problem = Problem("full van", (Depot("hub", at(0)),), fleet, stops, ("parcels",))
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s4", "s5", "s3")), Route("c2", ())), {})
    plan = replace(plan, loaded={"s1": "c1", "s2": "c1", "s5": "c1"}, departed=frozenset({"c1"}))
    plan = plan.with_event(CourierEvent("f4", "c1", "stop_failed", at_s=270, stop_id="s4"))
    plan = replace(plan, loaded={**plan.loaded, "s4": "c1"})  # the attempt shows where the parcel is
    plan = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=280, delay_s=100))
    better = reoptimize(plan, retime(plan, SOURCE), SOURCE, ReplanPolicy(time_limit_s=30.0, iterations=1))
    assert "s3" not in {s for r in better.routes for s in r.stop_ids}
    assert [u.stop_id for u in better.unassigned] == ["s3"] and better.unassigned[0].reason
    assert check_day(better, retime(better, SOURCE), source=SOURCE) == ()


def test_a_rebooked_attempt_back_on_a_full_van_leaves_out_a_parcel_still_at_the_hub() -> None:
    """c1 (room for 2) left with s1; the plan then gave them s3, still at the hub. c1 attempts
    c2's s4 on the way to s1 (so its parcel is aboard) and s4 is rebooked: it is open again on
    c1's van, which cannot hold s3 as well: s3 is left out (with a call), not planned onto a
    full van."""
    stops = (
        Stop("s1", at(100), (TimeWindow(0, 5_000),), 10, (1,)),
        Stop("s3", at(300), (TimeWindow(0, 5_000),), 10, (1,)),
        Stop("s4", at(50), (TimeWindow(0, 5_000),), 10, (1,)),
    )
    fleet = (
        Courier("c1", "hub", 0, 100_000, (2,), profile="planar"),
        Courier("c2", "hub", 0, 100_000, (2,), profile="planar"),
    )
    problem = Problem("full van", (Depot("hub", at(0)),), fleet, stops, ("parcels",))
    plan = LivePlan(problem, (Route("c1", ("s1", "s3")), Route("c2", ("s4",))), {})
    plan = replace(plan, loaded={"s1": "c1"}, departed=frozenset({"c1"}))
    plan = served_elsewhere(plan, CourierEvent("f4", "c1", "stop_failed", at_s=60, stop_id="s4"), SOURCE)
    assert plan.loaded["s4"] == "c1" and check_day(plan, retime(plan, SOURCE), source=SOURCE) == ()
    later = replace(stops[2], windows=(TimeWindow(2_000, 3_000),))
    rebooked = change_stop(plan, replace(problem, stops=(*stops[:2], later)), "s4", SOURCE, rebooked=True)
    assert [r.stop_ids for r in rebooked.routes] == [("s1", "s4"), ()]
    assert [u.stop_id for u in rebooked.unassigned] == ["s3"]
    assert check_day(rebooked, retime(rebooked, SOURCE), source=SOURCE) == ()


def test_a_courier_who_reports_a_stop_bigger_than_their_van_is_still_timed() -> None:
    """c1's van holds 2; s2 (3 parcels, c2's) is reported served by c1 anyway, after the plan
    had them serve s1: a fact. Timing c1's day (and re-planning it) must not fail on it."""
    stops = (
        Stop("s1", at(100), (TimeWindow(0, 5_000),), 10, (1,)),
        Stop("s2", at(200), (TimeWindow(0, 5_000),), 10, (3,)),
    )
    fleet = (
        Courier("c1", "hub", 0, 100_000, (2,), profile="planar"),
        Courier("c2", "hub", 0, 100_000, (4,), profile="planar"),
    )
    problem = Problem("big", (Depot("hub", at(0)),), fleet, stops, ("parcels",))
    plan = LivePlan(problem, (Route("c1", ("s1",)), Route("c2", ("s2",))), {})
    plan = served_elsewhere(plan, CourierEvent("d2", "c1", "stop_completed", at_s=300, stop_id="s2"), SOURCE)
    day = retime(plan, SOURCE)
    assert [(v.stop_id, v.status) for v in day.couriers[0].visits] == [("s1", "presumed"), ("s2", "done")]
    better = reoptimize(plan, day, SOURCE, ReplanPolicy(time_limit_s=30.0, iterations=1), focus=frozenset({"c1"}))
    assert check_day(better, retime(better, SOURCE), source=SOURCE) == ()
