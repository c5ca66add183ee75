"""What must hold of a live day after any change: one pure checker for tests and the service.

`check_day(live, day)` looks at a `LivePlan` and the `DayState` re-timed from it (`retime`)
and returns every broken invariant as a `Violation(rule, subject, message)`; `assert_day`
raises `InvariantBroken` listing them. It reads only `optimizer` values and is cheap (one
pass over the day; one travel matrix when `source` is given), so the service can run it in
debug mode.

Rules (the `rule` of each violation):
- `every_stop_once`: each stop of the problem is in exactly one courier's visits or left out
  with a reason; never both, never twice, never neither. Routes name no unknown stop or
  courier, and each courier is timed once.
- `one_call_per_late_stop` (with `calls`, the open calls by stop after `decide_events`):
  every stop late (not served, starting after its window) or left out has an open call of
  that kind, unless accepted late (`quiet`); no late or dropped call stays open on a stop
  that is on time, served, quiet or no longer in the plan, except a late call opened on risk
  (`p_late` above 0) on a stop not yet served. Hand-over meetings are no
  customer's: they get no call.
- `served_never_move` (with `before`, the day before the change): a stop done before stays
  done with the same courier; a failed one stays failed there, or is done (a retry), or is
  attempted again by a colleague who reports it, or is
  open again when it was rebooked (its windows changed since `before_plan`). With
  `before_plan` too: the stop a courier was driving to (`next`) stays on their route, first
  of what is left, unless served since, or a pickup left out (the van has no room for it);
  couriers who reported in the change are exempt (their own report is the better word on
  where they are).
- `no_eta_before_own_clock`: nothing left to do (`next`/`ahead`) starts before its courier's
  latest report, nor before the end of a hold (delay) they reported, unless a stop reported
  served after the hold began shows them at work again.
- `etas_follow_travel`: what is left to do starts inside a booked window (never before it
  opens, exactly when it opens after a wait) as its timing says; with `source`, also one leg
  after the previous stop's departure, one leg after the stop the courier last reported
  serving (when that report is their latest word: no newer report, position, located hold
  or re-plan), and, for a courier with no report and no re-plan yet, one leg after leaving
  their start.
- `etas_in_order`: along each courier's visits, one starts no earlier than the one before it,
  unless both were reported (a report is the courier's word, in whatever order they served);
  a courier whose reports contradict their route's order is exempt.
- `lateness_as_booked`: every visit is timed against a current booked window of its stop:
  the window service would use at its ETA, and lateness is the ETA past that window's end.
- `breaks_taken_once`: a timed route takes each of its courier's breaks at most once, no
  stop left to do is served during a break it says is taken, and no stop served or presumed
  served was served during a break taken (the past is one timeline: a reported stop ended by
  its report, a presumed one by the next report along the route, when that leaves it less
  than its service time); with `before` and
  `before_plan`, a break that had begun by `before`'s clock is not scheduled again at another
  time (couriers who reported in the change exempt, as above).
- `capacity_holds`: what a van carries fits it in every dimension, now and after every visit
  left: the parcels of the stops still to do, less those a hand-over ahead brings, plus those
  a hand-over ahead gives away, and the pickups made on this trip (a pickup ahead adds
  its parcels where it is made; a reload ahead empties the van, loads the next trip's).
  Served stops are facts, not the plan's choice (a courier may report serving a stop the
  plan never gave them), and so are parcels on a van
  (`LivePlan.loaded`): when those alone exceed its room, the plan may add nothing to them. A
  van not yet gone carries its whole route, so a plan that overloads it is caught before it
  leaves.

- `parcels_stay_on_their_van`: a loaded parcel (`LivePlan.loaded`) is served by its van, or
  by the taker of a planned hand-over, or by whoever reported serving it; with `before_plan`,
  its van changes only through a hand-over.

Rules are plain functions of a `DayCheck` listed in `RULES`; `check_day(rules=...)` takes
others.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise

from optimizer.events import OpenCall
from optimizer.handover import is_handover
from optimizer.model import Problem
from optimizer.replan import Anchor, CourierState, DayState, LivePlan, LiveVisit, Progress
from optimizer.travel.matrix import TravelMatrix, TravelSource
from optimizer.trips import is_reload

EVERY_STOP_ONCE = "every_stop_once"
ONE_CALL_PER_LATE_STOP = "one_call_per_late_stop"
SERVED_NEVER_MOVE = "served_never_move"
NO_ETA_BEFORE_OWN_CLOCK = "no_eta_before_own_clock"
ETAS_FOLLOW_TRAVEL = "etas_follow_travel"
ETAS_IN_ORDER = "etas_in_order"
LATENESS_AS_BOOKED = "lateness_as_booked"
BREAKS_TAKEN_ONCE = "breaks_taken_once"
CAPACITY_HOLDS = "capacity_holds"
PARCELS_STAY_ON_THEIR_VAN = "parcels_stay_on_their_van"

_SERVED = ("done", "failed")
_LEFT = ("next", "ahead")


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant: which rule, about what (a stop, courier or call), and how."""

    rule: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule} [{self.subject}]: {self.message}"


