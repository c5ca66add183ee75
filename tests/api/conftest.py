"""A real `ontime serve` process per store backend, a webhook receiver, and a solved day.

The server runs as a subprocess (free port, its own database, demo keys), exactly as an
operator would start it, so the tests go through uvicorn, the process pool and the store.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.server_process import ServerProcess, server_env
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


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"server-{request.param}")
    with ExitStack() as stack:
        url = None
        if request.param == "postgresql":
            url = stack.enter_context(temporary_pg_database("ontime_api")).render_as_string(hide_password=False)
        srv = api_server(
            folder,
            url,
            ONTIME_WEBHOOK_URL=receiver.url,
            ONTIME_REPLAN_TIME_LIMIT_S="1.0",
            # these tests compare whole plans across requests: no background improvement
            ONTIME_POLISH_TIME_LIMIT_S="0",
        )
        stack.callback(srv.stop)
        srv.start()
        yield srv


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


@pytest.fixture(scope="module")
def plan(server: Server, day: dict[str, Any]) -> dict[str, Any]:
    with server.client() as client:
        answer = client.post("/v1/plans", json={"problem": day, "time_limit_s": 3})
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "queued"
        solved = wait_solved(client, answer.json()["id"])
    assert solved["status"] == "solved", solved.get("error")
    return solved
