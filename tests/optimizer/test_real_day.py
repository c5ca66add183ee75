"""The real day on both engines: pickups, skills, priorities, several depots, what couriers cost.

Days are planar (`EuclideanSource(scale=1)`: one unit is one metre and one second), as in
`test_engines_tiny`; each test says why its plan is the only right one.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from optimizer.engines import solve
from optimizer.errors import InvalidProblem
from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.params import EngineName, SolveParams
from optimizer.schedule import Schedule, schedule
from optimizer.solution import Route, Solution
from optimizer.travel.euclidean import EuclideanSource

BOTH = pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
DAY = (TimeWindow(0, 10_000),)


def at(x: float, y: float = 0.0) -> Location:
    return Location(y, x, planar=True)


def stop(stop_id: str, x: float, y: float = 0.0, amount: int = 0, **changes: object) -> Stop:
    return replace(Stop(stop_id, at(x, y), DAY, 0, (amount,)), **changes)


def courier(courier_id: str, capacity: int = 100, **changes: object) -> Courier:
    return replace(Courier(courier_id, "hub", 0, 10_000, (capacity,)), **changes)


def day(stops: list[Stop], couriers: list[Courier], depots: list[Depot] | None = None) -> Problem:
    return Problem("real", tuple(depots or [Depot("hub", at(0))]), tuple(couriers), tuple(stops), ("parcels",))


def plan(problem: Problem, engine: EngineName, **params: object) -> tuple[Solution, Schedule]:
    matrix = EuclideanSource(scale=1).matrix(problem)
    solution = solve(problem, matrix, SolveParams(time_limit_s=2.0, engine=engine, iterations=200, **params))
    return solution, schedule(problem, matrix, solution.routes)


def routes(solution: Solution) -> dict[str, tuple[str, ...]]:
    return {r.courier_id: r.stop_ids for r in solution.routes if r.stop_ids}


# --- pickups ---------------------------------------------------------------------------


@BOTH
def test_a_pickup_fills_the_van_only_from_where_it_is_picked_up(engine: EngineName) -> None:
    """6 to deliver and 6 to pick up on a 10-parcel van: one trip works only delivering first
    (6, then 0, then 6 on board); counting the pickup from the hub (12) would need two vans,
    and picking up first would carry 12. Both orders drive the same 400 m."""
    problem = day([stop("drop", 100, amount=6), stop("collect", 200, amount=6, kind="pickup")], [courier("ana", 10)])
    solution, timed = plan(problem, engine)
    assert routes(solution) == {"ana": ("drop", "collect")}
    assert not solution.unassigned
    assert [v.load_on_arrival for v in timed.route("ana").visits] == [(6,), (0,)]
    assert not timed.violations


@BOTH
def test_pickups_beyond_one_van_split_over_two(engine: EngineName) -> None:
    """Three pickups of 4 on 10-parcel vans: no van can bring all 12 back, whatever the order."""
    stops = [stop(f"p{k}", 100 * (k + 1), amount=4, kind="pickup") for k in range(3)]
    solution, timed = plan(day(stops, [courier("ana", 10), courier("bo", 10)]), engine)
    assert not solution.unassigned
    assert sorted(len(r) for r in routes(solution).values()) == [1, 2]
    assert not timed.violations


def test_schedule_counts_a_pickup_from_the_stop_on_and_flags_the_peak() -> None:
    problem = day([stop("collect", 100, amount=6, kind="pickup"), stop("drop", 200, amount=6)], [courier("ana", 10)])
    matrix = EuclideanSource(scale=1).matrix(problem)
    timed = schedule(problem, matrix, [Route("ana", ("collect", "drop"))]).route("ana")
    assert timed.load == (6,)
    assert [v.load_on_arrival for v in timed.visits] == [(6,), (12,)]
    assert [(v.kind, v.amount) for v in timed.violations] == [("capacity", 2)]
    fine = schedule(problem, matrix, [Route("ana", ("drop", "collect"))]).route("ana")
    assert not fine.violations


def test_a_pickup_cannot_be_said_to_be_on_a_van_already() -> None:
    with pytest.raises(InvalidProblem, match=r"stops.parcel\[collect\]"):
        stop("collect", 100, amount=1, kind="pickup", parcel_on="ana")


# --- skills ----------------------------------------------------------------------------


@BOTH
def test_a_stop_needing_a_skill_goes_to_a_courier_who_has_it(engine: EngineName) -> None:
    """Bo costs far more to use, so everything would go to Ana, but only Bo drives cold chain."""
    stops = [stop("cold", 100, amount=1, skills=frozenset({"cold"})), stop("dry", 120, amount=1)]
    couriers = [courier("ana"), courier("bo", fixed_cost=1_000_000, skills=frozenset({"cold", "cash"}))]
    solution, timed = plan(day(stops, couriers), engine)
    assert "cold" in routes(solution)["bo"]
    assert "cold" not in routes(solution).get("ana", ())
    assert not solution.unassigned
    assert not timed.violations


def test_a_stop_needing_a_skill_nobody_has_is_refused_naming_it() -> None:
    with pytest.raises(InvalidProblem, match=r"stops.skills\[cold\]: no courier has every skill it needs \(cold\)"):
        day([stop("cold", 100, skills=frozenset({"cold"}))], [courier("ana")])


def test_schedule_flags_a_route_given_to_a_courier_without_the_skill() -> None:
    problem = day([stop("cold", 100, skills=frozenset({"cold"}))], [courier("ana"), courier("bo", skills={"cold"})])
    matrix = EuclideanSource(scale=1).matrix(problem)
    (violation,) = schedule(problem, matrix, [Route("ana", ("cold",))]).violations
    assert (violation.kind, violation.stop_id, violation.message) == ("skill", "cold", "the courier lacks cold")


# --- priorities ------------------------------------------------------------------------


@pytest.mark.parametrize("important", ["east", "west"])
def test_when_one_of_two_windows_must_be_missed_the_low_priority_one_is(important: str) -> None:
    """Both open only at t=100, 100 m either side of the hub: one of them is 200 s late
    whatever the order. The one with priority 5 is served on time."""
    stops = [
        replace(stop(name, x), windows=(TimeWindow(100, 100),), priority=5 if name == important else 1)
        for name, x in (("east", 100), ("west", -100))
    ]
    solution, timed = plan(day(stops, [courier("ana")]), "ortools", lateness_cost_per_s=10)
    assert routes(solution)["ana"][0] == important
    assert timed.visits[important].late_s == 0
    assert timed.late_stops == 1


# --- several depots ----------------------------------------------------------------------


@BOTH
def test_each_courier_starts_and_ends_at_their_own_depot(engine: EngineName) -> None:
    depots = [Depot("west-hub", at(-1000)), Depot("east-hub", at(1000))]
    couriers = [
        replace(courier("ana"), start_depot="west-hub"),
        replace(courier("bo"), start_depot="east-hub"),
    ]
    stops = [stop("w1", -1100), stop("w2", -900, 50), stop("e1", 1100), stop("e2", 900, 50)]
    solution, timed = plan(day(stops, couriers, depots), engine)
    assert {k: set(v) for k, v in routes(solution).items()} == {"ana": {"w1", "w2"}, "bo": {"e1", "e2"}}
    one_side = 100 + math.hypot(200, 50) + math.hypot(100, 50)  # hub, the far stop, the near one, hub
    assert timed.distance_m == pytest.approx(2 * one_side, abs=2)


# --- what couriers cost -------------------------------------------------------------------


@BOTH
def test_the_cheaper_courier_per_metre_drives(engine: EngineName) -> None:
    stops = [stop("a", 100), stop("b", 200)]
    couriers = [courier("dear", cost_per_m=5), courier("cheap", cost_per_m=1)]
    solution, _ = plan(day(stops, couriers), engine)
    assert routes(solution) == {"cheap": ("a", "b")} or routes(solution) == {"cheap": ("b", "a")}


@BOTH
@pytest.mark.parametrize(("fixed_cost", "vans"), [(0, 2), (10_000, 1)])
def test_a_courier_day_costs_its_fixed_cost_and_its_hours(engine: EngineName, fixed_cost: int, vans: int) -> None:
    """East opens at 1000 s, west at 5000 s, each 1 km from the hub on one line: one van or
    two drive the same 4 km, but one van's day lasts 6000 s (it waits 2000 s at west) and two
    vans' 2000 s each. At a unit per second, free couriers make it two vans; a courier-day
    worth 10,000 makes it one."""
    stops = [
        replace(stop("east", 1000), windows=(TimeWindow(1000, 1100),)),
        replace(stop("west", -1000), windows=(TimeWindow(5000, 5100),)),
    ]
    couriers = [courier(name, fixed_cost=fixed_cost, cost_per_s=1) for name in ("ana", "bo")]
    solution, timed = plan(day(stops, couriers), engine)
    assert len(routes(solution)) == vans
    assert timed.distance_m == 4000


# --- second trips --------------------------------------------------------------------------


@BOTH
def test_a_courier_goes_back_to_reload_when_one_vanload_cannot_do_the_day(engine: EngineName) -> None:
    """8 to deliver and 8 to pick up east, the same west, on a 10-parcel van: no single trip
    can (16 aboard at the start), two can, delivering before picking up on each: 8, 0, 8."""
    stops = [
        stop("east-drop", 100, amount=8),
        stop("east-collect", 200, amount=8, kind="pickup"),
        stop("west-drop", -100, amount=8),
        stop("west-collect", -200, amount=8, kind="pickup"),
    ]
    problem = day(stops, [courier("ana", 10, max_trips=2, reload_s=300)])
    solution, timed = plan(problem, engine)
    assert not solution.unassigned
    (route,) = solution.used_routes
    assert route.reloads == (2,)
    assert {frozenset(trip) for trip in route.trips} == {
        frozenset({"east-drop", "east-collect"}),
        frozenset({"west-drop", "west-collect"}),
    }
    assert [kind for trip in route.trips for kind in (problem.stop_by_id(s).kind for s in trip)] == [
        "delivery",
        "pickup",
    ] * 2
    ana = timed.route("ana")
    assert not ana.violations
    (reload,) = ana.reloads
    assert reload.before == 2 and reload.departure_s - reload.arrival_s == 300
    assert [v.load_on_arrival for v in ana.visits] == [(8,), (0,), (8,), (0,)]
    assert ana.distance_m == 800


@BOTH
def test_without_a_second_trip_the_same_day_needs_a_second_van(engine: EngineName) -> None:
    stops = [stop("east", 100, amount=8), stop("west", -100, amount=8)]
    solution, _ = plan(day(stops, [courier("ana", 10), courier("bo", 10)]), engine)
    assert sorted(len(r) for r in routes(solution).values()) == [1, 1]
    solution, _ = plan(day(stops, [courier("ana", 10, max_trips=2), courier("bo", 10)]), engine)
    assert len(routes(solution)) in (1, 2)  # a second trip or a second van: same distance
    assert not solution.unassigned


def test_schedule_times_a_reload_and_loads_the_next_trip_there() -> None:
    stops = [stop("east", 100, amount=8), stop("west", -100, amount=8)]
    problem = day(stops, [courier("ana", 10, max_trips=2, reload_s=600)])
    matrix = EuclideanSource(scale=1).matrix(problem)
    ana = schedule(problem, matrix, [Route("ana", ("east", "west"), (1,))]).route("ana")
    assert [(v.stop_id, v.arrival_s, v.load_on_arrival) for v in ana.visits] == [
        ("east", 100, (8,)),
        ("west", 200 + 600 + 100, (8,)),
    ]
    assert (ana.reloads[0].arrival_s, ana.reloads[0].departure_s) == (200, 800)
    assert not ana.violations
    overloaded = schedule(problem, matrix, [Route("ana", ("east", "west"))]).route("ana")
    assert [v.kind for v in overloaded.violations] == ["capacity"]


def test_a_reload_outside_the_route_is_refused() -> None:
    with pytest.raises(ValueError, match="reloads"):
        Route("ana", ("a", "b"), (2,))