class InvariantBroken(AssertionError):
    """The day breaks its invariants; `violations` lists how."""

    def __init__(self, violations: tuple[Violation, ...]) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"{len(violations)} invariant(s) broken:\n{lines}")


@dataclass(frozen=True, slots=True)
class DayCheck:
    """Everything a rule may look at. Optional parts are None when not given; rules that
    need them say nothing then."""

    live: LivePlan
    day: DayState
    calls: Mapping[str, OpenCall] | None = None
    quiet: frozenset[str] = frozenset()
    before: DayState | None = None
    before_plan: LivePlan | None = None
    source: TravelSource | None = None
    rebooked_now: frozenset[str] = frozenset()
    """Stops customer service rebooked in the change (to new windows or the same ones)."""

    @property
    def problem(self) -> Problem:
        return self.live.problem

    def reported(self) -> frozenset[str] | None:
        """Couriers who reported something new since `before_plan` (their own word may revise
        what the plan presumed of them); None without `before_plan`: unknown."""
        if self.before_plan is None:
            return None
        was = self.before_plan
        return frozenset(
            c.id for c in self.problem.couriers if _reported_since(was.progress_of(c.id), self.live.progress_of(c.id))
        )

    def rebooked(self) -> frozenset[str]:
        """Stops rebooked in the change: said so, or whose booked windows changed since
        `before_plan`."""
        if self.before_plan is None:
            return self.rebooked_now
        was = self.before_plan.problem
        return self.rebooked_now | frozenset(
            s.id for s in self.problem.stops if was.has_stop(s.id) and was.stop_by_id(s.id).windows != s.windows
        )


Rule = Callable[[DayCheck], Iterator[Violation]]


def _reported_since(old: Progress, new: Progress) -> bool:
    """`new` knows a report `old` did not (a stop opened again by the office is no report)."""
    return (
        any(old.done.get(stop) != t for stop, t in new.done.items())
        or any(old.failed.get(stop) != t for stop, t in new.failed.items())
        or new.position != old.position
        or new.hold != old.hold
        or new.last_report_s != old.last_report_s
    )


