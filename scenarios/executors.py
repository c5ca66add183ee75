"""Where solver work runs: a local process pool by default, or a Ray cluster.

Both take a picklable top-level function and its arguments and return a
`concurrent.futures.Future`, so callers never know which one they have. Solves never run
on the API's event loop or in its threads: OR-Tools and PyVRP hold the GIL while they search.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    name: str

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]: ...

    def shutdown(self) -> None: ...


class LocalExecutor:
    """A pool of `workers` spawned processes (no fork: the API process has threads)."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Submit; a pool broken by a dead worker (killed, out of memory) is replaced, so one
        lost process costs the tasks it was running, not every task after it."""
        with self._lock:
            try:
                return self._pool.submit(fn, *args)
            except BrokenProcessPool:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                return self._pool.submit(fn, *args)

    def warm_up(self, fn: Callable[[], object]) -> None:
        """Import the solver libraries in every worker now rather than on the first solve."""
        self._pool.submit(fn).result()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


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

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(num_cpus=1)(fn)
        future: Future[T] = remote.remote(*args).future()
        return future

    def shutdown(self) -> None:
        self._ray.shutdown()


def make_executor(kind: str, workers: int = 1, address: str | None = None) -> Executor:
    if kind == "ray":
        return RayExecutor(address, num_cpus=None if address else workers)
    if kind == "local":
        return LocalExecutor(workers)
    raise ValueError(f"unknown executor {kind!r}: local or ray")
