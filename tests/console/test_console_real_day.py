"""The real day in the console, in Chromium against a real `ontime serve`: a courier's second
trip is drawn back through their depot, and pickups are marked as pickups."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.test_real_day_api import real_day
from tests.console.conftest import DISPATCHER_KEY, SCREENSHOTS, Server, solve

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console")]


def test_a_second_trip_is_drawn_through_the_depot_and_pickups_are_marked(browser: Any, server: Server) -> None:
    from playwright.sync_api import expect

    plan = solve(server, real_day())
    li = next(r for r in plan["routes"] if r["courier_id"] == "li")
    assert any(v["kind"] == "reload" for v in li["visits"]), "the day needs Li's second trip"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)  # bounds a wait on a busy machine, no more
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.base + "/console/")
    page.locator("#key").fill(DISPATCHER_KEY)
    page.locator("#signin-form button[type=submit]").click()
    expect.set_options(timeout=60_000)  # the machine may be busy: a timeout only bounds the wait
    try:
        expect(page.locator("#plans-current")).to_contain_text("real-day")  # the newest plan opens at sign-in
    except AssertionError:
        raise AssertionError(f"the plan did not open: {errors}") from None
    route = page.locator("#map path.route[data-courier='li']")
    expect(route).to_have_count(1)
    points = re.findall(r"[ML]([-\d.]+) ([-\d.]+)", route.get_attribute("d") or "")
    depot = points[0]
    # the depot, each visit (the reload at the depot), the depot again
    assert len(points) == len(li["visits"]) + 2
    reload_at = next(k for k, v in enumerate(li["visits"]) if v["kind"] == "reload")
    assert points[reload_at + 1] == depot and points[-1] == depot
    expect(route.locator("title")).to_contain_text("in 2 trips")
    expect(page.locator("#legend button.courier[data-courier='li']")).to_contain_text(
        f"li · {len(li['visits']) - 1} stops"
    )
    # the reload's window (Li's shift) does not stretch the timeline: an hour mark an hour
    assert page.evaluate("() => document.querySelectorAll('#timeline-svg *').length") < 1_000
    pickups = {v["stop_id"] for r in plan["routes"] for v in r["visits"] if v["kind"] == "pickup"}
    marked = page.locator("#map circle.stop.pickup")
    expect(marked).to_have_count(len(pickups))
    assert {marked.nth(k).get_attribute("data-stop") for k in range(len(pickups))} == pickups
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "real-day-trips.png"))
    assert not errors
    context.close()