def every_stop_once(check: DayCheck) -> Iterator[Violation]:
    problem, day = check.problem, check.day
    couriers = {c.id for c in problem.couriers}
    for route in check.live.routes:
        if route.courier_id not in couriers:
            yield Violation(EVERY_STOP_ONCE, route.courier_id, "a route belongs to no courier of the problem")
        for stop_id in route.stop_ids:
            if not problem.has_stop(stop_id):
                yield Violation(EVERY_STOP_ONCE, stop_id, f"{route.courier_id}'s route names an unknown stop")
    timed = [c.courier_id for c in day.couriers]
    for courier_id in sorted(couriers):
        if timed.count(courier_id) != 1:
            yield Violation(EVERY_STOP_ONCE, courier_id, f"timed {timed.count(courier_id)} times in the day")
    where: dict[str, list[str]] = {}
    for state in day.couriers:
        for visit in state.visits:
            where.setdefault(visit.stop_id, []).append(f"{state.courier_id} ({visit.status})")
    for left in day.unassigned:
        where.setdefault(left.stop_id, []).append("left out")
        if not left.reason.strip():
            yield Violation(EVERY_STOP_ONCE, left.stop_id, "left out without a reason")
    for stop in problem.stops:
        places = where.pop(stop.id, [])
        if not places:
            yield Violation(EVERY_STOP_ONCE, stop.id, "neither routed, served nor left out: the stop vanished")
        elif len(places) > 1:
            yield Violation(EVERY_STOP_ONCE, stop.id, f"in the day {len(places)} times: {', '.join(places)}")
    for stop_id, places in where.items():
        yield Violation(EVERY_STOP_ONCE, stop_id, f"not a stop of the problem, yet in the day: {', '.join(places)}")


def one_call_per_late_stop(check: DayCheck) -> Iterator[Violation]:
    if check.calls is None:
        return
    problem, calls = check.problem, check.calls
    visits = _first_visits(check.day)
    left_out = {u.stop_id for u in check.day.unassigned}
    for stop_id, filed in calls.items():
        if filed.stop_id != stop_id:
            yield Violation(ONE_CALL_PER_LATE_STOP, stop_id, f"call {filed.call_id} is filed under another stop")
        if not problem.has_stop(stop_id) and filed.kind != "failed":
            yield Violation(ONE_CALL_PER_LATE_STOP, stop_id, f"{filed.kind} call {filed.call_id} open on no stop")
    for stop in problem.stops:
        if is_handover(stop.id) or is_reload(stop.id):
            continue  # a meeting of two couriers, a reload at the depot: nobody to call
        call = calls.get(stop.id)
        visit = visits.get(stop.id)
        dropped = visit is None and stop.id in left_out
        late = visit is not None and visit.status not in _SERVED and visit.late_s > 0
        if (dropped or late) and stop.id not in check.quiet:
            kind = "dropped" if dropped else "late"
            if call is None:
                what = "left out" if dropped else f"{visit.late_s if visit else 0}s late"
                yield Violation(ONE_CALL_PER_LATE_STOP, stop.id, f"{what} with no open call")
            elif call.kind != kind:
                yield Violation(ONE_CALL_PER_LATE_STOP, stop.id, f"{kind}, but its open call is {call.kind}")
        elif call is not None and call.kind in ("late", "dropped"):
            if call.kind == "late" and call.p_late > 0 and visit is not None and visit.status not in _SERVED:
                continue  # opened on risk (the chance of a late start), before the ETA was late
            why = (
                "accepted late"
                if stop.id in check.quiet
                else "served"
                if visit is not None and visit.status in _SERVED
                else "on time"
            )
            yield Violation(ONE_CALL_PER_LATE_STOP, stop.id, f"{call.kind} call {call.call_id} still open, yet {why}")


