"""Service-quality figures on a tiny day whose every number is worked out by hand below.

The day: one hub, six stops, three couriers; every leg is 1000 m and 100 s; service 60 s.

    c1 (shift 0-10000):  hub -> s1 [0,1000] -> s2 [0,150] -> hub
        leaves 0; s1 at 100, leaves 160; s2 at 260, late 110, leaves 320; home 420.
    c2 (shift 0-1200):   hub -> s3 [500,600] -> s4 [0,100]+[1000,2000] -> s5 [0,900] -> hub
        leaves 400 (no waiting at s3); s3 at 500, leaves 560; s4 at 660, first window closed,
        waits for the second until 1000, leaves 1060; s5 at 1160, late 260, leaves 1220;
        home 1320, 120 s after the shift.
    c3: no stops.   s6 [0,5000]: unassigned.

Planned: 5 served, 2 late (110 s, 260 s), on-time (5 - 2) / 6 = 0.5, lateness p50 110,
p90 260, max 260, total 370 s; 2 couriers used; 3 + 4 legs = 7000 m, 700 s driving;
working 420 + 920 = 1340 s; overtime 120 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.kpi import (
    CostModel,
    GradePolicy,
    Lateness,
    StopOutcome,
    day_kpis,
    nearest_rank,
)
from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.schedule import schedule
from optimizer.solution import Route, Solution, Unassigned
from optimizer.travel.matrix import TravelMatrix


def _stop(stop_id: str, x: float, *windows: tuple[int, int]) -> Stop:
    return Stop(stop_id, Location(0.0, x, planar=True), tuple(TimeWindow(a, b) for a, b in windows), service_s=60)


PROBLEM = Problem(
    "kpi-day",
    (Depot("hub", Location(0.0, 0.0, planar=True)),),
    (Courier("c1", "hub", 0, 10_000), Courier("c2", "hub", 0, 1200), Courier("c3", "hub", 0, 10_000)),
    (
        _stop("s1", 1, (0, 1000)),
        _stop("s2", 2, (0, 150)),
        _stop("s3", 3, (500, 600)),
        _stop("s4", 4, (0, 100), (1000, 2000)),
        _stop("s5", 5, (0, 900)),
        _stop("s6", 6, (0, 5000)),
    ),
)
N = len(PROBLEM.locations)
MATRIX = TravelMatrix(
    np.full((N, N), 1000, dtype=np.int64) - np.eye(N, dtype=np.int64) * 1000,
    {"default": np.full((N, N), 100, dtype=np.int64) - np.eye(N, dtype=np.int64) * 100},
)
SOLUTION = Solution(
    (Route("c1", ("s1", "s2")), Route("c2", ("s3", "s4", "s5")), Route("c3", ())),
    (Unassigned("s6", "no room"),),
)
TIMED = schedule(PROBLEM, MATRIX, SOLUTION.routes)

# The records: s1 on time; s2 late 250 s (window ends 150), called at 120, before the end;
# s3 failed; s4 in its second window; s5 late 100 s (window ends 900), called at 950, after
# the end; s6 nothing (it was never planned).
OUTCOMES = (
    StopOutcome("s1", "done", 100),
    StopOutcome("s2", "done", 400, called_s=120),
    StopOutcome("s3", "failed", 520),
    StopOutcome("s4", "done", 1500),
    StopOutcome("s5", "done", 1000, called_s=950),
)


def test_the_hand_timed_schedule_is_what_the_figures_assume() -> None:
    c1, c2 = TIMED.route("c1"), TIMED.route("c2")
    assert [(v.start_s, v.late_s) for v in c1.visits] == [(100, 0), (260, 110)]
    assert [(v.start_s, v.late_s) for v in c2.visits] == [(500, 0), (1000, 0), (1160, 260)]
    assert (c1.start_s, c1.end_s, c2.start_s, c2.end_s) == (0, 420, 400, 1320)


def test_planned_figures_of_the_day() -> None:
    kpis = day_kpis(PROBLEM, TIMED, SOLUTION)
    assert (kpis.stops, kpis.served, kpis.unassigned, kpis.late_stops) == (6, 5, 1, 2)
    assert kpis.on_time_rate == 0.5
    assert kpis.lateness == Lateness(late_stops=2, total_s=370, p50_s=110, p90_s=260, max_s=260)
    assert kpis.late_minutes == pytest.approx(370 / 60)
    assert kpis.couriers_used == 2
    assert (kpis.distance_m, kpis.driving_s, kpis.working_s, kpis.overtime_s) == (7000, 700, 1340, 120)
    assert kpis.distance_km == 7.0
    assert kpis.driving_hours == pytest.approx(700 / 3600)
    assert kpis.working_hours == pytest.approx(1340 / 3600)
    assert kpis.overtime_hours == pytest.approx(120 / 3600)
    assert kpis.actual is None
    assert all(c.grade is None and c.actual is None for c in kpis.couriers)


def test_cost_is_per_km_plus_per_working_hour_plus_per_courier_used() -> None:
    # 2 x 7 km + 36 x 1340/3600 h + 100 x 2 couriers = 14 + 13.4 + 200.
    model = CostModel(per_km=2.0, per_hour=36.0, per_courier=100.0)
    kpis = day_kpis(PROBLEM, TIMED, SOLUTION, cost_model=model)
    assert kpis.cost == pytest.approx(227.4)
    assert kpis.courier("c1").cost == pytest.approx(2 * 3 + 36 * 420 / 3600 + 100)
    assert kpis.courier("c3").cost == 0.0
    assert sum(c.cost for c in kpis.couriers) == pytest.approx(kpis.cost)


def test_per_courier_planned_figures() -> None:
    kpis = day_kpis(PROBLEM, TIMED, SOLUTION)
    c1, c2, c3 = kpis.couriers
    assert c1.courier_id == "c1"
    assert (c1.stops, c1.late_stops, c1.distance_m, c1.working_s, c1.overtime_s) == (2, 1, 3000, 420, 0)
    assert c1.on_time_rate == 0.5
    assert (c2.stops, c2.late_stops, c2.lateness.max_s) == (3, 1, 260)
    assert (c2.distance_m, c2.working_s, c2.overtime_s) == (4000, 920, 120)
    assert c2.on_time_rate == pytest.approx(2 / 3)
    assert (c3.used, c3.stops, c3.distance_m, c3.on_time_rate) == (False, 0, 0, 1.0)


def test_actual_figures_from_the_records() -> None:
    actual = day_kpis(PROBLEM, TIMED, SOLUTION, OUTCOMES).actual
    assert actual is not None
    assert (actual.stops, actual.recorded, actual.done, actual.failed, actual.on_time) == (6, 5, 4, 1, 2)
    # On time: s1 and s4, out of all six stops (s6 was missed).
    assert actual.on_time_rate == pytest.approx(2 / 6)
    assert actual.lateness == Lateness(late_stops=2, total_s=350, p50_s=100, p90_s=250, max_s=250)
    # Of the two late stops only s2's customer was called before the window ended.
    assert (actual.called_late, actual.uncalled_late) == (1, 1)
    assert actual.call_coverage == 0.5
    assert actual.failed_rate == pytest.approx(1 / 6)


def test_a_call_exactly_at_the_window_end_is_too_late() -> None:
    outcomes = (StopOutcome("s2", "done", 400, called_s=150),)
    actual = day_kpis(PROBLEM, TIMED, SOLUTION, outcomes).actual
    assert actual is not None and actual.call_coverage == 0.0


def test_per_courier_records_and_grades() -> None:
    kpis = day_kpis(PROBLEM, TIMED, SOLUTION, OUTCOMES)
    c1, c2, c3 = kpis.couriers
    assert c1.actual is not None and c2.actual is not None
    # c1: s1 on time, s2 late but called -> 1/2 on time, no uncalled late stop.
    assert (c1.actual.stops, c1.actual.on_time, c1.actual.uncalled_late, c1.actual.failed) == (2, 1, 0, 0)
    # c2: s3 failed, s4 on time, s5 late and not called in time.
    assert (c2.actual.stops, c2.actual.on_time, c2.actual.uncalled_late, c2.actual.failed) == (3, 1, 1, 1)
    assert (c1.grade, c2.grade, c3.grade) == ("C", "C", None)
    lenient = GradePolicy(
        a_min_on_time=0.5,
        a_max_uncalled_late=0,
        a_max_failed_rate=0.0,
        b_min_on_time=0.3,
        b_max_uncalled_late=1,
        b_max_failed_rate=0.4,
    )
    graded = day_kpis(PROBLEM, TIMED, SOLUTION, OUTCOMES, grades=lenient)
    assert [c.grade for c in graded.couriers] == ["A", "B", None]


def test_an_outcome_naming_another_courier_counts_for_that_courier() -> None:
    outcomes = (StopOutcome("s1", "done", 100, courier_id="c3"),)
    kpis = day_kpis(PROBLEM, TIMED, SOLUTION, outcomes)
    c1, _c2, c3 = kpis.couriers
    assert c1.actual is not None and c3.actual is not None
    assert (c1.actual.stops, c1.actual.recorded) == (1, 0)  # s2 only, nothing recorded
    assert (c3.actual.stops, c3.actual.on_time, c3.grade) == (1, 1, "A")
    assert c1.grade == "C"


def test_no_records_yet_differs_from_an_empty_record() -> None:
    assert day_kpis(PROBLEM, TIMED, SOLUTION, None).actual is None
    actual = day_kpis(PROBLEM, TIMED, SOLUTION, ()).actual
    assert actual is not None and (actual.on_time_rate, actual.call_coverage) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("outcomes", "message"),
    [
        ((StopOutcome("nope", "done", 0),), "no such stop"),
        ((StopOutcome("s1", "done", 0), StopOutcome("s1", "failed", 5)), "recorded twice"),
        ((StopOutcome("s1", "done", 0, courier_id="c9"),), "unknown courier"),
    ],
)
def test_bad_outcomes_are_refused_naming_the_stop(outcomes: tuple[StopOutcome, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        day_kpis(PROBLEM, TIMED, SOLUTION, outcomes)


def test_figures_hold_the_wire_kpis_in_display_units() -> None:
    figures = day_kpis(PROBLEM, TIMED, SOLUTION, OUTCOMES, cost_model=CostModel(2.0, 36.0, 100.0)).figures()
    for key in ("couriers_used", "distance_km", "working_hours", "late_stops", "late_minutes"):
        assert key in figures
    assert figures["on_time_rate"] == 0.5
    assert figures["unassigned"] == 1
    assert figures["cost"] == 227.4
    assert figures["late_minutes"] == 6.2
    assert figures["late_p50_min"] == round(110 / 60, 1)
    assert figures["actual_on_time_rate"] == 0.3333
    assert figures["call_coverage"] == 0.5
    assert figures["failed"] == 1


def test_an_empty_day_is_all_on_time() -> None:
    problem = Problem("empty", PROBLEM.depots, PROBLEM.couriers[:1], ())
    matrix = TravelMatrix(np.zeros((1, 1), dtype=np.int64), {"default": np.zeros((1, 1), dtype=np.int64)})
    solution = Solution((Route("c1", ()),))
    kpis = day_kpis(problem, schedule(problem, matrix, solution.routes), solution, ())
    assert (kpis.on_time_rate, kpis.couriers_used, kpis.cost, kpis.lateness.max_s) == (1.0, 0, 0.0, 0)


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [([], 50, 0), ([7], 90, 7), ([1, 2, 3, 4], 50, 2), ([1, 2, 3, 4], 90, 4), ([1, 2, 3, 4, 5], 50, 3)],
)
def test_nearest_rank_percentile(values: list[int], percent: float, expected: int) -> None:
    assert nearest_rank(values, percent) == expected


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"a_min_on_time": 1.2}, "a_min_on_time"),
        ({"b_max_failed_rate": -0.1}, "b_max_failed_rate"),
        ({"a_max_uncalled_late": -1}, "a_max_uncalled_late"),
        ({"a_min_on_time": 0.8, "b_min_on_time": 0.9}, "at least as strict"),
    ],
)
def test_grade_policy_checks_its_thresholds(kwargs: dict[str, float], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        GradePolicy(**kwargs)  # type: ignore[arg-type]


def test_default_grades() -> None:
    policy = GradePolicy()
    assert policy.grade(1.0, 0, 0.0) == "A"
    assert policy.grade(0.98, 0, 0.02) == "A"
    assert policy.grade(1.0, 1, 0.0) == "B"  # one late customer not called in time
    assert policy.grade(0.95, 2, 0.05) == "B"
    assert policy.grade(0.89, 0, 0.0) == "C"
    assert policy.grade(1.0, 3, 0.0) == "C"


@pytest.mark.parametrize(("field", "value"), [("per_km", -1.0), ("per_hour", float("nan")), ("per_courier", -5.0)])
def test_cost_model_refuses_negative_or_nan_rates(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        CostModel(**{field: value})


def test_outcome_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="status"):
        StopOutcome("s1", "lost", 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at_s"):
        StopOutcome("s1", "done", -1)
