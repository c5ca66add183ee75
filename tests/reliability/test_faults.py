"""Faults, each on a server of its own: kill -9 in an event burst, a webhook receiver that is
down, a database that cannot be reached, a solve that throws or never returns. After each,
the store is read directly (not through the API) to show that nothing acknowledged was lost,
nothing was written twice, and the service recovered without a restart where it should."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from api.server_process import free_port
from api.store import repo
from api.store.models import OutboxRow
from benchmarks.load import day_reports
from tests.pgdb import DEFAULT_PG_ADMIN_URL, autocommit_engine
from tests.processes import descendants, wait_gone
from tests.reliability.support import (
    DAY,
    ManagedServer,
    assert_no_keys_in,
    assert_one_open_call_per_late_stop,
    managed_server,
    wait_for,
)

pytestmark = [pytest.mark.slow]

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

HUNG_GRACE_S = 8
"""`ONTIME_SOLVE_GRACE_S` of the tests that wait for a hung solve to be given up (60 s by default)."""


def solved(managed: ManagedServer, day: dict[str, Any]) -> dict[str, Any]:
    plan = managed.wait_plan(managed.post_plan(day, time_limit_s=1))
    assert plan["status"] == "solved", plan.get("error")
    return plan


def plan_and_calls(managed: ManagedServer, plan_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with managed.client() as client:
        return client.get(f"/v1/plans/{plan_id}").json(), client.get(f"/v1/plans/{plan_id}/calls").json()


# -- kill -9 in the middle of an event burst ---------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_mid_burst_keeps_every_acknowledged_event_exactly_once(
    tmp_path: Path, small_day: dict[str, Any], backend: str
) -> None:
    with managed_server(tmp_path, backend) as managed:
        plan = solved(managed, small_day)
        reports, _ = day_reports(plan, small_day, position_every_min=4, delays=2, seed=3)
        # Four senders: each courier with their own key, and a dispatcher relaying for each.
        senders: list[tuple[str, list[dict[str, Any]]]] = []
        for courier_id, mine in reports.items():
            bodies = [r.body for r in mine]
            senders.append((courier_id, bodies[0::2]))
            senders.append(("dispatcher", [{**b, "event_id": f"relay-{b['event_id']}"} for b in bodies[1::2]]))
        acknowledged: dict[str, tuple[str, dict[str, Any]]] = {}
        unanswered: set[str] = set()
        refused: list[str] = []
        lock = threading.Lock()

        def send(who: str, bodies: list[dict[str, Any]]) -> None:
            with managed.client(who) as client:
                for body in bodies:
                    try:
                        answer = client.post(f"/v1/plans/{plan['id']}/events", json=body)
                    except httpx.HTTPError:
                        with lock:
                            unanswered.add(body["event_id"])
                        return  # the server is gone
                    with lock:
                        if answer.status_code == 200:
                            acknowledged[body["event_id"]] = (who, answer.json())
                        else:
                            refused.append(f"{body['event_id']}: {answer.status_code} {answer.text[:200]}")

        threads = [threading.Thread(target=send, args=sender, daemon=True) for sender in senders]
        for thread in threads:
            thread.start()
        wait_for("25 acknowledged events", lambda: len(acknowledged) >= 25, timeout_s=60, every_s=0.01)
        managed.kill()
        for thread in threads:
            thread.join(30)
        assert not refused, refused
        assert unanswered, "the kill should have cut requests in flight"
        managed.start()

        with managed.store().transaction(readonly=True) as s:
            stored = [e.event_id for e in repo.list_events(s, plan["id"])]
        assert len(stored) == len(set(stored)), "an event was stored twice"
        lost = set(acknowledged) - set(stored)
        assert not lost, f"acknowledged but not stored: {sorted(lost)}"
        assert set(stored) <= set(acknowledged) | unanswered

        # Sending everything again (as a phone would after a timeout) changes nothing acknowledged.
        everything = {b["event_id"]: (who, b) for who, bodies in senders for b in bodies}
        for event_id, (who, body) in everything.items():
            if event_id in acknowledged or event_id in unanswered:
                with managed.client(who) as client:
                    answer = client.post(f"/v1/plans/{plan['id']}/events", json=body)
                assert answer.status_code == 200, answer.text
                if event_id in acknowledged:
                    assert answer.json() == acknowledged[event_id][1], f"{event_id} answered differently"
        with managed.store().transaction(readonly=True) as s:
            again = [e.event_id for e in repo.list_events(s, plan["id"])]
        assert sorted(again) == sorted(set(acknowledged) | unanswered)

        after, calls = plan_and_calls(managed, plan["id"])
        assert after["status"] == "solved"
        assert_one_open_call_per_late_stop(after, calls)
        assert_no_keys_in(managed.log_text())


# -- a webhook receiver that is down for a while ----------------------------------------------


class LossyReceiver:
    """Answers 204, except that the first `lose` requests are read and then hung up on, so the
    sender cannot know they arrived (it must send them again, with the same Idempotency-Key)."""

    def __init__(self, port: int, lose: int) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.lose = lose
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.received.append((self.headers["Idempotency-Key"], body))
                    hang_up = receiver.lose > 0
                    receiver.lose -= 1 if hang_up else 0
                if hang_up:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def by_key(self) -> dict[str, list[dict[str, Any]]]:
        with self.lock:
            out: dict[str, list[dict[str, Any]]] = {}
            for key, body in self.received:
                out.setdefault(key, []).append(body)
            return out


def outbox(managed: ManagedServer) -> list[OutboxRow]:
    with managed.store().transaction(readonly=True) as s:
        rows = list(s.scalars(select(OutboxRow)))
        s.expunge_all()
        return rows


def test_a_webhook_receiver_down_for_a_while_loses_nothing(tmp_path: Path, small_day: dict[str, Any]) -> None:
    port = free_port()  # nothing listens there yet: connection refused
    env = {"ONTIME_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "ONTIME_WEBHOOK_TIMEOUT_S": "2"}
    with managed_server(tmp_path, env=env) as managed:
        plan = solved(managed, small_day)
        with managed.client() as client:
            for courier in ("c01", "c02"):
                delay = {
                    "event_id": f"hook-{courier}",
                    "courier_id": courier,
                    "type": "delay",
                    "at": f"{DAY}T09:00:00+08:00",
                    "delay_min": 200,
                }
                assert client.post(f"/v1/plans/{plan['id']}/events", json=delay).status_code == 200
        wait_for("failed deliveries", lambda: any(r.attempts >= 2 for r in outbox(managed)), timeout_s=30)
        assert all(r.delivered_at is None for r in outbox(managed))
        receiver = LossyReceiver(port, lose=2)
        try:
            managed.kill()  # and a crash on top, with messages leased to the dead process
            managed.start()
            wait_for("every message delivered", lambda: all(r.delivered_at for r in outbox(managed)), timeout_s=60)
            rows = outbox(managed)
            got = receiver.by_key()
        finally:
            receiver.close()
    kinds = {r.kind for r in rows}
    assert {"call_created", "route_updated"} <= kinds, kinds
    assert {r.idempotency_key for r in rows} == set(got), "a message never arrived, or one arrived unasked"
    assert max(r.attempts for r in rows) >= 3
    assert any(len(bodies) > 1 for bodies in got.values()), "the hung-up deliveries should have come again"
    for key, bodies in got.items():
        assert all(b == bodies[0] for b in bodies), f"{key} arrived with different bodies"


# -- the database cannot be reached ------------------------------------------------------------


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "unavailable"
    assert "Traceback" not in answer.text and "sqlite" not in answer.text and "postgres" not in answer.text


def probe_event(n: int) -> dict[str, Any]:
    return {
        "event_id": f"db-probe-{n}",
        "courier_id": "c01",
        "type": "position",
        "at": f"{DAY}T10:0{n}:00+08:00",
        "lat": 31.22,
        "lon": 121.54,
    }


@contextmanager
def pg_blocked(database_url: str) -> Iterator[None]:
    """No connection to the server's database: existing ones cut, new ones refused."""
    name = make_url(database_url).database
    admin = autocommit_engine(make_url(os.environ.get("ONTIME_TEST_PG_URL", DEFAULT_PG_ADMIN_URL)))
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        yield
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.dispose()