def served_never_move(check: DayCheck) -> Iterator[Violation]:
    if check.before is None:
        return
    problem = check.problem
    now = _first_placed(check.day)
    reported, rebooked = check.reported(), check.rebooked()
    for state in check.before.couriers:
        courier = state.courier_id
        for visit in state.visits:
            if visit.status not in _SERVED or not problem.has_stop(visit.stop_id):
                continue
            holder, after = now.get(visit.stop_id, (None, None))
            status = after.status if after is not None else "left out"
            if visit.status == "done" and (holder, status) != (courier, "done"):
                yield Violation(
                    SERVED_NEVER_MOVE, visit.stop_id, f"done by {courier}, now {status} with {holder or 'nobody'}"
                )
            elif (
                visit.status == "failed"
                and status != "done"
                and (holder, status) != (courier, "failed")
                and visit.stop_id not in rebooked
                and not (holder is not None and check.live.progress_of(holder).served(visit.stop_id))
            ):  # attempted again by a colleague (who had the parcel): their report stands
                yield Violation(
                    SERVED_NEVER_MOVE,
                    visit.stop_id,
                    f"failed with {courier} and not rebooked, now {status} with {holder or 'nobody'}",
                )
        driving_to = state.next_stop
        if reported is None or courier in reported or driving_to is None or not problem.has_stop(driving_to):
            continue
        holder, after = now.get(driving_to, (None, None))
        if after is not None and (after.status in _SERVED or (holder == courier and after.status == "presumed")):
            continue  # served since
        if holder is None and problem.stop_by_id(driving_to).is_pickup:
            continue  # a pickup left out when the van has no room for it: nothing of it is aboard
        if holder != courier:
            yield Violation(
                SERVED_NEVER_MOVE,
                driving_to,
                f"{courier} was driving to it; now {after.status if after else 'left out'} with {holder or 'nobody'}",
            )
            continue
        mine = _courier(check.day, courier)
        if mine is not None and mine.ahead[:1] != (driving_to,):
            yield Violation(
                SERVED_NEVER_MOVE,
                driving_to,
                f"{courier} was driving to it; now their route goes {' -> '.join(mine.ahead) if mine else '?'} first",
            )


def no_eta_before_own_clock(check: DayCheck) -> Iterator[Violation]:
    for state in check.day.couriers:
        progress = check.live.progress_of(state.courier_id)
        clock = max([progress.last_report_s, *progress.done.values(), *progress.failed.values()])
        hold = progress.hold
        if hold is not None and any(t > hold.at_s for t in (*progress.done.values(), *progress.failed.values())):
            hold = None  # a stop served after the hold began shows the courier at work again
        for visit in state.visits:
            if visit.status not in _LEFT:
                continue
            if visit.eta_s < clock:
                yield Violation(
                    NO_ETA_BEFORE_OWN_CLOCK,
                    visit.stop_id,
                    f"{visit.status} at {visit.eta_s}s, before {state.courier_id}'s latest report at {clock}s",
                )
            elif hold is not None and visit.eta_s < hold.until_s:
                yield Violation(
                    NO_ETA_BEFORE_OWN_CLOCK,
                    visit.stop_id,
                    f"{visit.status} at {visit.eta_s}s, yet {state.courier_id} reported at {hold.at_s}s being held "
                    f"until {hold.until_s}s",
                )


def etas_follow_travel(check: DayCheck) -> Iterator[Violation]:
    problem = check.problem
    matrix = check.source.matrix(problem) if check.source is not None else None
    index = {c.id: i for i, c in enumerate(problem.couriers)}
    for state in check.day.couriers:
        courier = problem.courier_by_id(state.courier_id)
        progress = check.live.progress_of(courier.id)
        untouched = progress == Progress() and courier.id not in check.live.anchors
        previous: LiveVisit | None = None
        for visit in state.visits:
            if visit.status in _LEFT and problem.has_stop(visit.stop_id):
                yield from _timed_sensibly(visit, courier.id)
                if matrix is None:
                    pass  # no travel times to check against
                elif previous is None and untouched:  # nothing reported, never re-planned: from their start
                    start = problem.start_node(index[courier.id])
                    yield from _after_leg(problem, matrix, courier.profile, start, courier.ready_s, visit, "left home")
                elif previous is None or not problem.has_stop(previous.stop_id):
                    pass
                elif previous.status in _LEFT:
                    left = (
                        previous.timing.departure_s
                        if previous.timing is not None
                        else previous.eta_s + problem.stop_by_id(previous.stop_id).service_s
                    )
                    yield from _after_leg(
                        problem,
                        matrix,
                        courier.profile,
                        problem.stop_node(previous.stop_id),
                        left,
                        visit,
                        f"left {previous.stop_id}",
                    )
                elif previous.status in _SERVED:
                    reported = progress.done.get(previous.stop_id, progress.failed.get(previous.stop_id))
                    if reported is not None and _latest_word(progress, reported, check.live.anchors.get(courier.id)):
                        yield from _after_leg(
                            problem,
                            matrix,
                            courier.profile,
                            problem.stop_node(previous.stop_id),
                            reported,
                            visit,
                            f"reported serving {previous.stop_id}",
                        )
            previous = visit


