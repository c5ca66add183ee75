"""The regions engine (city-size days): sectors and their couriers, sub-problems cut out of the
day, warm starts with trips, and whole plans that keep every rule, the same on any map.

Days are planar (`EuclideanSource(scale=1)`: a unit is a metre and a second) with the hub at
the origin; searches stop on iterations, so every answer is fixed by its seed."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from optimizer.engines import ENGINES, solve
from optimizer.engines.auto import REGIONS_FROM, AutoEngine
from optimizer.engines.pyvrp_engine import build_data
from optimizer.engines.regions import (
    Group,
    RegionsEngine,
    Search,
    _Geometry,
    _kept,
    cut,
    initial_solution,
    local_pool,
    plan_cost,
    route_groups,
    run_search,
    sectors,
    serial_map,
)
from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.params import SolveParams
from optimizer.schedule import schedule
from optimizer.solution import Route, Solution, Unassigned
from optimizer.travel.euclidean import EuclideanSource
from optimizer.travel.matrix import TravelMatrix

DAY_S = 36_000


def at(x: float, y: float) -> Location:
    return Location(y, x, planar=True)


def courier(courier_id: str, capacity: int = 20, **changes: object) -> Courier:
    return replace(Courier(courier_id, "hub", 0, DAY_S, (capacity,)), **changes)


def compass_day(per_cluster: int = 10, couriers: list[Courier] | None = None) -> Problem:
    """Four clusters of stops 3 km east, north, west and south of the hub."""
    stops = []
    for k, angle in enumerate((0.0, 90.0, 180.0, 270.0)):
        cx, cy = 3000 * math.cos(math.radians(angle)), 3000 * math.sin(math.radians(angle))
        for j in range(per_cluster):
            where = at(cx + 40 * (j % 5), cy + 40 * (j // 5))
            stops.append(Stop(f"{'ENWS'[k]}{j}", where, (TimeWindow(0, DAY_S),), 60, (1,)))
    crew = couriers or [courier(f"c{k}") for k in range(8)]
    return Problem("compass", (Depot("hub", at(0, 0)),), tuple(crew), tuple(stops), ("parcels",))


def city_day(stops: int = 96, couriers: int = 8, seed: int = 3) -> Problem:
    """A small city: stops scattered over 6 km round the hub, booked morning or afternoon,
    every fifth a pickup, one in twelve needing a cold box; small vans that may reload once."""
    rng = np.random.default_rng(seed)
    radius = 6000 * np.sqrt(rng.uniform(0.02, 1.0, stops))
    angle = rng.uniform(0, 2 * math.pi, stops)
    made = []
    for k in range(stops):
        window = TimeWindow(0, 20_000) if k % 2 else TimeWindow(14_000, DAY_S)
        made.append(
            Stop(
                f"s{k:03d}",
                at(float(radius[k] * math.cos(angle[k])), float(radius[k] * math.sin(angle[k]))),
                (window,),
                120,
                (int(rng.integers(1, 4)),),
                kind="pickup" if k % 5 == 0 else "delivery",
                skills=frozenset({"cold"}) if k % 12 == 0 else frozenset(),
            )
        )
    crew = [
        courier(f"c{k}", 12, max_trips=2, reload_s=300, skills=frozenset({"cold"}) if k % 4 == 0 else frozenset())
        for k in range(couriers)
    ]
    return Problem("city", (Depot("hub", at(0, 0)),), tuple(crew), tuple(made), ("parcels",))


def matrix_of(problem: Problem) -> TravelMatrix:
    return EuclideanSource(scale=1).matrix(problem)


def engine(**changes: object) -> RegionsEngine:
    options: dict[str, object] = {"workers": 2, "region_stops": 24, "rounds": 2}
    options.update(changes)
    return RegionsEngine(serial_map, **options)  # type: ignore[arg-type]


PARAMS = SolveParams(time_limit_s=60, seed=4, iterations=150)


def check_plan(problem: Problem, matrix: TravelMatrix, solution: Solution) -> None:
    """Every stop routed once or unassigned with a reason, every courier once, no violation."""
    routed = Counter(solution.assigned_stop_ids)
    assert all(n == 1 for n in routed.values())
    assert set(routed) | {u.stop_id for u in solution.unassigned} == {s.id for s in problem.stops}
    assert sorted(r.courier_id for r in solution.routes) == sorted(c.id for c in problem.couriers)
    assert schedule(problem, matrix, solution.routes).violations == ()


# -- sectors ------------------------------------------------------------------------------


def test_four_compass_clusters_make_four_sectors_one_cluster_each() -> None:
    problem = compass_day()
    groups = sectors(problem, _Geometry.of(problem, matrix_of(problem)), 4)
    clusters = sorted("".join(sorted({problem.stops[s].id[0] for s in stops})) for stops, _ in groups)
    assert clusters == ["E", "N", "S", "W"]
    assert sorted(c for _, couriers in groups for c in couriers) == list(range(8))


def test_couriers_are_dealt_kind_by_kind_so_every_sector_gets_its_share() -> None:
    crew = [courier(f"b{k}") for k in range(8)] + [courier(f"v{k}", 60, profile="van") for k in range(4)]
    problem = compass_day(couriers=crew)
    groups = sectors(problem, _Geometry.of(problem, matrix_of(problem)), 4)
    for _, couriers in groups:
        kinds = Counter(problem.couriers[c].profile for c in couriers)
        assert kinds == Counter({"default": 2, "van": 1})


def test_a_stop_needing_a_skill_moves_to_a_sector_with_a_courier_who_has_it() -> None:
    crew = [courier(f"c{k}", skills=frozenset({"cold"}) if k == 0 else frozenset()) for k in range(4)]
    problem = compass_day(couriers=crew)
    stops = list(problem.stops)
    stops[0] = replace(stops[0], skills=frozenset({"cold"}))
    problem = replace(problem, stops=tuple(stops))
    groups = sectors(problem, _Geometry.of(problem, matrix_of(problem)), 4)
    (home,) = [g for g, (stops_in, _) in enumerate(groups) if 0 in stops_in]
    assert 0 in groups[home][1]


def test_a_courier_with_parcels_on_the_van_goes_to_the_sector_of_those_stops() -> None:
    problem = compass_day()
    stops = [replace(s, parcel_on="c7") if s.id.startswith("W") else s for s in problem.stops]
    problem = replace(problem, stops=tuple(stops))
    groups = sectors(problem, _Geometry.of(problem, matrix_of(problem)), 4)
    (west,) = [g for g, (stops_in, _) in enumerate(groups) if any(problem.stops[s].id[0] == "W" for s in stops_in)]
    assert 7 in groups[west][1]
    assert all(problem.stops[s].id[0] == "W" for s in groups[west][0])


def test_border_groups_take_whole_routes_with_their_couriers_and_the_stops_left_out() -> None:
    problem = compass_day()
    routes = [Route("c0", ("E0", "E1", "N0")), Route("c1", ("W0", "W1")), Route("c2", ("S0",))]
    groups = route_groups(problem, _Geometry.of(problem, matrix_of(problem)), routes, 2, 0.5)
    for group in groups:
        for route in group.warm:
            assert problem.couriers.index(problem.courier_by_id(route.courier_id)) in group.couriers
            assert {problem.stop_node(s) - 1 for s in route.stop_ids} <= set(group.stops)
    assert sorted(s for g in groups for s in g.stops) == list(range(len(problem.stops)))
    assert sorted(c for g in groups for c in g.couriers) == list(range(8))


def test_a_squeezed_group_does_without_its_lightest_route_and_gets_no_unused_courier() -> None:
    problem = compass_day()
    routes = [Route("c0", ("E0", "E1", "E2", "E3")), Route("c1", ("E4",)), Route("c2", ("E5", "E6"))]
    (group,) = route_groups(problem, _Geometry.of(problem, matrix_of(problem)), routes, 1, 0.0, squeeze=True)
    assert group.dropped == (routes[1],)
    assert group.warm == (routes[0], routes[2])
    assert group.couriers == (0, 2)
    assert len(group.stops) == len(problem.stops)


def test_a_squeeze_keeps_the_new_routes_only_if_every_stop_placed_before_still_is() -> None:
    warm = (Route("c0", ("E0", "E1")),)
    group = Group((0, 1, 2), (0,), warm, (Route("c1", ("E2",)),))
    placed = Solution((Route("c0", ("E0", "E2", "E1")),))
    short = Solution((Route("c0", ("E0", "E1")),), (Unassigned("E2", "no room"),))
    assert _kept(group, placed) == (placed.routes, True)
    assert _kept(group, short) == (group.warm + group.dropped, False)
    assert _kept(group, replace(placed, feasible=False)) == (group.warm + group.dropped, False)


# -- sub-problems -------------------------------------------------------------------------


def test_a_cut_matrix_is_the_one_the_sub_problem_would_have_computed() -> None:
    problem = compass_day()
    crew = list(problem.couriers)
    crew[2] = replace(crew[2], start_at=at(500, 700), available_s=3600)
    crew[5] = replace(crew[5], start_at=at(-900, 100), available_s=3600)
    problem = replace(problem, couriers=tuple(crew))
    sub, submatrix = cut(problem, matrix_of(problem), [3, 11, 12, 30], [1, 2, 5])
    assert [s.id for s in sub.stops] == ["E3", "N1", "N2", "S0"]
    own = matrix_of(sub)
    assert np.array_equal(submatrix.distances_m, own.distances_m)
    assert np.array_equal(submatrix.durations("default"), own.durations("default"))


def test_a_warm_start_is_the_given_routes_with_their_reloads() -> None:
    stops = tuple(Stop(f"s{k}", at(10 * (k + 1), 0), (TimeWindow(0, 10_000),), 0, (1,)) for k in range(4))
    ana = Courier("ana", "hub", 0, 10_000, (2,), max_trips=2, reload_s=5)
    problem = Problem("trips", (Depot("hub", at(0, 0)),), (ana,), stops, ("parcels",))
    matrix = matrix_of(problem)
    warm = (Route("ana", ("s0", "s1", "s2", "s3"), (2,)),)
    start = initial_solution(problem, matrix, build_data(problem, matrix), warm)
    assert start.is_feasible()
    assert start.distance() == schedule(problem, matrix, warm).distance_m == 120
    found = run_search(Search(problem, matrix, PARAMS, warm))
    assert found.feasible and found.routes[0].reloads == (2,)
    assert schedule(problem, matrix, found.routes).distance_m == 120


# -- whole plans --------------------------------------------------------------------------


def test_a_city_day_is_planned_region_by_region_keeping_every_rule() -> None:
    problem = city_day()
    matrix = matrix_of(problem)
    solution = engine().solve(problem, matrix, PARAMS)
    assert solution.engine == "regions" and solution.feasible
    assert engine().region_count(len(problem.stops)) == 4
    check_plan(problem, matrix, solution)
    assert solution.unassigned == ()
    assert any(r.reloads for r in solution.routes)  # small vans: some couriers reload
    assert solution.objective == plan_cost(problem, matrix, solution.routes)


def test_the_same_seed_gives_the_same_plan_in_this_process_and_on_a_process_pool() -> None:
    problem = city_day(60, 6)
    matrix = matrix_of(problem)
    params = replace(PARAMS, iterations=60)
    here = engine(region_stops=15, rounds=1).solve(problem, matrix, params)
    with local_pool(2) as pool:
        pooled = RegionsEngine(pool, workers=2, region_stops=15, rounds=1).solve(problem, matrix, params)
    assert pooled.routes == here.routes and pooled.objective == here.objective


def test_parallel_seeds_share_the_best_plan_and_keep_every_rule() -> None:
    problem = city_day(48, 6)
    matrix = matrix_of(problem)
    solution = engine(mode="seeds", rounds=1).solve(problem, matrix, replace(PARAMS, iterations=60))
    check_plan(problem, matrix, solution)


def test_regions_is_an_engine_by_name_and_a_small_day_is_one_region() -> None:
    problem = city_day(20, 3)
    matrix = matrix_of(problem)
    assert ENGINES["regions"] is RegionsEngine
    solution = solve(problem, matrix, replace(PARAMS, engine="regions", iterations=80))
    assert solution.engine == "regions"
    check_plan(problem, matrix, solution)


@pytest.mark.parametrize(
    ("changes", "named"), [({"region_stops": 5}, "region_stops"), ({"rounds": -1}, "rounds"), ({"sync_s": 0}, "sync_s")]
)
def test_bad_settings_are_named(changes: dict[str, int], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        RegionsEngine(**changes)  # type: ignore[arg-type]


def test_auto_plans_a_city_size_day_on_regions_and_a_smaller_one_on_pyvrp() -> None:
    big, small = city_day(REGIONS_FROM, 8), city_day(REGIONS_FROM - 1, 8)
    auto = AutoEngine(workers=1)
    assert auto.choose(big, PARAMS) is auto.regions and auto.regions.workers == 1
    assert auto.choose(small, PARAMS) is auto.pyvrp
    soft = replace(PARAMS, lateness_cost_per_s=1)  # soft windows: only OR-Tools models them
    assert auto.choose(big, soft) is auto.ortools
    assert AutoEngine().regions.workers == min(2, os.cpu_count() or 1)
