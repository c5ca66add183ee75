"""The same requests through a server on the local pool and one on Ray (`ONTIME_EXECUTOR=ray`):
a what-if sweep, a plan's solve and a disruption's answer give the same figures; the
background improvement that follows runs on each."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.store import Store, repo
from tests.api.conftest import Server, api_server, wait_solved
from tests.api.test_scenarios_api import FAST, small_day, wait_done

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api-ray")]


def start(folder: Path, executor: str) -> Server:
    server = api_server(folder, ONTIME_EXECUTOR=executor, ONTIME_POLISH_TIME_LIMIT_S="1", ONTIME_REPLAN_ITERATIONS="60")
    server.env.pop("RAY_ADDRESS", None)
    server.start()
    return server


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()
    local = start(tmp_path / "local", "local")
    try:
        ray = start(tmp_path / "ray", "ray")
        try:
            yield local, ray
        finally:
            ray.stop()
    finally:
        local.stop()


def test_a_sweep_gives_identical_figures_on_the_local_pool_and_on_ray(servers: tuple[Server, Server]) -> None:
    body = {
        "base": {"problem": small_day()},
        "variants": [
            {"name": "one courier off", "changes": [{"kind": "remove_couriers", "count": 1}]},
            {"name": "demand +30%", "changes": [{"kind": "demand_scale", "factor": 1.3}]},
            {"name": "1-hour slots", "changes": [{"kind": "slot_width", "minutes": 60}]},
        ],
        **FAST,
    }
    figures = []
    for server in servers:
        with server.client("planner") as client:
            answer = client.post("/v1/scenarios", json=body)
            assert answer.status_code == 202, answer.text
            run = wait_done(client, answer.json()["id"], timeout_s=180)
        assert run["status"] == "done", run
        figures.append([(r["name"], r["kpis"]) for r in run["results"]])
    assert figures[0] == figures[1]
    executors = []
    for server in servers:
        with server.client() as client:
            executors.append(client.get("/v1/health").json()["executor"])
    assert executors == ["local", "ray"]


def test_a_plan_and_its_disruption_give_the_same_plan_on_the_local_pool_and_on_ray(
    servers: tuple[Server, Server],
) -> None:
    day = small_day()
    answers = []
    for server in servers:
        with server.client() as client:
            created = client.post("/v1/plans", json={"problem": day, **FAST})
            assert created.status_code == 202, created.text
            plan_id = created.json()["id"]
            solved = wait_solved(client, plan_id)
            assert solved["status"] == "solved", solved.get("error")
            outage = {
                "event_id": "outage",
                "courier_id": day["couriers"][0]["id"],
                "type": "delay",
                "at": solved["routes"][0]["visits"][0]["eta"],
                "delay_min": 150,
            }
            answer = client.post(f"/v1/plans/{plan_id}/events", json=outage)
            assert answer.status_code == 200, answer.text
            tried = wait_audit(server, plan_id, ("plan_improved", "plan_kept"))
            routes = [(r["courier_id"], [v["stop_id"] for v in r["visits"]]) for r in solved["routes"]]
            answers.append((routes, figures(answer.json()), tried))
    assert answers[0][0] == answers[1][0]  # the same first plan
    assert answers[0][1] == answers[1][1]  # the same answer to the outage
    assert all(tried for *_, tried in answers)


def figures(answer: dict[str, Any]) -> dict[str, Any]:
    """An event's answer without what names or times the server's own records."""
    calls = [{k: v for k, v in c.items() if k not in ("id", "created_at")} for c in answer["calls"]]
    return answer | {"calls": calls}


def wait_audit(server: Server, plan_id: str, actions: tuple[str, ...], timeout_s: float = 120) -> bool:
    """Whether the plan's audit log (in the server's database) shows one of `actions` in time."""
    store = Store(server.env["ONTIME_DATABASE_URL"])
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with store.transaction(readonly=True) as s:
                if any(a.action in actions for a in repo.list_audit(s, plan_id)):
                    return True
            time.sleep(0.5)
    finally:
        store.dispose()
    return False
