"""Work no one is doing: every few seconds, each replica looks for plans left unsolved and
what-if runs left unfinished whose claim no process holds (their replica died or stopped) and
takes them up. On start-up it looks at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger("ontime.sweep")


class Sweeper:
    """Runs each of `tasks` now and then every `every_s` seconds, in a thread of its own, until
    `stop`; a task that fails is logged and tried again next time."""

    def __init__(self, tasks: Sequence[tuple[str, Callable[[], None]]], every_s: float) -> None:
        self.tasks = tuple(tasks)
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ontime-sweep", daemon=True)

    def start(self) -> None:
        self.sweep()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def sweep(self) -> None:
        for name, task in self.tasks:
            try:
                task()
            except Exception:
                log.exception("looking for %s no one is working on failed", name)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sweep()
