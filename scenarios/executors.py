"""Where solver work runs: a local process pool by default, or a Ray cluster.

Both take a picklable top-level function and its arguments and return a
`concurrent.futures.Future`, so callers never know which one they have. Solves never run
on the API's event loop or in its threads: OR-Tools and PyVRP hold the GIL while they search.

A future is RUNNING once its work has started (Ray cannot say when a task starts: its
futures are RUNNING from submission), so `result_within` can give work a time limit that does
not count the time it waited behind other work. `stop(future)` ends work that overran: queued
work is dropped, running work has its process killed; other work is unaffected.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

PARENT_CHECK_S = 1.0
"""How often a local worker checks that the process that started it is still there."""

KILL_WAIT_S = 5.0
"""How long `LocalExecutor.stop` waits for the killed worker processes to be gone."""


class Stopped(Exception):
    """The work was stopped (`Executor.stop`, or the executor shut down) before it finished."""


class Executor(Protocol):
    name: str

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]: ...

    def stop(self, future: Future[Any]) -> None:
        """End the work behind `future` if it has not finished: dropped if still queued (the future is
        cancelled), its process stopped if running (the future raises `Stopped` or the executor's own
        cancellation error). Other work goes on."""
        ...

    def shutdown(self) -> None: ...


def result_within(future: Future[T], limit_s: float, poll_s: float = 0.1) -> T:
    """`future.result()`, allowing `limit_s` from when its work started: time spent queued behind
    other work does not count. Raises `TimeoutError` on overrun; the work goes on until `stop`ped."""
    while not future.running() and not future.done():
        wait([future], timeout=poll_s)
    return future.result(timeout=limit_s)


def exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker once the process that started it is gone (killed with
    kill -9, say) instead of living on as an orphan. A daemon thread checks the parent pid."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _start_worker(parent: int, niceness: int) -> None:
    """Pool initializer: lower the worker's CPU priority by `niceness` (background work yields
    the cores to answering requests), and end it with its parent."""
    if niceness:
        os.nice(niceness)
    exit_with_parent(parent)


@dataclass(eq=False)
class _Work:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any] = field(default_factory=Future)
    """The caller's future: it outlives the pools the work may be moved between."""
    attempt: Future[Any] | None = None
    """The pool's future while a worker has the work."""
    reruns: int = 1
    """How many more times the work is run again after a worker process of its pool died under it
    (killed, out of memory). One: work that kills its own worker fails on the second death."""