@pytest.mark.postgres
def test_postgres_out_of_reach_gives_503_and_recovers_without_restart(
    tmp_path: Path, small_day: dict[str, Any]
) -> None:
    with managed_server(tmp_path, "postgresql") as managed:
        plan = solved(managed, small_day)
        managed.store().dispose()
        pid = managed.server.process.pid if managed.server.process else 0
        with managed.client() as client:
            with pg_blocked(managed.database_url):
                assert_unavailable(client.get("/v1/health"))
                assert_unavailable(client.get(f"/v1/plans/{plan['id']}"))
                assert_unavailable(client.post(f"/v1/plans/{plan['id']}/events", json=probe_event(1)))
                assert_unavailable(client.post("/v1/plans", json={"problem": small_day, "time_limit_s": 1}))
            wait_for("health again", lambda: client.get("/v1/health").status_code == 200, timeout_s=20)
            assert client.post(f"/v1/plans/{plan['id']}/events", json=probe_event(1)).status_code == 200
            assert client.get(f"/v1/plans/{plan['id']}").status_code == 200
        assert managed.server.process is not None and managed.server.process.pid == pid, "it was restarted"
        with managed.store().transaction(readonly=True) as s:
            assert [e.event_id for e in repo.list_events(s, plan["id"])].count("db-probe-1") == 1
            assert len(repo.list_plan_summaries(s)) == 1, "the refused plan was written"
        assert_no_keys_in(managed.log_text())


