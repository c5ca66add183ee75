"""A city-size day through the API: from 1,000 stops `auto` plans with the regions engine
(sectors side by side on a process pool of the solve's own), and `engine: "regions"` asks for
it on any day; the plan keeps every window, capacity and trip, on both store backends."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from optimizer.engines.auto import REGIONS_FROM
from scenarios.generate import generate_day
from tests.api.conftest import InProcess, wait_solved

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("two-cores")]


def planned(app: InProcess, day: dict[str, Any], **body: Any) -> dict[str, Any]:
    with app.client() as client:
        answer = client.post("/v1/plans", json={"problem": day, "time_limit_s": 300, **body})
        assert answer.status_code == 202, answer.text
        plan = wait_solved(client, answer.json()["id"], timeout_s=300)
    assert plan["status"] == "solved", plan.get("error")
    return plan


def test_a_city_day_is_planned_on_regions_and_keeps_every_rule(app: InProcess) -> None:
    day = generate_day(REGIONS_FROM, 60, seed=5, pickup_share=0.2, max_trips=2, reload_min=15)
    for courier in day["couriers"]:  # breaks are placed after planning, and may make a stop late
        courier.pop("breaks")
    plan = planned(app, day, iterations=200)
    assert plan["engine"] == "regions"
    served = Counter(v["stop_id"] for r in plan["routes"] for v in r["visits"] if v["kind"] != "reload")
    assert all(n == 1 for n in served.values())
    assert set(served) | {u["stop_id"] for u in plan["unassigned"]} == {s["id"] for s in day["stops"]}
    assert plan["kpis"]["late_stops"] == 0
    assert any(v["kind"] == "pickup" for r in plan["routes"] for v in r["visits"])


def test_regions_can_be_asked_for_by_name_and_a_small_day_is_the_same_plan_every_time(app: InProcess) -> None:
    day = generate_day(60, 6, seed=2, pickup_share=0.2)
    for courier in day["couriers"]:  # asked for by name, as "pyvrp", it does not model breaks
        courier.pop("breaks")
    first = planned(app, day, engine="regions", iterations=60)
    again = planned(app, day, engine="regions", iterations=60)
    assert first["engine"] == again["engine"] == "regions"
    assert first["routes"] == again["routes"]
    assert first["unassigned"] == [] and first["kpis"]["late_stops"] == 0
