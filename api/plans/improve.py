"""Background improvement: after an answer that left a window at risk, keep searching with a
longer budget once the plan's reports pause, and adopt the result only if it is better and
still fits what arrived meanwhile. One improver per plan at a time, in its own executor (a
worker that yields the cores to answering), and across replicas: an improvement runs under
the store's claim on the plan (`Store.claim`), and a replica that finds another improving the
plan waits for it to finish, then improves from what it left."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from sqlalchemy.orm import Session

from api.plans import changes
from api.plans.runtime import Runtime
from api.schemas import EventOut
from api.store import repo
from api.tasks import reoptimize_day
from optimizer.replan import rebase, retime

log = logging.getLogger("ontime.service")

POLISH_QUIET_S = 0.5
"""A background improvement starts once a plan's events have paused this long."""

CLAIM_RETRY_S = 0.5
"""How often a replica looks whether another has finished improving a plan."""


def request_improvement(rt: Runtime, plan_id: str) -> None:
    """Improve the plan further once its events have been quiet for a moment."""
    if not rt.settings.polish_time_limit_s or rt.polish_executor is None:
        return
    with rt.guard:
        rt.polish_asked[plan_id] = time.monotonic()
        if plan_id in rt.polishing:
            return
        rt.polishing.add(plan_id)
    threading.Thread(target=_improve, args=(rt, plan_id), name=f"polish-{plan_id[:8]}", daemon=True).start()


def _improve(rt: Runtime, plan_id: str) -> None:
    """Wait for a quiet moment, improve once, and again if asked again meanwhile."""
    try:
        while True:
            with rt.guard:
                quiet_for = time.monotonic() - rt.polish_asked[plan_id]
            if quiet_for < POLISH_QUIET_S:
                time.sleep(POLISH_QUIET_S - quiet_for)
                continue
            with rt.guard:
                asked = rt.polish_asked[plan_id]
            with rt.store.claim(f"improve:{plan_id}") as mine:
                if mine:
                    improve_once(rt, plan_id)
            if not mine:  # another replica is improving this plan: after it
                time.sleep(CLAIM_RETRY_S)
                continue
            with rt.guard:
                if rt.polish_asked[plan_id] == asked:
                    rt.polishing.discard(plan_id)
                    return
    except Exception:
        log.exception("background improvement of plan %s failed", plan_id)
        with rt.guard:
            rt.polishing.discard(plan_id)


def improve_once(rt: Runtime, plan_id: str) -> None:
    """Re-optimize every courier at risk with the longer budget, outside the plan lock;
    apply the result only if nothing changed meanwhile and it is better."""
    executor = rt.polish_executor
    if executor is None:
        return
    with rt.store.transaction(readonly=True) as s:
        record = repo.get_plan(s, plan_id)
    state = rt.state_of(record)
    wire = rt.wire(record)
    plan = state.live_plan(state.problem(wire))
    day = retime(plan, rt.source)
    if not day.at_risk:
        return
    policy = replace(rt.policy, time_limit_s=rt.settings.polish_time_limit_s)
    future = executor.submit(reoptimize_day, plan, day, rt.source, policy)
    better = future.result(timeout=rt.settings.polish_time_limit_s * 5 + 30)
    better_day = retime(better, rt.source)
    if changes.shortfall(better_day) >= changes.shortfall(day):
        with rt.store.transaction() as s:
            repo.add_audit(s, plan_id, "optimizer", "plan_kept", {"late_min": round(day.late_s / 60)})
        return

    def audit(s: Session, _: EventOut | None) -> None:
        repo.add_audit(
            s,
            plan_id,
            "optimizer",
            "plan_improved",
            {"late_min_before": round(day.late_s / 60), "late_min_after": round(better_day.late_s / 60)},
        )

    # adopted between searches, never under one: a search's result must not find the routes
    # it re-planned changed by this when it is carried over
    with rt.search_lock(plan_id):
        for _ in range(3):  # reports keep arriving: carry the result onto them, outside the lock
            with rt.store.transaction(readonly=True) as s:
                latest = rt.state_of(repo.get_plan(s, plan_id))
            if latest.seq == state.seq:
                carried = better  # searched from this very plan: routes, anchors, parcels, hand-overs
            else:
                current = latest.live_plan(latest.problem(wire))
                rebased = rebase(current, plan, better)
                if rebased is None:
                    return  # changed where it was re-planned: the newer change asked for its own
                now, then = retime(current, rt.source), retime(rebased, rt.source)
                if changes.shortfall(then) >= changes.shortfall(now):
                    return  # what arrived meanwhile made it no better than the plan as it is
                carried = rebased
            try:
                changes.advance(
                    rt, plan_id, changes.adopt_at(latest.seq, carried), audit, reoptimize=False, actor="optimizer"
                )
                return
            except changes.Stale:
                continue  # another report came in while this one was carried over
