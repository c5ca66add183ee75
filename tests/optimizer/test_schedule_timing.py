"""`schedule()` on hand-timed routes: waits, leaving late, windows, lateness, loads, shifts,
breaks and mid-day starts.

Every day here is planar with `EuclideanSource(scale=1)`: one unit of x is one metre and one
second, so every ETA below can be checked with a pencil. The depot is at x = 0.
"""

from __future__ import annotations

import pytest

from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.schedule import schedule, schedule_route
from optimizer.solution import Route
from optimizer.travel.euclidean import EuclideanSource
from optimizer.travel.matrix import TravelMatrix


def at(x: float) -> Location:
    return Location(0.0, x, planar=True)


def stop(stop_id: str, x: float, *windows: tuple[int, int], service_s: int = 0, demand: int | None = None) -> Stop:
    return Stop(
        stop_id,
        at(x),
        tuple(TimeWindow(a, b) for a, b in windows),
        service_s,
        () if demand is None else (demand,),
    )


def day(stops: list[Stop], courier: Courier | None = None) -> tuple[Problem, TravelMatrix]:
    dims = ("parcels",) if any(s.demand for s in stops) else ()
    courier = courier or Courier("ana", "hub", 0, 10_000, (5,) if dims else ())
    problem = Problem("line", (Depot("hub", at(0)),), (courier,), tuple(stops), dims)
    return problem, EuclideanSource(scale=1).matrix(problem)


def test_courier_leaves_the_depot_late_enough_to_arrive_as_the_first_window_opens() -> None:
    problem, matrix = day([stop("a", 10, (100, 200), service_s=5), stop("b", 30, (0, 500), service_s=5)])
    timed = schedule_route(problem, matrix, 0, ("a", "b"))
    # Leave at 100 - 10 = 90; a: 100..105; b: 105 + 20 = 125..130; home 130 + 30 = 160.
    assert timed.start_s == 90
    assert [(v.arrival_s, v.start_s, v.wait_s, v.departure_s) for v in timed.visits] == [
        (100, 100, 0, 105),
        (125, 125, 0, 130),
    ]
    assert (timed.end_s, timed.duration_s, timed.distance_m, timed.travel_s, timed.wait_s) == (160, 70, 60, 60, 0)
    assert timed.violations == ()


def test_courier_waits_at_a_later_stop_whose_window_is_not_open_yet() -> None:
    problem, matrix = day([stop("a", 10, (100, 200), service_s=5), stop("b", 30, (0, 500), service_s=5)])
    timed = schedule_route(problem, matrix, 0, ("b", "a"))
    # b: 30..35; a: arrive 35 + 20 = 55, wait 45, serve 100..105; home 115.
    assert [(v.stop_id, v.arrival_s, v.start_s, v.wait_s) for v in timed.visits] == [
        ("b", 30, 30, 0),
        ("a", 55, 100, 45),
    ]
    assert (timed.start_s, timed.end_s, timed.wait_s) == (0, 115, 45)


def test_service_past_the_window_end_is_late_by_the_difference() -> None:
    problem, matrix = day([stop("a", 10, (0, 5))])
    timed = schedule_route(problem, matrix, 0, ("a",))
    (visit,) = timed.visits
    assert (visit.start_s, visit.late_s) == (10, 5)
    assert (timed.late_s, timed.late_stops) == (5, 1)
    assert [(v.kind, v.stop_id, v.amount) for v in timed.violations] == [("late", "a", 5)]


def test_service_starts_in_the_first_window_still_open_on_arrival() -> None:
    problem, matrix = day([stop("a", 10, (0, 5), (50, 60), (100, 200))])
    (visit,) = schedule_route(problem, matrix, 0, ("a",)).visits
    # Leaving at 0 arrives at 10: the first window closed at 5, the second opens at 50.
    assert (visit.arrival_s, visit.start_s, visit.window) == (10, 50, TimeWindow(50, 60))
    assert visit.late_s == 0


def test_arriving_after_every_window_is_late_against_the_last_one() -> None:
    problem, matrix = day([stop("a", 10, (0, 2), (4, 6))])
    (visit,) = schedule_route(problem, matrix, 0, ("a",)).visits
    assert (visit.window, visit.late_s) == (TimeWindow(4, 6), 4)


def test_load_on_board_drops_stop_by_stop_and_overload_is_a_capacity_violation() -> None:
    problem, matrix = day([stop("a", 10, (0, 500), demand=3), stop("b", 20, (0, 500), demand=4)])
    timed = schedule_route(problem, matrix, 0, ("a", "b"))
    assert [v.load_on_arrival for v in timed.visits] == [(7,), (4,)]
    assert timed.load == (7,)
    assert [(v.kind, v.amount) for v in timed.violations] == [("capacity", 2)]
    assert "carries 7 parcels, capacity 5" in timed.violations[0].message


def test_return_after_the_shift_end_is_a_shift_violation() -> None:
    problem, matrix = day([stop("a", 30, (0, 500))], Courier("ana", "hub", 0, 50))
    timed = schedule_route(problem, matrix, 0, ("a",))
    assert timed.end_s == 60
    assert [(v.kind, v.stop_id, v.amount) for v in timed.violations] == [("shift_end", None, 10)]


