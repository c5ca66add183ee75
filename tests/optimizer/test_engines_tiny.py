"""Both engines on tiny days whose best plan is worked out by hand.

Days are planar with `EuclideanSource(scale=1)`: one unit is one metre and one second, the
depot "hub" sits at the origin. Windows are chosen so that the best plan is unique; each test
says why. Time limits are short: these days have three or four stops.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from optimizer.engines import solve
from optimizer.errors import EngineUnavailable
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.params import EngineName, SolveParams
from optimizer.plan import plan_day
from optimizer.schedule import Schedule, schedule
from optimizer.solution import Solution
from optimizer.travel.euclidean import EuclideanSource
from optimizer.travel.haversine import HaversineSource
from optimizer.travel.matrix import TravelMatrix

LIMIT_S = 0.5
BOTH = pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
REACH = "no courier can reach it inside its window"


def at(x: float, y: float = 0.0) -> Location:
    return Location(y, x, planar=True)


def stop(
    stop_id: str,
    where: Location,
    *windows: tuple[int, int],
    service_s: int = 0,
    demand: int | None = None,
    penalty: int | None = None,
) -> Stop:
    return Stop(
        stop_id,
        where,
        tuple(TimeWindow(a, b) for a, b in windows),
        service_s,
        () if demand is None else (demand,),
        penalty,
    )


def courier(courier_id: str = "ana", capacity: int | None = None, **changes: object) -> Courier:
    base = Courier(courier_id, "hub", 0, 10_000, () if capacity is None else (capacity,))
    return replace(base, **changes)


def day(stops: list[Stop], couriers: list[Courier] | None = None, depots: list[Depot] | None = None) -> Problem:
    dims = ("parcels",) if any(s.demand for s in stops) else ()
    return Problem(
        "tiny",
        tuple(depots or [Depot("hub", at(0))]),
        tuple(couriers or [courier(capacity=100 if dims else None)]),
        tuple(stops),
        dims,
    )


def plan(problem: Problem, engine: EngineName, **params: object) -> tuple[Solution, Schedule, TravelMatrix]:
    matrix = EuclideanSource(scale=1).matrix(problem)
    solution = solve(problem, matrix, SolveParams(time_limit_s=LIMIT_S, engine=engine, **params))
    assert [r.courier_id for r in solution.routes] == [c.id for c in problem.couriers]
    return solution, schedule(problem, matrix, solution.routes), matrix


def routes(solution: Solution) -> dict[str, tuple[str, ...]]:
    return {r.courier_id: r.stop_ids for r in solution.routes}


def etas(timed: Schedule, courier_id: str = "ana") -> list[tuple[str, int, int]]:
    """(stop, arrival, service start) along one courier's route."""
    return [(v.stop_id, v.arrival_s, v.start_s) for v in timed.route(courier_id).visits]


@BOTH
def test_disjoint_windows_on_a_line_force_the_order_b_a_c(engine: EngineName) -> None:
    # a at 10 [30, 40], b at 20 [20, 25], c at 30 [50, 60]: each window closes before the
    # next opens, so time order is the only feasible order. b 20, a 30, c 50, home 80.
    problem = day([stop("a", at(10), (30, 40)), stop("b", at(20), (20, 25)), stop("c", at(30), (50, 60))])
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("b", "a", "c")}
    assert solution.feasible and solution.unassigned == () and solution.engine == engine
    assert etas(timed) == [("b", 20, 20), ("a", 30, 30), ("c", 50, 50)]
    assert (timed.route("ana").start_s, timed.route("ana").end_s, timed.distance_m) == (0, 80, 80)
    assert timed.violations == ()


