"""City-size days: the generator's pickups and trips, the day `ontime bench bigday` plans, a
tiny run of the benchmark writing its table, goals and machine, and the regions engine giving
the same routes on Ray as on the local pool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bigday import build_day, executor_map, main, parse_sizes
from optimizer.engines.regions import RegionsEngine
from optimizer.params import SolveParams
from optimizer.travel.haversine import HaversineSource
from scenarios.executors import LocalExecutor
from scenarios.generate import generate_day


def _plain(day: dict[str, Any]) -> dict[str, Any]:
    """The day without its pickups and trips."""
    for stop in day["stops"]:
        stop.pop("kind", None)
    for courier in day["couriers"]:
        courier.pop("max_trips", None)
        courier.pop("reload_min", None)
    return day


def test_a_share_of_the_stops_are_pickups_and_the_rest_of_the_day_stays_the_same() -> None:
    day = generate_day(200, 12, seed=5, pickup_share=0.2)
    assert sum(1 for s in day["stops"] if s.get("kind") == "pickup") == 40
    assert all(s.get("kind", "pickup") == "pickup" for s in day["stops"])
    assert _plain(day) == generate_day(200, 12, seed=5)


def test_couriers_carry_trips_and_a_reload_time_only_when_they_make_more_than_one() -> None:
    day = generate_day(50, 6, seed=2, max_trips=2, reload_min=15)
    assert {(c["max_trips"], c["reload_min"]) for c in day["couriers"]} == {(2, 15)}
    assert all("max_trips" not in c for c in generate_day(50, 6, seed=2, max_trips=1)["couriers"])
    assert _plain(day) == generate_day(50, 6, seed=2)


@pytest.mark.parametrize(
    ("options", "named"),
    [({"pickup_share": 1.5}, "pickup_share"), ({"max_trips": 0}, "max_trips"), ({"reload_min": -1.0}, "reload_min")],
)
def test_bad_pickup_and_trip_options_are_named(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        generate_day(10, 2, **options)


def test_the_bench_day_has_pickups_and_trips_and_is_planned_without_its_breaks() -> None:
    day = build_day(60, 5, seed=1, pickups=0.25, trips=2, reload_min=15)
    assert sum(1 for s in day.planned.stops if s.is_pickup) == 15
    assert {(c.max_trips, c.reload_s) for c in day.planned.couriers} == {(2, 900)}
    assert all(c.breaks for c in day.real.couriers)
    assert not any(c.breaks for c in day.planned.couriers)
    assert {"pickups", "trips"} <= day.planned.features


def test_sizes_read_as_stops_couriers_budget_and_reference() -> None:
    (size,) = parse_sizes("2000x120:60:300")
    assert (size.stops, size.couriers, size.budget_s, size.reference_s) == (2000, 120, 60.0, 300.0)


def test_a_tiny_run_writes_every_planner_the_goals_and_the_machine(tmp_path: Path) -> None:
    out = tmp_path / "bigday.md"
    runs = main("40x4:2:0.5", 1, 0.2, 2, 15.0, ["local"], ["regions", "seeds"], 20, 10, out, "tiny")
    text = out.read_text(encoding="utf-8")
    for row in ("| regions | local | 1.", "| seeds | local |", "| regions | local | 20 it |", "| pyvrp | one core |"):
        assert row in text
    assert "- Command: `tiny`" in text and "cores" in text and "## Goals" in text
    figures = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert [r["who"] for r in figures["runs"]] == [r.who for r in runs] == ["regions", "seeds", "regions", "pyvrp"]
    assert all(r.violations == 0 and r.unassigned + sum(len(x[1]) for x in r.routes) == 40 for r in runs)


@pytest.fixture(scope="module")
def on_ray() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    from scenarios.executors import RayExecutor

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    executor = RayExecutor()  # joins the Ray started above
    try:
        yield executor
    finally:
        executor.shutdown()


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_the_regions_engine_plans_the_same_routes_on_ray_as_on_the_local_pool(on_ray: Any) -> None:
    day = build_day(120, 8, seed=3, pickups=0.2, trips=2, reload_min=15)
    matrix = HaversineSource().matrix(day.planned)
    params = SolveParams(time_limit_s=60, seed=2, iterations=60)
    pool = LocalExecutor(2)
    try:
        local = RegionsEngine(executor_map(pool), workers=2, region_stops=30, rounds=2).solve(
            day.planned, matrix, params
        )
    finally:
        pool.shutdown()
    ray = RegionsEngine(executor_map(on_ray), workers=2, region_stops=30, rounds=2).solve(day.planned, matrix, params)
    assert ray.routes == local.routes and ray.objective == local.objective
    assert len(local.assigned_stop_ids) + len(local.unassigned) == 120