def _timed_sensibly(visit: LiveVisit, courier_id: str) -> Iterator[Violation]:
    timing = visit.timing
    if visit.eta_s < visit.window.start_s:
        yield Violation(
            ETAS_FOLLOW_TRAVEL,
            visit.stop_id,
            f"starts at {visit.eta_s}s, before its window opens at {visit.window.start_s}s",
        )
    if timing is None:
        return
    if timing.start_s != visit.eta_s or timing.arrival_s + timing.wait_s != timing.start_s or timing.wait_s < 0:
        yield Violation(
            ETAS_FOLLOW_TRAVEL,
            visit.stop_id,
            f"{courier_id}: ETA {visit.eta_s}s disagrees with its timing (arrives {timing.arrival_s}s, waits "
            f"{timing.wait_s}s, starts {timing.start_s}s)",
        )
    elif timing.wait_s > 0 and timing.start_s != visit.window.start_s:
        yield Violation(
            ETAS_FOLLOW_TRAVEL,
            visit.stop_id,
            f"waits {timing.wait_s}s but starts at {timing.start_s}s, not when the window opens "
            f"({visit.window.start_s}s)",
        )


def _latest_word(progress: Progress, reported: int, anchor: Anchor | None) -> bool:
    """The report at `reported` is the latest word on where the courier is: no report of
    theirs is newer (not even one the office took back since, such as a failed attempt
    rebooked), no position or located hold is as new, and no re-plan placed them since."""
    if progress.last_report_s > reported or (anchor is not None and anchor.seen_s >= reported):
        return False
    if progress.position is not None and progress.position[1] >= reported:
        return False
    return progress.hold is None or progress.hold.at_s < reported or progress.hold.position is None


def _after_leg(
    problem: Problem, matrix: TravelMatrix, profile: str, from_node: int, left_s: int, visit: LiveVisit, how: str
) -> Iterator[Violation]:
    free = int(matrix.leg_durations(profile)[from_node, problem.stop_node(visit.stop_id)])
    leg = free if matrix.speed is None else matrix.speed.travel_s(free, left_s)
    if visit.eta_s < left_s + leg:
        yield Violation(
            ETAS_FOLLOW_TRAVEL,
            visit.stop_id,
            f"starts at {visit.eta_s}s, but the courier {how} at {left_s}s and the leg takes {leg}s "
            f"(earliest {left_s + leg}s)",
        )


def etas_in_order(check: DayCheck) -> Iterator[Violation]:
    for state in check.day.couriers:
        reported = [v.eta_s for v in state.visits if v.status in _SERVED]
        if any(b < a for a, b in pairwise(reported)):
            continue  # they served in another order than their route's: their word stands
        for a, b in pairwise(state.visits):
            if b.eta_s < a.eta_s and not (a.status in _SERVED and b.status in _SERVED):
                yield Violation(
                    ETAS_IN_ORDER,
                    b.stop_id,
                    f"{state.courier_id}: {b.status} at {b.eta_s}s, before {a.stop_id} ({a.status}) at {a.eta_s}s "
                    "just before it on the route",
                )


def lateness_as_booked(check: DayCheck) -> Iterator[Violation]:
    problem = check.problem
    for state in check.day.couriers:
        for visit in state.visits:
            if not problem.has_stop(visit.stop_id):
                continue
            stop = problem.stop_by_id(visit.stop_id)
            booked = stop.window_for(visit.eta_s)
            late = max(0, visit.eta_s - booked.end_s)
            if visit.window != booked or visit.late_s != late:
                yield Violation(
                    LATENESS_AS_BOOKED,
                    visit.stop_id,
                    f"{visit.status} at {visit.eta_s}s timed against {visit.window.start_s}-{visit.window.end_s}s, "
                    f"{visit.late_s}s late; booked {booked.start_s}-{booked.end_s}s makes it {late}s late",
                )