@BOTH
def test_windows_on_a_3_4_5_square_force_the_diagonal_first(engine: EngineName) -> None:
    # Corners A (30, 0), B (30, 40), C (0, 40); service 10. Windows B [50, 60], A [100, 110],
    # C [160, 170] are disjoint, so B, A, C: B at 50 (diagonal), leave 60, A at 100, leave
    # 110, C at 160 (diagonal), leave 170, home at 210. Distance 50 + 40 + 50 + 40 = 180,
    # not the perimeter's 140.
    problem = day(
        [
            stop("A", at(30, 0), (100, 110), service_s=10),
            stop("B", at(30, 40), (50, 60), service_s=10),
            stop("C", at(0, 40), (160, 170), service_s=10),
        ]
    )
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("B", "A", "C")}
    assert etas(timed) == [("B", 50, 50), ("A", 100, 100), ("C", 160, 160)]
    assert (timed.route("ana").end_s, timed.distance_m) == (210, 180)
    assert timed.violations == ()


@BOTH
def test_capacity_forces_two_routes_with_the_cheaper_split(engine: EngineName) -> None:
    # Demands a 6, b 6, c 4; big courier carries 10, small one 6. Splits that fit:
    # small {a} + big {b, c} (20 + 60 = 80) or small {b} + big {a, c} (40 + 60 = 100).
    # In the big route c [0, 35] must come before b [35, ...]: c at 30, b at 40, home 60.
    problem = day(
        [
            stop("a", at(10), (0, 1000), demand=6),
            stop("b", at(20), (35, 1000), demand=6),
            stop("c", at(30), (0, 35), demand=4),
        ],
        [courier("big", 10), courier("small", 6)],
    )
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"big": ("c", "b"), "small": ("a",)}
    assert etas(timed, "big") == [("c", 30, 30), ("b", 40, 40)]
    assert etas(timed, "small") == [("a", 10, 10)]
    assert (timed.route("big").load, timed.route("small").load) == ((10,), (6,))
    assert timed.distance_m == 80
    assert timed.violations == ()


@BOTH
def test_stop_that_cannot_be_reached_in_its_window_is_unassigned_with_the_reason(engine: EngineName) -> None:
    # "far" is 500 away but closes at 100: optional, so it is dropped and said why.
    problem = day([stop("a", at(10), (0, 100)), stop("far", at(500), (0, 100), penalty=1000)])
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("a",)}
    assert solution.feasible
    [(dropped, reason)] = [(u.stop_id, u.reason) for u in solution.unassigned]
    assert dropped == "far"
    assert REACH in reason
    assert timed.violations == ()


@BOTH
def test_stop_whose_penalty_is_below_its_detour_is_left_out_on_cost(engine: EngineName) -> None:
    # Serving "out" costs 200 extra metres; its penalty is 50.
    problem = day([stop("a", at(10), (0, 1000)), stop("out", at(-100), (0, 1000), penalty=50)])
    solution, _, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("a",)}
    [unassigned] = solution.unassigned
    assert unassigned.stop_id == "out"
    assert unassigned.reason.startswith("left out on cost")


@BOTH
def test_second_window_is_used_when_the_first_cannot_be_met(engine: EngineName) -> None:
    # a at 10 is open [0, 5] and [100, 120]; b at 20 is open [30, 40]. a first would
    # reach a at 10 (first window gone), serve at 100 and miss b; so b, a:
    # leave at 10, b at 30, a at 40 waiting to 100, home 110.
    problem = day([stop("a", at(10), (0, 5), (100, 120)), stop("b", at(20), (30, 40))])
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("b", "a")}
    assert etas(timed) == [("b", 30, 30), ("a", 40, 100)]
    assert timed.visits["a"].window == TimeWindow(100, 120)
    assert (timed.route("ana").start_s, timed.route("ana").end_s) == (10, 110)
    assert timed.violations == ()


@BOTH
def test_optional_stop_with_two_unreachable_windows_is_unassigned(engine: EngineName) -> None:
    problem = day([stop("a", at(10), (0, 1000)), stop("b", at(20), (0, 5), (8, 15), penalty=10_000)])
    solution, _, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("a",)}
    assert [(u.stop_id, REACH in u.reason) for u in solution.unassigned] == [("b", True)]