def test_sqlite_locked_past_the_timeout_gives_503_and_recovers_without_restart(
    tmp_path: Path, small_day: dict[str, Any]
) -> None:
    """Another process holds the write lock (a backup, a stuck job) longer than busy_timeout."""
    with managed_server(tmp_path) as managed:
        plan = solved(managed, small_day)
        path = make_url(managed.database_url).database
        assert path
        holder = sqlite3.connect(path, isolation_level=None, timeout=1)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            with managed.client() as client:
                assert client.get("/v1/health").status_code == 200  # readers go on (WAL)
                assert client.get(f"/v1/plans/{plan['id']}").status_code == 200
                assert_unavailable(client.post(f"/v1/plans/{plan['id']}/events", json=probe_event(2)))
                stored = holder.execute("SELECT count(*) FROM events WHERE event_id = 'db-probe-2'").fetchone()
                assert stored == (0,)
                holder.execute("ROLLBACK")
                answer = client.post(f"/v1/plans/{plan['id']}/events", json=probe_event(2))
                assert answer.status_code == 200, answer.text
        finally:
            holder.close()
        with managed.store().transaction(readonly=True) as s:
            assert [e.event_id for e in repo.list_events(s, plan["id"])].count("db-probe-2") == 1
        assert_no_keys_in(managed.log_text())


# -- a solve that throws, or never comes back --------------------------------------------------


def plans_worker(managed: ManagedServer, day: dict[str, Any]) -> int:
    """The plans pool's solver process: spawned on the first solve, after the replan worker."""
    replan = set(wait_for("the replan worker", managed.solver_workers, timeout_s=30))
    thrown = managed.wait_plan(managed.post_plan(day, time_limit_s=1, engine="pyvrp"))
    fresh = [pid for pid in managed.solver_workers() if pid not in replan]
    assert len(fresh) == 1, (replan, fresh)
    # PyVRP cannot model breaks, and every generated courier has one: the solve throws.
    assert thrown["status"] == "failed", thrown
    assert "EngineUnavailable" in thrown["error"] and "breaks" in thrown["error"]
    return fresh[0]


def test_a_solve_that_throws_or_hangs_fails_its_plan_with_a_reason_and_the_service_stays_up(
    tmp_path: Path, small_day: dict[str, Any]
) -> None:
    grace = {"ONTIME_SOLVE_GRACE_S": str(HUNG_GRACE_S)}
    with managed_server(tmp_path, env=grace) as managed, managed.client() as client:
        worker = plans_worker(managed, small_day)  # a solve that throws
        good = solved(managed, small_day)
        assert client.get("/v1/health").status_code == 200

        # Hangs: the solver process stops answering (SIGSTOP), as a solver stuck in C code would.
        os.kill(worker, signal.SIGSTOP)
        try:
            hung_id = managed.post_plan({**small_day, "name": "hung"}, time_limit_s=0.1)
            # Meanwhile the rest of the service answers: reads, events (re-planned in their own pool).
            delay = {"event_id": "while-hung", "courier_id": "c01", "type": "delay", "delay_min": 90}
            delay["at"] = f"{DAY}T10:30:00+08:00"
            assert client.post(f"/v1/plans/{good['id']}/events", json=delay).status_code == 200
            assert client.get(f"/v1/plans/{good['id']}").status_code == 200
            # The service gives up after 2 x limit + ONTIME_SOLVE_GRACE_S, and kills the hung process.
            hung = managed.wait_plan(hung_id, timeout_s=HUNG_GRACE_S + 30)
            assert hung["status"] == "failed" and "overran its time limit" in hung["error"], hung
            assert not wait_gone([worker]), "the hung solver process was not stopped"
            assert client.get("/v1/health").status_code == 200
        finally:
            with contextlib.suppress(ProcessLookupError):  # killed already by the service when it gave up
                os.kill(worker, signal.SIGKILL)
        assert_no_keys_in(managed.log_text())


