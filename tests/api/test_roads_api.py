"""Road maps through the API: the maps a service knows and their streets, a day planned on a
map (or refused one it does not know), its routes along the streets, a courier's next leg
from where they reported."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from optimizer.model import Location
from optimizer.travel.roads import LEX, RoadNetwork, RoadSource
from tests.api.conftest import InProcess, database, in_process, wait_solved
from tests.api.test_scenarios_api import wait_done
from tests.maps import PORTO_CENTRE, crop, day_in_box, embedded

MAP = "porto-centre"


@pytest.fixture(scope="module")
def map_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return crop(embedded("porto"), tmp_path_factory.mktemp("maps") / f"{MAP}.osm.pbf", PORTO_CENTRE)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("road-cache")


@pytest.fixture(scope="module")
def source(map_file: Path, cache: Path) -> RoadSource:
    return RoadSource(RoadNetwork.open(map_file, cache))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, map_file: Path, cache: Path) -> Iterator[InProcess]:
    folder = tmp_path_factory.mktemp("roads-app")
    settings = {"ONTIME_ROAD_MAP": str(map_file), "ONTIME_ROAD_CACHE": str(cache), "ONTIME_POLISH_TIME_LIMIT_S": "0"}
    with database("sqlite", folder) as url, in_process(url, **settings) as running:
        yield running


@pytest.fixture(scope="module")
def day(source: RoadSource) -> dict[str, Any]:
    return day_in_box(source, PORTO_CENTRE, 24, 2, seed=4)


@pytest.fixture(scope="module")
def plan(app: InProcess, day: dict[str, Any]) -> dict[str, Any]:
    with app.client() as client:
        answer = client.post("/v1/plans", json={"problem": day, "time_limit_s": 2, "iterations": 300})
        assert answer.status_code == 202, answer.text
        solved = wait_solved(client, answer.json()["id"])
    assert solved["status"] == "solved", solved.get("error")
    return solved


def test_the_service_lists_its_map_and_draws_its_streets(app: InProcess) -> None:
    with app.client("planner") as client:
        maps = client.get("/v1/maps").json()
        assert maps["attribution"] == "© OpenStreetMap contributors"
        (only,) = maps["maps"]
        assert only["name"] == MAP and only["default"] and only["nodes"] > 1000
        west, south, east, north = PORTO_CENTRE
        box = {"west": west, "south": south, "east": east, "north": north}
        roads = client.get(f"/v1/maps/{MAP}/roads", params=box).json()
        assert roads["attribution"] == "© OpenStreetMap contributors" and roads["kept_to"] == "road"
        assert len(roads["lines"]) > 300
        assert sum(len(points) for _, points in roads["lines"]) > len(roads["lines"]) * 2  # ways chained
        for cls, points in roads["lines"][:50]:
            assert 0 <= cls < len(roads["classes"])
            assert all(south - 0.01 <= lat <= north + 0.01 and west - 0.01 <= lon <= east + 0.01 for lat, lon in points)
        assert client.get("/v1/maps/elsewhere/roads", params=box).status_code == 404
        empty = client.get(f"/v1/maps/{MAP}/roads", params=box | {"east": west}).json()
        assert empty["error"]["details"][0]["field"] == "bbox"


def test_a_problem_naming_a_map_the_service_lacks_is_refused_naming_the_field(
    app: InProcess, day: dict[str, Any]
) -> None:
    with app.client() as client:
        answer = client.post("/v1/plans", json={"problem": day | {"road_map": "lisbon"}, "time_limit_s": 1})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["details"] == [{"field": "road_map", "id": "lisbon", "message": error["details"][0]["message"]}]
    assert "porto-centre" in error["message"] and "straight" in error["message"]


def test_routes_follow_the_streets_with_road_distances(
    app: InProcess, plan: dict[str, Any], day: dict[str, Any], source: RoadSource
) -> None:
    stops = {s["id"]: Location(s["lat"], s["lon"]) for s in day["stops"]}
    with app.client() as client:
        paths = client.get(f"/v1/plans/{plan['id']}/paths").json()
    assert paths["road_map"] == MAP and paths["attribution"] == "© OpenStreetMap contributors"
    routes = {r["courier_id"]: r for r in plan["routes"] if r["visits"]}
    assert routes, "the day was planned with no route"
    for courier in paths["couriers"]:
        route = routes.get(courier["courier_id"])
        if route is None:
            continue
        legs = courier["legs"]
        assert [leg["to_id"] for leg in legs][:-1] == [v["stop_id"] for v in route["visits"]]
        assert legs[0]["from_id"] == "hub" and legs[-1]["to_id"] == "hub"
        for leg in legs:
            if leg["to_id"] in stops:
                end = stops[leg["to_id"]]
                assert leg["points"][-1] == pytest.approx([end.lat, end.lon])  # ends at the door
        assert sum(len(leg["points"]) for leg in legs) > 4 * len(legs)  # along streets, not straight
        # the route's distance is road distance: the road matrix's along its legs (distances are
        # the first courier profile's fastest paths)
        first = day["couriers"][0]
        profile, cap = source.network.profiles.metric_for(first.get("profile") or "", first["speed_kmh"] / 3.6)
        hub = Location(day["depots"][0]["lat"], day["depots"][0]["lon"])
        order = [hub, *(stops[v["stop_id"]] for v in route["visits"]), hub]
        metres = 0.0
        for a, b in itertools.pairwise(order):
            times, lex = source.weights([a, b], profile, cap)
            metres += float(lex[0, 1] - LEX * times[0, 1]) / 10
        assert route["distance_km"] == pytest.approx(metres / 1000, rel=0.01, abs=0.01)


def test_a_courier_sees_their_next_leg_from_where_they_reported(
    app: InProcess, plan: dict[str, Any], day: dict[str, Any]
) -> None:
    route = next(r for r in plan["routes"] if r["courier_id"] == "c01" and r["visits"])
    first = next(s for s in day["stops"] if s["id"] == route["visits"][0]["stop_id"])
    with app.client("c01") as phone:
        before = phone.get(f"/v1/plans/{plan['id']}/couriers/c01/route").json()
        assert before["next_leg"] and before["next_leg"][-1] == pytest.approx([first["lat"], first["lon"]])
        assert phone.get(f"/v1/plans/{plan['id']}/paths", params={"courier_id": "c02"}).status_code == 403
        assert phone.get(f"/v1/plans/{plan['id']}/paths").status_code == 403
        own = phone.get(f"/v1/plans/{plan['id']}/paths", params={"courier_id": "c01"}).json()
        assert [c["courier_id"] for c in own["couriers"]] == ["c01"]
        where = {"lat": PORTO_CENTRE[1] + 0.004, "lon": PORTO_CENTRE[0] + 0.006}
        report = {"event_id": "pos-1", "courier_id": "c01", "type": "position", "at": route["start"], **where}
        assert phone.post(f"/v1/plans/{plan['id']}/events", json=report).status_code == 200
        after = phone.get(f"/v1/plans/{plan['id']}/couriers/c01/route").json()
    assert after["next_leg"][0] == pytest.approx([where["lat"], where["lon"]])
    assert after["next_leg"][-1] == pytest.approx([first["lat"], first["lon"]])
    assert len(after["next_leg"]) > 3


def test_a_problem_may_ask_for_straight_lines(app: InProcess, day: dict[str, Any]) -> None:
    with app.client() as client:
        answer = client.post("/v1/plans", json={"problem": day | {"road_map": "straight"}, "time_limit_s": 1})
        assert answer.status_code == 202, answer.text
        solved = wait_solved(client, answer.json()["id"])
        paths = client.get(f"/v1/plans/{solved['id']}/paths").json()
    assert paths["road_map"] is None and paths["attribution"] is None
    assert all(len(leg["points"]) == 2 for c in paths["couriers"] for leg in c["legs"])


def test_what_if_scenarios_are_planned_on_the_base_days_roads(
    app: InProcess, plan: dict[str, Any], day: dict[str, Any]
) -> None:
    """A scenario of the plan runs on its road map: the base's distance is the road plan's kind of
    distance, not the straight-line one a `straight` base gives."""
    fast = {"time_limit_s": 1, "iterations": 150, "seed": 3}
    variants = [{"name": "one courier off", "changes": [{"kind": "remove_couriers", "count": 1}]}]
    with app.client("planner") as client:
        runs = {}
        for name, base in (
            ("roads", {"plan_id": plan["id"]}),
            ("straight", {"problem": day | {"road_map": "straight"}}),
        ):
            answer = client.post("/v1/scenarios", json={"base": base, "variants": variants, **fast})
            assert answer.status_code == 202, answer.text
            runs[name] = wait_done(client, answer.json()["id"])
    assert runs["roads"]["status"] == runs["straight"]["status"] == "done"
    on_roads = runs["roads"]["results"][0]["kpis"]["distance_km"]
    straight = runs["straight"]["results"][0]["kpis"]["distance_km"]
    assert on_roads == pytest.approx(plan["kpis"]["distance_km"], rel=0.25)
    assert on_roads != pytest.approx(straight, rel=0.02)


def test_a_delay_on_a_road_map_is_re_timed_and_re_optimized_on_the_roads(app: InProcess, plan: dict[str, Any]) -> None:
    """The live loop on roads: a long delay re-times the courier (the road matrix, remembered) and
    the re-optimization runs in the solver's worker process (the source pickled, the map opened
    there from the cache)."""
    route = next(r for r in plan["routes"] if r["courier_id"] == "c02" and r["visits"])
    with app.client("c02") as phone:
        report = {"event_id": "late-1", "courier_id": "c02", "type": "delay", "at": route["start"], "delay_min": 90}
        answer = phone.post(f"/v1/plans/{plan['id']}/events", json=report)
        assert answer.status_code == 200, answer.text
        again = phone.post(f"/v1/plans/{plan['id']}/events", json=report)  # idempotent
        assert again.json()["plan_version"] == answer.json()["plan_version"]
    with app.client() as client:
        after = client.get(f"/v1/plans/{plan['id']}").json()
        paths = client.get(f"/v1/plans/{plan['id']}/paths").json()
    moved = next(r for r in after["routes"] if r["courier_id"] == "c02")
    if moved["visits"]:
        assert moved["visits"][0]["eta"] > route["visits"][0]["eta"]
    assert after["version"] >= plan["version"]
    assert all(leg["points"] for c in paths["couriers"] for leg in c["legs"])


def test_paths_before_any_report_are_all_ahead_and_idle_couriers_drive_nowhere(
    app: InProcess, day: dict[str, Any]
) -> None:
    """A fresh plan: no leg is driven, each next leg leads from the hub to the first stop; a
    courier with no stops has no legs."""
    first = day["couriers"][0]
    spare = first | {"id": "spare", "shift_end": first["shift_start"][:11] + "08:30:00+00:00", "breaks": []}
    idle = day | {"couriers": [*day["couriers"], spare]}
    with app.client() as client:
        answer = client.post("/v1/plans", json={"problem": idle, "time_limit_s": 2, "iterations": 200})
        assert answer.status_code == 202, answer.text
        plan = wait_solved(client, answer.json()["id"])
        paths = client.get(f"/v1/plans/{plan['id']}/paths").json()
    routes = {r["courier_id"]: r for r in plan["routes"]}
    for courier in paths["couriers"]:
        visits = routes[courier["courier_id"]]["visits"]
        if not visits:
            assert courier["legs"] == [] and courier["next_leg"] is None
            continue
        assert not any(leg["done"] for leg in courier["legs"])
        assert courier["next_leg"]["from_id"] == "hub" and courier["next_leg"]["to_id"] == visits[0]["stop_id"]
    assert any(not routes[c["courier_id"]]["visits"] for c in paths["couriers"])
