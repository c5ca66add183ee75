"""The service: plans, courier events, call outcomes. Sync code, called from worker threads.

Every change to a plan follows one path (`_advance`): fold the change into the live day,
re-time every route (milliseconds), re-optimize the free stops of the whole fleet in the
solver executor if any window is at risk, let `decide_events` say which routes changed and
which calls open, move or close, then commit all of it (state, route versions, calls,
outbox, the event and its answer, audit) in one transaction before answering.

Changes to one plan are serialised: a per-plan lock in this process, and the store's plan
transaction (row lock) with a sequence check against other processes. A re-optimization's
search is the exception: it runs outside the plan lock (one per plan at a time), so other
couriers' reports are answered meanwhile, and its routes are then carried onto what they
reported (`optimizer.replan.rebase`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from api.auth import Principal, require, require_courier_access
from api.errors import ApiError, invalid
from api.plans import views
from api.plans.state import PlanState, initial_state, next_state, plan_view
from api.schemas import (
    WEEK_S,
    Accepted,
    CallOut,
    EventIn,
    EventOut,
    LiveRouteOut,
    OutcomeIn,
    PlanCreateIn,
    PlanOut,
    PlanSummaryOut,
    ProblemIn,
    at,
    seconds_since,
)
from api.settings import Settings
from api.store import Conflict, Store, repo
from api.store.records import CallRecord, PlanRecord
from api.tasks import SolvedDay, reoptimize_day, solve_problem
from optimizer.events import CallKind, CallPolicy, Decisions, OpenCall, PlanView, decide_events
from optimizer.invariants import InvariantBroken, assert_day
from optimizer.model import Location, Problem
from optimizer.replan import (
    CourierEvent,
    DayState,
    LivePlan,
    ReplanPolicy,
    change_stop,
    forget_failure,
    hand_over,
    rebase,
    retime,
    retime_courier,
)
from optimizer.travel.haversine import HaversineSource
from scenarios.executors import Executor, result_within

log = logging.getLogger("ontime.service")

POLISH_QUIET_S = 0.5
"""A background improvement starts once a plan's events have paused this long."""

ANSWER_MARGIN_S = 0.25
"""Kept from the answer budget for re-timing, deciding and committing after the search."""
MIN_SEARCH_S = 0.1

Change = Callable[[LivePlan, PlanState], LivePlan]
"""A change to the live day, pure: the plan as read (and the state, amended) -> the plan."""
Amend = Callable[[PlanState], PlanState]
"""A change to the state's own parts (overrides), pure, applied before `Change`."""


