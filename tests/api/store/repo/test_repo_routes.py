"""Route versions: one row per courier and version, the newest of each courier."""

from __future__ import annotations

import pytest

from api.store import Conflict, NotFound, Store, repo
from tests.api.store.repo.support import new_plan


def test_route_versions(store: Store) -> None:
    plan_id = new_plan(store)
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
