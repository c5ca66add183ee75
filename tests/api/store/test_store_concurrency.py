"""plan_transaction really serialises writers of a plan; committed data survives a new Store."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.store import NotFound, Store, StoreUnavailable, repo

ROUNDS = 50


def _plan(store: Store) -> str:
    plan_id = repo.new_id()
    with store.transaction() as s:
        repo.create_plan(s, plan_id, "x", {}, {})
    return plan_id


def _run(*targets: Callable[[], None], timeout: float = 120) -> None:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == []


def test_no_lost_update_under_plan_transaction(store: Store) -> None:
    plan_id = _plan(store)
    start = threading.Barrier(2)

    def increment() -> None:
        start.wait(10)
        for _ in range(ROUNDS):
            with store.plan_transaction(plan_id) as s:
                version = repo.get_plan(s, plan_id).version
                time.sleep(0.001)  # widen the read-modify-write window
                repo.update_plan(s, plan_id, version=version + 1)

    _run(increment, increment)
    with store.transaction(readonly=True) as s:
        assert repo.get_plan(s, plan_id).version == 1 + 2 * ROUNDS


def test_plan_lock_is_held_until_commit(store: Store) -> None:
    plan_id = _plan(store)
    holding, release, entered = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def holder() -> None:
        with store.plan_transaction(plan_id) as s:
            repo.update_plan(s, plan_id, version=2)
            holding.set()
            assert release.wait(30)

    def contender() -> None:
        assert holding.wait(30)
        with store.plan_transaction(plan_id) as s:
            entered.set()
            seen.append(repo.get_plan(s, plan_id).version)

    def referee() -> None:
        assert holding.wait(30)
        assert not entered.wait(0.7), "a second plan_transaction got in while the first held the lock"
        # Readers are not blocked by the writer and see the last committed state.
        with store.transaction(readonly=True) as s:
            assert repo.get_plan(s, plan_id).version == 1
        release.set()

    _run(holder, contender, referee)
    assert seen == [2]  # the contender saw the holder's committed write


def test_other_plans_are_not_blocked_on_postgresql(store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("SQLite has one write lock for the whole database")
    plan_a, plan_b = _plan(store), _plan(store)
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.plan_transaction(plan_a):
            holding.set()
            assert release.wait(30)

    def other() -> None:
        assert holding.wait(30)
        try:
            with store.plan_transaction(plan_b) as s:  # would wait for `holder` if it locked plan_b too
                repo.update_plan(s, plan_b, version=5)
        finally:
            release.set()

    began = time.monotonic()
    _run(holder, other)
    assert time.monotonic() - began < 10


def test_waiting_for_the_plan_lock_times_out(store: Store, make_store: Callable[..., Store]) -> None:
    plan_id = _plan(store)
    impatient = make_store(lock_timeout_s=0.3)
    with store.plan_transaction(plan_id):
        began = time.monotonic()
        with pytest.raises(StoreUnavailable), impatient.plan_transaction(plan_id):
            pytest.fail("got the lock another transaction holds")
        assert time.monotonic() - began < 5
    with impatient.plan_transaction(plan_id) as s:  # free again
        repo.update_plan(s, plan_id, version=2)


def test_readonly_transactions_refuse_writes_on_postgresql(store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("on SQLite readonly=True only means a deferred (non-locking) BEGIN")
    with pytest.raises(DBAPIError, match="read-only"), store.transaction(readonly=True) as s:
        repo.create_plan(s, "p1", "x", {}, {})
    with store.transaction() as s:  # the pooled connection is writable again
        repo.create_plan(s, "p1", "x", {}, {})


def test_plan_transaction_on_missing_plan(store: Store) -> None:
    with pytest.raises(NotFound), store.plan_transaction("nope"):
        pytest.fail("must not get here")


def test_plan_transaction_rolls_back_on_exception(store: Store) -> None:
    plan_id = _plan(store)
    with pytest.raises(RuntimeError), store.plan_transaction(plan_id) as s:
        repo.update_plan(s, plan_id, version=7)
        raise RuntimeError("boom")
    with store.plan_transaction(plan_id) as s:  # the lock was released
        assert repo.get_plan(s, plan_id).version == 1


def test_committed_data_survives_a_new_store(make_store: Callable[..., Store]) -> None:
    first = make_store()
    first.migrate()
    plan_id = repo.new_id()
    with first.transaction() as s:
        repo.create_plan(s, plan_id, "durable", {"stops": [1, 2]}, {})
    with first.plan_transaction(plan_id) as s:
        repo.update_plan(s, plan_id, status="solved", version=3, state={"k": "v"})
        repo.enqueue(s, plan_id, "route_updated", {"v": 3}, "durable:3")
    first.dispose()
    second = make_store()
    with second.transaction(readonly=True) as s:
        plan = repo.get_plan(s, plan_id)
        assert repo.pending_count(s) == 1
    assert (plan.name, plan.status, plan.version, plan.state, plan.problem) == (
        "durable",
        "solved",
        3,
        {"k": "v"},
        {"stops": [1, 2]},
    )


def test_the_plan_mutex_makes_other_processes_wait_their_turn(store: Store, make_store: Callable[..., Store]) -> None:
    """Replicas: a second store (another process's engine) waits for the plan's mutex, gives up
    after its lock timeout, and gets it once released; other plans are not held up."""
    if store.is_sqlite:
        pytest.skip("one process serves a SQLite file: the mutex is nothing there")
    impatient = make_store(lock_timeout_s=0.3)
    with store.plan_mutex("p1"):
        began = time.monotonic()
        with pytest.raises(StoreUnavailable), impatient.plan_mutex("p1"):
            pytest.fail("got the mutex another process holds")
        assert time.monotonic() - began < 5
        with impatient.plan_mutex("p2"):  # another plan: free
            pass
    with impatient.plan_mutex("p1"):  # released
        pass
    with store.transaction(readonly=True) as s:
        held = s.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).scalar_one()
    assert held == 0


def test_a_plan_mutex_holder_that_fails_still_releases_it(store: Store, make_store: Callable[..., Store]) -> None:
    if store.is_sqlite:
        pytest.skip("one process serves a SQLite file: the mutex is nothing there")
    with pytest.raises(RuntimeError), store.plan_mutex("p1"):
        raise RuntimeError("the change failed")
    with make_store(lock_timeout_s=0.3).plan_mutex("p1"):
        pass


def test_a_claim_is_held_by_one_process_until_it_ends_or_dies(store: Store, make_store: Callable[..., Store]) -> None:
    """Background work (a solve, an improvement, a what-if run) is done by one replica: a
    second process's claim on the same work is refused at once, not waited for; a claim comes
    free when its block ends, and when the process holding it is killed (its connection goes)."""
    other = make_store()
    if store.is_sqlite:
        with store.claim("solve:p1") as mine, other.claim("solve:p1") as theirs:
            assert mine and theirs  # one process serves a SQLite file; it keeps its own work apart
        return
    with store.claim("solve:p1") as mine:
        assert mine
        began = time.monotonic()
        with other.claim("solve:p1") as theirs:
            assert not theirs and time.monotonic() - began < 2
        with other.claim("improve:p1") as theirs:  # other work: free
            assert theirs
    with other.claim("solve:p1") as theirs:
        assert theirs
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from api.store import Store\n"
            "with Store(sys.argv[1]).claim('solve:p2') as mine:\n"
            "    print(mine, flush=True); time.sleep(600)",
            store.url.render_as_string(hide_password=False),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        with store.claim("solve:p2") as mine:
            assert not mine
    finally:
        holder.kill()  # kill -9: no chance to let go
        holder.wait()
    deadline = time.monotonic() + 10
    while True:
        with store.claim("solve:p2") as mine:
            if mine:
                break
        assert time.monotonic() < deadline, "a dead process's claim was never let go"
        time.sleep(0.1)
