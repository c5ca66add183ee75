"""`PlanService`: the plan service's entry points, as the routers (and tests) call them. Each
job is its own module in `api.plans` and works on one shared `Runtime`; this class only
holds that runtime and hands each call to its module. Role checks are the routers'
dependencies (`api.deps`); what depends on the request's data (a courier reporting only as
themselves) is checked here, with the data."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from api.auth import Principal
from api.errors import ApiError
from api.plans import calls, changes, events, paths, solving, views
from api.plans.changes import Answered, Change, Record
from api.plans.runtime import PlanLock, Runtime, Search
from api.roads import ServiceMaps
from api.schemas import (
    Accepted,
    CallOut,
    EventIn,
    LiveRouteOut,
    OutcomeIn,
    PathsOut,
    PlanCreateIn,
    PlanOut,
    PlanSummaryOut,
    ProblemIn,
)
from api.settings import Settings
from api.store import Store
from api.store.records import PlanRecord
from api.tasks import SolvedDay
from optimizer.events import CallPolicy
from optimizer.replan import ReplanPolicy
from optimizer.risk import NoiseModel
from scenarios.executors import Executor

__all__ = ["Answered", "PlanService"]


class PlanService:
    """The plan service: its `runtime`, and one method per thing the API does."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        executor: Executor,
        wake_outbox: Callable[[], None],
        *,
        replan_executor: Executor | None = None,
        polish_executor: Executor | None = None,
        maps: ServiceMaps | None = None,
    ) -> None:
        self.runtime = Runtime(
            settings,
            store,
            executor,
            replan_executor or executor,
            polish_executor,
            wake_outbox,
            maps or ServiceMaps.from_settings(settings),
            ReplanPolicy(
                time_limit_s=settings.replan_time_limit_s,
                lateness_cost_per_s=max(1, round(settings.lateness_cost_per_min / 60)),
                move_cost=settings.move_cost,
                iterations=settings.replan_iterations,
            ),
            CallPolicy(
                update_threshold_s=round(settings.call_update_threshold_min * 60),
                risk_open=settings.call_risk or None,
                risk_close=min(settings.call_risk_close, settings.call_risk / 2) if settings.call_risk else 0.2,
                notice_s=round(settings.call_notice_min * 60),
            ),
            noise=NoiseModel(
                leg_sigma=settings.eta_leg_sigma,
                service_sigma=settings.eta_service_sigma,
                pace_sigma=settings.eta_pace_sigma,
                samples=settings.eta_samples,
            ),
        )

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def store(self) -> Store:
        return self.runtime.store

    @property
    def executor(self) -> Executor:
        return self.runtime.executor

    @property
    def policy(self) -> ReplanPolicy:
        return self.runtime.policy

    @policy.setter
    def policy(self, policy: ReplanPolicy) -> None:
        self.runtime.policy = policy

    # -- plans ----------------------------------------------------------------------------

    def create_plan(self, body: PlanCreateIn, principal: Principal) -> Accepted:
        return solving.create_plan(self.runtime, body, principal)

    def get_plan(self, plan_id: str, principal: Principal | None = None) -> PlanOut:
        return views.get_plan(self.runtime, plan_id)

    def list_plans(self, principal: Principal | None = None, limit: int = 100) -> list[PlanSummaryOut]:
        return views.list_plans(self.runtime, limit)

    def courier_route(self, plan_id: str, courier_id: str, principal: Principal) -> LiveRouteOut:
        return views.courier_route(self.runtime, plan_id, courier_id, mask=principal.role == "courier")

    def plan_paths(self, plan_id: str, courier_id: str | None, principal: Principal) -> PathsOut:
        if principal.role == "courier" and courier_id != principal.courier_id:
            raise ApiError(403, "forbidden", "a courier key reads only its own courier's paths (courier_id)")
        return paths.plan_paths(self.runtime, plan_id, courier_id)

    def resume(self) -> None:
        solving.resume(self.runtime)

    def stop(self) -> None:
        """The process is stopping: solves its executor drops stay unsolved for another replica
        (or this one started again) to take up, rather than failed."""
        self.runtime.stopping.set()

    # -- changes --------------------------------------------------------------------------

    def post_event(self, plan_id: str, body: EventIn, principal: Principal) -> Answered:
        return events.post_event(self.runtime, plan_id, body, principal)

    def list_calls(self, plan_id: str, principal: Principal | None, status: str | None) -> list[CallOut]:
        return calls.list_calls(self.runtime, plan_id, status)

    def record_outcome(self, call_id: str, body: OutcomeIn, principal: Principal) -> CallOut:
        return calls.record_outcome(self.runtime, call_id, body, principal)

    # -- for tests: the steps inside ------------------------------------------------------

    @property
    def _plan_lock(self) -> PlanLock:
        return self.runtime.plan_lock

    @_plan_lock.setter
    def _plan_lock(self, lock: PlanLock) -> None:
        self.runtime.plan_lock = lock

    @property
    def _search(self) -> Search:
        return self.runtime.search or partial(changes.search, self.runtime)

    @_search.setter
    def _search(self, search: Search) -> None:
        self.runtime.search = search

    def _store_solution(self, plan_id: str, solved: SolvedDay) -> None:
        solving.store_solution(self.runtime, plan_id, solved)

    def _advance(self, plan_id: str, change: Change, record: Record, *, reoptimize: bool, actor: str) -> Answered:
        """A change committed through the one path (`changes.advance`), re-optimized or not."""
        return changes.advance(self.runtime, plan_id, change, record, reoptimize=reoptimize, actor=actor)

    def _wire(self, record: PlanRecord) -> ProblemIn:
        return self.runtime.wire(record)
