"""The audit log: entries in the order written, by plan or all."""

from __future__ import annotations

from api.store import Store, repo
from tests.api.store.repo.support import T0, new_plan


def test_audit(store: Store) -> None:
    plan_id = new_plan(store)
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
