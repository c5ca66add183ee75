"""After a re-optimized answer the service keeps improving the plan in the background (the app in
process, on a SQLite file)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.store import Store, repo
from scenarios.generate import generate_day
from tests.api.conftest import InProcess, database, in_process, wait_solved
from tests.api.test_live_day import assert_consistent, assert_one_call_per_late_stop, fetch, hold_everyone

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api-polish")]


@pytest.fixture(scope="module")
def polishing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    with (
        database("sqlite", tmp_path_factory.mktemp("polish")) as url,
        in_process(url, ONTIME_POLISH_TIME_LIMIT_S="3") as app,
    ):
        yield app


def late_minutes(plan: dict[str, Any]) -> float:
    return float(sum(v["late_min"] for r in plan["routes"] for v in r["visits"] if v["status"] == "planned"))


def test_after_a_disruption_the_plan_is_improved_in_the_background_or_kept_as_answered(
    polishing: InProcess,
) -> None:
    url = polishing.database_url
    day = generate_day(120, 10, seed=21)
    with polishing.client() as client:
        plan_id = client.post("/v1/plans", json={"problem": day, "time_limit_s": 3}).json()["id"]
        assert wait_solved(client, plan_id)["status"] == "solved"
        hold_everyone(client, plan_id, day, "out")
        answered, _ = fetch(client, plan_id)
        store = Store(url)
        deadline = time.monotonic() + 90
        attempts: list[Any] = []
        while time.monotonic() < deadline and not attempts:
            time.sleep(1.0)
            with store.transaction(readonly=True) as s:
                attempts = [a for a in repo.list_audit(s, plan_id) if a.action in ("plan_improved", "plan_kept")]
        store.dispose()
        assert attempts, "no background improvement was tried"
        assert attempts[0].actor == "optimizer"
        after, calls = fetch(client, plan_id)
    if attempts[0].action == "plan_improved":
        assert late_minutes(after) < late_minutes(answered)
        assert after["version"] > answered["version"]
    else:  # nothing better was found: the plan stands as answered
        assert late_minutes(after) == late_minutes(answered)
    assert_consistent(after, day)
    assert_one_call_per_late_stop(client, after, calls)


@pytest.mark.postgres
def test_another_replica_improving_the_plan_holds_this_ones_back_until_it_is_done(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Replicas on one PostgreSQL: while another process holds the plan's improvement claim,
    this one asks for an improvement but does not start one; once the claim is let go, it
    improves (from the plan as the other left it)."""
    with (
        database("postgresql", tmp_path_factory.mktemp("polish-pg")) as url,
        in_process(url, ONTIME_POLISH_TIME_LIMIT_S="2") as app,
    ):
        day = generate_day(60, 6, seed=22)
        with app.client() as client:
            plan_id = client.post("/v1/plans", json={"problem": day, "time_limit_s": 2}).json()["id"]
            assert wait_solved(client, plan_id)["status"] == "solved"
            other = Store(url)  # another replica's engine
            try:

                def attempts() -> list[Any]:
                    with other.transaction(readonly=True) as s:
                        return [a for a in repo.list_audit(s, plan_id) if a.action in ("plan_improved", "plan_kept")]

                with other.claim(f"improve:{plan_id}") as theirs:
                    assert theirs
                    hold_everyone(client, plan_id, day, "out")
                    time.sleep(4)  # quiet for far longer than an improvement waits to start
                    assert attempts() == [], "improved while another replica held the plan's claim"
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline and not attempts():
                    time.sleep(0.5)
                assert attempts(), "the improvement asked for never ran once the claim was free"
            finally:
                other.dispose()
            after, calls = fetch(client, plan_id)
        assert_consistent(after, day)
        assert_one_call_per_late_stop(client, after, calls)
