"""The same what-if request through a server on the local pool and one on Ray: same figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, api_server
from tests.api.test_scenarios_api import FAST, small_day, wait_done

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api-ray")]


def start(folder: Path, executor: str) -> Server:
    server = api_server(folder, ONTIME_EXECUTOR=executor, ONTIME_POLISH_TIME_LIMIT_S="0")
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
