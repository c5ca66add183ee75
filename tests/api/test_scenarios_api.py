"""What-if scenarios and a plan's quality figures through the HTTP API (CONTRACTS.md 3).

The app in process per store backend and one solved 200-stop day (the fixtures of `tests/api`);
scenario runs use a small iteration budget so each solves in about a second. A run cut short by
a kill -9 is the server process's business: `tests/api/test_live_day.py`.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from scenarios.generate import generate_day
from tests.api.conftest import DAY, InProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api-scenarios")]

KPIS = {
    "couriers_used",
    "distance_km",
    "working_hours",
    "late_stops",
    "late_minutes",
    "on_time_rate",
    "unassigned",
    "cost",
}
FAST = {"time_limit_s": 1, "iterations": 60, "seed": 3}


def wait_done(client: httpx.Client, scenario_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = client.get(f"/v1/scenarios/{scenario_id}")
        assert answer.status_code == 200, answer.text
        run: dict[str, Any] = answer.json()
        if run["status"] in ("done", "failed"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"scenario {scenario_id} not done in {timeout_s} s")


def small_day() -> dict[str, Any]:
    return generate_day(30, 4, seed=5, date=DAY)


def test_a_plan_based_scenario_compares_each_variant_with_a_base_solved_alike(
    app: InProcess, app_plan: dict[str, Any]
) -> None:
    body = {
        "base": {"plan_id": app_plan["id"]},
        "variants": [
            {"name": "two couriers off", "changes": [{"kind": "remove_couriers", "count": 2}]},
            {
                "name": "festival",
                "changes": [{"kind": "demand_scale", "factor": 1.3}, {"kind": "traffic", "factor": 1.2}],
            },
        ],
        **FAST,
    }
    with app.client("planner") as client:
        answer = client.post("/v1/scenarios", json=body)
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "queued"
        run = wait_done(client, answer.json()["id"])
    assert run["status"] == "done", run.get("error")
    names = [r["name"] for r in run["results"]]
    assert names == ["base", "two couriers off", "festival"]
    base = run["results"][0]
    assert set(base["kpis"]) >= KPIS
    assert base["kpis"]["stops"] == 200
    for variant in run["results"][1:]:
        assert KPIS <= set(variant["kpis"]) <= set(base["kpis"])
        for name, change in variant["delta"].items():
            assert change == pytest.approx(variant["kpis"][name] - base["kpis"][name], abs=1e-6), name
    assert run["results"][2]["kpis"]["stops"] == 260  # demand x1.3
    assert run["iterations"] == 60 and run["seed"] == 3


def test_the_same_request_gives_the_same_figures(app: InProcess) -> None:
    body = {
        "base": {"problem": small_day()},
        "variants": [{"name": "rush hours", "changes": [{"kind": "traffic", "profile": [["07:30", "09:30", 1.4]]}]}],
        **FAST,
    }
    with app.client("dispatcher") as client:
        first = wait_done(client, client.post("/v1/scenarios", json=body).json()["id"])
        second = wait_done(client, client.post("/v1/scenarios", json=body).json()["id"])
    assert first["status"] == second["status"] == "done"
    assert [r["kpis"] for r in first["results"]] == [r["kpis"] for r in second["results"]]


@pytest.mark.parametrize(
    ("variants", "field", "words"),
    [
        (
            [{"name": "x", "changes": [{"kind": "traffic", "factor": "fast"}]}],
            "variants[0].changes[0].factor",
            "number",
        ),
        (
            [
                {"name": "ok", "changes": [{"kind": "slot_width", "minutes": 60}]},
                {"name": "bad", "changes": [{"kind": "remove_couriers", "count": 4}]},
            ],
            "variants[1].changes[0].count",
            "one must stay",
        ),
        ([{"name": "x", "changes": [{"kind": "teleport"}]}], "variants[0].changes[0].kind", "unknown kind"),
        ([{"name": "base", "changes": []}], "variants[0].name", "taken"),
    ],
)
def test_a_bad_variant_is_invalid_input_naming_its_position_and_key(
    app: InProcess, variants: list[dict[str, Any]], field: str, words: str
) -> None:
    with app.client("planner") as client:
        answer = client.post("/v1/scenarios", json={"base": {"problem": small_day()}, "variants": variants, **FAST})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert any(d["field"] == field and words in d["message"] for d in error["details"]), error


def test_scenarios_check_the_base_and_the_caller(app: InProcess) -> None:
    variants = [{"name": "v", "changes": [{"kind": "traffic", "factor": 1.1}]}]
    with app.client("planner") as client:
        missing = client.post("/v1/scenarios", json={"base": {"plan_id": "nope"}, "variants": variants})
        both = client.post(
            "/v1/scenarios", json={"base": {"plan_id": "x", "problem": small_day()}, "variants": variants}
        )
        unknown = client.get("/v1/scenarios/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert both.status_code == 422 and both.json()["error"]["code"] == "invalid_input"
    assert unknown.status_code == 404
    for who in ("service", "c01"):
        with app.client(who) as client:
            refused = client.post("/v1/scenarios", json={"base": {"problem": small_day()}, "variants": variants})
            assert refused.status_code == 403, who
            assert refused.json()["error"]["code"] == "forbidden"


def test_plan_kpis_add_quality_figures_and_the_days_records(
    app: InProcess, app_plan: dict[str, Any], day: dict[str, Any]
) -> None:
    with app.client() as client:
        before = client.get(f"/v1/plans/{app_plan['id']}/kpis")
        assert before.status_code == 200, before.text
        figures = before.json()
        for name in ("stops", "late_stops", "on_time_rate", "distance_km", "couriers_used", "unassigned"):
            assert figures[name] == app_plan["kpis"][name], name
        assert figures["cost"] > 0 and figures["driving_hours"] > 0
        assert figures["actual_on_time_rate"] is None and figures["call_coverage"] is None
        assert {c["courier_id"] for c in figures["couriers"]} == {
            r["courier_id"] for r in app_plan["routes"] if r["visits"]
        }

        # One stop done on time, one failed as planned, then one done an hour after its last window.
        route = next(r for r in app_plan["routes"] if len(r["visits"]) >= 3)
        courier = route["courier_id"]
        on_time, failed, late = route["visits"][:3]
        last_window = next(s for s in day["stops"] if s["id"] == late["stop_id"])["windows"][-1]
        after_window = datetime.fromisoformat(last_window["end"]) + timedelta(hours=1)  # after every window
        events = [
            ("done-1", "stop_completed", on_time["stop_id"], on_time["eta"]),
            ("fail-2", "stop_failed", failed["stop_id"], failed["eta"]),
            ("done-3", "stop_completed", late["stop_id"], after_window.isoformat()),
        ]
        for event_id, kind, stop_id, at in events:
            body = {"event_id": f"kpi-{event_id}", "courier_id": courier, "type": kind, "at": at, "stop_id": stop_id}
            answer = client.post(f"/v1/plans/{app_plan['id']}/events", json=body)
            assert answer.status_code == 200, answer.text
        after = client.get(f"/v1/plans/{app_plan['id']}/kpis").json()
    assert (after["recorded"], after["done"], after["failed"]) == (3, 2, 1)
    assert after["actual_late_stops"] == 1
    # The late stop was reported done an hour after its window: no call was raised before
    # the window ended, so it counts as late without a call.
    assert after["uncalled_late"] == 1 and after["call_coverage"] == 0.0
    assert after["actual_on_time_rate"] == pytest.approx(1 / 200)
    mine = next(c for c in after["couriers"] if c["courier_id"] == courier)
    assert mine["grade"] == "C" and mine["failed"] == 1
