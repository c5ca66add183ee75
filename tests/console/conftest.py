"""Fixtures for the browser tests: a real `ontime serve` process, a solved day, Chromium.

The service runs as a subprocess (api/server_process.py) on a free port with a temporary SQLite
file and API keys from the environment (one courier key per generated courier). Chromium is Debian's
(`make browser` installs it); Playwright only drives it and never downloads a browser. Without
Chromium or Playwright the tests are skipped, or fail when env `CI` is set.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.server_process import ServerProcess, running_server, server_env
from scenarios.generate import generate_day

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
STOPS, COURIERS, SEED = 200, 16, 3
SOLVE_LIMIT_S = 4.0

DISPATCHER_KEY = "console-dispatcher-key"
PLANNER_KEY = "console-planner-key"
SERVICE_KEY = "console-service-key"


def courier_key(courier_id: str) -> str:
    return f"console-courier-{courier_id}-key"


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Server:
    """The running `ontime serve` as the browser tests use it: its base URL and GETs with a key."""

    process: ServerProcess

    @property
    def base(self) -> str:
        return self.process.url

    def headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": key}

    def get(self, path: str, key: str) -> Any:
        answer = httpx.get(self.base + path, headers=self.headers(key), timeout=30)
        answer.raise_for_status()
        return answer.json()

    def tail(self, lines: int = 60) -> str:
        return self.process.tail(lines)


@pytest.fixture(scope="module")
def day() -> dict[str, Any]:
    return generate_day(STOPS, COURIERS, SEED)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, day: dict[str, Any]) -> Iterator[Server]:
    """`ontime serve` on a free port, a fresh SQLite file, a key per role and per courier."""
    work = tmp_path_factory.mktemp("console-server")
    keys = [f"dispatcher:{DISPATCHER_KEY}", f"planner:{PLANNER_KEY}", f"service:{SERVICE_KEY}"]
    keys += [f"courier:{c['id']}:{courier_key(c['id'])}" for c in day["couriers"]]
    env = server_env(f"sqlite:///{work / 'ontime.sqlite'}", ",".join(keys))
    with running_server(env, work / "server.log") as process:
        yield Server(process)


def solve(server: Server, problem: dict[str, Any]) -> dict[str, Any]:
    """`problem` created through the API with a short time limit, and solved."""
    answer = httpx.post(
        server.base + "/v1/plans",
        json={"problem": problem, "time_limit_s": SOLVE_LIMIT_S},
        headers=server.headers(DISPATCHER_KEY),
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    plan_id = answer.json()["id"]
    deadline = time.monotonic() + SOLVE_LIMIT_S * 2 + 60
    while time.monotonic() < deadline:
        plan: dict[str, Any] = server.get(f"/v1/plans/{plan_id}", DISPATCHER_KEY)
        if plan["status"] == "solved":
            return plan
        assert plan["status"] != "failed", plan.get("error")
        time.sleep(0.3)
    pytest.fail(f"plan {plan_id} was not solved in time:\n{server.tail()}")


@pytest.fixture(scope="module")
def solved_plan(server: Server, day: dict[str, Any]) -> dict[str, Any]:
    """The generated day, created through the API with a short time limit and solved."""
    return solve(server, day)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never `playwright install`)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        _missing(f"{CHROMIUM} is missing: run `make browser`")
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
