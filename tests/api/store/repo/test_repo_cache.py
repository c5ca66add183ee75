"""The process-wide cache of decoded plan documents: a read never sees an older or a
rolled-back state; the small LRU it is built on."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from api.store import Store, repo
from api.store.repo.cache import LRUCache
from tests.api.store.repo.support import new_plan


def test_a_state_written_elsewhere_is_read_not_an_older_decoded_copy(store: Store) -> None:
    """States are decoded once per revision; a write by another process bumps the revision."""
    plan_id = new_plan(store)
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
    plan_id = new_plan(store)
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
    plan_id = new_plan(store)
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


def test_the_lru_keeps_the_most_recently_used() -> None:
    kept: LRUCache[str, int] = LRUCache(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # a is now the most recently used
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)
    kept.put("a", 10)  # replacing counts as a use
    kept.put("d", 4)
    assert (kept.get("a"), kept.get("c"), kept.get("d")) == (10, None, 4)
