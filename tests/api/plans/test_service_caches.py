"""The service's in-process shortcuts say exactly what recomputing from the store would.

Events take a fast path: one courier re-timed against the last re-timed day, the snapshot
keeping the entries of couriers not re-timed, and the previous decision's view of the plan
reused as the next one's "before". After every event of a simulated day, each shortcut is
checked against the full computation from the committed state.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.auth import Principal
from api.plans.service import PlanService
from api.plans.state import PlanState, plan_view, snapshot
from api.schemas import EventIn, EventOut, PlanCreateIn
from api.settings import Settings
from api.store import Store, repo
from api.store.models import PlanRow
from benchmarks.load import day_reports
from scenarios.executors import LocalExecutor
from scenarios.generate import generate_day
from tests.api.conftest import DAY, database

BOSS = Principal(role="dispatcher", key_id="test")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PlanService]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ontime.sqlite'}", api_keys="", polish_time_limit_s=0)
    store = Store(settings.database_url)
    store.migrate()
    executor = LocalExecutor(1)
    try:
        yield PlanService(settings, store, executor, lambda: None, replan_executor=executor)
    finally:
        executor.shutdown()
        store.dispose()


def solved(service: PlanService, day: dict[str, Any]) -> dict[str, Any]:
    return solved_with(service, PlanCreateIn.model_validate({"problem": day, "time_limit_s": 2}))


def committed(service: PlanService, plan_id: str) -> dict[str, Any]:
    with service.store.transaction(readonly=True) as s:
        state = repo.get_plan(s, plan_id).state
    assert state is not None
    return state


@pytest.mark.slow
def test_fast_path_shortcuts_match_the_full_computation(service: PlanService) -> None:
    day = generate_day(60, 6, seed=5, date=DAY)
    plan = solved(service, day)
    reports, _ = day_reports(plan, day, position_every_min=10, delays=2, seed=3)
    events = sorted(r for rs in reports.values() for r in rs)[:120]
    fast = 0
    completions = 0
    for report in events:
        body = EventIn.model_validate(report.body)
        if body.type == "stop_completed":
            completions += 1
            if completions % 4 == 0:  # the recipient was out: a failed delivery and its call
                body = body.model_copy(update={"type": "stop_failed"})
        before_seq = int(committed(service, plan["id"]).get("seq", 0))
        fast += (
            body.type in ("position", "stop_completed")
            and (service.runtime.days.get(plan["id"]) or (-1,))[0] == before_seq
        )
        service.post_event(plan["id"], body, BOSS)
        state = committed(service, plan["id"])
        with service.store.transaction(readonly=True) as s:  # decoded afresh, not the kept document
            assert s.scalar(select(PlanRow.state).where(PlanRow.id == plan["id"])) == state
        kept_day, kept_view = service.runtime.days.get(plan["id"]), service.runtime.views.get(plan["id"])
        assert kept_day is not None and kept_view is not None
        (seq, day_state, _), (view_seq, view) = kept_day, kept_view
        assert seq == view_seq == state["seq"]
        fresh = PlanState(snapshot=snapshot(day_state)).to_doc()["snapshot"]
        assert state["snapshot"] == fresh, f"snapshot reused wrongly after {body.event_id}"
        typed = PlanState.from_doc(state)
        assert typed.to_doc() == state, f"the codec does not round-trip after {body.event_id}"
        problem = typed.problem(service.runtime.wire(_record(service, plan["id"])))
        assert view == plan_view(typed, problem, {}), f"view differs after {body.event_id}"
    assert fast > len(events) // 2  # the shortcuts were really taken
    assert committed(service, plan["id"])["failed_called"]


def _record(service: PlanService, plan_id: str) -> Any:
    with service.store.transaction(readonly=True) as s:
        return repo.get_plan(s, plan_id)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_replicas_caches_never_stand_in_for_what_the_other_wrote(tmp_path: Path) -> None:
    """Two services (two replicas' runtimes, each its own engine) on one PostgreSQL take a day's
    reports in turn: each keeps its shortcuts of the states it wrote, the other writes in
    between, and every state committed is the one a single service commits for the same
    reports in the same order."""
    settings = {"api_keys": "", "polish_time_limit_s": 0, "replan_iterations": 40, "replan_time_limit_s": 20}
    executor = LocalExecutor(1)
    with ExitStack() as stack:
        stack.callback(executor.shutdown)
        url = stack.enter_context(database("postgresql", tmp_path))
        replicas = []
        for _ in range(2):
            store = Store(url)
            stack.callback(store.dispose)
            store.migrate()
            replicas.append(PlanService(Settings(database_url=url, **settings), store, executor, lambda: None))
        alone_store = Store(f"sqlite:///{tmp_path / 'alone.sqlite'}")
        stack.callback(alone_store.dispose)
        alone_store.migrate()
        alone = PlanService(
            Settings(database_url=str(alone_store.url), **settings), alone_store, executor, lambda: None
        )
        day = generate_day(50, 5, seed=6, date=DAY)
        body = PlanCreateIn.model_validate({"problem": day, "time_limit_s": 20, "iterations": 200, "seed": 2})
        shared, single = solved_with(replicas[0], body), solved_with(alone, body)
        assert [r["visits"] for r in shared["routes"]] == [r["visits"] for r in single["routes"]]
        reports, _ = day_reports(shared, day, position_every_min=10, delays=2, seed=4)
        events = sorted(r for rs in reports.values() for r in rs)[:60]
        for k, report in enumerate(events):
            event = EventIn.model_validate(report.body)
            replica = replicas[k % 2]
            theirs, mine = (
                replica.post_event(shared["id"], event, BOSS).out,
                alone.post_event(single["id"], event, BOSS).out,
            )
            assert figures(theirs) == figures(mine), f"answers differ at {event.event_id}"
            assert committed(replica, shared["id"]) == committed(alone, single["id"]), event.event_id
        assert all(r.runtime.days.get(shared["id"]) is not None for r in replicas)  # both kept shortcuts


def figures(answer: EventOut) -> dict[str, Any]:
    """An answer without what names or times the service's own records (call ids, creation)."""
    return answer.model_dump(mode="json", exclude={"calls": {"__all__": {"id", "created_at"}}})


def solved_with(service: PlanService, body: PlanCreateIn) -> dict[str, Any]:
    accepted = service.create_plan(body, BOSS)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        plan = service.get_plan(accepted.id, BOSS)
        if plan.status == "solved":
            return plan.model_dump(mode="json")
        assert plan.status != "failed", plan.error
        time.sleep(0.2)
    raise AssertionError("not solved")
