"""The one path every change to a live plan takes: apply -> re-time -> (re-optimize) -> decide
-> commit (state, route versions, calls, outbox, the change's own rows) -> answer.

A change is pure: `Amend` (state -> state) changes the state's own parts (customer-service
overrides), `Change` (plan, state -> plan) the live day; neither touches what it is given.
`advance` folds it into the plan as stored, re-times every route (milliseconds), searches for
better routes in the solver executor if a window is at risk, lets `decide_events` say which
routes changed and which calls open, move or close, and commits all of it with the caller's
own rows (`Record`: the event and its answer, or the call's outcome) in one transaction
before answering.

Changes to one plan are serialised: the plan lock in this process, and the store's plan
transaction (row lock) with a sequence check against other processes. The search is the
exception: it runs outside the plan lock (one per plan at a time), so other couriers'
reports are answered meanwhile, and its routes are then carried onto what they reported
(`optimizer.replan.rebase`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Literal

from sqlalchemy.orm import Session

from api.errors import ApiError
from api.plans import views
from api.plans.runtime import Runtime
from api.plans.state import PlanState, next_state, plan_view
from api.schemas import EventOut, ProblemIn, at, seconds_since
from api.store import repo
from api.store.records import CallRecord, PlanRecord
from api.tasks import reoptimize_day
from optimizer.events import CallKind, Decisions, OpenCall, decide_events
from optimizer.invariants import InvariantBroken, assert_day
from optimizer.model import Problem
from optimizer.replan import DayState, LivePlan, rebase, retime, retime_courier, retime_since

log = logging.getLogger("ontime.service")

Change = Callable[[LivePlan, PlanState], LivePlan]
"""A change to the live day, pure: the plan as read (and the state, amended) -> the plan."""
Amend = Callable[[PlanState], PlanState]
"""A change to the state's own parts (overrides), pure, applied before `Change`."""
Record = Callable[[Session, EventOut | None], None]
"""Writes the change's own rows in the commit's transaction, given the answer."""

ANSWER_MARGIN_S = 0.25
"""Kept from the answer budget for re-timing, deciding and committing after the search."""
MIN_SEARCH_S = 0.1
WORSE_BY_S = 60
"""A change that makes a courier's stops later than this in total triggers re-optimization."""


@dataclass(frozen=True)
class Answered:
    """A change's answer, and how it was reached: `retimed` (the routes re-timed only, no window
    newly at risk), `reoptimized` (a search ran) or `repeated` (the first answer to this event id),
    in `seconds` of server time. The events router sends both as a `Server-Timing` header.
    `improve`: a window is still at risk after a search; worth a background improvement."""

    out: EventOut
    path: Literal["retimed", "reoptimized", "repeated"]
    seconds: float
    improve: bool = False


class Stale(Exception):
    """The plan changed while a background improvement was computed."""


@dataclass(frozen=True)
class Step:
    """A change applied to the plan as read: what `commit` decides and writes from."""

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
    """The last re-timed day `day` was re-timed from, one courier at a time (the fast path),
    or from another replica's changes on (`retime_since`)."""
    one_courier: bool = False
    """`day` is `base_day`, the day just before this change, with one courier re-timed."""


