"""Malformed model values raise `InvalidProblem` whose issues name the field and the id."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from optimizer.errors import InvalidProblem, ProblemIssue
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow

HERE = Location(52.52, 13.40)
DAY = TimeWindow(0, 8 * 3600)


def depot(depot_id: str = "hub") -> Depot:
    return Depot(depot_id, HERE)


def stop(stop_id: str, **changes: object) -> Stop:
    return replace(Stop(stop_id, HERE, (DAY,), 60, (1,)), **changes)


def courier(courier_id: str = "ana", **changes: object) -> Courier:
    return replace(Courier(courier_id, "hub", 0, 8 * 3600, (10,)), **changes)


def problem(**changes: object) -> Problem:
    base = {
        "name": "day",
        "depots": (depot(),),
        "couriers": (courier(),),
        "stops": (stop("s1"), stop("s2")),
        "dimensions": ("parcels",),
    }
    base.update(changes)
    return Problem(**base)


def issues_of(excinfo: pytest.ExceptionInfo[InvalidProblem]) -> set[tuple[str, str]]:
    return {(issue.field, issue.id) for issue in excinfo.value.issues}


def test_a_well_formed_problem_builds_and_lays_out_depots_then_stops() -> None:
    built = problem()
    assert built.depot_node("hub") == 0
    assert [built.stop_node(s) for s in ("s1", "s2")] == [1, 2]
    assert built.stop_by_id("s2").id == "s2"


def test_window_ending_before_it_starts_is_rejected_naming_the_window_and_both_times() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        TimeWindow(600, 300)
    (issue,) = excinfo.value.issues
    assert issue.field == "window"
    assert "600" in issue.message and "300" in issue.message


def test_window_outside_the_horizon_is_rejected() -> None:
    with pytest.raises(InvalidProblem, match="horizon"):
        TimeWindow(-1, 10)


def test_negative_demand_names_stops_demand_and_the_stop() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        stop("s7", demand=(-1,))
    assert issues_of(excinfo) == {("stops.demand", "s7")}


def test_overlapping_windows_name_stops_windows_and_the_stop() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        stop("s3", windows=(TimeWindow(0, 100), TimeWindow(100, 200)))
    assert issues_of(excinfo) == {("stops.windows", "s3")}


def test_unsorted_windows_are_rejected_like_overlapping_ones() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        stop("s3", windows=(TimeWindow(500, 600), TimeWindow(0, 100)))
    assert issues_of(excinfo) == {("stops.windows", "s3")}


def test_a_stop_without_any_window_is_rejected() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        stop("s4", windows=())
    assert issues_of(excinfo) == {("stops.windows", "s4")}


def test_negative_service_time_and_penalty_name_their_fields() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        stop("s5", service_s=-1)
    assert issues_of(excinfo) == {("stops.service", "s5")}
    with pytest.raises(InvalidProblem) as excinfo:
        stop("s6", penalty=-5)
    assert issues_of(excinfo) == {("stops.penalty", "s6")}


def test_unknown_start_and_end_depots_name_the_courier() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(couriers=(courier("ana", start_depot="nowhere"), courier("bo", end_depot="elsewhere")))
    assert issues_of(excinfo) == {("couriers.start_depot", "ana"), ("couriers.end_depot", "bo")}
    assert "nowhere" in str(excinfo.value) and "elsewhere" in str(excinfo.value)


def test_duplicate_stop_ids_name_the_repeated_id() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(stops=(stop("s1"), stop("s2"), stop("s1")))
    assert issues_of(excinfo) == {("stops.id", "s1")}


def test_duplicate_courier_and_depot_ids_are_reported() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(depots=(depot(), depot()), couriers=(courier(), courier()))
    assert issues_of(excinfo) == {("depots.id", "hub"), ("couriers.id", "ana")}


def test_demand_no_courier_can_carry_names_the_stop() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(stops=(stop("s1"), stop("heavy", demand=(11,))))
    assert issues_of(excinfo) == {("stops.demand", "heavy")}
    assert "no courier can carry" in str(excinfo.value)


def test_demand_one_of_two_couriers_can_carry_is_accepted() -> None:
    built = problem(couriers=(courier("ana"), courier("bo", capacity=(20,))), stops=(stop("heavy", demand=(15,)),))
    assert built.stop_by_id("heavy").demand == (15,)


def test_demand_with_the_wrong_number_of_dimensions_names_the_stop() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(stops=(stop("s1", demand=(1, 2)),))
    assert issues_of(excinfo) == {("stops.demand", "s1")}


def test_naive_day_start_is_rejected_naming_the_problem() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(day_start=datetime(2025, 3, 4, 0, 0))
    assert issues_of(excinfo) == {("day_start", "day")}


def test_aware_day_start_is_accepted() -> None:
    assert problem(day_start=datetime(2025, 3, 4, tzinfo=UTC)).day_start is not None


def test_every_issue_of_a_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(
            couriers=(courier("ana", start_depot="nowhere"),),
            stops=(stop("s1"), stop("s1"), stop("heavy", demand=(99,))),
            day_start=datetime(2025, 3, 4),
        )
    assert issues_of(excinfo) == {
        ("couriers.start_depot", "ana"),
        ("stops.id", "s1"),
        ("stops.demand", "heavy"),
        ("day_start", "day"),
    }


def test_invalid_problem_is_a_value_error_whose_message_names_field_and_id() -> None:
    error = InvalidProblem([ProblemIssue("stops.demand", "s9", "demand must not be negative")])
    assert isinstance(error, ValueError)
    assert str(error) == "stops.demand[s9]: demand must not be negative"


def test_fixed_prefix_with_an_unknown_stop_names_the_courier() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(couriers=(courier("ana", fixed_prefix=("ghost",)),))
    assert issues_of(excinfo) == {("couriers.fixed_prefix", "ana")}


def test_a_stop_fixed_to_two_couriers_is_rejected() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(couriers=(courier("ana", fixed_prefix=("s1",)), courier("bo", fixed_prefix=("s1",))))
    assert issues_of(excinfo) == {("couriers.fixed_prefix", "day")}


def test_one_profile_with_two_speeds_names_the_second_courier() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        problem(couriers=(courier("ana"), courier("bo", speed_mps=9.0)))
    assert issues_of(excinfo) == {("couriers.speed", "bo")}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"shift_start_s": 100, "shift_end_s": 50}, "couriers.shift_end"),
        ({"capacity": (-1,)}, "couriers.capacity"),
        ({"available_s": -1}, "couriers.available"),
        ({"speed_mps": 0.0}, "couriers.speed"),
        ({"fixed_cost": -1}, "couriers.fixed_cost"),
        ({"fixed_prefix": ("s1", "s1")}, "couriers.fixed_prefix"),
        ({"breaks": (Break("lunch", 9 * 3600, 9 * 3600, 1800),)}, "couriers.breaks"),
    ],
)
def test_malformed_courier_values_name_the_field_and_the_courier(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        courier("cy", **changes)
    assert issues_of(excinfo) == {(field, "cy")}


def test_break_whose_latest_start_precedes_its_earliest_names_the_break() -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        Break("lunch", 100, 50, 30)
    assert issues_of(excinfo) == {("breaks.latest_start", "lunch")}


@pytest.mark.parametrize(("lat", "lon"), [(91.0, 0.0), (0.0, 181.0), (float("nan"), 0.0)])
def test_impossible_coordinates_are_rejected(lat: float, lon: float) -> None:
    with pytest.raises(InvalidProblem) as excinfo:
        Location(lat, lon)
    assert issues_of(excinfo) == {("location", "")}


def test_planar_coordinates_may_exceed_lat_lon_ranges() -> None:
    assert Location(500.0, 900.0, planar=True).lat == 500.0


def test_courier_available_before_the_shift_still_leaves_at_shift_start() -> None:
    assert courier(shift_start_s=3600, available_s=600).ready_s == 3600
    assert courier(shift_start_s=3600, available_s=5400).ready_s == 5400
    assert courier(shift_start_s=3600).ready_s == 3600


def test_features_list_what_the_problem_needs_from_an_engine() -> None:
    assert problem().features == frozenset()
    rich = problem(
        couriers=(courier(breaks=(Break("lunch", 0, 100, 10),), fixed_prefix=("s1",), start_at=HERE),),
        stops=(stop("s1", penalty=5), stop("s2", windows=(TimeWindow(0, 10), TimeWindow(20, 30)))),
    )
    assert rich.features == {"breaks", "fixed_prefix", "optional_stops", "start_positions", "multiple_windows"}