def test_unknown_stop_is_reported_and_the_rest_of_the_route_still_timed() -> None:
    problem, matrix = day([stop("a", 10, (0, 500))])
    timed = schedule_route(problem, matrix, 0, ("ghost", "a"))
    assert [v.stop_id for v in timed.visits] == ["a"]
    assert [(v.kind, v.stop_id) for v in timed.violations] == [("unknown_stop", "ghost")]


def test_schedule_lists_only_given_routes_and_rejects_unknown_couriers() -> None:
    problem, matrix = day([stop("a", 10, (0, 500))])
    assert schedule(problem, matrix, []).routes == ()
    with pytest.raises(KeyError, match="bo"):
        schedule(problem, matrix, [Route("bo", ("a",))])


def test_empty_route_starts_and_ends_at_ready_time() -> None:
    problem, matrix = day([stop("a", 10, (0, 500))], Courier("ana", "hub", 300, 1000))
    timed = schedule(problem, matrix, [Route("ana", ())]).route("ana")
    assert (timed.start_s, timed.end_s, timed.distance_m, timed.visits) == (300, 300, 0, ())


def test_mid_day_start_leaves_the_position_at_available_time_not_earlier() -> None:
    courier = Courier("ana", "hub", 0, 10_000, start_at=at(50), available_s=1000)
    problem, matrix = day([stop("a", 60, (2000, 3000)), stop("b", 40, (0, 5000))], courier)
    timed = schedule_route(problem, matrix, 0, ("a", "b"))
    # From x=50 at 1000 (no leaving late from a position): a at 1010, waits to 2000;
    # b at 2020; home (x=0) at 2060. Distance 10 + 20 + 40 = 70.
    assert timed.start_s == 1000
    assert [(v.arrival_s, v.start_s) for v in timed.visits] == [(1010, 2000), (2020, 2020)]
    assert (timed.end_s, timed.distance_m) == (2060, 70)


def test_availability_before_the_shift_start_does_not_move_the_departure_earlier() -> None:
    courier = Courier("ana", "hub", 500, 10_000, start_at=at(50), available_s=100)
    problem, matrix = day([stop("a", 60, (0, 5000))], courier)
    timed = schedule_route(problem, matrix, 0, ("a",))
    assert (timed.start_s, timed.visits[0].arrival_s) == (500, 510)


def lunch(earliest: int, latest: int, duration: int) -> Courier:
    return Courier("ana", "hub", 0, 10_000, breaks=(Break("lunch", earliest, latest, duration),))


def test_break_is_put_off_until_the_next_leg_would_pass_its_latest_start() -> None:
    problem, matrix = day([stop("a", 100, (0, 1000)), stop("b", 200, (0, 1000))], lunch(50, 150, 30))
    timed = schedule_route(problem, matrix, 0, ("a", "b"))
    # a at 100 (150 not passed); reaching b would be 200 > 150, so the break is 100..130.
    assert [(b.break_id, b.start_s, b.end_s) for b in timed.breaks] == [("lunch", 100, 130)]
    assert [v.arrival_s for v in timed.visits] == [100, 230]
    assert (timed.start_s, timed.end_s) == (0, 430)
    assert timed.violations == ()


def test_break_is_taken_in_waiting_that_would_happen_anyway() -> None:
    problem, matrix = day([stop("a", 100, (0, 1000)), stop("b", 200, (300, 1000))], lunch(50, 150, 30))
    timed = schedule_route(problem, matrix, 0, ("a", "b"))
    # After a (100) the break 100..130 still reaches b at 230 <= 300, where service starts anyway.
    assert [(b.start_s, b.end_s) for b in timed.breaks] == [(100, 130)]
    assert [(v.arrival_s, v.start_s) for v in timed.visits] == [(100, 100), (230, 300)]
    assert timed.end_s == 500


def test_break_not_taken_by_the_last_stop_is_taken_before_the_drive_home() -> None:
    problem, matrix = day([stop("a", 10, (0, 1000))], lunch(100, 200, 30))
    timed = schedule_route(problem, matrix, 0, ("a",))
    assert [(b.start_s, b.end_s) for b in timed.breaks] == [(100, 130)]
    assert timed.end_s == 140


def test_break_whose_latest_start_passed_before_the_courier_is_ready_is_late() -> None:
    courier = Courier("ana", "hub", 50, 10_000, breaks=(Break("lunch", 0, 10, 30),))
    problem, matrix = day([stop("a", 100, (0, 1000))], courier)
    timed = schedule_route(problem, matrix, 0, ("a",))
    assert [(b.start_s, b.end_s) for b in timed.breaks] == [(50, 80)]
    assert [(v.kind, v.amount) for v in timed.violations] == [("break_late", 40)]


def test_two_breaks_are_taken_in_order_each_inside_its_window() -> None:
    courier = Courier("ana", "hub", 0, 10_000, breaks=(Break("late", 400, 500, 20), Break("early", 50, 150, 10)))
    problem, matrix = day([stop("a", 100, (0, 5000)), stop("b", 300, (0, 5000)), stop("c", 400, (0, 5000))], courier)
    timed = schedule_route(problem, matrix, 0, ("a", "b", "c"))
    # early: put off past a (100) but not past b (300 > 150): 100..110; b at 310;
    # late: reaching c at 410 <= 500, put off; taken before the drive home at 410..430.
    assert [(b.break_id, b.start_s, b.end_s) for b in timed.breaks] == [("early", 100, 110), ("late", 410, 430)]
    assert [v.arrival_s for v in timed.visits] == [100, 310, 410]
    assert timed.end_s == 830
    assert timed.violations == ()