def advance(
    rt: Runtime,
    plan_id: str,
    change: Change,
    record: Record,
    *,
    amend: Amend | None = None,
    reoptimize: bool | None,
    actor: str,
    closing: Collection[str] = frozenset(),
    focus: frozenset[str] = frozenset(),
    only: str | None = None,
    began: float | None = None,
) -> Answered:
    """Apply `change`, re-time, re-optimize when needed (None: when a window is at risk),
    decide, and commit everything with `record`'s own rows in one transaction.

    The search runs outside the plan lock, so other couriers' reports are answered
    meanwhile; one search per plan at a time. Its result is then carried onto whatever
    arrived in between (`rebase`), or, if the two cannot both hold, the change is
    committed re-timed only and the background improvement takes over. `only`: the courier
    whose report this is (their route alone is re-timed when nothing else moved). `began`:
    when the request arrived (the answer budget counts from then); now if not given."""
    began = time.perf_counter() if began is None else began
    with rt.changing(plan_id):
        step = prepare(rt, plan_id, change, amend, only)
        searching = bool(reoptimize or (reoptimize is None and step.worse))
        if not searching:
            done = commit(rt, plan_id, step, step.plan, step.day, record, actor, closing)
    if not searching:
        return _answered(rt, done, began, reoptimized=False)
    with rt.search_lock(plan_id):
        with rt.changing(plan_id):
            if rt.seq(plan_id) != step.seq or only is not None:
                step = prepare(rt, plan_id, change, amend, None)  # everyone's status at the clock
        better = (rt.search or partial(search, rt))(step.plan, step.day, began, focus | step.worse)
        with rt.changing(plan_id):
            latest = step if rt.seq(plan_id) == step.seq else prepare(rt, plan_id, change, amend, None)
            plan, day = latest.plan, latest.day
            carried = better if latest is step else rebase(latest.plan, step.plan, better)
            if carried is None:
                log.info("plan %s changed during a re-optimization; committing it re-timed", plan_id)
            else:
                carried_day = retime(carried, rt.source)
                # asked for (a rebooking): kept unless worse; set off by a report: kept if worth it
                worth = 0.0 if reoptimize else rt.settings.route_change_worth_min * 60
                if worth_changing(plan, day, carried, carried_day, worth):
                    plan, day = carried, carried_day
            done = commit(rt, plan_id, latest, plan, day, record, actor, closing)
    return _answered(rt, done, began, reoptimized=True)


def prepare(rt: Runtime, plan_id: str, change: Change, amend: Amend | None, only: str | None) -> Step:
    """Read the plan, apply the change and re-time it (one courier's route when `only`
    names them and the last re-timed day is at hand). Call under the plan lock."""
    with rt.store.transaction(readonly=True) as s:
        record = repo.get_plan(s, plan_id)
        open_calls = repo.open_calls(s, plan_id)
    if record.status != "solved" or not record.state:
        raise ApiError(409, "conflict", f"plan {plan_id} is {record.status}, not solved yet")
    wire = rt.wire(record)
    before = rt.state_of(record)
    state = amend(before) if amend is not None else before
    problem = before.problem(wire)
    read = before.live_plan(problem)
    plan = change(read, state)
    cached = rt.days.get(plan_id)
    base_day = None
    one_courier = False
    # the fast path re-times `only`: not when the change moved stops between routes
    if only is not None and cached is not None and cached[0] == before.seq and plan.routes is read.routes:
        base_day, one_courier = cached[1], True
        day = retime_courier(plan, base_day, only, rt.source)
    elif cached is not None and cached[0] <= before.seq:
        # the couriers this change moved re-timed, and those other replicas moved since this
        # one last changed the plan; the rest as this replica last timed them
        base_day = cached[1]
        day = retime_since(plan, cached[2], base_day, rt.source, between=(read,))
    else:
        day = retime(plan, rt.source)
    worse = worsened(before, day)
    return Step(
        record, wire, before, state, problem, plan, day, worse, tuple(open_calls), before.seq, base_day, one_courier
    )


