"""The process-wide cache of decoded plan documents.

A plan's two large JSON columns are decoded once per process, not on every read: the problem
(written once, never changed) by plan, and the state by plan at its `state_rev` (every write of
the state bumps the revision, so a state another process wrote is never taken for the kept
one). A state written in a transaction is kept only once that transaction has committed (it may
yet roll back). Keys start with the database URL, so two stores in one process never share an
entry. Callers must treat the documents as read-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from api.store.models import PlanRow

__all__ = ["LRUCache", "kept_problem", "kept_state", "state_written", "writing_state"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")

Document = dict[str, Any]
PlanKey = tuple[str, str]
"""(database URL without password, plan id)."""


class LRUCache(Generic[_K, _V]):
    """The `maxsize` most recently used entries; safe to share between threads."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[_K, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _K) -> _V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: _K, value: _V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)


_PROBLEMS: LRUCache[PlanKey, Document] = LRUCache(64)
_STATES: LRUCache[PlanKey, tuple[int, Document | None]] = LRUCache(64)
"""One revision per plan: the last one read or committed in this process."""

_WRITTEN = "ontime.states_written"
"""Session info key: ids of the plans whose state this transaction wrote."""
_PENDING = "ontime.states_pending"
"""Session info key: the states this transaction wrote, with their revisions, by cache key:
kept once the transaction has committed, so the next read of the plan need not decode them."""

_COLUMNS_BUT_PROBLEM = [c.key for c in PlanRow.__mapper__.column_attrs if c.key != "problem"]


def _key(s: Session, plan_id: str) -> PlanKey:
    return s.get_bind().engine.url.render_as_string(hide_password=True), plan_id


def kept_problem(s: Session, row: PlanRow) -> Document:
    """The plan's problem, decoded at most once per process."""
    key = _key(s, row.id)
    problem = _PROBLEMS.get(key)
    if problem is None:
        problem = row.problem  # loads the deferred column
        _PROBLEMS.put(key, problem)
    return problem


def kept_state(s: Session, row: PlanRow) -> Document | None:
    """The plan's state as this transaction sees it, decoded at most once per revision."""
    if row.id in s.info.get(_WRITTEN, ()):
        return row.state  # written here: the row holds it
    key = _key(s, row.id)
    kept = _STATES.get(key)
    if kept is not None and kept[0] == row.state_rev:
        return kept[1]
    # the state and its revision (and the rest of the row) in one statement, so they agree even
    # if another transaction committed since the row was read
    s.refresh(row, _COLUMNS_BUT_PROBLEM)
    _STATES.put(key, (row.state_rev, row.state))
    return row.state


def writing_state(s: Session, plan_id: str) -> None:
    """This transaction is about to write the plan's state: its reads now come from the row."""
    s.info.setdefault(_WRITTEN, set()).add(plan_id)


def state_written(s: Session, plan_id: str, state_rev: int, state: Document | None) -> None:
    """This transaction wrote `state` at `state_rev`: keep it once (and if) the transaction commits."""
    s.info.setdefault(_PENDING, {})[_key(s, plan_id)] = (state_rev, state)


@event.listens_for(Session, "after_commit")
def _keep_committed_states(session: Session) -> None:
    for key, kept in session.info.pop(_PENDING, {}).items():
        _STATES.put(key, kept)
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back_states(session: Session) -> None:
    session.info.pop(_PENDING, None)
