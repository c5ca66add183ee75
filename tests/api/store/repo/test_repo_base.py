"""The steps every aggregate shares: insert a row or say which rule it broke, read a row or say
it is not there. Their messages reach clients as the detail of a 409 or a 404."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.store import Conflict, NotFound, Store, StoreError, repo
from api.store.models import PlanRow
from api.store.repo.base import insert, stored_error
from tests.api.store.repo.support import PROBLEM, T0, new_plan


def _open_call(s: Session, plan_id: str, stop_id: str, call_id: str | None = None) -> None:
    end = T0 + timedelta(hours=1)
    repo.add_call(s, plan_id, stop_id, "c01", "late", T0, end, end, 5.0, "late", id=call_id)


REFUSALS: dict[str, tuple[Callable[[Session, str], object], type[StoreError], str]] = {
    "plan id taken": (lambda s, p: repo.create_plan(s, p, "again", PROBLEM, {}), Conflict, "plan {p} already exists"),
    "route version taken": (
        lambda s, p: repo.add_route_version(s, p, "c01", 1, 1, []),
        Conflict,
        "route version 1 of courier c01 in plan {p} exists",
    ),
    "event id taken": (
        lambda s, p: repo.add_event(s, p, "e1", "c01", "delay", T0, {}, None, None),
        Conflict,
        "event e1 was already received for plan {p}",
    ),
    "stop has an open call": (
        lambda s, p: _open_call(s, p, "o1"),
        Conflict,
        "stop o1 already has an open call (k1) in plan {p}",
    ),
    "call id taken": (lambda s, p: _open_call(s, p, "o2", "k1"), Conflict, "call k1 already exists"),
    "scenario id taken": (lambda s, p: repo.create_scenario(s, "r1", {}), Conflict, "scenario r1 already exists"),
    "route of no plan": (
        lambda s, p: repo.add_route_version(s, "nope", "c01", 1, 1, []),
        NotFound,
        "plan nope not found",
    ),
    "event of no plan": (
        lambda s, p: repo.add_event(s, "nope", "e1", "c01", "delay", T0, {}, None, None),
        NotFound,
        "plan nope not found",
    ),
    "call of no plan": (lambda s, p: _open_call(s, "nope", "o1"), NotFound, "plan nope not found"),
    "no plan": (lambda s, p: repo.get_plan(s, "nope"), NotFound, "plan nope not found"),
    "no plan to update": (lambda s, p: repo.update_plan(s, "nope", name="x"), NotFound, "plan nope not found"),
    "no call": (lambda s, p: repo.get_call(s, "nope"), NotFound, "call nope not found"),
    "no call to update": (lambda s, p: repo.update_call(s, "nope", late_min=1.0), NotFound, "call nope not found"),
    "no message": (lambda s, p: repo.mark_delivered(s, 404, T0), NotFound, "outbox message 404 not found"),
    "no scenario": (lambda s, p: repo.get_scenario(s, "nope"), NotFound, "scenario nope not found"),
    "no scenario to update": (lambda s, p: repo.update_scenario(s, "nope"), NotFound, "scenario nope not found"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_says_what_and_leaves_the_transaction_usable(store: Store, case: str) -> None:
    plan_id = new_plan(store)
    with store.transaction() as s:
        repo.add_route_version(s, plan_id, "c01", 1, 1, [])
        repo.add_event(s, plan_id, "e1", "c01", "delay", T0, {}, None, None)
        _open_call(s, plan_id, "o1", "k1")
        repo.create_scenario(s, "r1", {})
    action, error, message = REFUSALS[case]
    with store.transaction() as s:
        with pytest.raises(error) as raised:
            action(s, plan_id)
        assert str(raised.value) == message.format(p=plan_id)
        assert repo.get_plan(s, plan_id).id == plan_id


def test_a_refusal_that_is_neither_a_taken_value_nor_a_missing_plan_is_raised_as_it_came(store: Store) -> None:
    # the database's check on the status refuses this row
    bad = PlanRow(id="bad", name="x", status="lost", version=1, problem={}, params={}, created_at=T0, updated_at=T0)
    plan_id = new_plan(store)
    with store.transaction() as s:
        with pytest.raises(IntegrityError):
            insert(s, bad, lambda: None, plan_id=plan_id)
        assert repo.get_plan(s, plan_id).id == plan_id  # the savepoint went, the transaction stays


def test_stored_errors_are_cut_to_4000_characters() -> None:
    assert stored_error(None) is None
    assert stored_error("x" * 5000) == "x" * 4000
    assert stored_error("short") == "short"
