"""The two tiers of the API tests, each per store backend, with a webhook receiver and a solved day.

`server`: a real `ontime serve` as a subprocess (free port, its own database, demo keys), exactly
as an operator would start it, so the tests go through uvicorn, the process pool and the store.
For what only a process shows: kill -9 and restarts, signals, connections, its log.

`app`: the same app (`api.main.create_app`, its lifespan, store and solver pool) served in this
process by a TestClient, on a fresh database: for cases that only make HTTP calls.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.server_process import ServerProcess, server_env
from api.settings import Settings
from scenarios.generate import generate_day
from tests.pgdb import temporary_pg_database

KEYS = {
    "dispatcher": "disp-key",
    "planner": "plan-key",
    "service": "serv-key",
    "c01": "c01-key",
    "c02": "c02-key",
}
KEY_SPEC = "dispatcher:disp-key,planner:plan-key,service:serv-key,courier:c01:c01-key,courier:c02:c02-key"
DAY = "2026-11-26"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
# these tests compare whole plans across requests: no background improvement
SETTINGS = {"ONTIME_REPLAN_TIME_LIMIT_S": "1.0", "ONTIME_POLISH_TIME_LIMIT_S": "0"}


@dataclass
class Receiver:
    """A webhook endpoint that answers 500 to its first `fail_first` requests."""

    fail_first: int
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> set[str]:
        with self.lock:
            return {m["headers"]["Idempotency-Key"] for m in self.received}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver(fail_first=3)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                refuse = state.refused < state.fail_first
                if refuse:
                    state.refused += 1
                else:
                    state.received.append({"headers": dict(self.headers), "body": body})
            self.send_response(500 if refuse else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


Server = ServerProcess
"""A real `ontime serve` (api/server_process.py); `client(who)` sends the suite's key of `who`."""


def api_server(folder: Path, database_url: str | None = None, **settings: str) -> Server:
    """A server (not started) with the suite's keys on `database_url`, by default a SQLite file in
    `folder` (which also holds its log), with the given `ONTIME_*` settings."""
    url = database_url or f"sqlite:///{folder / 'ontime.sqlite'}"
    return Server(server_env(url, KEY_SPEC, **settings), folder / "server.log", KEYS)


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a fresh database on `backend`: a SQLite file in `folder`, or a PostgreSQL
    database of its own (dropped on exit)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'ontime.sqlite'}"
        return
    with temporary_pg_database("ontime_api") as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"server-{request.param}")
    with ExitStack() as stack:
        url = stack.enter_context(database(request.param, folder))
        srv = api_server(folder, url, ONTIME_WEBHOOK_URL=receiver.url, **SETTINGS)
        stack.callback(srv.stop)
        srv.start()
        yield srv


@dataclass(frozen=True)
class InProcess:
    """The app running in this process (its lifespan entered), as `Server` is to a process:
    `client(who)` sends the suite's key of `who`; `database_url` is its store's."""

    running: TestClient
    database_url: str

    def client(self, who: str = "dispatcher") -> httpx.Client:
        """A client of the running app (its event loop, store and executors) with `who`'s key."""
        transport = self.running._transport  # the TestClient's own: requests reach the entered app
        return httpx.Client(transport=transport, base_url=self.running.base_url, headers={"X-API-Key": KEYS[who]})


@contextmanager
def in_process(database_url: str, **settings: str) -> Iterator[InProcess]:
    """`create_app` on `database_url` with the suite's keys and the given `ONTIME_*` settings,
    and nothing else from this process's environment (as `server_env` does for a process)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ONTIME_")}
    env |= {"ONTIME_DATABASE_URL": database_url, "ONTIME_API_KEYS": KEY_SPEC, "ONTIME_EXECUTOR": "local", **settings}
    with pytest.MonkeyPatch.context() as patch:
        for name in os.environ:
            if name.startswith("ONTIME_"):
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        app_settings = Settings()
    # a server answers 500 to an unexpected error, it does not raise it: so does this client
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as running:
        yield InProcess(running, database_url)
    gc.unfreeze()  # the lifespan froze what start-up built, for a server's lifetime, not a test's


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """The real app in this process on a fresh database per store backend (no webhooks)."""
    folder = tmp_path_factory.mktemp(f"app-{request.param}")
    with database(request.param, folder) as url, in_process(url, **SETTINGS) as running:
        yield running


def wait_solved(client: httpx.Client, plan_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        plan: dict[str, Any] = client.get(f"/v1/plans/{plan_id}").json()
        if plan["status"] in ("solved", "failed"):
            return plan
        time.sleep(0.3)
    raise AssertionError(f"plan {plan_id} not solved in {timeout_s} s")


@pytest.fixture(scope="module")
def day() -> dict[str, Any]:
    return generate_day(200, 16, seed=11, date=DAY)


def solve(api: Server | InProcess, day: dict[str, Any]) -> dict[str, Any]:
    """`day` posted with a 3 s limit, queued, and solved."""
    with api.client() as client:
        answer = client.post("/v1/plans", json={"problem": day, "time_limit_s": 3})
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "queued"
        solved = wait_solved(client, answer.json()["id"])
    assert solved["status"] == "solved", solved.get("error")
    return solved


@pytest.fixture(scope="module")
def plan(server: Server, day: dict[str, Any]) -> dict[str, Any]:
    """The day solved by the server."""
    return solve(server, day)


@pytest.fixture(scope="module")
def app_plan(app: InProcess, day: dict[str, Any]) -> dict[str, Any]:
    """The day solved by the in-process app."""
    return solve(app, day)
