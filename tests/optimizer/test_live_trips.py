"""The live day with pickups and second trips, by hand: what is on a van, and when.

Planar days (`EuclideanSource(scale=1)`): the hub at 0, stops along a line, one unit one metre
and one second. Each test checks the day with `check_day` too.
"""

from __future__ import annotations

from optimizer.invariants import check_day
from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.replan import CourierEvent, LivePlan, ReplanPolicy, load_parcels, reoptimize, retime
from optimizer.solution import Route
from optimizer.travel.euclidean import EuclideanSource
from optimizer.trips import inline_reloads, is_reload, with_reloads

SOURCE = EuclideanSource(scale=1)
POLICY = ReplanPolicy(time_limit_s=30.0, iterations=200)
DAY = (TimeWindow(0, 50_000),)


def at(x: float) -> Location:
    return Location(0, x, planar=True)


def day(stops: list[Stop], *, capacity: int, trips: int) -> Problem:
    couriers = tuple(
        Courier(cid, "hub", 0, 100_000, (capacity,), profile="planar", max_trips=trips, reload_s=60)
        for cid in ("c1", "c2")
    )
    return Problem("trips", (Depot("hub", at(0)),), couriers, tuple(stops), ("parcels",))


def live(problem: Problem, *routes: Route) -> LivePlan:
    inline = tuple(inline_reloads(r) for r in routes)
    return LivePlan(with_reloads(problem, (s for r in inline for s in r.stop_ids)), inline, {})


def test_a_later_trip_s_parcels_are_loaded_at_its_reload_once_the_courier_is_seen_past_it() -> None:
    problem = day([Stop(f"s{k}", at(100.0 * k), DAY, 10, (1,)) for k in range(1, 5)], capacity=2, trips=2)
    plan = live(problem, Route("c1", ("s1", "s2", "s3", "s4"), (2,)), Route("c2", ()))
    left = plan.with_event(CourierEvent("d1", "c1", "stop_completed", 110, "s1"))
    assert load_parcels(left, retime(left, SOURCE)).loaded == {"s1": "c1", "s2": "c1"}
    # the clock alone puts them past the reload: nothing more is loaded yet
    later = left.with_event(CourierEvent("p1", "c1", "position", 2_000, position=at(50)))
    assert load_parcels(later, retime(later, SOURCE)).loaded == {"s1": "c1", "s2": "c1"}
    # a stop of the second trip reported: its parcels came aboard at the reload
    served = left.with_event(CourierEvent("d3", "c1", "stop_completed", 900, "s3"))
    loaded = load_parcels(served, retime(served, SOURCE))
    assert loaded.loaded == {"s1": "c1", "s2": "c1", "s3": "c1", "s4": "c1"}
    assert "reload:c1:1" in loaded.departed
    assert check_day(loaded, retime(loaded, SOURCE), source=SOURCE) == ()


def test_a_courier_out_on_a_trip_gets_a_parcel_from_the_hub_only_after_a_reload() -> None:
    """c1 is out with s1 and s2 (a van for 2) and held for a long while; c2 is busy far away.
    A re-plan may give c1 the hub's s3 only on a second trip, never squeezed into this one."""
    stops = [
        Stop("s1", at(100), DAY, 10, (1,)),
        Stop("s2", at(200), DAY, 10, (1,)),
        Stop("s3", at(150), (TimeWindow(0, 3_000),), 10, (1,)),
    ]
    problem = day(stops, capacity=2, trips=2)
    plan = live(problem, Route("c1", ("s1", "s2")), Route("c2", ("s3",)))
    plan = plan.with_event(CourierEvent("h1", "c2", "delay", 0, delay_s=40_000))
    plan = plan.with_event(CourierEvent("d1", "c1", "stop_completed", 110, "s1"))
    better = reoptimize(plan, retime(plan, SOURCE), SOURCE, POLICY)
    c1 = next(r.stop_ids for r in better.routes if r.courier_id == "c1")
    if "s3" in c1:
        assert any(is_reload(s) for s in c1[: c1.index("s3")]), c1
    assert check_day(better, retime(better, SOURCE), source=SOURCE) == ()
