"""Scenario runs: created queued, updated, read back."""

from __future__ import annotations

import pytest

from api.store import Conflict, NotFound, Store, repo


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
