"""The outbox: due / delivered / failed-and-retried, idempotent enqueue, in order per plan, leases by
replica, skip-locked workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.store import NotFound, Store, repo

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_due_deliver_and_retry(store: Store) -> None:
    with store.transaction() as s:
        m1 = repo.enqueue(s, "p1", "call_created", {"call": 1}, "call_created:1", next_attempt_at=NOW)
        m2 = repo.enqueue(s, "p2", "route_updated", {"courier": "c01"}, "route_updated:c01:2", next_attempt_at=NOW)
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


def test_a_plans_messages_go_out_in_order_one_at_a_time(store: Store) -> None:
    """Only a plan's oldest undelivered message is due: the next waits while it is in flight
    or waiting for a retry, and other plans' messages (and messages of no plan) do not."""
    with store.transaction() as s:
        a1, a2, a3 = (repo.enqueue(s, "pa", "route_updated", {}, f"a{k}", next_attempt_at=NOW) for k in range(3))
        b1 = repo.enqueue(s, "pb", "call_created", {}, "b1", next_attempt_at=NOW)
        n1, n2 = (repo.enqueue(s, None, "call_updated", {}, f"n{k}", next_attempt_at=NOW) for k in range(2))
    with store.transaction() as s:
        assert [m.id for m in repo.due_messages(s, NOW)] == [a1.id, b1.id, n1.id, n2.id]
        leased = repo.lease_due_messages(s, NOW, NOW + timedelta(minutes=2), "r1")
    assert [m.leased_by for m in leased] == ["r1"] * 4
    with store.transaction() as s:
        assert repo.due_messages(s, NOW + timedelta(minutes=1)) == []  # a2 waits behind a1 in flight
        repo.mark_failed(s, a1.id, "HTTP 503", NOW + timedelta(minutes=5))
        repo.mark_delivered(s, b1.id, NOW)
        repo.mark_delivered(s, n1.id, NOW)
    with store.transaction() as s:
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(minutes=3))] == [n2.id]  # its lease ran out
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(minutes=5))] == [a1.id, n2.id]
        repo.mark_delivered(s, a1.id, NOW + timedelta(minutes=5))
        repo.mark_delivered(s, n2.id, NOW + timedelta(minutes=5))
    with store.transaction() as s:
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(minutes=5))] == [a2.id]
        repo.mark_delivered(s, a2.id, NOW + timedelta(minutes=5))
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(minutes=5))] == [a3.id]


def test_a_restarted_replica_releases_its_own_leases_only(store: Store) -> None:
    with store.transaction() as s:
        mine = repo.enqueue(s, "p1", "call_created", {}, "mine", next_attempt_at=NOW)
        theirs = repo.enqueue(s, "p2", "call_created", {}, "theirs", next_attempt_at=NOW)
    with store.transaction() as s:
        repo.lease_due_messages(s, NOW, NOW + timedelta(minutes=5), "r1", limit=1)
        repo.lease_due_messages(s, NOW, NOW + timedelta(minutes=5), "r2", limit=1)
    with store.transaction() as s:
        assert repo.release_leases(s, NOW + timedelta(seconds=1), "r1") == 1
    with store.transaction() as s:
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(seconds=1))] == [mine.id]
        assert repo.release_leases(s, NOW + timedelta(seconds=1), "r3") == 0
    with store.transaction() as s:
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(minutes=5))] == [mine.id, theirs.id]


def test_lease_hides_messages_until_it_runs_out(store: Store) -> None:
    with store.transaction() as s:
        m1 = repo.enqueue(s, "p1", "call_created", {}, "a", next_attempt_at=NOW)
    with store.transaction() as s:
        leased = repo.lease_due_messages(s, NOW, NOW + timedelta(minutes=5), "r1")
    assert [m.id for m in leased] == [m1.id] and leased[0].next_attempt_at == NOW + timedelta(minutes=5)
    with store.transaction() as s:
        assert repo.due_messages(s, NOW + timedelta(minutes=4)) == []
        assert [m.id for m in repo.due_messages(s, NOW + timedelta(minutes=5))] == [m1.id]


def test_workers_skip_each_others_messages(store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite serialises writing transactions instead")
    with store.transaction() as s:
        ids = [repo.enqueue(s, f"p{i}", "call_created", {}, f"k{i}", next_attempt_at=NOW).id for i in range(5)]
    with store.transaction() as first, store.transaction() as second:
        mine = [m.id for m in repo.due_messages(first, NOW, limit=2)]
        theirs = [m.id for m in repo.due_messages(second, NOW)]  # does not wait for `first`
        assert mine == ids[:2] and theirs == ids[2:]
        for message_id in mine:
            repo.mark_delivered(first, message_id, NOW)
    with store.transaction() as s:
        assert repo.pending_count(s) == 3


def test_a_replica_whose_lease_ran_out_leaves_the_message_to_the_one_that_has_it(store: Store) -> None:
    with store.transaction() as s:
        message = repo.enqueue(s, "p1", "call_created", {}, "slow", next_attempt_at=NOW)
    with store.transaction() as s:
        repo.lease_due_messages(s, NOW, NOW + timedelta(minutes=1), "r1")
    with store.transaction() as s:  # r1's receiver hangs past the lease: r2 takes the message
        assert [
            m.id for m in repo.lease_due_messages(s, NOW + timedelta(minutes=2), NOW + timedelta(minutes=3), "r2")
        ] == [message.id]
    with store.transaction() as s:
        kept = repo.mark_failed(s, message.id, "timeout", NOW + timedelta(minutes=2, seconds=1), "r1")
    assert (kept.attempts, kept.leased_by, kept.next_attempt_at) == (0, "r2", NOW + timedelta(minutes=3))
    with store.transaction() as s:
        first = repo.mark_delivered(s, message.id, NOW + timedelta(minutes=2, seconds=5))
        again = repo.mark_delivered(s, message.id, NOW + timedelta(minutes=2, seconds=9))  # both got through
    assert again == first and first.attempts == 1 and first.delivered_at == NOW + timedelta(minutes=2, seconds=5)
