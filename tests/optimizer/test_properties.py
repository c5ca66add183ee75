"""Property tests: invariants that hold for every small day, planar or on a city map.

- every stop is routed exactly once or reported unassigned with a reason;
- a plan an engine calls feasible under hard windows breaks no window, capacity, shift or
  break when re-timed by `schedule()` (breaks: see `days`), and routes every required stop;
  so does one for a real day of pickups, second trips and skills (capacity at every point of
  every trip, each stop with a courier who has its skills);
- `schedule()` is deterministic, its ETAs never precede a window start, and its numbers add up;
- under soft windows OR-Tools keeps every stop and its objective covers the honest lateness;
- on subsets of the classic instances, engine routes pass `Instance.violations` in double
  precision although the engines plan on the rounded x1000 integer matrix.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.engines import solve
from optimizer.instances import Instance, read_instance
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.params import EngineName, SolveParams
from optimizer.schedule import schedule
from optimizer.solution import Route, Solution
from optimizer.travel.euclidean import EuclideanSource
from optimizer.travel.haversine import HaversineSource
from optimizer.travel.matrix import TravelMatrix

SOLVER_LIMIT_S = 0.3
BreakKind = Literal["none", "open", "anywhere"]
SOLVED = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PURE = settings(max_examples=60, deadline=None)
HORIZON_S = 6 * 3600
CITY = (52.52, 13.40)  # about 11 km x 7 km of Berlin around it


@st.composite
def locations(draw: st.DrawFn, planar: bool) -> Location:
    if planar:
        return Location(draw(st.integers(0, 3000)), draw(st.integers(0, 3000)), planar=True)
    dlat = draw(st.floats(-0.03, 0.03, allow_nan=False))
    dlon = draw(st.floats(-0.05, 0.05, allow_nan=False))
    return Location(CITY[0] + dlat, CITY[1] + dlon)


@st.composite
def windows(draw: st.DrawFn) -> tuple[TimeWindow, ...]:
    count = draw(st.integers(1, 2))
    found: list[TimeWindow] = []
    t = 0
    for _ in range(count):
        start = t + draw(st.integers(0, 3 * 3600))
        end = start + draw(st.integers(0, 2 * 3600))
        if end > HORIZON_S:
            break
        found.append(TimeWindow(start, end))
        t = end + 1
    return tuple(found) or (TimeWindow(0, HORIZON_S),)


@st.composite
def days(draw: st.DrawFn, breaks: BreakKind = "none", capacities: bool = True, real: bool = False) -> Problem:
    """1-3 couriers (some mid-day at a position), 1-7 stops with 1-2 windows, some optional.

    Breaks "anywhere" open at any time of the shift; "open" ones are already open when the
    courier is ready (see `test_break_opening_mid_leg_...` for why the difference matters).
    A `real` day always has amounts, and may have pickups, couriers allowed up to three trips,
    and stops needing a skill some couriers have.
    """
    planar = draw(st.booleans())
    dims = ("parcels",) if capacities and (real or draw(st.booleans())) else ()
    depots = [Depot("hub", draw(locations(planar)))]
    if draw(st.booleans()):
        depots.append(Depot("east", draw(locations(planar))))
    couriers = []
    for k in range(draw(st.integers(1, 3))):
        shift_start = draw(st.integers(0, 3600))
        courier = Courier(
            f"c{k}",
            draw(st.sampled_from([d.id for d in depots])),
            shift_start,
            HORIZON_S + 3600,
            (draw(st.integers(5, 12)),) if dims else (),
            end_depot=draw(st.none() | st.sampled_from([d.id for d in depots])),
        )
        if draw(st.booleans()):
            courier = replace(courier, start_at=draw(locations(planar)), available_s=draw(st.integers(0, 2 * 3600)))
        if real:
            courier = replace(
                courier,
                max_trips=draw(st.integers(1, 3)),
                reload_s=draw(st.integers(0, 900)),
                skills=draw(st.frozensets(st.sampled_from(["cold", "cash"]))),
            )
        if breaks != "none" and draw(st.booleans()):
            earliest = draw(st.integers(0, HORIZON_S if breaks == "anywhere" else courier.ready_s))
            latest = earliest + draw(st.integers(0, 4 * 3600))
            courier = replace(courier, breaks=(Break("lunch", earliest, latest, draw(st.integers(0, 1800))),))
        couriers.append(courier)
    stops = [
        Stop(
            f"s{i}",
            draw(locations(planar)),
            draw(windows()),
            draw(st.integers(0, 600)),
            (draw(st.integers(0, 5)),) if dims else (),
            draw(st.none() | st.integers(1, 100_000)),
        )
        for i in range(draw(st.integers(1, 7)))
    ]
    if real:  # a stop asks for some of one courier's skills
        stops = [
            replace(
                stop,
                kind=draw(st.sampled_from(["delivery", "pickup"])),
                skills=draw(
                    st.sampled_from([c.skills for c in couriers]).flatmap(
                        lambda held: st.frozensets(st.sampled_from(sorted(held))) if held else st.just(frozenset())
                    )
                ),
            )
            for stop in stops
        ]
    return Problem("random", tuple(depots), tuple(couriers), tuple(stops), dims)


def travel(problem: Problem) -> TravelMatrix:
    planar = problem.depots[0].location.planar
    return (EuclideanSource(scale=1) if planar else HaversineSource()).matrix(problem)


def assert_each_stop_routed_once_or_explained(problem: Problem, solution: Solution) -> None:
    routed = solution.assigned_stop_ids
    left = [u.stop_id for u in solution.unassigned]
    assert sorted(routed + left) == sorted(s.id for s in problem.stops)
    assert all(u.reason.strip() for u in solution.unassigned)
    assert [r.courier_id for r in solution.routes] == [c.id for c in problem.couriers]


@pytest.mark.filterwarnings("ignore::pyvrp.exceptions.PenaltyBoundWarning")
@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "auto"])
@SOLVED
@given(problem=days())
def test_every_stop_is_routed_once_or_explained_and_feasible_plans_break_nothing(
    engine: EngineName, problem: Problem
) -> None:
    assert_routed_once_and_feasible_plans_break_nothing(problem, engine)


@pytest.mark.filterwarnings("ignore::pyvrp.exceptions.PenaltyBoundWarning")
@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "auto"])
@SOLVED
@given(problem=days(real=True))
def test_feasible_plans_of_a_real_day_keep_capacity_along_every_trip_and_skills(
    engine: EngineName, problem: Problem
) -> None:
    assert_routed_once_and_feasible_plans_break_nothing(problem, engine)


def assert_routed_once_and_feasible_plans_break_nothing(problem: Problem, engine: EngineName) -> None:
    """Every stop routed once or explained; a plan the engine calls feasible, re-timed, breaks
    no window, capacity (at every point of every trip), skill, shift or break, routes every
    required stop, and makes no more trips than each courier may."""
    matrix = travel(problem)
    solution = solve(problem, matrix, SolveParams(time_limit_s=SOLVER_LIMIT_S, engine=engine))
    assert_each_stop_routed_once_or_explained(problem, solution)
    if solution.feasible:
        assert schedule(problem, matrix, solution.routes).violations == ()
        assert all(s.id in solution.assigned_stop_ids for s in problem.stops if s.required)
        for route in solution.used_routes:
            assert len(route.trips) <= problem.courier_by_id(route.courier_id).max_trips


@pytest.mark.filterwarnings("ignore::pyvrp.exceptions.PenaltyBoundWarning")
@pytest.mark.parametrize("engine", ["ortools", "auto"])
@SOLVED
@given(problem=days(breaks="open"))
def test_feasible_plans_with_breaks_keep_every_window_break_and_shift(engine: EngineName, problem: Problem) -> None:
    matrix = travel(problem)
    solution = solve(problem, matrix, SolveParams(time_limit_s=SOLVER_LIMIT_S, engine=engine))
    assert_each_stop_routed_once_or_explained(problem, solution)
    if solution.feasible:
        timed = schedule(problem, matrix, solution.routes)
        assert timed.violations == ()
        for route in timed.routes:
            courier = problem.courier_by_id(route.courier_id)
            assert [b.break_id for b in route.breaks] == [b.id for b in courier.breaks]


@SOLVED
@given(problem=days(capacities=False))
def test_soft_windows_keep_every_stop_and_the_objective_covers_the_honest_lateness(problem: Problem) -> None:
    matrix = travel(problem)
    cost = 3
    solution = solve(
        problem, matrix, SolveParams(time_limit_s=SOLVER_LIMIT_S, engine="ortools", lateness_cost_per_s=cost)
    )
    assert_each_stop_routed_once_or_explained(problem, solution)
    assert solution.feasible
    assert all(s.id in solution.assigned_stop_ids for s in problem.stops if s.required)
    timed = schedule(problem, matrix, solution.used_routes)
    assert {v.kind for v in timed.violations} <= {"late", "shift_end"}
    overtime = sum(v.amount for v in timed.violations if v.kind == "shift_end")
    # schedule() starts every service as early as possible, so no timing OR-Tools chose
    # can be less late: its objective includes at least this much lateness cost. (Couriers
    # without stops are left out: OR-Tools does not charge an empty route's drive home.)
    assert solution.objective >= timed.distance_m + cost * (timed.late_s + overtime)


@st.composite
def days_with_routes(draw: st.DrawFn) -> tuple[Problem, list[Route]]:
    """A day and hand-made routes for it: any stops, any order, any courier, some unrouted."""
    problem = draw(days(breaks="anywhere"))
    ids = draw(st.permutations([s.id for s in problem.stops]))
    owner = [draw(st.integers(-1, len(problem.couriers) - 1)) for _ in ids]
    routes = [
        Route(c.id, tuple(s for s, o in zip(ids, owner) if o == k))
        for k, c in enumerate(problem.couriers)
        if draw(st.booleans()) or k in owner
    ]
    return problem, routes


@PURE
@given(case=days_with_routes())
def test_schedule_is_deterministic_and_etas_never_precede_window_starts(case: tuple[Problem, list[Route]]) -> None:
    problem, routes = case
    matrix = travel(problem)
    timed = schedule(problem, matrix, routes)
    assert timed == schedule(problem, matrix, routes)
    assert timed == schedule(replace(problem), travel(problem), list(routes))
    assert [r.courier_id for r in timed.routes] == [r.courier_id for r in routes]
    for route, given_route in zip(timed.routes, routes):
        courier_index = [c.id for c in problem.couriers].index(route.courier_id)
        courier = problem.couriers[courier_index]
        durations = matrix.durations(courier.profile)
        assert [v.stop_id for v in route.visits] == list(given_route.stop_ids)
        assert route.start_s >= courier.ready_s
        node, free_at = problem.start_node(courier_index), route.start_s
        for visit in route.visits:
            stop = problem.stop_by_id(visit.stop_id)
            here = problem.stop_node(stop.id)
            assert visit.window in stop.windows
            assert visit.window == next((w for w in stop.windows if visit.arrival_s <= w.end_s), stop.windows[-1])
            assert visit.start_s >= visit.window.start_s
            assert visit.start_s == max(visit.arrival_s, visit.window.start_s)
            assert visit.late_s == max(0, visit.start_s - visit.window.end_s)
            assert visit.departure_s == visit.start_s + stop.service_s
            assert visit.arrival_s >= free_at + int(durations[node, here])
            node, free_at = here, visit.departure_s
        assert route.end_s >= free_at + int(durations[node, problem.end_node(courier_index)])
        assert route.late_s == sum(v.late_s for v in route.visits)
        assert route.late_s == sum(v.amount for v in route.violations if v.kind == "late")
        assert sorted(b.break_id for b in route.breaks) == sorted(b.id for b in courier.breaks)
        overdue = []
        for taken in route.breaks:
            planned = next(b for b in courier.breaks if b.id == taken.break_id)
            assert taken.start_s >= planned.earliest_start_s
            assert taken.end_s == taken.start_s + planned.duration_s
            overdue += [taken.start_s - planned.latest_start_s] if taken.start_s > planned.latest_start_s else []
        assert [v.amount for v in route.violations if v.kind == "break_late"] == overdue


# -- classic instances ------------------------------------------------------------------

CLASSIC = ["c101", "c201", "r101", "r201", "rc101", "rc201"]


@cache
def classic(path: Path) -> Instance:
    return read_instance(path)


@st.composite
def classic_subsets(draw: st.DrawFn) -> tuple[str, list[int]]:
    """An instance and 5-15 of its customers (a vehicle each is always feasible)."""
    name = draw(st.sampled_from(CLASSIC))
    return name, sorted(draw(st.lists(st.integers(1, 100), min_size=5, max_size=15, unique=True)))


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=classic_subsets())
def test_engine_routes_on_classic_subsets_pass_the_double_precision_check(
    vrptw_data: Path, engine: EngineName, case: tuple[str, list[int]]
) -> None:
    name, picked = case
    full = classic(vrptw_data / "solomon" / f"{name}.txt")
    instance = replace(full, vehicles=len(picked), customers=tuple(c for c in full.customers if c.number in picked))
    problem = instance.to_problem()
    solution = solve(problem, EuclideanSource().matrix(problem), SolveParams(SOLVER_LIMIT_S, engine=engine))
    assert_each_stop_routed_once_or_explained(problem, solution)
    assert solution.feasible and solution.unassigned == ()
    routes = [[int(s) for s in r.stop_ids] for r in solution.used_routes]
    assert instance.violations(routes) == []
