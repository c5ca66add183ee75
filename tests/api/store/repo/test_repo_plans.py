"""Plans: create, read, update only what is given, newest first, stale ones found."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from api.store import Conflict, NotFound, PlanRecord, Store, repo
from api.store.models import Base
from tests.api.store.repo.support import PROBLEM, T0, new_plan


def test_create_get_and_records_are_plain(store: Store) -> None:
    plan_id = new_plan(store)
    with store.transaction(readonly=True) as s:
        plan = repo.get_plan(s, plan_id)
    assert isinstance(plan, PlanRecord) and not isinstance(plan, Base)
    assert (plan.status, plan.version, plan.error, plan.state, plan.clock) == ("queued", 1, None, None, None)
    assert plan.problem == PROBLEM and plan.params == {"time_limit_s": 10}
    assert plan.created_at.tzinfo is not None and plan.created_at == plan.updated_at
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.status = "solved"  # type: ignore[misc]


def test_duplicate_plan_id_conflicts_and_missing_plan_is_not_found(store: Store) -> None:
    plan_id = new_plan(store)
    with store.transaction() as s:
        with pytest.raises(Conflict):
            repo.create_plan(s, plan_id, "again", PROBLEM, {})
        assert repo.get_plan(s, plan_id).name == "pudong"  # the transaction is still usable
        with pytest.raises(NotFound):
            repo.get_plan(s, "nope")
        with pytest.raises(NotFound):
            repo.update_plan(s, "nope", status="solving")


def test_update_plan_sets_only_given_fields(store: Store) -> None:
    plan_id = new_plan(store)
    with store.transaction() as s:
        before = repo.get_plan(s, plan_id)
        repo.update_plan(s, plan_id, status="failed", error="engine crashed")
    with store.transaction() as s:
        after = repo.update_plan(s, plan_id, state={"routes": {"c01": ["o1"]}}, version=2, clock=T0)
    assert after.status == "failed" and after.error == "engine crashed"  # untouched
    assert after.state == {"routes": {"c01": ["o1"]}} and after.version == 2 and after.clock == T0
    assert after.updated_at >= before.updated_at and after.created_at == before.created_at
    with store.transaction() as s:
        cleared = repo.update_plan(s, plan_id, status="solved", error=None, clock=None)
    assert (cleared.status, cleared.error, cleared.clock, cleared.version) == ("solved", None, None, 2)
    assert cleared.state == {"routes": {"c01": ["o1"]}}
    with store.transaction() as s, pytest.raises(ValueError, match="plan status"):
        repo.update_plan(s, plan_id, status="done")


def test_list_plans_newest_first_and_stale_plans(store: Store) -> None:
    ids = [new_plan(store, f"p{i}", created_at=T0 + timedelta(minutes=i)) for i in range(4)]
    with store.transaction() as s:
        repo.update_plan(s, ids[1], status="solving")
        repo.update_plan(s, ids[2], status="solved")
        repo.update_plan(s, ids[3], status="failed", error="x")
    with store.transaction(readonly=True) as s:
        assert [p.id for p in repo.list_plans(s)] == ids[::-1]
        assert [p.id for p in repo.list_plans(s, limit=2)] == [ids[3], ids[2]]
        summaries = repo.list_plan_summaries(s, limit=3)
        assert [p.id for p in summaries] == [ids[3], ids[2], ids[1]]
        assert summaries[0].status == "failed" and summaries[0].error == "x"
    with store.transaction() as s:
        assert repo.claim_stale_plans(s) == [ids[0], ids[1]]
        assert repo.claim_stale_plans(s, updated_before=T0) == []


def test_transaction_rolls_back_on_exception(store: Store) -> None:
    plan_id = repo.new_id()
    with pytest.raises(RuntimeError), store.transaction() as s:
        repo.create_plan(s, plan_id, "x", PROBLEM, {})
        raise RuntimeError("boom")
    with store.transaction(readonly=True) as s, pytest.raises(NotFound):
        repo.get_plan(s, plan_id)
