"""Three `ontime serve` replicas on one PostgreSQL: a day's reports spread round-robin over them,
one replica killed with SIGKILL mid-burst and started again, every report retried until
acknowledged. No report is told 409 because another replica held the plan: they take turns
(`Store.plan_mutex`). Afterwards every acknowledged event is stored once; the plan is whole,
every late stop has one open call, and it is the plan a single server reaches from the same
reports in the order they were stored; every webhook reached a real receiver, each plan's in
order, a second time only if the killed replica was sending it; no lock is left behind."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from api.server_process import ServerProcess
from scenarios.generate import generate_day
from tests.api.conftest import Receiver, api_server, database, in_process, wait_solved
from tests.api.test_live_day import assert_consistent, assert_one_call_per_late_stop, fetch

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("replicas")]

REPLICAS = 3
SETTINGS = {
    "ONTIME_POLISH_TIME_LIMIT_S": "0",
    # short searches (three servers share the test machine's cores), ended by their iterations,
    # never by the clock: the same reports in the same order make the same plan on any server
    "ONTIME_REPLAN_TIME_LIMIT_S": "20",
    "ONTIME_REPLAN_ITERATIONS": "40",
    "ONTIME_SOLVER_WORKERS": "1",
}
SOLVE = {"time_limit_s": 30, "iterations": 300, "seed": 4}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[tuple[list[ServerProcess], str]]:
    folder = tmp_path_factory.mktemp("replicas")
    with ExitStack() as stack:
        url = stack.enter_context(database("postgresql", folder))
        replicas = []
        for k in range(REPLICAS):
            (folder / f"r{k}").mkdir()
            replica = api_server(
                folder / f"r{k}", url, ONTIME_REPLICA_ID=f"r{k}", ONTIME_WEBHOOK_URL=receiver.url, **SETTINGS
            )
            stack.callback(replica.stop)
            replica.start()
            replicas.append(replica)
        yield replicas, url


def reports(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """A morning of reports: per courier, a position on the way to each of their first stops,
    the stop served, and a two-hour jam after the second and the fourth (late stops: calls and
    webhooks); in time order per courier, interleaved."""
    per_courier = []
    for route in plan["routes"]:
        courier, events = route["courier_id"], []
        for k, visit in enumerate(route["visits"][:4]):
            eta = datetime.fromisoformat(visit["eta"])
            base = {"courier_id": courier, "at": (eta - timedelta(minutes=2)).isoformat()}
            events.append(base | {"event_id": f"{courier}-pos-{k}", "type": "position", "lat": 31.22, "lon": 121.54})
            done_at = (eta + timedelta(minutes=1)).isoformat()
            completed = {"event_id": f"{courier}-done-{k}", "type": "stop_completed", "stop_id": visit["stop_id"]}
            events.append(base | completed | {"at": done_at})
            if k in (1, 3):  # a jam, then another: late stops, calls, re-optimized routes, webhooks
                jam = {"event_id": f"{courier}-late-{k}", "type": "delay", "delay_min": 120, "at": done_at}
                events.append(base | jam)
        per_courier.append(events)
    return [e for group in itertools.zip_longest(*per_courier) for e in group if e is not None]


def test_replicas_take_turns_and_lose_nothing_when_one_is_killed(
    cluster: tuple[list[ServerProcess], str], receiver: Receiver, tmp_path: Path
) -> None:
    replicas, url = cluster
    day = generate_day(40, 5, seed=8, date="2026-11-26")
    with replicas[0].client() as client:
        answer = client.post("/v1/plans", json={"problem": day, **SOLVE})
        assert answer.status_code == 202, answer.text
        plan = wait_solved(client, answer.json()["id"])
    assert plan["status"] == "solved", plan.get("error")
    stream = reports(plan)
    statuses: list[int] = []
    acknowledged: set[str] = set()
    guard = threading.Lock()
    killed, restarted = threading.Event(), threading.Event()

    def send(index: int, event: dict[str, Any]) -> None:
        for attempt in itertools.count():
            replica = replicas[(index + attempt) % REPLICAS]  # round-robin; a dead one: the next
            try:
                answer = httpx.post(
                    f"{replica.url}/v1/plans/{plan['id']}/events",
                    json=event,
                    headers={"X-API-Key": replica.keys["dispatcher"]},
                    timeout=30,
                )
            except httpx.TransportError:
                time.sleep(0.1)
                continue  # the replica is down: retried, as a phone does
            with guard:
                statuses.append(answer.status_code)
            if answer.status_code == 200:
                with guard:
                    acknowledged.add(event["event_id"])
                return
            assert answer.status_code >= 500, answer.text  # only a dying replica may fail a report
            time.sleep(0.1)

    def chaos() -> None:
        while len(acknowledged) < len(stream) // 3:
            time.sleep(0.05)
        replicas[1].kill()  # kill -9, mid-burst
        killed.set()
        while len(acknowledged) < 2 * len(stream) // 3:
            time.sleep(0.05)
        replicas[1].start()
        restarted.set()

    chaos_thread = threading.Thread(target=chaos, daemon=True)
    chaos_thread.start()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda pair: send(*pair), enumerate(stream)))
    chaos_thread.join(60)
    assert killed.is_set() and restarted.is_set()
    assert 409 not in statuses, f"{statuses.count(409)} reports were told the plan changed meanwhile"
    assert acknowledged == {e["event_id"] for e in stream}

    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT event_id, count(*) FROM events WHERE plan_id = :p GROUP BY event_id"), {"p": plan["id"]}
        ).all()
        in_order = conn.execute(
            text("SELECT payload FROM events WHERE plan_id = :p ORDER BY id"), {"p": plan["id"]}
        ).scalars()
        applied = [{k: v for k, v in event.items() if v is not None} for event in in_order]
        advisory = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).scalar_one()
    assert {row[0] for row in stored} == acknowledged and all(row[1] == 1 for row in stored)
    assert advisory == 0, "a replica left a plan locked"
    for replica in replicas:  # each replica reads the same plan, whole, one call per late stop
        with replica.client() as client:
            after, calls = fetch(client, plan["id"])
            assert_consistent(after, day)
            assert_one_call_per_late_stop(client, after, calls)
    assert_same_as_one_server(after, calls, day, applied, tmp_path)
    assert_webhooks_delivered(receiver, engine, plan["id"], killed="r1")
    engine.dispose()
    for replica in replicas:  # nothing stuck: each still answers a report at once
        with replica.client() as client:
            late = {"event_id": f"after-{replica.port}", "courier_id": day["couriers"][0]["id"], "type": "delay"}
            started = time.perf_counter()
            answer = client.post(f"/v1/plans/{plan['id']}/events", json=late | {"at": after["now"], "delay_min": 5})
            assert answer.status_code == 200 and time.perf_counter() - started < 10


def assert_same_as_one_server(
    plan: dict[str, Any], calls: list[dict[str, Any]], day: dict[str, Any], applied: list[dict[str, Any]], folder: Path
) -> None:
    """One server on a database of its own, given the same day and the reports in the order the
    replicas stored them, reaches the same plan and the same calls."""
    with in_process(f"sqlite:///{folder / 'single.sqlite'}", **SETTINGS) as single, single.client() as client:
        answer = client.post("/v1/plans", json={"problem": day, **SOLVE})
        assert answer.status_code == 202, answer.text
        assert wait_solved(client, answer.json()["id"])["status"] == "solved"
        for event in applied:
            sent = client.post(f"/v1/plans/{answer.json()['id']}/events", json=event)
            assert sent.status_code == 200, sent.text
        alone, alone_calls = fetch(client, answer.json()["id"])
    assert routes_of(alone) == routes_of(plan)
    assert (alone["version"], alone["now"]) == (plan["version"], plan["now"])
    assert sorted(calls_of(alone_calls)) == sorted(calls_of(calls))


def routes_of(plan: dict[str, Any]) -> list[tuple[str, int, list[tuple[str, str, str]]]]:
    return [
        (r["courier_id"], r["version"], [(v["stop_id"], v["status"], v["eta"]) for v in r["visits"]])
        for r in plan["routes"]
    ]


def calls_of(calls: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(c["stop_id"], c["status"], c["eta"] or "") for c in calls]


def assert_webhooks_delivered(receiver: Receiver, engine: Engine, plan_id: str, killed: str) -> None:
    """Every message of the outbox reached the receiver; a plan's messages first arrived in the
    order they were committed; a message arrived twice only if the killed replica sent it first
    (it died before it could mark it delivered)."""
    deadline = time.monotonic() + 60
    while True:
        with engine.connect() as conn:
            keys = set(
                conn.execute(text("SELECT idempotency_key FROM outbox WHERE plan_id = :p"), {"p": plan_id}).scalars()
            )
        if keys <= receiver.keys():
            break
        assert time.monotonic() < deadline, f"{len(keys - receiver.keys())} webhooks never arrived"
        time.sleep(0.5)
    with receiver.lock:
        received = [m for m in receiver.received if m["body"].get("plan_id") == plan_id]
    first: dict[str, dict[str, Any]] = {}
    for message in received:
        key = message["headers"]["Idempotency-Key"]
        if key in first:
            assert first[key]["headers"]["X-OnTime-Replica"] == killed, f"{key} sent twice by live replicas"
        else:
            first[key] = message
    sequence = [m["body"]["sequence"] for m in first.values()]
    assert sequence == sorted(sequence), "a plan's webhooks arrived out of order"
