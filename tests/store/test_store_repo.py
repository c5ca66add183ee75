"""Repository functions on both backends: records out, rules enforced by the database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.store import (
    CallRecord,
    Conflict,
    EventRecord,
    NotFound,
    PlanRecord,
    Store,
    repo,
)
from api.store.models import Base

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
PROBLEM = {"name": "pudong", "depots": [{"id": "hub", "lat": 31.22, "lon": 121.54}], "couriers": [], "stops": []}


def _plan(store: Store, name: str = "pudong", created_at: datetime | None = None) -> str:
    plan_id = repo.new_id()
    with store.transaction() as s:
        repo.create_plan(s, plan_id, name, PROBLEM, {"time_limit_s": 10}, created_at=created_at)
    return plan_id


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


# ---------------------------------------------------------------- plans


def test_create_get_and_records_are_plain(store: Store) -> None:
    plan_id = _plan(store)
    with store.transaction(readonly=True) as s:
        plan = repo.get_plan(s, plan_id)
    assert isinstance(plan, PlanRecord) and not isinstance(plan, Base)
    assert (plan.status, plan.version, plan.error, plan.state, plan.clock) == ("queued", 1, None, None, None)
    assert plan.problem == PROBLEM and plan.params == {"time_limit_s": 10}
    assert plan.created_at.tzinfo is not None and plan.created_at == plan.updated_at
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.status = "solved"  # type: ignore[misc]


def test_duplicate_plan_id_conflicts_and_missing_plan_is_not_found(store: Store) -> None:
    plan_id = _plan(store)
    with store.transaction() as s:
        with pytest.raises(Conflict):
            repo.create_plan(s, plan_id, "again", PROBLEM, {})
        assert repo.get_plan(s, plan_id).name == "pudong"  # the transaction is still usable
        with pytest.raises(NotFound):
            repo.get_plan(s, "nope")
        with pytest.raises(NotFound):
            repo.update_plan(s, "nope", status="solving")


def test_update_plan_sets_only_given_fields(store: Store) -> None:
    plan_id = _plan(store)
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


def test_a_state_written_elsewhere_is_read_not_an_older_decoded_copy(store: Store) -> None:
    """States are decoded once per revision; a write by another process bumps the revision."""
    plan_id = _plan(store)
    with store.transaction() as s:
        repo.update_plan(s, plan_id, state={"seq": 1})
    for _ in range(2):  # the second read is served from the decoded copy
        with store.transaction(readonly=True) as s:
            assert repo.get_plan(s, plan_id).state == {"seq": 1}
    with store.engine.begin() as conn:  # another process, through SQL alone
        conn.execute(
            text("UPDATE plans SET state = :state, state_rev = state_rev + 1 WHERE id = :id"),
            {"state": '{"seq": 2}', "id": plan_id},
        )
    with store.transaction(readonly=True) as s:
        assert repo.get_plan(s, plan_id).state == {"seq": 2}


def test_a_committed_state_is_read_back_as_written_without_decoding_it(store: Store) -> None:
    """Each event writes the plan's state and the next one reads it: the written document is
    kept once its transaction commits, never before, and never after a rollback."""
    plan_id = _plan(store)
    written = {"seq": 1, "routes": {"c01": ["o1", "o2"]}}
    with store.transaction() as s:
        repo.update_plan(s, plan_id, state=written)
    with store.transaction(readonly=True) as s:
        assert repo.get_plan(s, plan_id).state is written
    never = {"seq": 2}
    with pytest.raises(RuntimeError), store.transaction() as s:
        repo.update_plan(s, plan_id, state=never)
        raise RuntimeError("rolled back")
    with store.transaction(readonly=True) as s:
        assert repo.get_plan(s, plan_id).state is written


def test_a_rolled_back_state_is_never_read(store: Store) -> None:
    plan_id = _plan(store)
    with store.transaction() as s:
        repo.update_plan(s, plan_id, state={"seq": 1})
    with pytest.raises(RuntimeError), store.transaction() as s:
        assert repo.update_plan(s, plan_id, state={"seq": "never"}).state == {"seq": "never"}
        assert repo.get_plan(s, plan_id).state == {"seq": "never"}  # its own write, in its transaction
        raise RuntimeError("rolled back")
    with store.transaction() as s:
        assert repo.get_plan(s, plan_id).state == {"seq": 1}
        repo.update_plan(s, plan_id, state={"seq": 2})  # the revision the rolled-back write had
    with store.transaction(readonly=True) as s:
        assert repo.get_plan(s, plan_id).state == {"seq": 2}


def test_list_plans_newest_first_and_stale_plans(store: Store) -> None:
    ids = [_plan(store, f"p{i}", created_at=T0 + timedelta(minutes=i)) for i in range(4)]
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


# ---------------------------------------------------------------- route versions


def test_route_versions(store: Store) -> None:
    plan_id = _plan(store)
    with store.transaction() as s:
        repo.add_route_version(s, plan_id, "c01", 1, 1, ["o1", "o2"])
        repo.add_route_version(s, plan_id, "c02", 1, 1, ["o3"])
        repo.add_route_version(s, plan_id, "c01", 2, 2, ["o2", "o1"])
        with pytest.raises(Conflict):
            repo.add_route_version(s, plan_id, "c01", 2, 3, ["o1"])
        with pytest.raises(NotFound):
            repo.add_route_version(s, "nope", "c01", 1, 1, [])
    with store.transaction(readonly=True) as s:
        history = repo.route_history(s, plan_id, "c01")
        latest = repo.latest_routes(s, plan_id)
    assert [(r.version, r.plan_version, r.stops) for r in history] == [(1, 1, ["o1", "o2"]), (2, 2, ["o2", "o1"])]
    assert {c: (r.version, r.stops) for c, r in latest.items()} == {"c01": (2, ["o2", "o1"]), "c02": (1, ["o3"])}


# ---------------------------------------------------------------- events


def test_repeated_event_id_conflicts_and_first_answer_is_kept(store: Store) -> None:
    plan_id = _plan(store)
    other_plan = _plan(store)
    at = T0 + timedelta(hours=2)
    with store.transaction() as s:
        first = repo.add_event(s, plan_id, "e-7f3a", "c01", "delay", at, {"delay_min": 40}, {"plan_version": 2}, "c01")
    assert isinstance(first, EventRecord)
    with store.transaction() as s:
        with pytest.raises(Conflict):
            repo.add_event(s, plan_id, "e-7f3a", "c01", "delay", at, {"delay_min": 5}, {"plan_version": 3}, "c01")
        # The transaction is still usable, and the first event is what the store holds.
        again = repo.find_event(s, plan_id, "e-7f3a")
        assert again == first and again is not None and again.response == {"plan_version": 2}
        # The same client id in another plan is another event.
        repo.add_event(s, other_plan, "e-7f3a", "c01", "position", at, {}, None, "c01")
    with store.transaction(readonly=True) as s:
        assert repo.find_event(s, plan_id, "e-7f3a") == first
        assert repo.find_event(s, plan_id, "e-unknown") is None
        assert len(repo.list_events(s, plan_id)) == 1
    with store.transaction() as s, pytest.raises(NotFound):
        repo.add_event(s, "nope", "e1", "c01", "delay", at, {}, None, None)


def test_events_are_listed_by_time_then_arrival(store: Store) -> None:
    plan_id = _plan(store)
    at = T0 + timedelta(hours=2)
    with store.transaction() as s:
        repo.add_event(s, plan_id, "late", "c01", "position", at + timedelta(minutes=5), {}, None, "c01")
        repo.add_event(s, plan_id, "b", "c01", "position", at, {}, None, "c01")
        repo.add_event(s, plan_id, "early", "c02", "delay", at - timedelta(minutes=30), {}, None, "c02")
        repo.add_event(s, plan_id, "a", "c02", "position", at, {}, None, "c02")
    with store.transaction(readonly=True) as s:
        events = repo.list_events(s, plan_id)
    assert [e.event_id for e in events] == ["early", "b", "a", "late"]
    assert events[1].id < events[2].id


# ---------------------------------------------------------------- calls


def test_one_open_call_per_stop(store: Store) -> None:
    plan_id = _plan(store)
    other_plan = _plan(store)
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
    plan_id = _plan(store)
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
    plan_id = _plan(store)
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


# ---------------------------------------------------------------- scenarios, audit


def test_scenarios(store: Store) -> None:
    scenario_id = repo.new_id()
    request = {"base": {"plan_id": "p"}, "variants": [{"name": "festival", "changes": []}]}
    with store.transaction() as s:
        created = repo.create_scenario(s, scenario_id, request)
        with pytest.raises(Conflict):
            repo.create_scenario(s, scenario_id, request)
    assert (created.status, created.results, created.error) == ("queued", None, None)
    with store.transaction() as s:
        repo.update_scenario(s, scenario_id, status="running")
        results = [{"name": "base", "kpis": {"distance_km": 10.5}}]
        done = repo.update_scenario(s, scenario_id, status="done", results=results)
    assert done.status == "done" and done.results == results and done.request == request
    with store.transaction(readonly=True) as s:
        assert repo.get_scenario(s, scenario_id) == done
        with pytest.raises(NotFound):
            repo.get_scenario(s, "nope")
    with store.transaction() as s, pytest.raises(ValueError):
        repo.update_scenario(s, scenario_id, status="finished")


def test_audit(store: Store) -> None:
    plan_id = _plan(store)
    with store.transaction() as s:
        repo.add_audit(s, plan_id, "dispatcher", "plan.create", {"stops": 200})
        repo.add_audit(s, None, "admin", "keys.rotate")
        repo.add_audit(s, plan_id, "service", "call.outcome", {"call": "x"}, at=T0)
    with store.transaction(readonly=True) as s:
        entries = repo.list_audit(s, plan_id)
        everything = repo.list_audit(s, None)
    assert [(e.actor, e.action, e.detail) for e in entries] == [
        ("dispatcher", "plan.create", {"stops": 200}),
        ("service", "call.outcome", {"call": "x"}),
    ]
    assert entries[1].at == T0 and len(everything) == 3 and everything[1].plan_id is None
