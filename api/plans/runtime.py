"""What the plan service shares between requests, in one explicit object: settings, the store,
the three executors (solving, answering re-optimizations, background improvement), the
per-plan locks and this process's caches.

Every cache here is a shortcut only: each entry is checked against what the store holds (a
state's sequence number, or the very document object the store returned) before it is used,
so another process's write is never mistaken for the kept one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from api.plans.state import Doc, PlanState
from api.roads import ServiceMaps
from api.schemas import ProblemIn
from api.settings import Settings
from api.store import Store, repo
from api.store.records import PlanRecord
from api.store.repo.cache import LRUCache
from optimizer.events import CallPolicy, PlanView
from optimizer.replan import DayState, LivePlan, ReplanPolicy
from optimizer.risk import NoiseModel
from optimizer.travel.maps import MapSource
from scenarios.executors import Executor

CACHED_PLANS = 32
"""Plans whose problem, state, last re-timed day and last view this process keeps."""

PlanLock = Callable[[str], threading.Lock]
Search = Callable[[LivePlan, DayState, float, frozenset[str]], LivePlan]
"""(plan, its re-timed day, when the request began, couriers to focus on) -> better plan."""


class KeyedLocks:
    """One lock per key, made on first use."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


@dataclass
class Runtime:
    """The shared parts of the plan service (see the module docstring)."""

    settings: Settings
    store: Store
    executor: Executor
    """Solves whole days."""
    replan_executor: Executor
    """Re-optimizes within an answer's budget."""
    polish_executor: Executor | None
    """Improves plans in the background; None: no background improvement."""
    wake_outbox: Callable[[], None]
    maps: ServiceMaps
    """The road maps this service knows (`source` times every plan on the one it names)."""
    policy: ReplanPolicy
    calls_policy: CallPolicy
    noise: NoiseModel = field(default_factory=NoiseModel)
    """How the truth strays from the plan: the visits' risk (`eta_p90`, `p_late`) is drawn from it."""
    search: Search | None = None
    """How a change searches for better routes; None: `changes.search`, in `replan_executor`
    within the answer budget (a plug point: tests put a search that finds nothing)."""
    plan_lock: PlanLock = field(default_factory=KeyedLocks)
    """Serialises the changes to one plan in this process (the store's plan transaction does so
    across processes)."""
    search_lock: PlanLock = field(default_factory=KeyedLocks)
    """Held while a plan is re-optimized (never taken while holding its plan lock)."""
    wires: LRUCache[str, ProblemIn] = field(default_factory=lambda: LRUCache(CACHED_PLANS))
    """Each plan's problem as sent (it never changes)."""
    states: LRUCache[str, tuple[Doc, PlanState]] = field(default_factory=lambda: LRUCache(CACHED_PLANS))
    """Each plan's last state document read or written, and it decoded."""
    days: LRUCache[str, tuple[int, DayState, LivePlan]] = field(default_factory=lambda: LRUCache(CACHED_PLANS))
    """The last day of each plan this process re-timed and committed, by its state's sequence
    number, with the plan it was timed for (a later state, another replica's, is caught up to
    from it: `retime_since`)."""
    views: LRUCache[str, tuple[int, PlanView]] = field(default_factory=lambda: LRUCache(CACHED_PLANS))
    """What `decide_events` saw of each plan's last committed state, by its sequence number."""
    polish_asked: dict[str, float] = field(default_factory=dict)
    """When each plan last asked for a background improvement (under `guard`)."""
    polishing: set[str] = field(default_factory=set)
    """Plans being improved in the background now (under `guard`)."""
    solving: set[str] = field(default_factory=set)
    """Plans this process is solving now (under `guard`)."""
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set as the process stops: work its executors drop is left for another replica, not failed."""
    guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def source(self) -> MapSource:
        """Travel for every plan: on the road map its problem names, else the service's default."""
        return self.maps.source

    @contextlib.contextmanager
    def changing(self, plan_id: str) -> Iterator[None]:
        """Held from a change's read to its commit: the plan's lock in this process, and the
        store's across processes (another replica's change waits its turn)."""
        with self.plan_lock(plan_id), self.store.plan_mutex(plan_id):
            yield

    def wire(self, record: PlanRecord) -> ProblemIn:
        """The plan's problem as sent, validated once per process."""
        wire = self.wires.get(record.id)
        if wire is None:
            wire = ProblemIn.model_validate(record.problem)
            self.wires.put(record.id, wire)
        return wire

    def state_of(self, record: PlanRecord) -> PlanState:
        """The record's state, typed; decoded once per document (the store hands out the
        document it was given or read until the state changes, so the same object means the
        same state)."""
        doc = record.state or {}
        kept = self.states.get(record.id)
        if kept is not None and kept[0] is doc:
            return kept[1]
        state = PlanState.from_doc(doc)
        if doc:
            self.states.put(record.id, (doc, state))
        return state

    def write_state(self, s: Session, plan_id: str, state: PlanState, **columns: Any) -> None:
        """Store `state` (and other columns of the plan) in the transaction `s`."""
        doc = state.to_doc()
        repo.update_plan(s, plan_id, state=doc, **columns)
        self.states.put(plan_id, (doc, state))

    def seq(self, plan_id: str) -> int:
        """The plan's state sequence number as stored now."""
        with self.store.transaction(readonly=True) as s:
            return self.state_of(repo.get_plan(s, plan_id)).seq
