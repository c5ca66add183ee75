"""One `ontime serve` in a process of its own, for tests and benchmarks: started on a free
loopback port with a given environment, ready once `/v1/health` answers, stopped with all it
started, its output in a log file.

It lives in `api/` because both of its users may import the service and nothing else has to
move for it: tests import everything, benchmarks import the service (never the other way
round), and `api` itself must not import `tests` or `benchmarks`. It needs only the standard
library and httpx, and starts the service exactly as an operator does (`python -m api.cli
serve`), so whoever uses it goes through uvicorn, the solver processes and the store.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, api_keys: str, **settings: str) -> dict[str, str]:
    """The environment of a server whose settings are exactly the ones given: this process's
    environment without its `ONTIME_*` variables, then the database, the keys, the local
    executor and `settings` (full names, e.g. `ONTIME_POLISH_TIME_LIMIT_S="0"`)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ONTIME_")}
    env |= {"ONTIME_DATABASE_URL": database_url, "ONTIME_API_KEYS": api_keys, "ONTIME_EXECUTOR": "local"}
    return env | settings


def wait_healthy(url: str, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll `url`/v1/health until it answers 200 (True), or `process` exits or time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            return False
        time.sleep(0.2)


@dataclass
class ServerProcess:
    """`ontime serve` on `port` with `env`, writing to `log` (appended: a restart adds to it).

    The server leads a process group of its own, so that `stop()` and `kill()` also end what it
    started: its solver workers and multiprocessing's resource tracker. It runs in the log's
    folder, so nothing it might write next to itself lands in a checkout."""

    env: dict[str, str]
    log: Path
    keys: Mapping[str, str] = field(default_factory=dict)
    """Who -> API key, for `client(who)`."""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server and wait for `/v1/health`; if it never answers, stop it and raise
        RuntimeError with the end of its log."""
        command = [sys.executable, "-m", "api.cli", "serve", "--host", LOOPBACK, "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=self.log.parent, stdout=log, stderr=log, start_new_session=True
            )
        if not wait_healthy(self.url, timeout_s, self.process):
            code = self.process.poll()
            self.stop()
            why = f"exited with {code}" if code is not None else f"did not answer /v1/health within {timeout_s:g} s"
            raise RuntimeError(f"ontime serve {why}:\n{self.tail()}")

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL whatever the server's process group still holds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.kill_group()

    def kill(self) -> None:
        """kill -9 the server and every process it started: no shutdown handlers run, and no solver
        worker is left behind (a stopped one could not even notice that its server is gone)."""
        if self.process is None:
            return
        self.kill_group()
        self.process.wait(10)

    def kill_group(self) -> None:
        """SIGKILL the server's process group (its pid: the server leads it), if anything is left in it."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def client(self, who: str = "dispatcher", timeout_s: float = 60) -> httpx.Client:
        """A client that sends `who`'s API key."""
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[who]}, timeout=timeout_s)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        """The end of the server's log, for an error message."""
        try:
            return "\n".join(self.log_text().splitlines()[-lines:])
        except OSError:
            return "(no server log)"


@contextlib.contextmanager
def running_server(
    env: dict[str, str], log: Path, keys: Mapping[str, str] | None = None, timeout_s: float = 60.0
) -> Iterator[ServerProcess]:
    """A started `ServerProcess`, stopped (with all it started) when the block ends."""
    server = ServerProcess(env, log, keys or {})
    try:
        server.start(timeout_s)
        yield server
    finally:
        server.stop()
