"""The console on a road map, in Chromium against a real `ontime serve` that plans on a piece of
central Porto (an OpenStreetMap extract cropped to ~3.5k nodes).

The dispatcher's map draws every route along the streets (many more points than stops, exactly
the points `GET /paths` gives) over the map's own streets (no tile server is set), credits
OpenStreetMap, draws a leg fainter once its stop is reported served (without asking for the
paths again: they are fetched once per plan version), and the courier's phone shows the way to
the next stop along the streets with the streets around it. No page logs a console error.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.server_process import running_server, server_env
from optimizer.travel.roads import RoadNetwork, RoadSource
from scenarios.generate import generate_day
from scenarios.maps import ATTRIBUTION, on_streets
from tests.console.conftest import DISPATCHER_KEY, SCREENSHOTS, Server, courier_key, solve
from tests.maps import PORTO_CENTRE, crop, embedded

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console")]

STOPS, COURIERS, SEED = 40, 4, 11
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
POINT = re.compile(r"[ML](-?[\d.]+) (-?[\d.]+)")


@pytest.fixture(scope="module")
def porto(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Central Porto as a map file of its own, and an empty cache folder for the service."""
    work = tmp_path_factory.mktemp("porto-map")
    cache = work / "cache"
    cache.mkdir()
    return crop(embedded("porto"), work / "porto-centre.osm.pbf", PORTO_CENTRE), cache


@pytest.fixture(scope="module")
def street_day(porto: tuple[Path, Path]) -> dict[str, Any]:
    """A generated day moved into central Porto: stops at random points of the box, the hub at
    its centre, then every place onto the nearest street."""
    road_map, cache = porto
    day = generate_day(STOPS, COURIERS, SEED, city="porto")
    rng = random.Random(SEED)
    west, south, east, north = PORTO_CENTRE
    for stop in day["stops"]:
        stop["lat"], stop["lon"] = rng.uniform(south, north), rng.uniform(west, east)
    for depot in day["depots"]:
        depot["lat"], depot["lon"] = (south + north) / 2, (west + east) / 2
    return on_streets(day, RoadSource(RoadNetwork.open(road_map, cache)))


@pytest.fixture(scope="module")
def road_server(
    tmp_path_factory: pytest.TempPathFactory, porto: tuple[Path, Path], street_day: dict[str, Any]
) -> Iterator[Server]:
    """`ontime serve` with central Porto as its road map (and no tile server)."""
    road_map, cache = porto
    work = tmp_path_factory.mktemp("roads-server")
    keys = [f"dispatcher:{DISPATCHER_KEY}"]
    keys += [f"courier:{c['id']}:{courier_key(c['id'])}" for c in street_day["couriers"]]
    env = server_env(
        f"sqlite:///{work / 'ontime.sqlite'}",
        ",".join(keys),
        ONTIME_ROAD_MAP=str(road_map),
        ONTIME_ROAD_CACHE=str(cache),
    )
    with running_server(env, work / "server.log") as process:
        yield Server(process)


def points_in(d: str | None) -> int:
    return len(POINT.findall(d or ""))


def open_page(browser: Any, viewport: dict[str, int], errors: list[str], name: str) -> Any:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(60_000)  # bounds a wait on a busy machine, no more
    page.on("console", lambda m: errors.append(f"{name}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{name}: uncaught {e}"))
    return page


def sign_in(page: Any, server: Server, path: str, key: str) -> None:
    page.goto(server.base + path)
    page.locator("#key").fill(key)
    page.locator("#signin-form button[type=submit]").click()