class PlanService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        executor: Executor,
        wake_outbox: Callable[[], None],
        *,
        replan_executor: Executor | None = None,
        polish_executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self.replan_executor = replan_executor or executor
        self.polish_executor = polish_executor
        self._polish_asked: dict[str, float] = {}
        self._days: dict[str, tuple[int, DayState]] = {}
        """The last re-timed day of each plan, by its state sequence (this process only)."""
        self._views: dict[str, tuple[int, PlanView]] = {}
        """What `decide_events` saw of each plan's last committed state, by its sequence."""
        self._polishing: set[str] = set()
        self.wake_outbox = wake_outbox
        self.source = HaversineSource(settings.detour_factor)
        self.policy = ReplanPolicy(
            time_limit_s=settings.replan_time_limit_s,
            lateness_cost_per_s=max(1, round(settings.lateness_cost_per_min / 60)),
            move_cost=settings.move_cost,
        )
        self.calls_policy = CallPolicy(update_threshold_s=round(settings.call_update_threshold_min * 60))
        self._locks: dict[str, threading.Lock] = {}
        self._search_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._wires: OrderedDict[str, ProblemIn] = OrderedDict()
        self._states: dict[str, tuple[dict[str, Any], PlanState]] = {}
        """Each plan's last state document read or written, and it decoded (this process only)."""

    # -- plans ----------------------------------------------------------------------------

    def create_plan(self, body: PlanCreateIn, principal: Principal) -> Accepted:
        require(principal, "dispatcher", "planner")
        body.problem.to_domain()  # meaning checked before anything is stored
        plan_id = uuid.uuid4().hex
        params = {"time_limit_s": body.time_limit_s, "engine": body.engine, "seed": body.seed}
        with self.store.transaction() as s:
            repo.create_plan(s, plan_id, body.problem.name, body.problem.model_dump(mode="json"), params)
            repo.add_audit(s, plan_id, principal.actor, "plan_created", {"stops": len(body.problem.stops)})
        self.start_solve(plan_id)
        return Accepted(id=plan_id, status="queued")

    def start_solve(self, plan_id: str) -> None:
        with self.store.transaction() as s:
            record = repo.get_plan(s, plan_id)
            repo.update_plan(s, plan_id, status="solving")
        try:
            future = self.executor.submit(solve_problem, record.problem, record.params, self.settings.detour_factor)
        except Exception as exc:
            self._fail(plan_id, f"the solver could not be started: {type(exc).__name__}")
            raise ApiError(503, "unavailable", "the solver is unavailable; try again shortly") from exc
        limit = float(record.params.get("time_limit_s", 10)) * 2 + self.settings.solve_grace_s
        threading.Thread(target=self._finish_solve, args=(plan_id, future, limit), daemon=True).start()

    def _finish_solve(self, plan_id: str, future: Future[SolvedDay], limit_s: float) -> None:
        """Store the solution, or fail the plan. The limit counts from when the solve started, not
        the time it waited behind other solves; on overrun the executor stops the solve's process
        (a hung worker would otherwise hold its slot forever, and every solve queued behind it
        would overrun too), while the other solves go on or start again in a new worker."""
        try:
            solved = result_within(future, limit_s)
        except FutureTimeout:
            try:
                self.executor.stop(future)
            except Exception:
                log.exception("could not stop the overrunning solve of plan %s", plan_id)
            self._fail(plan_id, f"the solve overran its time limit ({limit_s:.0f} s)")
            return
        except Exception as exc:
            log.warning("solve of plan %s failed: %s", plan_id, type(exc).__name__)
            self._fail(plan_id, f"the solver failed: {type(exc).__name__}: {str(exc)[:200]}")
            return
        try:
            with self._plan_lock(plan_id):
                self._store_solution(plan_id, solved)
        except Exception as exc:
            log.exception("storing the solution of plan %s failed", plan_id)
            self._fail(plan_id, f"storing the plan failed: {type(exc).__name__}")

    def _fail(self, plan_id: str, reason: str) -> None:
        try:
            with self.store.transaction() as s:
                repo.update_plan(s, plan_id, status="failed", error=reason)
        except Exception:
            log.exception("could not mark plan %s failed", plan_id)

    def _store_solution(self, plan_id: str, solved: SolvedDay) -> None:
        with self.store.plan_transaction(plan_id) as s:
            record = repo.get_plan(s, plan_id)
            wire = self._wire(record)
            problem = wire.to_domain()
            state0 = initial_state(solved.routes, solved.unassigned, solved.engine)
            plan = state0.live_plan(problem)
            day = retime(plan, self.source)
            versions = {c.id: 1 for c in problem.couriers}
            state = replace(next_state(state0, plan, day, versions), seq=0)
            decisions = decide_events(
                plan_view(PlanState(), problem, {}), plan_view(state, problem, {}), self.calls_policy
            )
            for courier_id, entry in state.routes.items():
                repo.add_route_version(s, plan_id, courier_id, 1, 1, list(entry.stops))
            self._apply_calls(s, plan_id, wire, decisions, "planner")
            self._write_state(s, plan_id, state, status="solved", error=None, version=1)
        self.wake_outbox()

    def get_plan(self, plan_id: str, principal: Principal) -> PlanOut:
        require(principal, "dispatcher", "planner", "service")
        with self.store.transaction(readonly=True) as s:
            record = repo.get_plan(s, plan_id)
        return self._plan_out(record, mask=False)

    def list_plans(self, principal: Principal, limit: int = 100) -> list[PlanSummaryOut]:
        require(principal, "dispatcher", "planner", "service")
        with self.store.transaction(readonly=True) as s:
            plans = repo.list_plan_summaries(s, limit)
        return [
            PlanSummaryOut(id=p.id, name=p.name, status=p.status, version=p.version, created_at=p.created_at)
            for p in plans
        ]

    def courier_route(self, plan_id: str, courier_id: str, principal: Principal) -> LiveRouteOut:
        require_courier_access(principal, courier_id)
        with self.store.transaction(readonly=True) as s:
            record = repo.get_plan(s, plan_id)
        wire = self._wire(record)
        if not any(c.id == courier_id for c in wire.couriers):
            raise ApiError(404, "not_found", f"plan {plan_id} has no courier {courier_id}")
        if record.status != "solved" or not record.state:
            raise ApiError(409, "conflict", f"plan {plan_id} is {record.status}, not solved yet")
        routes = views.routes_out(self._state_of(record), wire, mask=principal.role == "courier", only=courier_id)
        if not routes:
            raise ApiError(404, "not_found", f"courier {courier_id} has no route in plan {plan_id}")
        return routes[0]

    def _plan_out(self, record: PlanRecord, *, mask: bool) -> PlanOut:
        return views.plan_out(record, self._state_of(record), self._wire(record), mask=mask)

    # -- courier events -------------------------------------------------------------------

    def post_event(self, plan_id: str, body: EventIn, principal: Principal) -> Answered:
        require(principal, "courier", "dispatcher")
        require_courier_access(principal, body.courier_id)
        began = time.perf_counter()
        with self.store.transaction(readonly=True) as s:
            first = repo.find_event(s, plan_id, body.event_id)
            wire = self._wires.get(plan_id) or self._wire(repo.get_plan(s, plan_id))  # a plan's problem never changes
        if first is not None and first.response is not None:
            return Answered(EventOut.model_validate(first.response), "repeated", time.perf_counter() - began)
        event = self._to_event(wire, body)
        ahead_s = round(self.settings.max_event_ahead_min * 60)

        def change(plan: LivePlan, _: PlanState) -> LivePlan:
            if not any(c.id == body.courier_id for c in plan.problem.couriers):
                raise invalid("courier_id", body.courier_id, "no such courier in this plan")
            known_s = max(plan.now_s, min((c.ready_s for c in plan.problem.couriers), default=0))
            if event.at_s > known_s + ahead_s and body.at > datetime.now(UTC) + timedelta(seconds=ahead_s):
                raise invalid(
                    "at",
                    body.event_id,
                    f"the event time lies more than {ahead_s // 60} min ahead of both the plan's latest "
                    "known time and the server clock",
                )
            if body.stop_id is not None and body.type in ("stop_completed", "stop_failed"):
                route = next((r for r in plan.routes if r.courier_id == body.courier_id), None)
                if not plan.problem.has_stop(body.stop_id):
                    raise invalid("stop_id", body.stop_id, "no such stop in this plan (or it was cancelled)")
                if route is None or body.stop_id not in route.stop_ids:
                    # served by someone the plan (re-optimized meanwhile) did not give it to: it stands
                    holder = next((r.courier_id for r in plan.routes if body.stop_id in r.stop_ids), None)
                    if holder is not None and body.stop_id in plan.progress_of(holder).done:
                        raise invalid("stop_id", body.stop_id, f"courier {holder} already delivered this stop")
                    if holder is not None and body.stop_id in plan.progress_of(holder).failed:
                        # another attempt after the holder's failed one: the stop is theirs now, and
                        # the holder keeps where the failed attempt left them
                        plan = forget_failure(plan, holder, body.stop_id, self.source)
                    plan = hand_over(plan, body.stop_id, body.courier_id)
            return plan.with_event(event)

        def record_event(s: Any, response: EventOut | None) -> None:
            assert response is not None
            try:
                repo.add_event(
                    s,
                    plan_id,
                    body.event_id,
                    body.courier_id,
                    body.type,
                    body.at,
                    body.model_dump(mode="json"),
                    response.model_dump(mode="json"),
                    principal.actor,
                )
            except Conflict:
                raise _Repeated() from None

        try:
            return self._advance(
                plan_id, change, record_event, reoptimize=None, actor=principal.actor, only=body.courier_id, began=began
            )
        except _Repeated:
            with self.store.transaction() as s:
                repeated = repo.find_event(s, plan_id, body.event_id)
            assert repeated is not None and repeated.response is not None
            return Answered(EventOut.model_validate(repeated.response), "repeated", time.perf_counter() - began)

    def _to_event(self, wire: ProblemIn, body: EventIn) -> CourierEvent:
        at_s = seconds_since(wire.day_start, body.at)
        if not 0 <= at_s <= WEEK_S:
            raise invalid("at", body.event_id, "the event time is outside the plan's day")
        if (body.lat is None) != (body.lon is None):
            raise invalid("lat", body.event_id, "give both lat and lon, or neither")
        position = Location(body.lat, body.lon) if body.lat is not None and body.lon is not None else None
        if body.type in ("stop_completed", "stop_failed") and body.stop_id is None:
            raise invalid("stop_id", body.event_id, f"a {body.type} event needs a stop_id")
        if body.type == "position" and position is None:
            raise invalid("lat", body.event_id, "a position event needs lat and lon")
        if body.type == "delay" and body.delay_min <= 0:
            raise invalid("delay_min", body.event_id, "a delay event needs delay_min > 0")
        return CourierEvent(
            body.event_id, body.courier_id, body.type, at_s, body.stop_id, position, round(body.delay_min * 60)
        )

    # -- calls ----------------------------------------------------------------------------

    def list_calls(self, plan_id: str, principal: Principal, status: str | None) -> list[CallOut]:
        require(principal, "dispatcher", "service")
        with self.store.transaction(readonly=True) as s:
            record = repo.get_plan(s, plan_id)
            calls = repo.list_calls(s, plan_id, status)
        wire = self._wire(record)
        out = [self._call_out(c, wire) for c in calls]
        out.sort(key=lambda c: (c.status != "open", not c.urgent, c.window.end, c.created_at))
        return out

    def record_outcome(self, call_id: str, body: OutcomeIn, principal: Principal) -> CallOut:
        require(principal, "service", "dispatcher")
        with self.store.transaction(readonly=True) as s:
            call = repo.get_call(s, call_id)
            record = repo.get_plan(s, call.plan_id)
        wire = self._wire(record)
        if call.status != "open":
            raise ApiError(409, "conflict", f"call {call_id} is already closed ({call.outcome or 'resolved'})")
        new_window: tuple[int, int] | None = None
        if body.outcome == "rebooked":
            if body.new_window is None:
                raise invalid("new_window", call_id, "a rebooked call needs the new window")
            start = seconds_since(wire.day_start, body.new_window.start)
            end = seconds_since(wire.day_start, body.new_window.end)
            if not 0 <= start <= end <= WEEK_S:
                raise invalid("new_window", call_id, "the window must end after it starts, within the plan's week")
            new_window = (start, end)
        stop_id = call.stop_id

        def amend(state: PlanState) -> PlanState:
            if body.outcome == "cancelled":
                return state.with_cancelled(stop_id)
            if body.outcome == "rebooked" and new_window is not None:
                return state.with_rebooked(stop_id, new_window, failed=call.kind == "failed")
            return state

        def change(plan: LivePlan, state: PlanState) -> LivePlan:
            problem = state.problem(wire)
            return change_stop(plan, problem, stop_id, self.source, rebooked=body.outcome == "rebooked")

        def close_call(s: Any, _: EventOut | None) -> None:
            closing = body.outcome != "unreachable"
            repo.update_call(
                s,
                call_id,
                outcome=body.outcome,
                outcome_actor=principal.actor,
                new_window=body.new_window.model_dump(mode="json") if body.new_window else None,
                **({"status": "done", "closed_at": datetime.now(UTC)} if closing else {}),
            )
            repo.add_audit(
                s, call.plan_id, principal.actor, f"call_{body.outcome}", {"call": call_id, "note": body.note}
            )
            if closing:
                self._enqueue_call(s, call.plan_id, "call_closed", repo.get_call(s, call_id), wire)

        if body.outcome in ("accepted_late", "unreachable"):
            with self._plan_lock(call.plan_id), self.store.plan_transaction(call.plan_id) as s:
                _require_open(s, call_id)
                if body.outcome == "accepted_late":
                    state = self._state_of(repo.get_plan(s, call.plan_id)).with_quiet(stop_id)
                    self._write_state(s, call.plan_id, replace(state, seq=state.seq + 1))
                close_call(s, None)
        else:
            self._advance(
                call.plan_id,
                change,
                close_call,
                amend=amend,
                reoptimize=True if body.outcome == "rebooked" else None,
                actor=principal.actor,
                closing={call_id},
                focus=frozenset({call.courier_id}) if call.courier_id else frozenset(),
            )
        self.wake_outbox()
        with self.store.transaction() as s:
            return self._call_out(repo.get_call(s, call_id), wire)

    def _call_out(self, call: CallRecord, wire: ProblemIn, *, mask: bool = False) -> CallOut:
        return views.call_out(call, wire, mask=mask)

    # -- the one path every change takes ------------------------------------------------

    def _advance(
        self,
        plan_id: str,
        change: Change,
        record: Callable[[Any, EventOut | None], None],
        *,
        amend: Amend | None = None,
        reoptimize: bool | None,
        actor: str,
        closing: frozenset[str] | set[str] = frozenset(),
        focus: frozenset[str] = frozenset(),
        only: str | None = None,
        began: float | None = None,
    ) -> Answered:
        """Apply `change`, re-time, re-optimize when needed (None: when a window is at risk),
        decide, and commit everything with `record`'s own rows in one transaction.

        The search runs outside the plan lock, so other couriers' reports are answered
        meanwhile; one search per plan at a time. Its result is then carried onto whatever
        arrived in between (`rebase`), or, if the two cannot both hold, the change is
        committed re-timed only and the background improvement takes over. `began`: when the
        request arrived (the answer budget counts from then); now if not given."""
        began = time.perf_counter() if began is None else began
        with self._plan_lock(plan_id):
            step = self._prepare(plan_id, change, amend, only)
            search = bool(reoptimize or (reoptimize is None and step.worse))
            if not search:
                done = self._commit(plan_id, step, step.plan, step.day, record, actor, closing)
        if not search:
            return self._answered(plan_id, done, began, reoptimized=False)
        with self._search_lock(plan_id):
            with self._plan_lock(plan_id):
                if self._seq(plan_id) != step.seq or only is not None:
                    step = self._prepare(plan_id, change, amend, None)  # everyone's status at the clock
            better = self._search(step.plan, step.day, began, focus | step.worse)
            with self._plan_lock(plan_id):
                latest = step if self._seq(plan_id) == step.seq else self._prepare(plan_id, change, amend, None)
                plan, day = latest.plan, latest.day
                carried = better if latest is step else rebase(latest.plan, step.plan, better)
                if carried is None:
                    log.info("plan %s changed during a re-optimization; committing it re-timed", plan_id)
                else:
                    carried_day = retime(carried, self.source)
                    if _shortfall(carried_day) <= _shortfall(day):
                        plan, day = carried, carried_day
                done = self._commit(plan_id, latest, plan, day, record, actor, closing)
        return self._answered(plan_id, done, began, reoptimized=True)

    def _prepare(self, plan_id: str, change: Change, amend: Amend | None, only: str | None) -> _Step:
        """Read the plan, apply `change` and re-time it (one courier's route when `only`
        names them and the last re-timed day is at hand). Call under the plan lock."""
        with self.store.transaction(readonly=True) as s:
            record = repo.get_plan(s, plan_id)
            open_calls = repo.open_calls(s, plan_id)
        if record.status != "solved" or not record.state:
            raise ApiError(409, "conflict", f"plan {plan_id} is {record.status}, not solved yet")
        wire = self._wire(record)
        before = self._state_of(record)
        state = amend(before) if amend is not None else before
        problem = before.problem(wire)
        read = before.live_plan(problem)
        plan = change(read, state)
        seq = before.seq
        cached = self._days.get(plan_id)
        base_day = None
        # the fast path re-times `only`: not when the change moved stops between routes
        if only is not None and cached is not None and cached[0] == seq and plan.routes is read.routes:
            base_day = cached[1]
            day = retime_courier(plan, base_day, only, self.source)  # the fast path
        else:
            day = retime(plan, self.source)
        worse = _worsened(before, day)
        return _Step(record, wire, before, state, problem, plan, day, worse, tuple(open_calls), seq, base_day)

    def _seq(self, plan_id: str) -> int:
        with self.store.transaction(readonly=True) as s:
            return self._state_of(repo.get_plan(s, plan_id)).seq

    def _commit(
        self,
        plan_id: str,
        step: _Step,
        plan: LivePlan,
        day: DayState,
        record: Callable[[Any, EventOut | None], None],
        actor: str,
        closing: frozenset[str] | set[str],
    ) -> tuple[EventOut, DayState, bool]:
        """Decide and commit the change in one transaction. Call under the plan lock."""
        wire, before_state = step.wire, step.before
        calls_before = {
            c.stop_id: OpenCall(
                c.id, c.stop_id, _call_kind(c.kind), _seconds(wire, c.eta), _seconds(wire, c.notified_eta)
            )
            for c in step.open_calls
            if c.id not in closing
        }
        after = next_state(step.state, plan, day, before_state.versions, step.base_day if plan is step.plan else None)
        viewed = self._views.get(plan_id)
        if viewed is not None and viewed[0] == step.seq:
            before_view = replace(viewed[1], calls=calls_before)
        else:
            before_view = plan_view(before_state, step.problem, calls_before)
        after_view = plan_view(after, plan.problem, {}, since=(before_state, before_view))
        decisions = decide_events(before_view, after_view, self.calls_policy)
        if self.settings.check_invariants:
            self._check(plan, day, calls_before, decisions, after, step.base_day)
        updated = {u.courier_id: u.version for u in decisions.route_updates}
        final = replace(
            after,
            routes={cid: replace(r, version=updated.get(cid, r.version)) for cid, r in after.routes.items()},
            seq=step.seq + 1,
            failed_called=tuple(  # the change's own (a rebooked failure is called about again)
                sorted({*step.state.failed_called, *(c.stop_id for c in decisions.create if c.kind == "failed")})
            ),
        )
        plan_version = step.record.version + (1 if decisions.route_updates else 0)
        committed_view = replace(after_view, versions=final.versions, failed_called=frozenset(final.failed_called))
        with self.store.plan_transaction(plan_id) as s:
            current = repo.get_plan(s, plan_id)
            if self._state_of(current).seq != step.seq:
                raise ApiError(409, "conflict", "the plan changed meanwhile; send the request again")
            for update in decisions.route_updates:
                repo.add_route_version(
                    s,
                    plan_id,
                    update.courier_id,
                    update.version,
                    plan_version,
                    list(final.routes[update.courier_id].stops),
                )
                repo.enqueue(
                    s,
                    plan_id,
                    "route_updated",
                    {
                        "plan_id": plan_id,
                        "courier_id": update.courier_id,
                        "version": update.version,
                        "plan_version": plan_version,
                        "stops": list(update.stop_ids),
                    },
                    f"{plan_id}:route:{update.courier_id}:{update.version}",
                )
            for call_id in closing:  # re-read here: of two outcomes for one call, the second gets 409
                _require_open(s, call_id)
            for call_id in closing:  # resolved by this change: closed before anything new opens
                repo.update_call(s, call_id, status="done", closed_at=datetime.now(UTC))
            touched = self._apply_calls(s, plan_id, wire, decisions, actor)
            response = EventOut(
                plan_version=plan_version,
                changed_routes=sorted(u.courier_id for u in decisions.route_updates),
                calls=[self._call_out(c, wire) for c in touched],
            )
            record(s, response)
            self._write_state(s, plan_id, final, version=plan_version, clock=at(wire.day_start, plan.now_s))
        _remember(self._days, plan_id, (final.seq, day))
        _remember(self._views, plan_id, (final.seq, committed_view))
        return response, day, bool(decisions.route_updates or touched)

    def _check(
        self,
        plan: LivePlan,
        day: DayState,
        calls_before: dict[str, OpenCall],
        decisions: Decisions,
        final: PlanState,
        before: DayState | None,
    ) -> None:
        """Debug mode: the day about to be committed keeps every invariant, calls included, or
        the change is refused before anything is written (`InvariantBroken`, a 500)."""
        closed = {c.call_id for c in decisions.close}
        calls = {stop: call for stop, call in calls_before.items() if call.call_id not in closed}
        for update in decisions.update:
            calls[update.stop_id] = replace(calls[update.stop_id], kind=update.kind, eta_s=update.eta_s)
        for create in decisions.create:
            calls[create.stop_id] = OpenCall("new", create.stop_id, create.kind, create.eta_s)
        try:
            assert_day(plan, day, calls, quiet=list(final.overrides.quiet), before=before, source=self.source)
        except InvariantBroken:
            log.exception("a change would break the day's invariants; refused")
            raise

    def _answered(
        self, plan_id: str, done: tuple[EventOut, DayState, bool], began: float, *, reoptimized: bool
    ) -> Answered:
        """After the commit, outside the plan lock: wake the outbox, ask for an improvement."""
        response, day, notify = done
        if notify:
            self.wake_outbox()
        if day.at_risk and reoptimized:
            self._request_polish(plan_id)
        return Answered(response, "reoptimized" if reoptimized else "retimed", time.perf_counter() - began)

    # -- keep improving after the answer ------------------------------------------------

    def _request_polish(self, plan_id: str) -> None:
        """Improve the plan further once its events have been quiet for a moment."""
        if not self.settings.polish_time_limit_s or self.polish_executor is None:
            return
        with self._locks_guard:
            self._polish_asked[plan_id] = time.monotonic()
            if plan_id in self._polishing:
                return
            self._polishing.add(plan_id)
        threading.Thread(target=self._polish, args=(plan_id,), name=f"polish-{plan_id[:8]}", daemon=True).start()

    def _polish(self, plan_id: str) -> None:
        try:
            while True:
                with self._locks_guard:
                    quiet_for = time.monotonic() - self._polish_asked[plan_id]
                if quiet_for < POLISH_QUIET_S:
                    time.sleep(POLISH_QUIET_S - quiet_for)
                    continue
                with self._locks_guard:
                    asked = self._polish_asked[plan_id]
                self._polish_once(plan_id)
                with self._locks_guard:
                    if self._polish_asked[plan_id] == asked:
                        self._polishing.discard(plan_id)
                        return
        except Exception:
            log.exception("background improvement of plan %s failed", plan_id)
            with self._locks_guard:
                self._polishing.discard(plan_id)

    def _polish_once(self, plan_id: str) -> None:
        """Re-optimize every courier at risk with the longer budget, outside the plan lock;
        apply the result only if nothing changed meanwhile and it is better."""
        assert self.polish_executor is not None
        with self.store.transaction(readonly=True) as s:
            record = repo.get_plan(s, plan_id)
        state = self._state_of(record)
        seq = state.seq
        wire = self._wire(record)
        plan = state.live_plan(state.problem(wire))
        day = retime(plan, self.source)
        if not day.at_risk:
            return
        policy = replace(self.policy, time_limit_s=self.settings.polish_time_limit_s)
        future = self.polish_executor.submit(reoptimize_day, plan, day, self.settings.detour_factor, policy)
        better = future.result(timeout=self.settings.polish_time_limit_s * 5 + 30)
        better_day = retime(better, self.source)
        if _shortfall(better_day) >= _shortfall(day):
            with self.store.transaction() as s:
                repo.add_audit(s, plan_id, "optimizer", "plan_kept", {"late_min": round(day.late_s / 60)})
            return

        def audit(s: Any, _: EventOut | None) -> None:
            repo.add_audit(
                s,
                plan_id,
                "optimizer",
                "plan_improved",
                {"late_min_before": round(day.late_s / 60), "late_min_after": round(better_day.late_s / 60)},
            )

        # adopted between searches, never under one: a search's result must not find the routes
        # it re-planned changed by this when it is carried over
        with self._search_lock(plan_id):
            for _ in range(3):  # reports keep arriving: carry the result onto them, outside the lock
                with self.store.transaction(readonly=True) as s:
                    latest = self._state_of(repo.get_plan(s, plan_id))
                at_seq = latest.seq
                if at_seq == seq:
                    carried = better  # searched from this very plan: routes, anchors, parcels, hand-overs
                else:
                    current = latest.live_plan(latest.problem(wire))
                    rebased = rebase(current, plan, better)
                    if rebased is None:
                        return  # changed where it was re-planned: the newer change asked for its own
                    now, then = retime(current, self.source), retime(rebased, self.source)
                    if _shortfall(then) >= _shortfall(now):
                        return  # what arrived meanwhile made it no better than the plan as it is
                    carried = rebased
                try:
                    self._advance(plan_id, _adopt_at(at_seq, carried), audit, reoptimize=False, actor="optimizer")
                    return
                except _Stale:
                    continue  # another report came in while this one was carried over

    def _search(self, plan: LivePlan, day: DayState, began: float, focus: frozenset[str]) -> LivePlan:
        """Re-optimize in the solver executor within what is left of the answer budget; the
        plan as it was if the search fails."""
        left = self.policy.time_limit_s - (time.perf_counter() - began) - ANSWER_MARGIN_S
        policy = replace(self.policy, time_limit_s=max(left, MIN_SEARCH_S))
        future = self.replan_executor.submit(reoptimize_day, plan, day, self.settings.detour_factor, policy, focus)
        try:
            return future.result(timeout=self.policy.time_limit_s * 5 + 30)
        except Exception as exc:
            log.warning("re-optimization failed (%s); keeping the re-timed plan", type(exc).__name__)
            return plan

    def _apply_calls(self, s: Any, plan_id: str, wire: ProblemIn, decisions: Decisions, actor: str) -> list[CallRecord]:
        day0 = wire.day_start
        touched: list[CallRecord] = []
        for close in decisions.close:
            closed = repo.update_call(s, close.call_id, status="done", reason=close.reason, closed_at=datetime.now(UTC))
            self._enqueue_call(s, plan_id, "call_closed", closed, wire)
        for create in decisions.create:
            made = repo.add_call(
                s,
                plan_id,
                create.stop_id,
                create.courier_id,
                create.kind,
                at(day0, create.window_start_s),
                at(day0, create.window_end_s),
                at(day0, create.eta_s) if create.eta_s is not None else None,
                round(create.late_s / 60, 1),
                create.reason,
                create.urgent,
            )
            touched.append(made)
            self._enqueue_call(s, plan_id, "call_created", made, wire)
        for update in decisions.update:
            eta = at(day0, update.eta_s) if update.eta_s is not None else None
            moved = repo.update_call(
                s,
                update.call_id,
                kind=update.kind,
                courier_id=update.courier_id,
                eta=eta,
                late_min=round(update.late_s / 60, 1),
                urgent=update.urgent,
                reason=update.reason,
                **({"notified_eta": eta} if update.notify else {}),
            )
            touched.append(moved)
            if update.notify:
                self._enqueue_call(s, plan_id, "call_updated", moved, wire)
        return touched

    def _enqueue_call(self, s: Any, plan_id: str, kind: str, call: CallRecord, wire: ProblemIn) -> None:
        payload = {"plan_id": plan_id, "call": self._call_out(call, wire).model_dump(mode="json")}
        stamp = call.updated_at.isoformat()
        repo.enqueue(s, plan_id, kind, payload, f"{plan_id}:{kind}:{call.id}:{stamp}")

    # -- helpers ------------------------------------------------------------------------

    def _plan_lock(self, plan_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(plan_id, threading.Lock())

    def _search_lock(self, plan_id: str) -> threading.Lock:
        """Held while a plan is re-optimized (never taken while holding its plan lock)."""
        with self._locks_guard:
            return self._search_locks.setdefault(plan_id, threading.Lock())

    def _wire(self, record: PlanRecord) -> ProblemIn:
        wire = self._wires.get(record.id)
        if wire is None:
            wire = ProblemIn.model_validate(record.problem)
            self._wires[record.id] = wire
            while len(self._wires) > 32:
                self._wires.popitem(last=False)
        return wire

    def _state_of(self, record: PlanRecord) -> PlanState:
        """The record's state, typed; decoded once per document (the store keeps the document
        it was given or read, so a state read again is the very same object)."""
        doc = record.state or {}
        kept = self._states.get(record.id)
        if kept is not None and kept[0] is doc:
            return kept[1]
        state = PlanState.from_doc(doc)
        if doc:
            _remember(self._states, record.id, (doc, state))
        return state

    def _write_state(self, s: Any, plan_id: str, state: PlanState, **columns: Any) -> None:
        doc = state.to_doc()
        repo.update_plan(s, plan_id, state=doc, **columns)
        _remember(self._states, plan_id, (doc, state))

    def resume(self) -> None:
        """After a restart: solve again every plan left queued or solving."""
        with self.store.transaction() as s:
            stale = repo.claim_stale_plans(s)
        for plan_id in stale:
            log.info("resuming the solve of plan %s", plan_id)
            self.start_solve(plan_id)


WORSE_BY_S = 60
"""A change that makes a courier's stops later than this in total triggers re-optimization."""


def _worsened(before: PlanState, day: DayState) -> frozenset[str]:
    """Couriers whose not-yet-served stops this change made later than booked."""
    worse = set()
    for courier in day.couriers:
        entry = before.snapshot.get(courier.courier_id)
        was = sum(v.late_s for v in entry.visits if v.status not in ("done", "failed")) if entry else 0
        now = sum(v.late_s for v in courier.visits if v.status not in ("done", "failed"))
        if now > was + WORSE_BY_S:
            worse.add(courier.courier_id)
    return frozenset(worse)


def _shortfall(day: DayState) -> tuple[int, int]:
    """Stops left out, then seconds late: what a re-optimized plan must not make worse."""
    return len(day.unassigned), day.late_s


def _adopt_at(seq: int, plan: LivePlan) -> Change:
    """A change that replaces the plan with `plan`, if the plan is still at `seq`."""

    def adopt(_: LivePlan, state: PlanState) -> LivePlan:
        if state.seq != seq:
            raise _Stale
        return plan

    return adopt


def _require_open(s: Any, call_id: str) -> None:
    """409 unless the call is still open: read in the plan transaction that writes an outcome
    (under the plan's lock), so that of two outcomes for one call only the first applies."""
    current = repo.get_call(s, call_id)
    if current.status != "open":
        raise ApiError(409, "conflict", f"call {call_id} is already closed ({current.outcome or 'resolved'})")


def _remember(kept: dict[str, Any], key: str, value: Any, count: int = 32) -> None:
    """Keep `value` as the newest entry, forgetting the oldest beyond `count`."""
    kept.pop(key, None)
    kept[key] = value
    while len(kept) > count:
        kept.pop(next(iter(kept)))


def _call_kind(kind: str) -> CallKind:
    return "failed" if kind == "failed" else "dropped" if kind == "dropped" else "late"


def _seconds(wire: ProblemIn, when: datetime | None) -> int | None:
    return None if when is None else seconds_since(wire.day_start, when)


@dataclass(frozen=True)
class Answered:
    """A change's answer, and how it was reached: `retimed` (the routes re-timed only, no window
    newly at risk), `reoptimized` (a search ran) or `repeated` (the first answer to this event id),
    in `seconds` of server time. The events router sends both as a `Server-Timing` header."""

    out: EventOut
    path: Literal["retimed", "reoptimized", "repeated"]
    seconds: float


@dataclass(frozen=True)
class _Step:
    """A change applied to the plan as read: what `_commit` decides and writes from."""

    record: PlanRecord
    wire: ProblemIn
    before: PlanState
    state: PlanState
    """The state to write, before the new routes and snapshot (`before`, amended)."""
    problem: Problem
    """The problem before the change (its stops as the before-view shows them)."""
    plan: LivePlan
    day: DayState
    worse: frozenset[str]
    open_calls: tuple[CallRecord, ...]
    seq: int
    base_day: DayState | None
    """The last re-timed day `day` was re-timed from, one courier at a time (the fast path)."""


class _Stale(Exception):
    """The plan changed while a background improvement was computed."""


class _Repeated(Exception):
    """The event id was stored by a concurrent request; answer with its first answer."""