def test_plans_are_solved_again_after_the_solver_process_dies(tmp_path: Path, small_day: dict[str, Any]) -> None:
    with managed_server(tmp_path) as managed, managed.client() as client:
        os.kill(plans_worker(managed, small_day), signal.SIGKILL)
        answer = client.post("/v1/plans", json={"problem": small_day, "time_limit_s": 1})
        assert answer.status_code == 202, answer.text  # the broken pool is replaced, never a 500
        assert managed.wait_plan(answer.json()["id"])["status"] == "solved"
        with managed.store().transaction(readonly=True) as s:
            stuck = [p for p in repo.list_plan_summaries(s) if p.status in ("queued", "solving")]
        assert not stuck, f"plans left behind by the dead worker: {stuck}"  # it was marked failed


def test_a_plan_queued_behind_a_hung_solve_is_still_solved(tmp_path: Path, small_day: dict[str, Any]) -> None:
    """The hung solve is given up and its worker killed; the plan queued behind it (the plans pool
    has one worker) runs in a new worker, its own limit counted from when it starts."""
    with managed_server(tmp_path, env={"ONTIME_SOLVE_GRACE_S": str(HUNG_GRACE_S)}) as managed:
        worker = plans_worker(managed, small_day)
        os.kill(worker, signal.SIGSTOP)
        try:
            hung = managed.post_plan({**small_day, "name": "hung"}, time_limit_s=0.1)
            queued = managed.post_plan({**small_day, "name": "queued"}, time_limit_s=0.1)
            given_up = managed.wait_plan(hung, timeout_s=HUNG_GRACE_S + 30)
            assert given_up["status"] == "failed" and "overran its time limit" in given_up["error"], given_up
            assert not wait_gone([worker]), "the hung solver process was not stopped"
            after = managed.wait_plan(queued, timeout_s=HUNG_GRACE_S + 30)
            assert after["status"] == "solved", after.get("error")
            assert worker not in managed.solver_workers()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)


# -- no solver process outlives its server ----------------------------------------------------


def server_tree(managed: ManagedServer, day: dict[str, Any]) -> tuple[int, list[int]]:
    """The server's pid and every process it started, once both solver pools have a worker."""
    plan = managed.wait_plan(managed.post_plan(day, time_limit_s=0.5))
    assert plan["status"] == "solved", plan.get("error")
    assert len(managed.solver_workers()) >= 2  # the replan pool's and the plans pool's
    assert managed.server.process is not None
    return managed.server.process.pid, descendants(managed.server.process.pid)


def test_a_killed_test_server_leaves_no_process_behind(tmp_path: Path, small_day: dict[str, Any]) -> None:
    """The test helpers' kill -9 takes the server's whole process group: even a stopped solver
    process, which could not notice that its server is gone, goes with it."""
    with managed_server(tmp_path) as managed:
        _, tree = server_tree(managed, small_day)
        os.kill(managed.solver_workers()[0], signal.SIGSTOP)
        managed.kill()
        left = wait_gone(tree, timeout_s=10)
        assert not left, f"processes outlived the killed server: {left}"


def test_solver_processes_exit_by_themselves_when_their_server_dies(tmp_path: Path, small_day: dict[str, Any]) -> None:
    """In production nobody kills the process group: only the server dies (kill -9, out of memory)
    and its solver workers, seeing their parent gone, exit within a second or so."""
    with managed_server(tmp_path) as managed:
        pid, tree = server_tree(managed, small_day)
        assert managed.server.process is not None
        os.kill(pid, signal.SIGKILL)  # the server alone
        managed.server.process.wait(10)
        left = wait_gone(tree, timeout_s=10)
        assert not left, f"processes outlived the killed server: {left}"
