"""The executors with real worker processes: a time limit that does not count time spent queued,
`stop` killing a hung worker without losing the work queued or running next to it, and workers
that exit when the process that started them dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from scenarios.executors import LocalExecutor, Stopped, result_within
from tests.processes import alive, descendants, wait_gone


def hang(pid_file: str) -> None:
    """A solve that never comes back: says which process it is in, then sleeps."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(600)


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def wait_pid(pid_file: Path, timeout_s: float = 30) -> int:
    deadline = time.monotonic() + timeout_s
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the hung work never started"
        time.sleep(0.05)
    return int(pid_file.read_text())


def test_stopping_a_hung_worker_runs_the_work_queued_behind_it(tmp_path: Path) -> None:
    pool = LocalExecutor(1)
    try:
        hung = pool.submit(hang, str(tmp_path / "hung.pid"))
        queued = pool.submit(pid_after, 0)
        worker = wait_pid(tmp_path / "hung.pid")
        assert hung.running() and not queued.running(), "one worker: the second waits in the queue"
        with pytest.raises(TimeoutError):
            result_within(hung, 0.3)
        pool.stop(hung)
        with pytest.raises(Stopped):
            hung.result(timeout=1)
        assert not wait_gone([worker], timeout_s=5), "the hung worker is still there"
        assert result_within(queued, 30) != worker  # its own limit, counted from when it started
    finally:
        pool.shutdown()


def test_work_running_beside_a_stopped_one_is_run_again_not_lost(tmp_path: Path) -> None:
    pool = LocalExecutor(2)
    try:
        hung = pool.submit(hang, str(tmp_path / "hung.pid"))
        beside = pool.submit(pid_after, 1.0)
        queued = pool.submit(pid_after, 0)
        worker = wait_pid(tmp_path / "hung.pid")
        assert beside.running() and not queued.running()
        pool.stop(hung)
        assert not wait_gone([worker], timeout_s=5)
        again = beside.result(timeout=30)  # started again in the new pool: a new process
        assert again != worker and queued.result(timeout=30)
        with pytest.raises(Stopped):
            hung.result(timeout=1)
    finally:
        pool.shutdown()


def test_stopping_queued_work_only_drops_it(tmp_path: Path) -> None:
    pool = LocalExecutor(1)
    try:
        first = pool.submit(pid_after, 0.5)
        queued = pool.submit(pid_after, 0)
        last = pool.submit(pid_after, 0)
        pool.stop(queued)
        assert queued.cancelled()
        with pytest.raises(CancelledError):
            queued.result()
        assert first.result(timeout=30) == last.result(timeout=30), "the worker was not replaced"
    finally:
        pool.shutdown()


def die() -> None:
    """Work that kills its own worker process, as a solver crashing in C code would."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_work_submitted_just_after_an_idle_worker_died_runs_in_a_new_one() -> None:
    """The pool notices a dead worker only some time after it died; work handed over meanwhile
    must not fail with it (CI once failed a plan this way)."""
    pool = LocalExecutor(1)
    try:
        worker = pool.submit(os.getpid).result(timeout=60)
        for _ in range(3):
            os.kill(worker, signal.SIGKILL)
            assert not wait_gone([worker], timeout_s=5)
            again = pool.submit(os.getpid).result(timeout=60)  # at once: before the pool notices
            assert again != worker
            worker = again
    finally:
        pool.shutdown()


def test_work_in_and_beside_a_worker_killed_from_outside_is_run_again(tmp_path: Path) -> None:
    """One dead process breaks the whole pool: the work it ran and the work beside it both start
    again in a new pool (a kill from outside, such as the out-of-memory killer, is not their fault)."""
    pool = LocalExecutor(2)
    try:
        pid_file = tmp_path / "hung.pid"
        hung = pool.submit(hang, str(pid_file))
        worker = wait_pid(pid_file)
        beside = pool.submit(pid_after, 1.0)
        time.sleep(0.3)
        assert beside.running()
        pid_file.write_text("")
        os.kill(worker, signal.SIGKILL)
        assert beside.result(timeout=60) != worker
        assert wait_pid(pid_file) != worker and hung.running(), "the killed work was not run again"
        pool.stop(hung)
        with pytest.raises(Stopped):
            hung.result(timeout=5)
    finally:
        pool.shutdown()


def test_work_that_kills_its_own_worker_fails_after_one_rerun() -> None:
    pool = LocalExecutor(1)
    try:
        crashing = pool.submit(die)
        with pytest.raises(BrokenProcessPool):
            crashing.result(timeout=60)
        assert pool.submit(pid_after, 0).result(timeout=60), "the pool works on after it"
    finally:
        pool.shutdown()


def test_a_background_pool_runs_below_the_callers_priority() -> None:
    background, normal = LocalExecutor(1, niceness=10), LocalExecutor(1)
    try:
        mine = os.nice(0)
        assert background.submit(os.nice, 0).result(timeout=60) == min(mine + 10, 19)
        assert normal.submit(os.nice, 0).result(timeout=60) == mine
    finally:
        background.shutdown()
        normal.shutdown()


def test_the_time_limit_does_not_count_time_spent_queued() -> None:
    pool = LocalExecutor(1)
    try:
        ahead = pool.submit(pid_after, 1.5)
        behind = pool.submit(pid_after, 0.2)
        assert ahead.result(timeout=30)
        assert result_within(behind, 1.0)  # 1.7 s after it was submitted, 0.2 s after it started
    finally:
        pool.shutdown()


WORKER_OWNER = """
import os, sys, time
from scenarios.executors import LocalExecutor
pool = LocalExecutor(2)
print(pool.submit(os.getpid).result(timeout=60), flush=True)
time.sleep(600)
"""


def test_workers_exit_by_themselves_when_the_process_that_started_them_is_killed() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", WORKER_OWNER], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2], text=True
    )
    try:
        assert owner.stdout is not None
        worker = int(owner.stdout.readline())
        tree = descendants(owner.pid)
        assert worker in tree and alive(worker)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        left = wait_gone(tree, timeout_s=10)
        assert not left, f"outlived the process that started them: {left}"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)


@pytest.mark.slow
def test_ray_stops_an_overrunning_task_and_frees_its_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    from ray.exceptions import TaskCancelledError, WorkerCrashedError

    from scenarios.executors import RayExecutor

    def nap(seconds: float) -> float:  # defined here: Ray ships it by value
        time.sleep(seconds)
        return seconds

    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray of its own
    ray = RayExecutor(num_cpus=1)
    try:
        hung = ray.submit(nap, 600)
        assert hung.running(), "Ray cannot say when a task starts: running from submission"
        with pytest.raises(TimeoutError):
            result_within(hung, 0.5)
        ray.stop(hung)
        with pytest.raises((TaskCancelledError, WorkerCrashedError)):
            hung.result(timeout=30)
        assert ray.submit(nap, 0).result(timeout=60) == 0  # its one CPU is free again
    finally:
        ray.shutdown()
