"""Processes seen through /proc: who a process started, and whether a process is still there."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except (OSError, ValueError):
        return None


def child_pids(pid: int) -> list[int]:
    """The direct children of `pid`."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None and len(fields) > 1 and int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return sorted(children)


def descendants(pid: int) -> list[int]:
    """Everything `pid` started, and what those started, while they are still its descendants."""
    found: list[int] = []
    todo = [pid]
    while todo:
        children = child_pids(todo.pop())
        found += children
        todo += children
    return sorted(found)


def alive(pid: int) -> bool:
    """Running, sleeping or stopped; a zombie (dead, not yet reaped by its parent) is not alive."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def wait_gone(pids: Iterable[int], timeout_s: float = 10) -> list[int]:
    """Wait until none of `pids` is alive; returns those still alive after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if alive(p)]
    return left
