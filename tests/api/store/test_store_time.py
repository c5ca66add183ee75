"""Aware datetimes round-trip as the same instant, in UTC, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from api.store import Store, repo

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 26, 10, 5, 7, 123456, tzinfo=SHANGHAI)


def test_aware_datetimes_round_trip(store: Store, make_store: Callable[..., Store]) -> None:
    plan_id = repo.new_id()
    with store.transaction() as s:
        repo.create_plan(s, plan_id, "x", {}, {})
        written = repo.update_plan(s, plan_id, clock=AT)
        event = repo.add_event(s, plan_id, "e1", "c01", "delay", AT, {}, None, "c01")
    assert written.clock == AT and written.clock is not None and written.clock.utcoffset() == timedelta(0)
    assert event.at == AT and event.at.tzinfo is not None and event.at.utcoffset() == timedelta(0)
    store.dispose()
    fresh = make_store()
    with fresh.transaction(readonly=True) as s:
        plan = repo.get_plan(s, plan_id)
        (stored,) = repo.list_events(s, plan_id)
    for value in (plan.clock, stored.at, plan.created_at, stored.received_at):
        assert value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert plan.clock == AT and stored.at == AT  # same instant, microseconds kept
    assert plan.clock.hour == 2 and plan.clock.microsecond == 123456


def test_sqlite_stores_utc_text(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("SQLite only: the raw column text must be UTC so it orders and compares as time")
    plan_id = repo.new_id()
    with store.transaction() as s:
        repo.create_plan(s, plan_id, "x", {}, {})
        repo.update_plan(s, plan_id, clock=AT)
        raw = s.execute(text("SELECT clock FROM plans WHERE id = :id"), {"id": plan_id}).scalar()
    assert raw == "2026-11-26 02:05:07.123456"


def test_naive_datetimes_are_refused(store: Store) -> None:
    plan_id = repo.new_id()
    with store.transaction() as s:
        repo.create_plan(s, plan_id, "x", {}, {})
        with pytest.raises(ValueError, match="naive"):
            repo.update_plan(s, plan_id, clock=datetime(2026, 11, 26, 10, 5))
        with pytest.raises(ValueError, match="naive"):
            repo.due_messages(s, datetime(2026, 11, 26, 10, 5))


def test_comparisons_use_the_instant_not_the_offset(store: Store) -> None:
    plan_id = repo.new_id()
    utc_noon = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with store.transaction() as s:
        repo.create_plan(s, plan_id, "x", {}, {})
        # 19:00+08:00 is 11:00Z: before 12:00Z although its wall time is later.
        repo.add_event(s, plan_id, "utc", "c01", "position", utc_noon, {}, None, None)
        repo.add_event(
            s, plan_id, "sh", "c01", "position", datetime(2026, 11, 26, 19, 0, tzinfo=SHANGHAI), {}, None, None
        )
        repo.enqueue(
            s, plan_id, "route_updated", {}, "k1", next_attempt_at=datetime(2026, 11, 26, 19, 0, tzinfo=SHANGHAI)
        )
    with store.transaction() as s:
        assert [e.event_id for e in repo.list_events(s, plan_id)] == ["sh", "utc"]
        assert len(repo.due_messages(s, utc_noon - timedelta(minutes=30))) == 1
        assert repo.due_messages(s, utc_noon - timedelta(minutes=61)) == []
