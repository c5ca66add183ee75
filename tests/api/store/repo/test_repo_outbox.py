"""The outbox: due / delivered / failed-and-retried, idempotent enqueue, skip-locked workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.store import NotFound, Store, repo

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_due_deliver_and_retry(store: Store) -> None:
    with store.transaction() as s:
        m1 = repo.enqueue(s, "p1", "call_created", {"call": 1}, "call_created:1", next_attempt_at=NOW)
        m2 = repo.enqueue(s, "p1", "route_updated", {"courier": "c01"}, "route_updated:c01:2", next_attempt_at=NOW)
        m3 = repo.enqueue(s, None, "call_updated", {}, "later", next_attempt_at=NOW + timedelta(hours=1))
        again = repo.enqueue(s, "p1", "call_created", {"call": "other"}, "call_created:1")
    assert again == m1 and again.payload == {"call": 1}  # idempotent by key: nothing new
    assert (m1.attempts, m1.delivered_at, m1.last_error) == (0, None, None)
    with store.transaction() as s:
        assert repo.pending_count(s) == 3
        assert [m.id for m in repo.due_messages(s, NOW)] == [m1.id, m2.id]
        assert [m.id for m in repo.due_messages(s, NOW, limit=1)] == [m1.id]
        failed = repo.mark_failed(s, m1.id, "HTTP 500: " + "x" * 10_000, NOW + timedelta(seconds=60))
    assert failed.attempts == 1 and failed.last_error is not None and failed.last_error.startswith("HTTP 500")
    with store.transaction() as s:
        assert [m.id for m in repo.due_messages(s, NOW)] == [m2.id]  # m1 waits for its retry time
        repo.mark_delivered(s, m2.id, NOW + timedelta(seconds=1))
    with store.transaction() as s:
        assert repo.due_messages(s, NOW + timedelta(seconds=30)) == []
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(seconds=60))] == [m1.id]
        assert repo.pending_count(s) == 2
        repo.mark_failed(s, m1.id, "timeout", NOW + timedelta(seconds=180))
    with store.transaction() as s:
        delivered = repo.mark_delivered(s, m1.id, NOW + timedelta(seconds=181))
    assert delivered.attempts == 3 and delivered.last_error is None
    assert delivered.delivered_at == NOW + timedelta(seconds=181)
    with store.transaction() as s:
        assert repo.pending_count(s) == 1
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(days=1))] == [m3.id]
        with pytest.raises(NotFound):
            repo.mark_delivered(s, 999_999, NOW)
        with pytest.raises(NotFound):
            repo.mark_failed(s, 999_999, "x", NOW)


def test_lease_hides_messages_until_it_runs_out(store: Store) -> None:
    with store.transaction() as s:
        m1 = repo.enqueue(s, "p1", "call_created", {}, "a", next_attempt_at=NOW)
    with store.transaction() as s:
        leased = repo.lease_due_messages(s, NOW, NOW + timedelta(minutes=5))
    assert [m.id for m in leased] == [m1.id] and leased[0].next_attempt_at == NOW + timedelta(minutes=5)
    with store.transaction() as s:
        assert repo.due_messages(s, NOW + timedelta(minutes=4)) == []
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(minutes=5))] == [m1.id]


def test_workers_skip_each_others_messages(store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite serialises writing transactions instead")
    with store.transaction() as s:
        ids = [repo.enqueue(s, "p1", "call_created", {}, f"k{i}", next_attempt_at=NOW).id for i in range(5)]
    with store.transaction() as first, store.transaction() as second:
        mine = [m.id for m in repo.due_messages(first, NOW, limit=2)]
        theirs = [m.id for m in repo.due_messages(second, NOW)]  # does not wait for `first`
        assert mine == ids[:2] and theirs == ids[2:]
        for message_id in mine:
            repo.mark_delivered(first, message_id, NOW)
    with store.transaction() as s:
        assert repo.pending_count(s) == 3
