"""Helpers of the reliability tests: real `ontime serve` processes and what they need around them.

Reuses the API suite's `Server`, keys and PostgreSQL helper. `ManagedServer` adds what fault
tests need: the solver processes the server spawned (to stop or kill them by pid), the
server's log (to look for leaked keys) and a `Store` on the server's own database (to check
what was really written, not what the API says).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from api.store import Store, repo
from api.store.models import OutboxRow
from tests.api.conftest import DAY, KEY_SPEC, KEYS, Server, api_server
from tests.pgdb import temporary_pg_database
from tests.processes import child_pids

__all__ = [
    "DAY",
    "KEYS",
    "KEY_SPEC",
    "ManagedServer",
    "SharedDay",
    "StoreCounts",
    "child_pids",
    "managed_server",
    "wait_for",
]


def is_solver_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 30, every_s: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy (the server works on its own clock)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


@dataclass
class ManagedServer:
    server: Server
    database_url: str
    _store: Store | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, who: str = "dispatcher") -> httpx.Client:
        return self.server.client(who)

    def start(self) -> None:
        self.server.start()

    def solver_workers(self) -> list[int]:
        assert self.server.process is not None
        return [p for p in child_pids(self.server.process.pid) if is_solver_worker(p)]

    def kill(self) -> None:
        """kill -9 the server and its solver workers (its whole process group)."""
        self.server.kill()

    def stop(self) -> None:
        self.server.stop()
        if self._store is not None:
            self._store.dispose()
            self._store = None

    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.database_url)
        return self._store

    def log_text(self) -> str:
        return self.server.log_text()

    def post_plan(self, day: dict[str, Any], time_limit_s: float = 2, **extra: Any) -> str:
        with self.client() as client:
            answer = client.post("/v1/plans", json={"problem": day, "time_limit_s": time_limit_s, **extra})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    def wait_plan(self, plan_id: str, timeout_s: float = 120) -> dict[str, Any]:
        with self.client() as client:

            def done() -> dict[str, Any] | None:
                plan: dict[str, Any] = client.get(f"/v1/plans/{plan_id}").json()
                return plan if plan.get("status") in ("solved", "failed") else None

            result: dict[str, Any] = wait_for(f"plan {plan_id} to finish", done, timeout_s, 0.3)
            return result


@contextmanager
def managed_server(
    folder: Path, backend: str = "sqlite", env: dict[str, str] | None = None, prefix: str = "ontime_rel"
) -> Iterator[ManagedServer]:
    """A started server on its own database (SQLite file, or a fresh PostgreSQL database)."""
    with ExitStack() as stack:
        url = None
        if backend != "sqlite":
            url = stack.enter_context(temporary_pg_database(prefix)).render_as_string(hide_password=False)
        settings = {
            "ONTIME_REPLAN_TIME_LIMIT_S": "0.5",
            # no background improvement: these tests compare the store before and after requests
            "ONTIME_POLISH_TIME_LIMIT_S": "0",
            **(env or {}),
        }
        server = api_server(folder, url, **settings)
        managed = ManagedServer(server, server.env["ONTIME_DATABASE_URL"])
        stack.callback(managed.stop)
        managed.start()
        yield managed


@dataclass(frozen=True)
class StoreCounts:
    """Everything a request could have written, counted straight from the database."""

    plans: int
    events: int
    audit: int
    calls: int
    outbox: int
    versions: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, store: Store) -> StoreCounts:
        with store.transaction(readonly=True) as s:
            plans = repo.list_plan_summaries(s, 100_000)
            events = sum(len(repo.list_events(s, p.id)) for p in plans)
            calls = sum(len(repo.list_calls(s, p.id)) for p in plans)
            audit = len(repo.list_audit(s, None))
            outbox = int(s.scalar(select(func.count()).select_from(OutboxRow)) or 0)
        return cls(len(plans), events, audit, calls, outbox, tuple(sorted((p.id, p.version) for p in plans)))


@dataclass(frozen=True)
class SharedDay:
    """One server for the read-mostly tests: a solved day, a delay that raised calls."""

    managed: ManagedServer
    day: dict[str, Any]
    plan_id: str
    call_id: str
    fuzz_plan_id: str
    fuzz_call_id: str
    own: str = "c01"
    other: str = "c02"


def assert_one_open_call_per_late_stop(plan: dict[str, Any], calls: list[dict[str, Any]]) -> None:
    """At most one open call per stop; every late planned stop and every dropped stop has one."""
    open_calls: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        if call["status"] == "open":
            open_calls.setdefault(call["stop_id"], []).append(call)
    twice = {stop: len(c) for stop, c in open_calls.items() if len(c) > 1}
    assert not twice, f"stops with two open calls: {twice}"
    for route in plan["routes"]:
        for visit in route["visits"]:
            if visit["status"] == "planned" and visit["late_min"] > 0:
                assert visit["stop_id"] in open_calls, f"late stop {visit['stop_id']} has no open call"
    for gone in plan["unassigned"]:
        assert gone["stop_id"] in open_calls, f"dropped stop {gone['stop_id']} has no open call"


def assert_no_keys_in(text: str) -> None:
    leaked = [who for who, key in KEYS.items() if key in text]
    assert not leaked, f"API keys of {leaked} appear in the server log"