@BOTH
def test_courier_starting_mid_day_at_a_position_leaves_from_there_at_available_time(engine: EngineName) -> None:
    # The courier is at x=50, free from 1000. a at 60, b at 40: a, b, home costs
    # 10 + 20 + 40 = 70 (b, a would cost 90). c at 55 closes at 1004 but is reached at 1005
    # at the earliest, so it is dropped; leaving from the depot at 0 would have made it.
    mid_day = courier(start_at=at(50), available_s=1000)
    problem = day(
        [stop("a", at(60), (0, 5000)), stop("b", at(40), (0, 5000)), stop("c", at(55), (0, 1004), penalty=100)],
        [mid_day],
    )
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("a", "b")}
    assert [(u.stop_id, REACH in u.reason) for u in solution.unassigned] == [("c", True)]
    assert timed.route("ana").start_s == 1000
    assert etas(timed) == [("a", 1010, 1010), ("b", 1030, 1030)]
    assert (timed.route("ana").end_s, timed.distance_m) == (1070, 70)


@BOTH
def test_courier_available_before_the_shift_is_not_planned_before_it(engine: EngineName) -> None:
    # Shift from 500, "available" from 100: a at 10 closing at 505 cannot be served.
    early = courier(shift_start_s=500, available_s=100)
    problem = day([stop("a", at(10), (0, 505), penalty=10_000), stop("b", at(20), (0, 5000))], [early])
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("b",)}
    assert [u.stop_id for u in solution.unassigned] == ["a"]
    assert timed.route("ana").start_s == 500


def test_unreachable_required_stop_leaves_ortools_without_a_plan_and_every_stop_explained() -> None:
    problem = day([stop("a", at(10), (0, 100)), stop("far", at(500), (0, 100))])
    solution, _, _ = plan(problem, "ortools")
    assert not solution.feasible
    assert routes(solution) == {"ana": ()}
    reasons = {u.stop_id: u.reason for u in solution.unassigned}
    assert REACH in reasons["far"]
    assert reasons["a"] == "no plan was found that serves every required stop"


@pytest.mark.filterwarnings("ignore::pyvrp.exceptions.PenaltyBoundWarning")
def test_unreachable_required_stop_makes_pyvrp_report_an_infeasible_plan() -> None:
    problem = day([stop("a", at(10), (0, 100)), stop("far", at(500), (0, 100))])
    solution, timed, _ = plan(problem, "pyvrp")
    assert not solution.feasible
    assert sorted(solution.assigned_stop_ids) == ["a", "far"]
    assert ("late", "far") in [(v.kind, v.stop_id) for v in timed.violations]


# -- what only OR-Tools models ----------------------------------------------------------


def two_depots(prefix: tuple[str, ...]) -> Problem:
    # Depots at 0 and 100; a at 10 near the first, b at 90 near the second.
    return day(
        [stop("a", at(10), (0, 5000)), stop("b", at(90), (0, 5000))],
        [courier("near"), courier("far", start_depot="east", fixed_prefix=prefix)],
        [Depot("hub", at(0)), Depot("east", at(100))],
    )


def test_without_a_prefix_each_stop_goes_to_the_nearer_courier() -> None:
    solution, timed, _ = plan(two_depots(()), "ortools")
    assert routes(solution) == {"near": ("a",), "far": ("b",)}
    assert timed.distance_m == 40


@pytest.mark.parametrize("engine", ["ortools", "auto"])
def test_fixed_prefix_makes_the_far_courier_drive_to_its_stop_first(engine: EngineName) -> None:
    # "far" (at 100) must visit a (at 10) first: then b on the way home (180 in all) beats
    # leaving b to "near" (180 + 180).
    solution, timed, _ = plan(two_depots(("a",)), engine)
    assert routes(solution) == {"near": (), "far": ("a", "b")}
    assert etas(timed, "far") == [("a", 90, 90), ("b", 170, 170)]
    assert timed.distance_m == 180


