"""Call tasks: one open call per stop (enforced by the database), their lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.store import CallRecord, Conflict, NotFound, Store, repo
from tests.api.store.repo.support import T0, new_plan


def _call(s: Session, plan_id: str, stop_id: str, **kw: object) -> CallRecord:
    args: dict[str, object] = {
        "courier_id": "c01",
        "kind": "late",
        "window_start": T0 + timedelta(hours=1),
        "window_end": T0 + timedelta(hours=3),
        "eta": T0 + timedelta(hours=3, minutes=25),
        "late_min": 25.0,
        "reason": "ETA after window end",
    }
    args.update(kw)
    return repo.add_call(s, plan_id, stop_id, **args)  # type: ignore[arg-type]


def test_one_open_call_per_stop(store: Store) -> None:
    plan_id = new_plan(store)
    other_plan = new_plan(store)
    with store.transaction() as s:
        first = _call(s, plan_id, "o1001")
        with pytest.raises(Conflict):
            _call(s, plan_id, "o1001", kind="dropped")
        # Still usable; other stops and other plans are independent.
        _call(s, plan_id, "o1002")
        _call(s, other_plan, "o1001")
    with store.transaction(readonly=True) as s:
        assert [c.id for c in repo.open_calls(s, plan_id) if c.stop_id == "o1001"] == [first.id]


def test_open_call_uniqueness_is_enforced_by_the_database(store: Store) -> None:
    plan_id = new_plan(store)
    insert = text(
        "INSERT INTO calls (id, plan_id, stop_id, kind, status, window_start, window_end, late_min, reason,"
        " urgent, created_at, updated_at) VALUES (:id, :plan_id, 'o1', 'late', :status, :t, :t, 0, '', :f, :t, :t)"
    )
    t = "2026-11-26 08:00:00" if store.is_sqlite else T0
    with store.transaction() as s:
        for status in ("done", "done", "open"):  # closed calls do not count
            s.execute(insert, {"id": repo.new_id(), "plan_id": plan_id, "status": status, "t": t, "f": False})
        with pytest.raises(IntegrityError), s.begin_nested():
            s.execute(insert, {"id": repo.new_id(), "plan_id": plan_id, "status": "open", "t": t, "f": False})


def test_call_lifecycle(store: Store) -> None:
    plan_id = new_plan(store)
    with store.transaction() as s:
        call = _call(s, plan_id, "o1001", urgent=True)
    assert (call.status, call.outcome, call.closed_at, call.urgent, call.late_min) == ("open", None, None, True, 25.0)
    with store.transaction() as s:
        moved = repo.update_call(s, call.id, eta=T0 + timedelta(hours=3, minutes=40), late_min=40.0)
        assert moved.status == "open" and moved.late_min == 40.0 and moved.updated_at >= call.updated_at
        done = repo.update_call(
            s, call.id, status="done", outcome="accepted_late", outcome_actor="service", new_window=None
        )
    assert done.status == "done" and done.closed_at is not None and done.outcome_actor == "service"
    with store.transaction() as s:
        second = _call(s, plan_id, "o1001", kind="failed")  # the stop may have a new open call now
        with pytest.raises(Conflict):
            repo.update_call(s, call.id, status="open")  # reopening would make two
        assert repo.get_call(s, call.id).status == "done"  # unchanged, transaction usable
        rebooked = repo.update_call(
            s, second.id, status="done", outcome="rebooked", new_window={"start": "a", "end": "b"}
        )
        assert rebooked.new_window == {"start": "a", "end": "b"}
    with store.transaction(readonly=True) as s:
        assert repo.open_calls(s, plan_id) == []
        assert [c.id for c in repo.list_calls(s, plan_id, status="done")] == [call.id, second.id]
        assert len(repo.list_calls(s, plan_id)) == 2
        with pytest.raises(NotFound):
            repo.get_call(s, "nope")
    with store.transaction() as s:
        with pytest.raises(TypeError, match="stop_id"):
            repo.update_call(s, call.id, stop_id="o2")
        with pytest.raises(ValueError, match="outcome"):
            repo.update_call(s, call.id, outcome="maybe")
        with pytest.raises(ValueError, match="kind"):
            _call(s, plan_id, "o9", kind="sad")
        with pytest.raises(NotFound):
            repo.update_call(s, "nope", late_min=1.0)
        with pytest.raises(NotFound):
            _call(s, "nope", "o1")
