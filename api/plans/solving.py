"""Solving a day: stored `queued`, solved off the request path in the solver executor within
its time limit, stored `solved` with its first routes, calls and webhooks (or `failed`,
with the reason).

A solve runs under the store's claim on its plan (`Store.claim`), from before it is handed to
the executor until its outcome is stored: with several replicas on one database, one solves
it. Plans left `queued` or `solving` with no one holding their claim (a restart, a replica
that died) are solved again by whichever replica looks first (`resume`, on start-up and then
every few seconds).
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import ExitStack
from dataclasses import replace

from api.auth import Principal
from api.errors import ApiError
from api.plans import changes
from api.plans.runtime import Runtime
from api.plans.state import PlanState, initial_state, next_state, plan_view
from api.schemas import Accepted, PlanCreateIn
from api.store import repo
from api.tasks import SolvedDay, solve_problem
from optimizer.events import decide_events
from optimizer.replan import retime
from scenarios.executors import result_within

log = logging.getLogger("ontime.service")


def create_plan(rt: Runtime, body: PlanCreateIn, principal: Principal) -> Accepted:
    """Store the day `queued` and start solving it."""
    body.problem.to_domain()  # meaning checked before anything is stored
    rt.maps.resolve(body.problem.road_map)
    plan_id = uuid.uuid4().hex
    params = {"time_limit_s": body.time_limit_s, "engine": body.engine, "seed": body.seed}
    if body.iterations is not None:
        params["iterations"] = body.iterations
    with rt.store.transaction() as s:
        repo.create_plan(s, plan_id, body.problem.name, body.problem.model_dump(mode="json"), params)
        repo.add_audit(s, plan_id, principal.actor, "plan_created", {"stops": len(body.problem.stops)})
    start_solve(rt, plan_id)
    return Accepted(id=plan_id, status="queued")


def start_solve(rt: Runtime, plan_id: str) -> None:
    """Claim the plan's solve and hand it to the executor (503 if the executor cannot take
    it); a thread waits for the outcome, stores it and lets go of the claim. Nothing happens
    if this process or another already solves it, or it is solved."""
    with rt.guard:
        if plan_id in rt.solving:
            return
        rt.solving.add(plan_id)
    claim = ExitStack()
    handed_over = False
    try:
        if claim.enter_context(rt.store.claim(f"solve:{plan_id}")):  # else another replica solves it
            handed_over = _submit(rt, plan_id, claim)
    finally:
        if not handed_over:
            claim.close()
            with rt.guard:
                rt.solving.discard(plan_id)


def _submit(rt: Runtime, plan_id: str, claim: ExitStack) -> bool:
    """Under the plan's claim: the solve handed to the executor and a thread waiting for it
    (True; the thread now holds the claim), or False if the plan is no longer unsolved."""
    with rt.store.transaction() as s:
        record = repo.get_plan(s, plan_id)
        if record.status not in ("queued", "solving"):
            return False  # solved (or failed) between a look for unsolved plans and the claim
        repo.update_plan(s, plan_id, status="solving")
    try:
        future = rt.executor.submit(solve_problem, record.problem, record.params, rt.source)
    except Exception as exc:
        _fail(rt, plan_id, f"the solver could not be started: {type(exc).__name__}")
        raise ApiError(503, "unavailable", "the solver is unavailable; try again shortly") from exc
    limit = float(record.params.get("time_limit_s", 10)) * 2 + rt.settings.solve_grace_s
    waiter = threading.Thread(target=_finish_solve, args=(rt, plan_id, future, limit, claim.pop_all()), daemon=True)
    waiter.start()
    return True


def resume(rt: Runtime) -> None:
    """Solve every plan left queued or solving that no process is solving."""
    with rt.store.transaction() as s:
        stale = repo.claim_stale_plans(s)
    for plan_id in stale:
        try:
            start_solve(rt, plan_id)
        except Exception:  # the executor or the database: looked at again at the next sweep
            log.warning("could not take up the solve of plan %s", plan_id, exc_info=True)


def _finish_solve(rt: Runtime, plan_id: str, future: Future[SolvedDay], limit_s: float, claim: ExitStack) -> None:
    """Store the solution, or fail the plan, then let go of the solve's claim. The limit counts
    from when the solve started, not the time it waited behind other solves; on overrun the
    executor stops the solve's process (a hung worker would otherwise hold its slot forever,
    and every solve queued behind it would overrun too), while the other solves go on or start
    again in a new worker."""
    with claim:
        try:
            _outcome(rt, plan_id, future, limit_s)
        finally:
            with rt.guard:
                rt.solving.discard(plan_id)


def _outcome(rt: Runtime, plan_id: str, future: Future[SolvedDay], limit_s: float) -> None:
    try:
        solved = result_within(future, limit_s)
    except (Exception, CancelledError) as exc:
        if rt.stopping.is_set():  # dropped by an executor shutting down: for whoever takes it up
            log.info("plan %s left unsolved as the process stops (%s)", plan_id, type(exc).__name__)
        elif isinstance(exc, FutureTimeout):
            try:
                rt.executor.stop(future)
            except Exception:
                log.exception("could not stop the overrunning solve of plan %s", plan_id)
            _fail(rt, plan_id, f"the solve overran its time limit ({limit_s:.0f} s)")
        else:
            log.warning("solve of plan %s failed: %s", plan_id, type(exc).__name__)
            _fail(rt, plan_id, f"the solver failed: {type(exc).__name__}: {str(exc)[:200]}")
        return
    try:
        with rt.changing(plan_id):
            store_solution(rt, plan_id, solved)
    except Exception as exc:
        log.exception("storing the solution of plan %s failed", plan_id)
        _fail(rt, plan_id, f"storing the plan failed: {type(exc).__name__}")


def store_solution(rt: Runtime, plan_id: str, solved: SolvedDay) -> None:
    """The solved day re-timed, its first calls decided, all stored at version 1."""
    with rt.store.plan_transaction(plan_id) as s:
        record = repo.get_plan(s, plan_id)
        if record.status not in ("queued", "solving"):  # solved meanwhile: a replica took it for dead
            log.warning("plan %s is %s: this solve of it is dropped", plan_id, record.status)
            return
        wire = rt.wire(record)
        state0 = initial_state(solved.routes, solved.unassigned, solved.engine)
        problem = state0.problem(wire)  # with the reloads the routes make
        plan = state0.live_plan(problem)
        day = retime(plan, rt.source)
        versions = {c.id: 1 for c in problem.couriers}
        state = replace(next_state(state0, plan, day, versions, noise=rt.noise), seq=0)
        decisions = decide_events(plan_view(PlanState(), problem, {}), plan_view(state, problem, {}), rt.calls_policy)
        for courier_id, entry in state.routes.items():
            repo.add_route_version(s, plan_id, courier_id, 1, 1, list(entry.stops))
        changes.apply_calls(s, plan_id, wire, decisions)
        rt.write_state(s, plan_id, state, status="solved", error=None, version=1)
    rt.wake_outbox()


def _fail(rt: Runtime, plan_id: str, reason: str) -> None:
    try:
        with rt.store.transaction() as s:
            repo.update_plan(s, plan_id, status="failed", error=reason)
    except Exception:
        log.exception("could not mark plan %s failed", plan_id)