class LocalExecutor:
    """A pool of `workers` spawned processes (no fork: the API process has threads), run at
    `niceness` above the caller's (lower CPU priority) for work that must not slow answers.

    Work waits in this executor's own queue and is handed to the pool only when a worker is free,
    so the pool holds only what it is running: a future is RUNNING exactly while a worker has its
    work, and `stop` knows that the pool's processes run nothing else than `_running`."""

    name = "local"

    def __init__(self, workers: int = 1, *, niceness: int = 0) -> None:
        self._workers = workers
        self._niceness = niceness
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self._queued: deque[_Work] = deque()
        self._running: dict[Future[Any], _Work] = {}
        self._closed = False

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), self._niceness),
        )

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        work = _Work(fn, args)
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor is shut down")
            self._queued.append(work)
        self._dispatch()
        return work.future

    def _dispatch(self) -> None:
        """Hand queued work to free workers."""
        started: list[_Work] = []
        failed: list[tuple[_Work, Exception]] = []
        with self._lock:
            while self._queued and len(self._running) < self._workers and not self._closed:
                work = self._queued.popleft()
                if not work.future.set_running_or_notify_cancel():
                    continue  # cancelled while queued
                try:
                    self._hand_over(work)
                except Exception as exc:
                    failed.append((work, exc))
                    continue
                self._running[work.future] = work
                started.append(work)
        for work, error in failed:
            _settle(work.future, error)
        self._watch(started)

    def _hand_over(self, work: _Work) -> None:
        """Submit to the pool (lock held); a pool with a dead worker (killed, out of memory) is
        replaced first, so one lost process costs at most the work it was running, never the work
        after it. The pool notices a death only some time after it, so the processes are checked
        here too: work handed to a pool whose worker is already dead would fail with it."""
        if self._has_dead_worker():
            self._replace_pool()
        try:
            work.attempt = self._pool.submit(work.fn, *work.args)
        except BrokenProcessPool:
            self._replace_pool()
            work.attempt = self._pool.submit(work.fn, *work.args)

    def _has_dead_worker(self) -> bool:
        processes = list((self._pool._processes or {}).values())
        return any(p.exitcode is not None for p in processes)

    def _replace_pool(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def _watch(self, works: list[_Work]) -> None:
        """Settle each work's future when its attempt ends (outside the lock: a callback added to a
        finished future runs at once)."""
        for work in works:
            attempt = work.attempt
            if attempt is not None:
                attempt.add_done_callback(functools.partial(self._attempt_done, work))

    def _attempt_done(self, work: _Work, attempt: Future[Any]) -> None:
        with self._lock:
            if work.attempt is not attempt:
                return  # the work was stopped, or moved to a new pool
            work.attempt = None
            rerun = self._run_again(work, attempt)
            if not rerun:
                self._running.pop(work.future, None)
        if rerun:
            self._watch([work])
            return
        if attempt.cancelled():
            _settle(work.future, Stopped("the executor shut down"))
        elif (exc := attempt.exception()) is not None:
            _settle(work.future, exc)
        else:
            _settle(work.future, None, attempt.result())
        self._dispatch()

    def _run_again(self, work: _Work, attempt: Future[Any]) -> bool:
        """(Lock held.) Hand the work to a new pool if a worker process died under it and it has
        a re-run left. In a pool of several workers, one death breaks the work of all of them."""
        if self._closed or work.reruns <= 0 or attempt.cancelled():
            return False
        if not isinstance(attempt.exception(), BrokenProcessPool):
            return False
        work.reruns -= 1
        try:
            self._hand_over(work)
        except Exception:
            return False  # (the attempt's own error is passed on)
        return True

    def stop(self, future: Future[Any]) -> None:
        """Drop queued work; for running work, kill the pool's processes and start a new pool, where
        the other work that was running starts again (from the beginning: it is never lost)."""
        moved: list[_Work] = []
        failed: list[tuple[_Work, Exception]] = []
        with self._lock:
            work = self._running.get(future)
            if work is None:
                queued = next((w for w in self._queued if w.future is future), None)
                if queued is not None:
                    self._queued.remove(queued)
            elif work.attempt is None or work.attempt.done():
                return  # it has just finished: its result is being passed on
            else:
                del self._running[future]
                work.attempt = None
                old = self._pool
                if not self._closed:  # after shutdown, the other running work fails with the killed pool
                    self._pool = self._new_pool()
                for other in list(self._running.values()):
                    if self._closed or (other.attempt is not None and other.attempt.done()):
                        continue  # (or it finished before the kill: its result is being passed on)
                    try:
                        other.attempt = self._pool.submit(other.fn, *other.args)
                    except Exception as exc:
                        other.attempt = None
                        del self._running[other.future]
                        failed.append((other, exc))
                    else:
                        moved.append(other)
        if work is None:
            if queued is not None:
                queued.future.cancel()
            return
        _kill(old)
        _settle(future, Stopped("stopped: its worker process was killed"))
        for other, error in failed:
            _settle(other.future, error)
        self._watch(moved)
        self._dispatch()

    def warm_up(self, fn: Callable[[], object]) -> None:
        """Import the solver libraries in every worker now rather than on the first solve."""
        self.submit(fn).result()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            queued = list(self._queued)
            self._queued.clear()
        for work in queued:
            work.future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settle(future: Future[Any], exc: BaseException | None, result: Any = None) -> None:
    """Finish `future` unless it is finished already (stopped meanwhile)."""
    with contextlib.suppress(InvalidStateError):
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


def _kill(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's processes (SIGKILL: a stopped or stuck process cannot ignore it) and wait
    until they are gone. Python 3.14's `ProcessPoolExecutor.kill_workers` does the same."""
    processes = list((pool._processes or {}).values())
    sentinels = []
    for process in processes:
        with contextlib.suppress(ValueError):  # closed: gone already
            sentinels.append(process.sentinel)
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + KILL_WAIT_S
    while sentinels and time.monotonic() < deadline:
        ready = multiprocessing.connection.wait(sentinels, timeout=deadline - time.monotonic())
        sentinels = [s for s in sentinels if s not in ready]


class RayExecutor:
    """Runs each task as a Ray remote function (one CPU each) on `address`, or a local
    Ray started here with `num_cpus` when no address is given."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        import ray

        self._ray = ray
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        self._remote: dict[Callable[..., Any], Any] = {}
        self._refs: dict[Future[Any], Any] = {}
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(num_cpus=1)(fn)
        ref = remote.remote(*args)
        future: Future[T] = ref.future()
        with contextlib.suppress(RuntimeError):  # finished already
            future.set_running_or_notify_cancel()
        with self._lock:
            self._refs[future] = ref
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._refs.pop(future, None)

    def stop(self, future: Future[Any]) -> None:
        """Cancel the Ray task; force: a running task's worker process exits (the future then
        raises Ray's `TaskCancelledError`)."""
        with self._lock:
            ref = self._refs.get(future)
        if ref is not None and not future.done():
            self._ray.cancel(ref, force=True)

    def shutdown(self) -> None:
        self._ray.shutdown()


def make_executor(kind: str, workers: int = 1, address: str | None = None) -> Executor:
    if kind == "ray":
        return RayExecutor(address, num_cpus=None if address else workers)
    if kind == "local":
        return LocalExecutor(workers)
    raise ValueError(f"unknown executor {kind!r}: local or ray")
