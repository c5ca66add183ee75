"""Fixtures for the browser tests: a real `ontime serve` process, a solved day, Chromium.

The service runs as a subprocess on a free port with a temporary SQLite file and API keys from
the environment (one courier key per generated courier). Chromium is Debian's
(`make browser` installs it); Playwright only drives it and never downloads a browser. Without
Chromium or Playwright the tests are skipped, or fail when env `CI` is set.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    base: str
    log: Path

    def headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": key}

    def get(self, path: str, key: str) -> Any:
        answer = httpx.get(self.base + path, headers=self.headers(key), timeout=30)
        answer.raise_for_status()
        return answer.json()

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


@pytest.fixture(scope="module")
def day() -> dict[str, Any]:
    return generate_day(STOPS, COURIERS, SEED)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, day: dict[str, Any]) -> Iterator[Server]:
    """`ontime serve` on a free port, a fresh SQLite file, a key per role and per courier."""
    work = tmp_path_factory.mktemp("console-server")
    port = _free_port()
    keys = [f"dispatcher:{DISPATCHER_KEY}", f"planner:{PLANNER_KEY}", f"service:{SERVICE_KEY}"]
    keys += [f"courier:{c['id']}:{courier_key(c['id'])}" for c in day["couriers"]]
    env = {
        **os.environ,
        "ONTIME_DATABASE_URL": f"sqlite:///{work / 'ontime.sqlite'}",
        "ONTIME_API_KEYS": ",".join(keys),
        "ONTIME_EXECUTOR": "local",
    }
    env.pop("ONTIME_TILE_URL", None)
    env.pop("ONTIME_WEBHOOK_URL", None)
    log = work / "server.log"
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    command = [sys.executable, "-c", "from api.cli import app; app()", *serve]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    running = Server(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"ontime serve exited with {process.returncode}:\n{running.tail()}")
            try:
                if httpx.get(running.base + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"ontime serve did not answer /v1/health within 60 s:\n{running.tail()}")
            time.sleep(0.2)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def solved_plan(server: Server, day: dict[str, Any]) -> dict[str, Any]:
    """The generated day, created through the API with a short time limit and solved."""
    answer = httpx.post(
        server.base + "/v1/plans",
        json={"problem": day, "time_limit_s": SOLVE_LIMIT_S},
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