def breaks_taken_once(check: DayCheck) -> Iterator[Violation]:
    problem = check.problem
    for state in check.day.couriers:
        ids = [b.break_id for b in state.timed.breaks]
        known = {b.id for b in problem.courier_by_id(state.courier_id).breaks}
        for break_id in sorted(set(ids)):
            if ids.count(break_id) > 1:
                yield Violation(BREAKS_TAKEN_ONCE, state.courier_id, f"takes break {break_id} {ids.count(break_id)}x")
            if break_id not in known:
                yield Violation(BREAKS_TAKEN_ONCE, state.courier_id, f"takes break {break_id}, not one of theirs")
        taken_then = [b for b in state.timed.breaks if b.break_id in state.breaks_taken]
        progress = check.live.progress_of(state.courier_id)
        for k, visit in enumerate(state.visits):
            if visit.status not in _LEFT:
                service = problem.stop_by_id(visit.stop_id).service_s if problem.has_stop(visit.stop_id) else 0
                # a reported stop was done by its report (begun later than planned, it was shorter)
                report_s = progress.done.get(visit.stop_id, progress.failed.get(visit.stop_id))
                if visit.status in _SERVED and report_s is not None and report_s >= visit.eta_s:
                    service = min(service, report_s - visit.eta_s)
                # a presumed one squeezed before a later report was done when the earliest of
                # them began (reports that contradict the route's order: the walk's bound too)
                reports_after = [v.eta_s for v in state.visits[k + 1 :] if v.status in _SERVED]
                if visit.status == "presumed" and reports_after and min(reports_after) >= visit.eta_s:
                    service = min(service, min(reports_after) - visit.eta_s)
                for taken in taken_then:
                    if visit.eta_s < taken.end_s and taken.start_s < visit.eta_s + service:  # at its edge is fine
                        yield Violation(
                            BREAKS_TAKEN_ONCE,
                            visit.stop_id,
                            f"{visit.status} at {visit.eta_s}s (service {service}s) by {state.courier_id}, during "
                            f"break {taken.break_id} ({taken.start_s}-{taken.end_s}s)",
                        )
                continue
            if visit.timing is None:
                continue
            begin, end = visit.timing.start_s, visit.timing.departure_s
            for taken in state.timed.breaks:
                if taken.start_s < begin < taken.end_s or (begin < taken.end_s and taken.start_s < end):
                    yield Violation(
                        BREAKS_TAKEN_ONCE,
                        visit.stop_id,
                        f"{state.courier_id} serves it at {begin}-{visit.timing.departure_s}s, during break "
                        f"{taken.break_id} ({taken.start_s}-{taken.end_s}s)",
                    )
    if check.before is None:
        return
    reported = check.reported()
    after = {c.courier_id: c for c in check.day.couriers}
    for state in check.before.couriers:
        if reported is None or state.courier_id in reported or state.courier_id not in after:
            continue
        again = {b.break_id: b for b in after[state.courier_id].timed.breaks}
        for begun in state.timed.breaks:
            later = again.get(begun.break_id)
            if begun.start_s < check.before.now_s and later is not None and later.start_s != begun.start_s:
                yield Violation(
                    BREAKS_TAKEN_ONCE,
                    state.courier_id,
                    f"break {begun.break_id} began at {begun.start_s}s (clock {check.before.now_s}s) and is "
                    f"scheduled again at {later.start_s}s",
                )


