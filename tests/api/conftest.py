"""A real `ontime serve` process per store backend, a webhook receiver, and a solved day.

The server runs as a subprocess (free port, its own database, demo keys), exactly as an
operator would start it, so the tests go through uvicorn, the process pool and the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        port = self.url.rsplit(":", 1)[1]
        with self.log.open("ab") as log:
            # A session (and process group) of its own, so that stop() and kill() can end everything
            # the server started: its solver workers and multiprocessing's resource tracker.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--port", port],
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"server did not become healthy: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """kill -9 the server and every process it started: no shutdown handlers run, and no solver
        worker is left behind (a stopped one could not even notice that its server is gone)."""
        assert self.process is not None
        self.kill_group()
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), then kill -9 whatever the server's process group still holds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.kill_group()

    def kill_group(self) -> None:
        """SIGKILL the server's process group (its pid: the server leads it), if anything is left in it."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def client(self, who: str = "dispatcher") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": KEYS[who]}, timeout=60)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"server-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'ontime.sqlite'}"
        else:
            url = stack.enter_context(temporary_pg_database("ontime_api")).render_as_string(hide_password=False)
        env = {
            **os.environ,
            "ONTIME_DATABASE_URL": url,
            "ONTIME_API_KEYS": KEY_SPEC,
            "ONTIME_WEBHOOK_URL": receiver.url,
            "ONTIME_REPLAN_TIME_LIMIT_S": "1.0",
            # these tests compare whole plans across requests: no background improvement
            "ONTIME_POLISH_TIME_LIMIT_S": "0",
            "ONTIME_EXECUTOR": "local",
        }
        srv = Server(f"http://127.0.0.1:{free_port()}", env, folder / "server.log")
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