def test_pyvrp_refuses_what_it_cannot_model_instead_of_ignoring_it() -> None:
    matrix = EuclideanSource(scale=1).matrix(two_depots(("a",)))
    with pytest.raises(EngineUnavailable, match="fixed_prefix"):
        solve(two_depots(("a",)), matrix, SolveParams(LIMIT_S, engine="pyvrp"))
    soft = day([stop("a", at(10), (0, 100))])
    with pytest.raises(EngineUnavailable, match="soft_windows"):
        solve(soft, EuclideanSource(scale=1).matrix(soft), SolveParams(LIMIT_S, engine="pyvrp", lateness_cost_per_s=1))
    lunch = day([stop("a", at(10), (0, 100))], [courier(breaks=(Break("lunch", 0, 50, 10),))])
    with pytest.raises(EngineUnavailable, match="breaks"):
        solve(lunch, EuclideanSource(scale=1).matrix(lunch), SolveParams(LIMIT_S, engine="pyvrp"))


@pytest.mark.parametrize("engine", ["ortools", "auto"])
def test_break_is_planned_and_timed_inside_its_window(engine: EngineName) -> None:
    # a at 100 [100, 110], b at 200 [300, 320]; a 50 s break any time in [0, 400]. The
    # break fits in the wait before b: a at 100, break 100..150, b at 250 waiting to 300.
    lunch = courier(breaks=(Break("lunch", 0, 400, 50),))
    problem = day([stop("a", at(100), (100, 110)), stop("b", at(200), (300, 320))], [lunch])
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("a", "b")}
    assert [(b.break_id, b.start_s, b.end_s) for b in timed.route("ana").breaks] == [("lunch", 100, 150)]
    assert etas(timed) == [("a", 100, 100), ("b", 250, 300)]
    assert timed.route("ana").end_s == 500
    assert timed.violations == ()


def test_break_that_leaves_no_time_for_an_optional_stop_makes_ortools_drop_it() -> None:
    # Without the break: a at 100, b at 200, both on time. The 60 s break must start in
    # [90, 120], so b (closing at 230) would be reached at 260 at the earliest.
    lunch = courier(breaks=(Break("lunch", 90, 120, 60),))
    problem = day([stop("a", at(100), (100, 110)), stop("b", at(200), (200, 230), penalty=1000)], [lunch])
    solution, timed, _ = plan(problem, "ortools")
    assert routes(solution) == {"ana": ("a",)}
    assert [u.stop_id for u in solution.unassigned] == ["b"]
    [taken] = timed.route("ana").breaks
    assert 90 <= taken.start_s <= 120
    assert timed.violations == ()
    without_break, _, _ = plan(replace(problem, couriers=(courier(),)), "ortools")
    assert routes(without_break) == {"ana": ("a", "b")}


def clash() -> list[Stop]:
    # a at 10 and b at -10, both open only at 10: one courier cannot be on time at both.
    return [stop("a", at(10), (10, 10)), stop("b", at(-10), (10, 10))]


@pytest.mark.parametrize("engine", ["ortools", "auto"])
def test_soft_windows_keep_every_stop_and_schedule_reports_the_honest_lateness(engine: EngineName) -> None:
    # Either order: first stop at 10 on time, second at 10 + 20 = 30, 20 s late.
    solution, timed, _ = plan(day(clash()), engine, lateness_cost_per_s=5)
    assert solution.feasible
    assert sorted(solution.assigned_stop_ids) == ["a", "b"] and solution.unassigned == ()
    assert timed.late_s == 20 and timed.late_stops == 1
    assert [(v.kind, v.amount) for v in timed.violations] == [("late", 20)]
    assert solution.objective == 40 + 5 * 20


def test_soft_shift_end_lets_ortools_bring_the_courier_back_late() -> None:
    problem = day([stop("a", at(30), (0, 100))], [courier(shift_end_s=50)])
    solution, timed, _ = plan(problem, "ortools", lateness_cost_per_s=1)
    assert routes(solution) == {"ana": ("a",)}
    assert [(v.kind, v.amount) for v in timed.violations] == [("shift_end", 10)]