def commit(
    rt: Runtime,
    plan_id: str,
    step: Step,
    plan: LivePlan,
    day: DayState,
    record: Record,
    actor: str,
    closing: Collection[str],
) -> tuple[EventOut, DayState, bool]:
    """Decide and commit the change in one transaction. Call under the plan lock. Returns the
    answer, the day committed and whether anything went to the outbox."""
    wire, before = step.wire, step.before
    calls_before = {
        c.stop_id: OpenCall(
            c.id, c.stop_id, _call_kind(c.kind), _seconds(wire, c.eta), _seconds(wire, c.notified_eta), c.p_late
        )
        for c in step.open_calls
        if c.id not in closing
    }
    after = next_state(step.state, plan, day, before.versions, step.base_day if plan is step.plan else None, rt.noise)
    viewed = rt.views.get(plan_id)
    if viewed is not None and viewed[0] == step.seq:
        before_view = replace(viewed[1], calls=calls_before)
    else:
        before_view = plan_view(before, step.problem, calls_before)
    after_view = plan_view(after, plan.problem, {}, since=(before, before_view))
    decisions = decide_events(before_view, after_view, rt.calls_policy)
    if rt.settings.check_invariants:
        # served stops must stay where the day just before had them: checked against that day
        # when it is at hand (one courier's report), which a rebooking may change
        _check(rt, plan, day, calls_before, decisions, after, step.base_day if step.one_courier else None)
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
    with rt.store.plan_transaction(plan_id) as s:
        if rt.state_of(repo.get_plan(s, plan_id)).seq != step.seq:
            raise ApiError(409, "conflict", "the plan changed meanwhile; send the request again")
        for update in decisions.route_updates:
            stops = list(final.routes[update.courier_id].stops)
            repo.add_route_version(s, plan_id, update.courier_id, update.version, plan_version, stops)
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
            require_open(s, call_id)
        for call_id in closing:  # resolved by this change: closed before anything new opens
            repo.update_call(s, call_id, status="done", closed_at=datetime.now(UTC))
        touched = apply_calls(s, plan_id, wire, decisions)
        response = EventOut(
            plan_version=plan_version,
            changed_routes=sorted(u.courier_id for u in decisions.route_updates),
            calls=[views.call_out(c, wire) for c in touched],
        )
        record(s, response)
        rt.write_state(s, plan_id, final, version=plan_version, clock=at(wire.day_start, plan.now_s))
    rt.days.put(plan_id, (final.seq, day, plan))
    rt.views.put(plan_id, (final.seq, committed_view))
    return response, day, bool(decisions.route_updates or touched)


def apply_calls(s: Session, plan_id: str, wire: ProblemIn, decisions: Decisions) -> list[CallRecord]:
    """Close, open and move call tasks as decided, each with its webhook in the outbox; the
    calls opened or moved (what the answer lists)."""
    day0 = wire.day_start
    touched: list[CallRecord] = []
    for close in decisions.close:
        closed = repo.update_call(s, close.call_id, status="done", reason=close.reason, closed_at=datetime.now(UTC))
        enqueue_call(s, plan_id, "call_closed", closed, wire)
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
            p_late=create.p_late,
            eta_p90=at(day0, create.eta_p90_s) if create.eta_p90_s is not None else None,
            call_by=at(day0, create.call_by_s) if create.call_by_s is not None else None,
        )
        touched.append(made)
        enqueue_call(s, plan_id, "call_created", made, wire)
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
            p_late=update.p_late,
            eta_p90=at(day0, update.eta_p90_s) if update.eta_p90_s is not None else None,
            **({"notified_eta": eta} if update.notify else {}),
        )
        touched.append(moved)
        if update.notify:
            enqueue_call(s, plan_id, "call_updated", moved, wire)
    return touched


def enqueue_call(s: Session, plan_id: str, kind: str, call: CallRecord, wire: ProblemIn) -> None:
    payload = {"plan_id": plan_id, "call": views.call_out(call, wire).model_dump(mode="json")}
    stamp = call.updated_at.isoformat()
    repo.enqueue(s, plan_id, kind, payload, f"{plan_id}:{kind}:{call.id}:{stamp}")


def require_open(s: Session, call_id: str) -> None:
    """409 unless the call is still open: read in the plan transaction that writes an outcome
    (under the plan's lock), so that of two outcomes for one call only the first applies."""
    current = repo.get_call(s, call_id)
    if current.status != "open":
        raise ApiError(409, "conflict", f"call {call_id} is already closed ({current.outcome or 'resolved'})")


