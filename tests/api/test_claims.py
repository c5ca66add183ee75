"""Work left behind by a replica that died: plans left solving and what-if runs left running are
taken up by a replica that looks for them (at start-up and every `ONTIME_SWEEP_S`), unless
another process still holds their claim (it is alive and at it). The app in process on
PostgreSQL; "another replica" is a second Store holding a claim."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack

import httpx
import pytest

from api.schemas import ProblemIn
from api.store import Store, repo
from tests.api.conftest import database, in_process
from tests.api.test_scenarios_api import FAST, small_day

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("api-claims")]


def wait_for(what: str, done: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"{what} within {timeout_s} s"
        time.sleep(0.3)


def test_work_a_dead_replica_left_is_taken_up_and_work_a_live_one_holds_is_not(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with database("postgresql", tmp_path_factory.mktemp("claims")) as url:
        other = Store(url)  # the replica that was at it
        other.migrate()
        problem = ProblemIn.model_validate(small_day()).model_dump(mode="json")
        run = {"base": {"problem": problem}, "variants": [{"name": "no change", "changes": []}], **FAST}
        with other.transaction() as s:
            for plan_id in ("dead-plan", "live-plan"):
                repo.create_plan(s, plan_id, "left", problem, {"time_limit_s": 1, "iterations": 60, "seed": 1})
                repo.update_plan(s, plan_id, status="solving")
            for scenario_id in ("dead-run", "live-run"):
                repo.create_scenario(s, scenario_id, run)
                repo.update_scenario(s, scenario_id, status="running")

        def plan_status(plan_id: str) -> str:
            with other.transaction(readonly=True) as s:
                return repo.get_plan(s, plan_id).status

        def run_status(scenario_id: str) -> str:
            with other.transaction(readonly=True) as s:
                return repo.get_scenario(s, scenario_id).status

        claims = ExitStack()
        try:
            assert claims.enter_context(other.claim("solve:live-plan"))
            assert claims.enter_context(other.claim("scenario:live-run"))
            with in_process(url, ONTIME_SWEEP_S="0.5", ONTIME_POLISH_TIME_LIMIT_S="0"):
                wait_for("the dead replica's plan solved", lambda: plan_status("dead-plan") == "solved")
                wait_for("the dead replica's run done", lambda: run_status("dead-run") == "done")
                time.sleep(2)  # several more looks
                assert (plan_status("live-plan"), run_status("live-run")) == ("solving", "running")
                claims.close()  # the live replica lets go (or dies: see the store's claim test)
                wait_for("the plan solved once let go", lambda: plan_status("live-plan") == "solved")
                wait_for("the run done once let go", lambda: run_status("live-run") == "done")
            with other.transaction(readonly=True) as s:
                assert repo.get_plan(s, "live-plan").version == 1
                assert len(repo.get_scenario(s, "live-run").results["results"]) == 2
        finally:
            claims.close()
            other.dispose()


def test_a_replica_that_stops_mid_solve_leaves_the_plan_to_the_next_not_failed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A rolling restart: SIGTERM (the app's shutdown) while a plan is solving leaves it
    `solving` with its claim let go, and the next replica to look solves it."""
    with database("postgresql", tmp_path_factory.mktemp("rolling")) as url:
        store = Store(url)
        try:
            with (
                in_process(url, ONTIME_SWEEP_S="0.5", ONTIME_POLISH_TIME_LIMIT_S="0") as first,
                first.client() as client,
            ):
                created = client.post("/v1/plans", json={"problem": small_day(), "time_limit_s": 3})
                assert created.status_code == 202, created.text
            plan_id = created.json()["id"]
            with store.transaction(readonly=True) as s:
                assert repo.get_plan(s, plan_id).status == "solving"  # not failed by the shutdown
            with (
                in_process(url, ONTIME_SWEEP_S="0.5", ONTIME_POLISH_TIME_LIMIT_S="0") as second,
                second.client() as client,
            ):
                wait_for("the plan solved by the next replica", lambda: plan_status(client, plan_id) == "solved")
        finally:
            store.dispose()


def plan_status(client: httpx.Client, plan_id: str) -> str:
    status: str = client.get(f"/v1/plans/{plan_id}").json()["status"]
    return status