def capacity_holds(check: DayCheck) -> Iterator[Violation]:
    problem, live = check.problem, check.live
    for state in check.day.couriers:
        capacity = problem.courier_by_id(state.courier_id).capacity
        if not capacity:
            continue
        left = [v.stop_id for v in state.visits if v.status in _LEFT]
        # on the van now: what is left to deliver, but parcels a meeting ahead brings, and
        # parcels a meeting ahead takes away (they are already on the taker's route)
        takes = {h.take_id: h for h in live.handovers if h.taker == state.courier_id and h.take_id in left}
        gives = {h.give_id: h for h in live.handovers if h.giver == state.courier_id and h.give_id in left}
        coming = {s for h in takes.values() for s in h.stop_ids}
        # a meeting the taker is past has moved its parcels, though the giver's side of it is
        # still ahead on their route (they wait there, held): those are on the taker's van
        handed = {s for h in gives.values() for s in h.stop_ids if live.loaded.get(s) == h.taker}
        # and the pickups made on this trip, which ride back to the hub; a pickup ahead is still
        # the customer's. A reload ahead unloads the van and loads the next trip's deliveries.
        past = [v for v in state.visits if v.status not in _LEFT]
        since = max([k + 1 for k, v in enumerate(past) if is_reload(v.stop_id)], default=0)
        made = [v.stop_id for v in past[since:] if v.status in ("done", "presumed") and _pickup(problem, v.stop_id)]

        load = [*_trip(problem, left, 0, coming), *(s for h in gives.values() for s in h.stop_ids if s not in handed)]
        amounts = [
            sum(problem.stop_by_id(s).demand[d] for s in [*load, *made] if problem.has_stop(s))
            for d in range(len(capacity))
        ]
        # parcels already on the van are there whatever the plan says (a courier who attempted
        # a colleague's stop carried its parcel): more than the van's nominal room is a fact
        # then, and the plan may add nothing to it
        # (a parcel aboard stays aboard through a reload: a fact on every trip)
        aboard = [
            *(s for s in [*load, *left] if live.loaded.get(s) == state.courier_id and problem.has_stop(s)),
            *made,
        ]
        aboard = list(dict.fromkeys(aboard))
        capacity = tuple(
            max(cap, sum(problem.stop_by_id(s).demand[d] for s in aboard)) for d, cap in enumerate(capacity)
        )
        where = "now"
        for k, stop_id in enumerate([None, *left]):
            if stop_id is not None and is_reload(stop_id):
                amounts = [
                    sum(problem.stop_by_id(s).demand[d] for s in _trip(problem, left, k, coming) if problem.has_stop(s))
                    for d in range(len(capacity))
                ]
                where = f"leaving {stop_id}"
            elif stop_id is not None:
                meeting = takes.get(stop_id) or gives.get(stop_id)
                moved = meeting.stop_ids if meeting is not None else (stop_id,)
                if stop_id in gives:
                    moved = tuple(s for s in moved if s not in handed)
                sign = 1 if stop_id in takes or _pickup(problem, stop_id) else -1
                for d in range(len(capacity)):
                    amounts[d] += sign * sum(problem.stop_by_id(s).demand[d] for s in moved if problem.has_stop(s))
                where = f"after {stop_id}"
            for d, cap in enumerate(capacity):
                if amounts[d] > cap:
                    yield Violation(
                        CAPACITY_HOLDS,
                        state.courier_id,
                        f"carries {amounts[d]} {problem.dimensions[d]} {where}, capacity {cap}",
                    )
                    break
            else:
                continue
            break


def _trip(problem: Problem, left: list[str], begin: int, coming: set[str]) -> list[str]:
    """The deliveries aboard for the trip starting at `left[begin]` (but those a meeting brings)."""
    found = []
    for stop_id in left[begin:]:
        if is_reload(stop_id):
            break
        if not is_handover(stop_id) and stop_id not in coming and not _pickup(problem, stop_id):
            found.append(stop_id)
    return found


def _pickup(problem: Problem, stop_id: str) -> bool:  # a reload: neither pickup nor delivery
    return problem.has_stop(stop_id) and problem.stop_by_id(stop_id).is_pickup