def test_routes_follow_the_streets_over_the_maps_own_roads_and_the_courier_sees_the_way(
    browser: Any, road_server: Server, street_day: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    plan = solve(road_server, street_day)
    plan_id = plan["id"]
    used = [r for r in plan["routes"] if r["visits"]]
    assert len(used) >= 2, "the day needs routes to draw"
    paths = road_server.get(f"/v1/plans/{plan_id}/paths", DISPATCHER_KEY)
    assert paths["road_map"] == "porto-centre"
    drawn = {c["courier_id"]: sum(len(leg["points"]) for leg in c["legs"]) for c in paths["couriers"]}

    errors: list[str] = []
    desk = open_page(browser, DESKTOP, errors, "dispatcher")
    asked_paths: list[str] = []
    desk.on("request", lambda r: asked_paths.append(r.url) if "/paths" in r.url else None)
    sign_in(desk, road_server, "/console/", DISPATCHER_KEY)
    expect(desk.locator("#plans-current")).to_contain_text(plan["name"])  # the newest plan opens at sign-in

    # Every route along the streets: exactly the API's points, many more than its stops.
    along = desk.locator("#map path.route[data-along='streets']")
    expect(along).to_have_count(len(used))
    for route in used:
        courier_id = route["courier_id"]
        path = desk.locator(f"#map path.route[data-courier='{courier_id}']")
        expect(path).to_have_count(1)
        points = points_in(path.get_attribute("d"))
        assert points == drawn[courier_id]
        assert points > 5 * (len(route["visits"]) + 1), f"{courier_id}'s path does not follow the streets"
    expect(desk.locator("#map circle.stop")).to_have_count(STOPS)

    # The map's own streets underneath the routes, the major ones drawn apart from the minor.
    roads = desk.locator("#map > g.roads")
    expect(roads).to_have_count(1)
    assert desk.locator("#map > g").first.get_attribute("class") == "roads"
    assert int(roads.get_attribute("data-lines") or 0) > 200
    classes = roads.locator("path.road").evaluate_all(
        "ps => ps.map(p => [p.getAttribute('class'), p.getAttribute('d')])"
    )
    assert sum(points_in(d) for _, d in classes) > 1000
    assert {"road minor", "road mid"} <= {weight for weight, _ in classes}, classes
    expect(desk.locator("#map-attribution")).to_be_visible()
    expect(desk.locator("#map-attribution")).to_have_text(ATTRIBUTION)
    asked = len(asked_paths)

    # A courier reports their first stop served: its leg is drawn as driven, the paths are not
    # asked for again unless the plan's version changed.
    courier = max(used, key=lambda r: len(r["visits"]))
    courier_id = courier["courier_id"]
    first = courier["visits"][0]
    event = {
        "event_id": f"roads-{courier_id}-1",
        "courier_id": courier_id,
        "type": "stop_completed",
        "stop_id": first["stop_id"],
        "at": first["eta"],
    }
    answer = httpx.post(
        road_server.base + f"/v1/plans/{plan_id}/events",
        json=event,
        headers=road_server.headers(courier_key(courier_id)),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    driven = desk.locator(f"#map path.route-driven[data-courier='{courier_id}']")
    expect(driven).to_have_count(1)
    first_leg = next(c for c in paths["couriers"] if c["courier_id"] == courier_id)["legs"][0]
    assert points_in(driven.get_attribute("d")) == len(first_leg["points"])
    expect(desk.locator("#driven-key")).to_be_visible()
    new_versions = road_server.get(f"/v1/plans/{plan_id}", DISPATCHER_KEY)["version"] - plan["version"]
    assert asked == 1 and len(asked_paths) - asked <= new_versions, asked_paths
    SCREENSHOTS.mkdir(exist_ok=True)
    desk.locator("#day").screenshot(path=str(SCREENSHOTS / "roads-dispatcher.png"))

    # The courier's phone: the way to their next stop along the streets, over the streets.
    route = road_server.get(f"/v1/plans/{plan_id}/couriers/{courier_id}/route", courier_key(courier_id))
    next_leg = route["next_leg"]
    assert next_leg and len(next_leg) > 2, "the next leg should follow the streets"
    phone = open_page(browser, PHONE, errors, "courier")
    sign_in(phone, road_server, f"/console/courier/?plan={plan_id}", courier_key(courier_id))
    expect(phone.locator("#next-card")).to_be_visible()
    leg = phone.locator("#next-map path.next-leg")
    expect(leg).to_have_count(1)
    assert points_in(leg.get_attribute("d")) == len(next_leg)
    expect(phone.locator("#next-map circle.you")).to_have_count(1)
    expect(phone.locator("#next-map circle.next-stop")).to_have_count(1)
    expect(phone.locator("#next-map g.roads path.road").first).to_be_attached()
    expect(phone.locator("#next-attribution")).to_have_text(ATTRIBUTION)
    expect(phone.locator("#next-what")).not_to_be_empty()
    phone.screenshot(path=str(SCREENSHOTS / "roads-courier.png"))

    assert not errors, errors
    desk.context.close()
    phone.context.close()