def adopt_at(seq: int, plan: LivePlan) -> Change:
    """A change that replaces the plan with `plan`, if the plan is still at `seq` (else `Stale`)."""

    def adopt(_: LivePlan, state: PlanState) -> LivePlan:
        if state.seq != seq:
            raise Stale
        return plan

    return adopt


def worsened(before: PlanState, day: DayState) -> frozenset[str]:
    """Couriers whose not-yet-served stops this change made later than booked."""
    worse = set()
    for courier in day.couriers:
        entry = before.snapshot.get(courier.courier_id)
        was = sum(v.late_s for v in entry.visits if v.status not in ("done", "failed")) if entry else 0
        now = sum(v.late_s for v in courier.visits if v.status not in ("done", "failed"))
        if now > was + WORSE_BY_S:
            worse.add(courier.courier_id)
    return frozenset(worse)


def worth_changing(plan: LivePlan, day: DayState, better: LivePlan, better_day: DayState, per_route_s: float) -> bool:
    """Whether couriers should be given the searched routes: they leave fewer stops out, or
    save at least `per_route_s` of lateness for each route they change. Couriers hate a route
    that changes for nothing; a search that only finds shorter drives waits for the background
    improvement, which never makes anyone later."""
    if len(better_day.unassigned) != len(day.unassigned):
        return len(better_day.unassigned) < len(day.unassigned)
    if per_route_s <= 0:
        return better_day.late_s <= day.late_s
    was = {r.courier_id: r.stop_ids for r in plan.routes}
    changed = sum(1 for r in better.routes if was.get(r.courier_id, ()) != r.stop_ids)
    return day.late_s - better_day.late_s >= max(1, changed) * per_route_s


def shortfall(day: DayState) -> tuple[int, int]:
    """Stops left out, then seconds late: what a re-optimized plan must not make worse."""
    return len(day.unassigned), day.late_s


def search(rt: Runtime, plan: LivePlan, day: DayState, began: float, focus: frozenset[str]) -> LivePlan:
    """Re-optimize in the solver executor within what is left of the answer budget; the
    plan as it was if the search fails."""
    left = rt.policy.time_limit_s - (time.perf_counter() - began) - ANSWER_MARGIN_S
    policy = replace(rt.policy, time_limit_s=max(left, MIN_SEARCH_S))
    future = rt.replan_executor.submit(reoptimize_day, plan, day, rt.source, policy, focus)
    try:
        return future.result(timeout=rt.policy.time_limit_s * 5 + 30)
    except Exception as exc:
        log.warning("re-optimization failed (%s); keeping the re-timed plan", type(exc).__name__)
        return plan


def _check(
    rt: Runtime,
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
        calls[update.stop_id] = replace(
            calls[update.stop_id], kind=update.kind, eta_s=update.eta_s, p_late=update.p_late
        )
    for create in decisions.create:
        calls[create.stop_id] = OpenCall("new", create.stop_id, create.kind, create.eta_s, p_late=create.p_late)
    try:
        assert_day(plan, day, calls, quiet=list(final.overrides.quiet), before=before, source=rt.source)
    except InvariantBroken:
        log.exception("a change would break the day's invariants; refused")
        raise


def _answered(rt: Runtime, done: tuple[EventOut, DayState, bool], began: float, *, reoptimized: bool) -> Answered:
    """After the commit, outside the plan lock: wake the outbox; say whether to improve on it."""
    response, day, notify = done
    if notify:
        rt.wake_outbox()
    path: Literal["retimed", "reoptimized"] = "reoptimized" if reoptimized else "retimed"
    return Answered(response, path, time.perf_counter() - began, improve=day.at_risk and reoptimized)


def _call_kind(kind: str) -> CallKind:
    return "failed" if kind == "failed" else "dropped" if kind == "dropped" else "late"


def _seconds(wire: ProblemIn, when: datetime | None) -> int | None:
    return None if when is None else seconds_since(wire.day_start, when)