def parcels_stay_on_their_van(check: DayCheck) -> Iterator[Violation]:
    """A loaded parcel is on its van's route (or left out), or on the route of the courier a
    planned hand-over gives it to, or served by whoever reported serving it (what they did
    stands). With `before_plan`: no parcel's van changes but through a hand-over."""
    live = check.live
    placed = _first_placed(check.day)
    for stop_id, holder in live.loaded.items():
        if stop_id not in placed:
            continue
        courier_id, visit = placed[stop_id]
        if courier_id == holder or _handed(live, stop_id, holder, courier_id):
            continue
        if visit.status in _SERVED and live.progress_of(courier_id).served(stop_id):
            continue
        yield Violation(
            PARCELS_STAY_ON_THEIR_VAN, stop_id, f"its parcel is on {holder}'s van, but {courier_id} is to serve it"
        )
    if check.before_plan is None:
        return
    for stop_id, was in check.before_plan.loaded.items():
        now = live.loaded.get(stop_id)
        moved = now is not None and now != was and not _handed(live, stop_id, was, now)
        if moved and now is not None and not live.progress_of(now).served(stop_id):
            yield Violation(PARCELS_STAY_ON_THEIR_VAN, stop_id, f"moved from {was}'s van to {now}'s, no hand-over")


def _handed(live: LivePlan, stop_id: str, giver: str, taker: str) -> bool:
    return any(h.giver == giver and h.taker == taker and stop_id in h.stop_ids for h in live.handovers)


RULES: tuple[Rule, ...] = (
    every_stop_once,
    one_call_per_late_stop,
    served_never_move,
    no_eta_before_own_clock,
    etas_follow_travel,
    etas_in_order,
    lateness_as_booked,
    breaks_taken_once,
    capacity_holds,
    parcels_stay_on_their_van,
)


def check_day(
    live: LivePlan,
    day: DayState,
    calls: Mapping[str, OpenCall] | None = None,
    *,
    quiet: Collection[str] = frozenset(),
    before: DayState | None = None,
    before_plan: LivePlan | None = None,
    source: TravelSource | None = None,
    rebooked: Collection[str] = frozenset(),
    rules: tuple[Rule, ...] = RULES,
) -> tuple[Violation, ...]:
    """Every invariant `day` (re-timed from `live`) breaks; () when it keeps them all.
    `rebooked`: stops rebooked in the change (a rebooking to the very same window is one)."""
    check = DayCheck(live, day, calls, frozenset(quiet), before, before_plan, source, frozenset(rebooked))
    return tuple(v for rule in rules for v in rule(check))


def assert_day(
    live: LivePlan,
    day: DayState,
    calls: Mapping[str, OpenCall] | None = None,
    *,
    quiet: Collection[str] = frozenset(),
    before: DayState | None = None,
    before_plan: LivePlan | None = None,
    source: TravelSource | None = None,
    rebooked: Collection[str] = frozenset(),
    rules: tuple[Rule, ...] = RULES,
) -> None:
    """Raise `InvariantBroken` listing every broken invariant."""
    found = check_day(
        live,
        day,
        calls,
        quiet=quiet,
        before=before,
        before_plan=before_plan,
        source=source,
        rebooked=rebooked,
        rules=rules,
    )
    if found:
        raise InvariantBroken(found)


def _first_visits(day: DayState) -> dict[str, LiveVisit]:
    return {sid: visit for sid, (_, visit) in _first_placed(day).items()}


def _first_placed(day: DayState) -> dict[str, tuple[str, LiveVisit]]:
    """Each stop's first visit in the day, with its courier (duplicates are another rule's)."""
    placed: dict[str, tuple[str, LiveVisit]] = {}
    for state in day.couriers:
        for visit in state.visits:
            placed.setdefault(visit.stop_id, (state.courier_id, visit))
    return placed


def _courier(day: DayState, courier_id: str) -> CourierState | None:
    return next((c for c in day.couriers if c.courier_id == courier_id), None)