@BOTH
def test_hard_windows_with_penalties_drop_one_clashing_stop_instead(engine: EngineName) -> None:
    stops = [replace(s, penalty=1000) for s in clash()]
    solution, timed, _ = plan(day(stops), engine)
    assert len(solution.assigned_stop_ids) == 1
    [unassigned] = solution.unassigned
    assert {unassigned.stop_id, *solution.assigned_stop_ids} == {"a", "b"}
    assert unassigned.reason
    assert timed.violations == ()


@BOTH
def test_a_depot_nobody_starts_from_is_never_put_into_a_route(engine: EngineName) -> None:
    # "mid" lies on the way to s (a free pass for OR-Tools before it was made inactive).
    problem = day([stop("s", at(20), (0, 1000))], depots=[Depot("hub", at(0)), Depot("mid", at(10))])
    solution, timed, _ = plan(problem, engine)
    assert routes(solution) == {"ana": ("s",)}
    assert timed.distance_m == 40


def test_plan_day_solves_with_great_circle_travel_by_default_and_times_the_routes_it_returns() -> None:
    # Three stops about 1, 2 and 3 km north of the hub, windows in that order.
    hub = Location(52.50, 13.40)
    north = [Location(52.50 + 0.009 * k, 13.40) for k in (1, 2, 3)]
    problem = Problem(
        "city",
        (Depot("hub", hub),),
        (Courier("ana", "hub", 0, 4 * 3600),),
        tuple(
            Stop(f"s{k}", where, (TimeWindow(k * 1800, k * 1800 + 600),), 120) for k, where in enumerate(north, start=1)
        ),
    )
    planned = plan_day(problem, SolveParams(time_limit_s=LIMIT_S))
    assert (planned.matrix.distances_m == HaversineSource().matrix(problem).distances_m).all()
    assert routes(planned.solution) == {"ana": ("s1", "s2", "s3")}
    assert planned.schedule == schedule(problem, planned.matrix, planned.solution.routes)
    assert [v.start_s for v in planned.schedule.route("ana").visits] == [1800, 3600, 5400]
    assert planned.schedule.violations == ()
    in_plane = plan_day(problem, SolveParams(time_limit_s=LIMIT_S), EuclideanSource(scale=1))
    assert in_plane.matrix.distances_m[0, 1] == 0  # 0.009 degrees, rounded: the source was used


@pytest.mark.parametrize("engine", ["ortools", "auto"])
def test_a_plan_whose_break_cannot_be_kept_is_never_called_feasible(engine: EngineName) -> None:
    # The shift starts at 100 but the break must start by 50.
    impossible = courier(shift_start_s=100, breaks=(Break("lunch", 0, 50, 10),))
    solution, _, _ = plan(day([stop("a", at(10), (0, 1000))], [impossible]), engine)
    assert not solution.feasible
    assert sorted(solution.assigned_stop_ids + [u.stop_id for u in solution.unassigned]) == ["a"]


@pytest.mark.xfail(
    strict=True, reason="known: schedule() waits for a break to open before a leg; OR-Tools breaks en route"
)
def test_break_opening_mid_leg_is_timed_on_the_road_as_ortools_plans_it() -> None:
    # Break [100, 150], 30 s; b at 200 closes at 240. OR-Tools drives, breaks at 100..130
    # on the way and arrives at 230. schedule() waits at the depot until 100, breaks, then
    # drives: b at 330, 90 s late, on a plan OR-Tools calls feasible.
    lunch = courier(breaks=(Break("lunch", 100, 150, 30),))
    solution, timed, _ = plan(day([stop("b", at(200), (0, 240))], [lunch]), "ortools")
    assert solution.feasible and routes(solution) == {"ana": ("b",)}
    assert timed.violations == ()
