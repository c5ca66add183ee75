"""Courier events: idempotent by client event id, listed by time then arrival."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.store import Conflict, EventRecord, NotFound, Store, repo
from tests.api.store.repo.support import T0, new_plan


def test_repeated_event_id_conflicts_and_first_answer_is_kept(store: Store) -> None:
    plan_id = new_plan(store)
    other_plan = new_plan(store)
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
    plan_id = new_plan(store)
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
