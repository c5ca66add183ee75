"""Time-of-day travel: `SpeedProfile` legs worked out by hand, `schedule()` timing them exactly,
the engines' stand-ins, and traffic variants planning with the real profile.

The hand-checked leg: 10 km at 18 km/h (5 m/s) is 2000 s of free flow. Leaving at 09:20 with
x1.5 from 09:30, the first 600 s do 600 s of the work; the other 1400 s of work take
1400 x 1.5 = 2100 s. 600 + 2100 = 2700 s: 45 minutes, arriving at 10:05.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.schemas import ProblemIn
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.params import SolveParams
from optimizer.plan import plan_day
from optimizer.schedule import schedule, schedule_route
from optimizer.solution import Route
from optimizer.travel.haversine import HaversineSource
from optimizer.travel.matrix import TimeOfDaySource, TravelMatrix
from optimizer.travel.speed import SpeedProfile
from scenarios.generate import generate_day
from scenarios.variants import InvalidChange, Scenario, Traffic, TrafficPeriod, apply_changes, parse_changes

H = 3600
M = 60
AT_0920, AT_0930, AT_1100 = 9 * H + 20 * M, 9 * H + 30 * M, 11 * H
RUSH = SpeedProfile.from_periods([(AT_0930, AT_1100, 1.5)])
"""x1.5 from 09:30 to 11:00, free flow otherwise."""


def _one_leg_day(ready_s: int, window: tuple[int, int] = (0, 24 * H)) -> tuple[Problem, TravelMatrix]:
    """A hub and one stop 10 km away; a 5 m/s (18 km/h) courier ready at `ready_s`."""
    problem = Problem(
        "one-leg",
        (Depot("hub", Location(0.0, 0.0, planar=True)),),
        (Courier("c1", "hub", ready_s, 24 * H, speed_mps=5.0),),
        (Stop("s1", Location(0.0, 10.0, planar=True), (TimeWindow(*window),)),),
    )
    distances = np.array([[0, 10_000], [10_000, 0]], dtype=np.int64)
    return problem, TravelMatrix(distances, {"default": distances // 5})


# --- the profile, by hand --------------------------------------------------------------


def test_a_10_km_leg_at_18_kmh_leaving_0920_with_x1_5_from_0930_takes_45_minutes() -> None:
    assert RUSH.travel_s(2000, AT_0920) == 45 * M


def test_schedule_times_that_leg_exactly_and_arrives_at_1005() -> None:
    problem, matrix = _one_leg_day(ready_s=AT_0920)
    timed = schedule_route(problem, matrix.with_speed(RUSH, problem), 0, ("s1",))
    (visit,) = timed.visits
    assert (timed.start_s, visit.arrival_s) == (AT_0920, 10 * H + 5 * M)
    # The drive home leaves at 10:05, all in the x1.5 period: 3000 s.
    assert timed.end_s == 10 * H + 5 * M + 3000
    assert timed.travel_s == 45 * M + 3000


def test_legs_inside_before_and_out_of_a_slow_period() -> None:
    assert RUSH.travel_s(2000, 10 * H) == 3000  # wholly inside: x1.5
    assert RUSH.travel_s(2000, 7 * H) == 2000  # wholly before: free flow
    # Leaving 10:30: 1800 s to 11:00 do 1200 s of work, the other 800 s run free: 2600 s.
    assert RUSH.travel_s(2000, 10 * H + 30 * M) == 2600
    # Across the whole period: 600 s free, 5400 s slow (3600 s of work), rest free.
    assert RUSH.travel_s(6000, AT_0920) == 600 + 5400 + (6000 - 600 - 3600)


def test_leaving_late_for_a_first_stop_uses_the_profile_backwards() -> None:
    # The stop opens at 10:05; the latest departure that is still there by then is 09:20.
    problem, matrix = _one_leg_day(ready_s=8 * H, window=(10 * H + 5 * M, 12 * H))
    timed = schedule_route(problem, matrix.with_speed(RUSH, problem), 0, ("s1",))
    assert timed.start_s == AT_0920
    assert timed.visits[0].wait_s == 0
    assert RUSH.depart_by(2000, 10 * H + 5 * M) == AT_0920


def test_a_break_that_moves_the_departure_into_the_rush_lengthens_the_leg() -> None:
    problem, matrix = _one_leg_day(ready_s=9 * H, window=(11 * H, 12 * H))
    lunch = Break("lunch", 9 * H, 9 * H, 30 * M)
    problem = replace(problem, couriers=(replace(problem.couriers[0], breaks=(lunch,)),))
    timed = schedule_route(problem, matrix.with_speed(RUSH, problem), 0, ("s1",))
    # Break 09:00-09:30, then the whole leg in the rush: 3000 s, arriving 10:20, waiting to 11:00.
    assert timed.breaks[0].start_s == 9 * H
    assert timed.visits[0].arrival_s == AT_0930 + 3000
    assert timed.visits[0].start_s == 11 * H


def test_profiles_compose_by_multiplying() -> None:
    both = RUSH.times(SpeedProfile.constant(2.0))
    assert both == SpeedProfile((0, AT_0930, AT_1100), (2.0, 3.0, 2.0))
    assert SpeedProfile.from_periods([(0, H, 1.2), (H, 2 * H, 1.2)]) == SpeedProfile((0, 2 * H), (1.2, 1.0))


@pytest.mark.parametrize(
    "periods",
    [[(0, H, 1.2), (H // 2, 2 * H, 1.3)], [(H, H, 1.2)], [(2 * H, H, 1.2)]],
)
def test_bad_periods_are_refused(periods: list[tuple[int, int, float]]) -> None:
    with pytest.raises(ValueError, match=r"overlap|end after it starts"):
        SpeedProfile.from_periods(periods)


def test_a_profile_checks_its_factors() -> None:
    with pytest.raises(ValueError, match="above 0"):
        SpeedProfile((0, H), (1.0, 0.0))
    with pytest.raises(ValueError, match="first bound"):
        SpeedProfile((5,), (1.0,))


# --- properties ------------------------------------------------------------------------

profiles = st.lists(
    st.tuples(st.integers(0, 30), st.integers(1, 6), st.sampled_from([0.5, 0.8, 1.25, 1.4, 1.5, 2.0, 3.0])),
    min_size=1,
    max_size=5,
    unique_by=lambda p: p[0],
).map(
    lambda raw: SpeedProfile.from_periods(
        [
            (start * 1800, min(start + length, later) * 1800, factor)
            for (start, length, factor), later in zip(
                sorted(raw), [s for s, _, _ in sorted(raw)[1:]] + [10**6], strict=True
            )
        ]
    )
)
quick = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(profiles, st.integers(0, 20_000), st.integers(0, 60_000), st.integers(0, 5_000))
def test_leaving_later_never_arrives_earlier(profile: SpeedProfile, free: int, depart: int, later: int) -> None:
    assert depart + profile.travel_s(free, depart) <= depart + later + profile.travel_s(free, depart + later)


@quick
@given(profiles, st.integers(0, 20_000), st.integers(0, 60_000))
def test_a_leg_takes_between_its_fastest_and_slowest_factor(profile: SpeedProfile, free: int, depart: int) -> None:
    took = profile.travel_s(free, depart)
    assert np.ceil(free * min(profile.factors) - 1e-6) <= took <= np.ceil(free * max(profile.factors) + 1e-6)


@quick
@given(profiles, st.integers(1, 20_000), st.integers(0, 60_000))
def test_a_leg_does_exactly_its_work(profile: SpeedProfile, free: int, depart: int) -> None:
    """The integral of 1/factor over the leg covers its free-flow seconds; a second less does not."""
    pace = SpeedProfile(profile.bounds, tuple(1 / f for f in profile.factors))
    took = profile.travel_s(free, depart)
    done, short = pace.cumulative([depart + took, depart + took - 1]) - pace.cumulative(depart)
    assert done >= free - 1e-6
    assert short < free


@quick
@given(profiles, st.integers(1, 20_000), st.integers(20_000, 80_000))
def test_depart_by_is_the_latest_departure_that_arrives_in_time(profile: SpeedProfile, free: int, arrive: int) -> None:
    leave = profile.depart_by(free, arrive)
    assert leave + profile.travel_s(free, leave) <= arrive
    assert leave + 1 + profile.travel_s(free, leave + 1) > arrive


@quick
@given(profiles, profiles, st.integers(0, 80_000))
def test_a_product_profile_multiplies_pointwise(a: SpeedProfile, b: SpeedProfile, t: int) -> None:
    assert a.times(b).factor_at(t) == pytest.approx(a.factor_at(t) * b.factor_at(t))


DAY = ProblemIn.model_validate(generate_day(30, 3, seed=4)).to_domain()
DAY_MATRIX = HaversineSource().matrix(DAY)


def _routes(order: list[int], cut: list[int]) -> list[Route]:
    stops = [DAY.stops[k].id for k in order]
    bounds = sorted({min(c, len(stops)) for c in cut} | {0, len(stops)})
    chunks = [stops[a:b] for a, b in itertools.pairwise(bounds)]
    return [Route(c.id, tuple(chunks[k]) if k < len(chunks) else ()) for k, c in enumerate(DAY.couriers)]


routings = st.tuples(st.permutations(list(range(len(DAY.stops)))), st.lists(st.integers(0, 30), max_size=2))


@quick
@given(routings, st.sampled_from([0.75, 1.25, 1.5, 2.0]))
def test_a_constant_profile_times_routes_as_the_scaled_matrix_does(
    routing: tuple[list[int], list[int]], factor: float
) -> None:
    routes = _routes(*routing)
    exact = schedule(DAY, DAY_MATRIX.with_speed(SpeedProfile.constant(factor), DAY), routes)
    assert exact == schedule(DAY, DAY_MATRIX.scaled(factor), routes)


@quick
@given(routings)
def test_exact_timing_does_not_depend_on_the_engines_stand_in(routing: tuple[list[int], list[int]]) -> None:
    routes = _routes(*routing)
    rush = SpeedProfile.from_periods([(7 * H + 30 * M, 9 * H + 30 * M, 1.4), (17 * H, 19 * H + 30 * M, 1.4)])
    timed = [schedule(DAY, DAY_MATRIX.with_speed(rush, DAY, how), routes) for how in ("window", "mean", "free")]
    assert timed[0] == timed[1] == timed[2]
    slower = schedule(DAY, DAY_MATRIX, routes)
    for fast, slow in zip(slower.routes, timed[0].routes):
        assert all(a.arrival_s <= b.arrival_s for a, b in zip(fast.visits, slow.visits))


# --- engines' stand-ins ----------------------------------------------------------------


def test_the_window_stand_in_scales_a_leg_by_the_rush_it_arrives_in() -> None:
    # The stop's window 10:00-11:00 widened by the 2000 s leg starts 09:26:40, so the mean
    # is over 09:26:40-11:00: 200 s at 1.0 and 5400 s at 1.5.
    problem, matrix = _one_leg_day(ready_s=8 * H, window=(10 * H, 11 * H))
    mean = (200 * 1.0 + 5400 * 1.5) / 5600
    stand_in = matrix.with_speed(RUSH, problem, "window")
    assert stand_in.durations("default")[0, 1] == int(np.ceil(2000 * mean))
    assert stand_in.leg_durations("default")[0, 1] == 2000
    assert stand_in.speed == RUSH
    # Into the depot, and with "mean": the profile's mean over the shift (08:00-24:00).
    shift_mean = (14.5 * H + 1.5 * H * 1.5) / (16 * H)
    assert stand_in.durations("default")[1, 0] == int(np.ceil(2000 * shift_mean))
    assert matrix.with_speed(RUSH, problem, "mean").durations("default")[0, 1] == int(np.ceil(2000 * shift_mean))
    assert np.array_equal(matrix.with_speed(RUSH, problem, "free").durations("default"), matrix.durations("default"))


def test_a_matrix_with_a_profile_scales_by_composing() -> None:
    problem, matrix = _one_leg_day(ready_s=AT_0920)
    scaled = matrix.with_speed(RUSH, problem).scaled(2.0)
    assert scaled.speed == RUSH.times(SpeedProfile.constant(2.0))
    assert scaled.leg_durations("default")[0, 1] == 2000
    with pytest.raises(ValueError, match="free-flow"):
        TravelMatrix(matrix.distances_m, matrix.durations_s, RUSH)


# --- traffic variants ------------------------------------------------------------------


def test_a_traffic_profile_variant_plans_with_the_time_of_day_profile() -> None:
    rush = [["07:30", "09:30", 1.4], ["17:00", "19:30", 1.4]]
    scenario = apply_changes(
        DAY, parse_changes([{"kind": "traffic", "profile": rush}, {"kind": "traffic", "factor": 1.1}])
    )
    expected = SpeedProfile.from_periods([(7 * H + 30 * M, 9 * H + 30 * M, 1.4), (17 * H, 19 * H + 30 * M, 1.4)])
    assert scenario.speed == expected.times(SpeedProfile.constant(1.1))
    source = scenario.source()
    assert isinstance(source, TimeOfDaySource)
    plan = plan_day(scenario.problem, SolveParams(time_limit_s=1, seed=0, iterations=100), source=source)
    assert plan.matrix.speed == scenario.speed
    assert plan.schedule == schedule(
        DAY, HaversineSource().matrix(DAY).with_speed(scenario.speed, DAY), plan.solution.routes
    )


def test_a_factor_only_traffic_variant_keeps_the_scaled_matrix() -> None:
    scenario = apply_changes(DAY, [Traffic(factor=1.2)])
    assert scenario == Scenario(DAY, 1.2, None)
    assert scenario.source().matrix(DAY).speed is None


def test_a_profile_still_sums_up_as_its_mean_over_the_shifts() -> None:
    traffic = Traffic(profile=(TrafficPeriod(8 * H, 10 * H, 1.5),))
    assert traffic.speed_profile().shift_mean(DAY) == pytest.approx(traffic.travel_factor(DAY))


def test_traffic_changes_multiply_beyond_one_changes_limit_but_not_without_end() -> None:
    rush = {"kind": "traffic", "profile": [["08:00", "09:00", 4.0]]}
    scenario = apply_changes(DAY, parse_changes([{"kind": "traffic", "factor": 3.0}, rush]))
    assert scenario.speed == SpeedProfile((0, 8 * H, 9 * H), (3.0, 12.0, 3.0))
    with pytest.raises(InvalidChange) as caught:
        apply_changes(DAY, parse_changes([{"kind": "traffic", "factor": 10.0}] * 7))
    assert [i.field for i in caught.value.issues] == ["changes[6].factor"]
