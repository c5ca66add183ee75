"""The live day: courier reports -> where everyone is -> re-timed and re-optimized routes.

A courier's progress is a fold of their events that does not depend on arrival order
(completions are sets, position and hold keep the latest by event time), so an event that
arrives late is simply folded in: events are applied in time order by construction.

Between reports a courier is presumed to follow their plan. At `now`, for each courier:
- *behind*: stops reported done or failed, and every stop before the last reported one;
- the *anchor*: where and when the courier next leaves: the last reported stop at its
  report time, or a reported position, pushed back by a hold (a delay report);
- *presumed*: stops the plan, timed from the anchor, has started before `now`; they are
  locked, and the anchor moves past them;
- *next*: the stop the courier is driving to at `now`, kept first when re-optimizing;
- *ahead*: everything after, free to be re-sequenced and moved between couriers.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from optimizer.engines import solve
from optimizer.engines.base import PICKUPS, RELOAD_STOPS, TRIPS
from optimizer.handover import Handover, is_handover, with_handovers
from optimizer.model import Break, Courier, Location, Problem, Stop, TimeWindow, peak_load, trip_deliveries
from optimizer.params import SolveParams
from optimizer.schedule import BreakTiming, RouteSchedule, Schedule, VisitTiming, schedule_route
from optimizer.solution import Route, Unassigned
from optimizer.travel.matrix import TravelMatrix, TravelSource
from optimizer.trips import is_reload, spare_reloads, with_reloads

EventKind = Literal["delay", "stop_completed", "stop_failed", "position"]


@dataclass(frozen=True, slots=True)
class CourierEvent:
    """A courier's report, in integer seconds from the plan's day start."""

    event_id: str
    courier_id: str
    kind: EventKind
    at_s: int
    stop_id: str | None = None
    position: Location | None = None
    delay_s: int = 0


@dataclass(frozen=True, slots=True)
class Hold:
    """The courier is held from `at_s` until `until_s`, at `position` if they said where."""

    at_s: int
    until_s: int
    position: Location | None


@dataclass(frozen=True, slots=True)
class Progress:
    """What one courier has reported so far; independent of the order reports arrived in."""

    done: Mapping[str, int] = field(default_factory=dict)
    failed: Mapping[str, int] = field(default_factory=dict)
    position: tuple[Location, int] | None = None
    hold: Hold | None = None
    last_report_s: int = -1

    def apply(self, event: CourierEvent) -> Progress:
        last = max(self.last_report_s, event.at_s)
        if event.kind == "stop_completed" and event.stop_id is not None:
            done = dict(self.done)
            done[event.stop_id] = min(event.at_s, done.get(event.stop_id, event.at_s))
            failed = {k: v for k, v in self.failed.items() if k != event.stop_id}
            return replace(self, done=done, failed=failed, last_report_s=last)
        if event.kind == "stop_failed" and event.stop_id is not None:
            if event.stop_id in self.done:
                return replace(self, last_report_s=last)
            failed = dict(self.failed)
            failed[event.stop_id] = min(event.at_s, failed.get(event.stop_id, event.at_s))
            return replace(self, failed=failed, last_report_s=last)
        if event.kind == "position" and event.position is not None:
            if self.position is not None and self.position[1] > event.at_s:
                return replace(self, last_report_s=last)
            return replace(self, position=(event.position, event.at_s), last_report_s=last)
        if event.kind == "delay":
            hold = Hold(event.at_s, event.at_s + event.delay_s, event.position)
            if self.hold is not None and self.hold.at_s > event.at_s:
                return replace(self, last_report_s=last)
            return replace(self, hold=hold, last_report_s=last)
        return self

    def served(self, stop_id: str) -> bool:
        return stop_id in self.done or stop_id in self.failed


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a courier stood when their route was last re-optimized: the first `locked`
    stops of the route were behind them, they were at `position` (None: their depot) at
    `at_s`, and `heading` says they were already driving to the next stop."""

    locked: int
    position: Location | None
    at_s: int
    heading: bool = False
    presumed: tuple[tuple[str, int, int], ...] = ()
    """(stop, ETA, seconds late) of the locked stops presumed served, as last timed."""
    seen_s: int = -1
    """The courier's latest own report then (-1: none): a report since makes theirs the
    better word on where they are."""
    breaks_taken: tuple[BreakTiming, ...] = ()
    """Breaks the courier had begun by then, as they were timed: a later walk keeps them
    there (a break taken is a fact, not something to re-plan)."""


@dataclass(frozen=True, slots=True)
class LivePlan:
    """The day as the service knows it: the problem, each courier's whole-day sequence,
    their progress, stops left out, the service's clock (latest event time), and where
    each re-optimized route begins."""

    problem: Problem
    routes: tuple[Route, ...]
    progress: Mapping[str, Progress]
    unassigned: tuple[Unassigned, ...] = ()
    now_s: int = 0
    anchors: Mapping[str, Anchor] = field(default_factory=dict)
    loaded: Mapping[str, str] = field(default_factory=dict)
    """Parcels on a van: stop -> the courier carrying it (see `load_parcels`)."""
    departed: frozenset[str] = frozenset()
    """Couriers who have left the hub (and loaded what their route held then), and reloads made
    (`optimizer.trips`: the next trip's parcels loaded then)."""
    handovers: tuple[Handover, ...] = ()
    """Hand-overs planned so far; their meetings are stops of `problem` (`with_handovers`)."""

    def progress_of(self, courier_id: str) -> Progress:
        return self.progress.get(courier_id, Progress())

    def with_event(self, event: CourierEvent) -> LivePlan:
        progress = dict(self.progress)
        progress[event.courier_id] = self.progress_of(event.courier_id).apply(event)
        return replace(self, progress=progress, now_s=max(self.now_s, event.at_s))


VisitStatus = Literal["done", "failed", "presumed", "next", "ahead"]


@dataclass(frozen=True, slots=True)
class LiveVisit:
    stop_id: str
    status: VisitStatus
    eta_s: int
    late_s: int
    window: TimeWindow
    timing: VisitTiming | None


@dataclass(frozen=True, slots=True)
class CourierState:
    """One courier at `now`: visits in order and where the free part of the route begins."""

    courier_id: str
    visits: tuple[LiveVisit, ...]
    start_at: Location | None
    available_s: int | None
    next_stop: str | None
    breaks_left: tuple[Break, ...]
    """Breaks not taken by `now`, due even when their latest start has passed."""
    timed: RouteSchedule
    breaks_taken: tuple[str, ...] = ()
    pace_readings: tuple[tuple[int, int], ...] = ()
    """(planned, actual) seconds between consecutive completions the courier reported: how their
    pace compares with the plan's (`optimizer.risk.learn_pace`)."""

    @property
    def ahead(self) -> tuple[str, ...]:
        return tuple(v.stop_id for v in self.visits if v.status in ("next", "ahead"))

    @property
    def late_stops(self) -> tuple[str, ...]:
        return tuple(v.stop_id for v in self.visits if v.late_s > 0 and v.status in ("next", "ahead", "presumed"))


@dataclass(frozen=True, slots=True)
class DayState:
    """The re-timed day: one `CourierState` per courier."""

    couriers: tuple[CourierState, ...]
    unassigned: tuple[Unassigned, ...]
    now_s: int

    @property
    def visits(self) -> dict[str, tuple[str, LiveVisit]]:
        return {v.stop_id: (c.courier_id, v) for c in self.couriers for v in c.visits}

    @property
    def late_s(self) -> int:
        return sum(v.late_s for c in self.couriers for v in c.visits if v.status in ("next", "ahead", "presumed"))

    @property
    def at_risk(self) -> bool:
        """Some stop not yet served will start after its window ends."""
        return any(c.late_stops for c in self.couriers)


def courier_state(
    problem: Problem, source_matrix: _MatrixFor, index: int, route: Route, live: LivePlan
) -> CourierState:
    """Time one courier's route from what they reported, presuming the plan in between.

    What the last re-optimization (or change) fixed stands as it was then, unless they
    reported since (`Anchor`). Their reports are walked in the order of their route: each
    reported stop anchors them there at its report time, and the stops before it that nobody
    reported were served on the way (timed forward from the report before, and no earlier
    than the report after allows, with the breaks among them). Then, newest last: where that
    re-optimization left them if they reported since (they start what it gave them no
    earlier), their last position (stops the plan had them serve before it, and that the
    position agrees with, are behind them), and a hold. Breaks the plan had them take before
    a report are taken; the others stay due, late if need be.
    """
    courier = problem.couriers[index]
    progress = live.progress_of(courier.id)
    stops = [s for s in route.stop_ids if problem.has_stop(s)]
    walk = _Walk(problem, source_matrix, courier, progress)
    reported = [i for i, s in enumerate(stops) if progress.served(s)]
    replanned = live.anchors.get(courier.id)
    if replanned is not None and replanned.at_s < walk.ready_s:
        replanned = None  # fixed before the courier's day began: nothing to hold
    done_at = 0
    # no report since the last re-plan (or change): what it fixed stands as it was then
    fixed = replanned is not None and progress.last_report_s <= replanned.seen_s
    if fixed and replanned is not None:
        walk.as_fixed(stops[: replanned.locked], replanned, progress)
        done_at = replanned.locked
    elif replanned is not None:  # reported since: the breaks it found taken stay taken, as they were
        walk.take_breaks(replanned.breaks_taken)
    for i in reported:
        if i < done_at:
            continue
        stop_id = stops[i]
        when = progress.done.get(stop_id, progress.failed.get(stop_id))
        assert when is not None
        walk.served_up_to(stops[done_at:i], stop_id, when, "done" if stop_id in progress.done else "failed")
        done_at = i + 1
    rest = stops[done_at:]
    floor: tuple[int, int] | None = None  # (index in `rest`, time): that part starts no earlier
    if replanned is not None and not fixed and replanned.locked >= done_at:
        # they reported since: their reports say where they are, the plan what comes next
        floor = (replanned.locked - done_at, replanned.at_s)
    hold = progress.hold
    if hold is not None and _hold_superseded(progress, hold):
        hold = None
    if progress.position is not None and progress.position[1] >= walk.ready_s:
        if hold is None or not hold.at_s <= progress.position[1] < hold.until_s:
            rest = walk.position_at(rest, *progress.position)
        else:  # reported during the hold: still held, now known to be here
            rest = walk.held(rest, hold, where=progress.position[0])
            hold = None
    if hold is not None and hold.until_s > walk.ready_s:
        rest = walk.held(rest, hold, where=hold.position)
    if floor is not None:
        cut = max(0, floor[0] - (len(stops) - done_at - len(rest)))
        if cut < len(rest) and floor[1] > walk.ready_s:
            rest = walk.served_by(rest, cut, floor[1])
    state = walk.finish(rest, live.now_s)
    readings = pace_readings(problem, source_matrix, courier, progress, state.timed.breaks)
    return replace(state, pace_readings=readings) if readings else state


def pace_readings(
    problem: Problem, matrices: _MatrixFor, courier: Courier, progress: Progress, breaks: Iterable[BreakTiming]
) -> tuple[tuple[int, int], ...]:
    """(planned, actual) seconds of each stretch between two completions the courier reported
    one after the other: the drive to the second stop and its service. Stretches that say
    nothing of pace are left out: one with a break or a hold in it, or one where the second
    stop's window opened after the planned arrival (the courier may have waited)."""
    done = sorted((when, stop_id) for stop_id, when in progress.done.items() if problem.has_stop(stop_id))
    if len(done) < 2:
        return ()
    stops = [problem.stop_by_id(stop_id) for _, stop_id in done]
    sub = _subproblem(problem, [_roomy(courier, stops)], stops)
    matrix = matrices(sub)
    durations = matrix.leg_durations(courier.profile)
    paused = [(b.start_s, b.end_s) for b in breaks]
    if progress.hold is not None:
        paused.append((progress.hold.at_s, progress.hold.until_s))
    readings = []
    for (left, a), (came, b) in itertools.pairwise(zip(done, stops, strict=True)):
        free = int(durations[sub.stop_node(a.id), sub.stop_node(b.id)])
        leg = free if matrix.speed is None else matrix.speed.travel_s(free, left[0])
        if b.earliest_s > left[0] + leg or any(begin < came[0] and left[0] < end for begin, end in paused):
            continue
        readings.append((leg + b.service_s, came[0] - left[0]))
    return tuple(readings)


def _hold_superseded(progress: Progress, hold: Hold) -> bool:
    """A stop reported served after a hold began shows the courier at work again."""
    return any(t > hold.at_s for t in (*progress.done.values(), *progress.failed.values()))


class _Walk:
    """One courier's day, walked forward: visits so far, where and when they next leave,
    and the breaks still due."""

    def __init__(self, problem: Problem, matrices: _MatrixFor, courier: Courier, progress: Progress) -> None:
        self.problem = problem
        self.matrices = matrices
        self.courier = courier
        self.serving: tuple[tuple[int, int], ...] = tuple(
            (when - problem.stop_by_id(stop_id).service_s, when)
            for stop_id, when in (*progress.done.items(), *progress.failed.items())
            if problem.has_stop(stop_id)
        )
        """When the courier reported being at work at a stop: no break was taken then."""
        self.visits: list[LiveVisit] = []
        self.place: Location | None = courier.start_at
        self.ready_s = courier.ready_s
        self.heading = False
        self.breaks: tuple[Break, ...] = courier.breaks
        self.taken: list[BreakTiming] = []

    def time(self, sequence: list[str]) -> tuple[Courier, RouteSchedule]:
        """The plan for `sequence` from where and when the courier next leaves (a break taken
        that is under way then runs to its end first)."""
        ready = max([self.ready_s, *(b.end_s for b in self.taken if b.start_s <= self.ready_s < b.end_s)])
        moved = self.place is not self.courier.start_at or ready != self.courier.ready_s
        timed_courier = replace(
            self.courier,
            start_at=self.place if moved else self.courier.start_at,
            available_s=ready if moved else self.courier.available_s,
            breaks=self.breaks,
            fixed_prefix=(),
        )
        # breaks taken that lie ahead (a re-plan found them begun) stay where they are: the
        # plan goes around them (they are in `timed.breaks`, but no longer due)
        ahead = tuple(
            Break(t.break_id, t.start_s, t.start_s, t.end_s - t.start_s) for t in self.taken if t.end_s > ready
        )
        stops = [self.problem.stop_by_id(s) for s in sequence]
        around = replace(timed_courier, breaks=(*self.breaks, *ahead))
        sub = _subproblem(self.problem, [_roomy(around, stops)], stops)
        return timed_courier, schedule_route(sub, self.matrices(sub), 0, sequence)

    def move_to(self, place: Location | None, at_s: int, *, heading: bool) -> None:
        self.place = place if place is not None else self.courier.start_at
        self.ready_s = max(self.ready_s, at_s)
        self.heading = heading

    def take_breaks(self, timings: Iterable[BreakTiming]) -> None:
        """These breaks were taken, then: they are no longer due (one already taken stays
        as it was). One the courier's reports show them at work during was not taken then."""
        due = {b.id for b in self.breaks}
        taken = [t for t in timings if t.break_id in due and not self._at_work(t)]
        self.taken.extend(taken)
        self.breaks = tuple(b for b in self.breaks if b.id not in {t.break_id for t in taken})

    def _at_work(self, taken: BreakTiming) -> bool:
        """The courier reported serving a stop during `taken`."""
        return any(_during(taken, begin, end) for begin, end in self.serving)

    def _presume(self, timed: RouteSchedule, count: int, before_s: int | None = None) -> None:
        """The first `count` visits of `timed` were served as planned; breaks the plan started
        before `before_s` (or before the last of them ended) were taken."""
        for v in timed.visits[:count]:
            self.visits.append(LiveVisit(v.stop_id, "presumed", v.start_s, v.late_s, v.window, v))
        until = before_s if before_s is not None else (timed.visits[count - 1].departure_s if count else self.ready_s)
        if count < len(timed.visits):  # a break after the courier's place in the sequence is still due
            until = min(until, timed.visits[count].arrival_s)
        self.take_breaks(b for b in timed.breaks if b.start_s < until)

    def served_up_to(self, unreported: list[str], stop_id: str, when: int, status: VisitStatus) -> None:
        """`stop_id` reported served at `when`; the stops before it, not reported, were served
        on the way: timed forward from the last report, and not before `when` allows (the
        breaks the plan has among them taken on the way, each right after the stop before it)."""
        stop = self.problem.stop_by_id(stop_id)
        # begun no earlier than they were free, nor than the stop before it, when the report
        # leaves time for that: the service was that much shorter
        since = [t for t in (self.ready_s, *(v.eta_s for v in self.visits[-1:])) if t <= when]
        eta = max([when - stop.service_s, *since])
        _, timed = self.time([*unreported, stop_id])
        visits = timed.visits
        # the breaks the plan has before each visit (and after the one before it); one it has
        # after the reported stop but beginning before the report came before it
        gaps: list[list[BreakTiming]] = [[] for _ in visits]
        starts = [v.start_s for v in visits[:-1]] + [max(visits[-1].start_s, eta)]
        for b in timed.breaks:
            k = next((k for k, start in enumerate(starts) if b.start_s < start), None)
            if k is not None:
                gaps[k].append(b)
        latest = eta
        bound: list[int] = [eta] * len(visits)
        for k in reversed(range(len(unreported))):
            pause = sum(b.end_s - b.start_s for b in gaps[k + 1])
            latest -= (
                self._leg_s(visits[k].stop_id, visits[k + 1].stop_id)
                + self.problem.stop_by_id(visits[k].stop_id).service_s
                + pause
            )
            bound[k] = latest
        taken = list(gaps[0])
        serving: list[tuple[int, int]] = []
        previous = self.ready_s
        for k, v in enumerate(visits[: len(unreported)]):
            # as late as the report allows: later than planned when they were held up before it,
            # earlier when the report shows them ahead of the plan (only reports that leave no
            # time for it squeeze it up to the report, done by the time it begins); never before
            # the stop before it
            service = self.problem.stop_by_id(v.stop_id).service_s
            start = bound[k] if bound[k] >= self.ready_s else min(max(v.start_s, bound[k]), eta - service)
            if k == 0 and self.visits and self.visits[-1].eta_s <= eta:
                # in route order between the visit before and the report (unless the two
                # reports contradict the route's order: then the report after it binds)
                start = min(max(start, self.visits[-1].eta_s), eta)
            for t in sorted(self.taken, key=lambda t: -t.start_s):  # not inside a break already taken
                if _during(t, start, start + service):
                    start = t.start_s - service if t.start_s - service >= previous else t.end_s
            start = previous = max(start, previous) if k else start
            self.visits.append(self._visit(v.stop_id, "presumed", start, v if start == v.start_s else None))
            free = start + service
            serving.append((start, free))
            for b in gaps[k + 1]:
                begin = max(b.start_s, free)
                taken.append(BreakTiming(b.break_id, begin, begin + b.end_s - b.start_s))
                free = begin + b.end_s - b.start_s
        # breaks before this stop were taken on the way, if the report leaves time for them;
        # later ones are still due
        # (not one the stops presumed served on the way leave no time for)
        self.take_breaks(b for b in taken if b.end_s <= eta and not any(_during(b, *at) for at in serving))
        self.visits.append(self._visit(stop_id, status, eta))
        # free once the report is in and the stops squeezed before it are done (a report that
        # leaves no time for them leaves them overlapping it, in route order)
        self.place, self.heading = stop.location, False
        self.ready_s = max([self.ready_s, when, *(free for _, free in serving)])

    def as_fixed(self, locked: list[str], anchor: Anchor, progress: Progress) -> None:
        """The part a re-optimization (or a change customer service made) fixed, no report
        having come since: stops reported when they were, the others presumed served when
        they were then timed, the breaks taken then as they were."""
        timed_before = {sid: eta for sid, eta, _late in anchor.presumed}
        free_s = anchor.at_s
        for stop_id in locked:
            stop = self.problem.stop_by_id(stop_id)
            when = progress.done.get(stop_id, progress.failed.get(stop_id))
            status: VisitStatus = "done" if stop_id in progress.done else "failed" if when is not None else "presumed"
            eta = (  # a report begun no earlier than the walk (their day) does
                max(when - stop.service_s, min(when, self.ready_s))
                if when is not None
                else timed_before.get(stop_id, anchor.at_s)
            )
            self.visits.append(self._visit(stop_id, status, eta))
            free_s = max(free_s, when if when is not None else free_s)  # at work until their last report
        self.take_breaks(anchor.breaks_taken)
        # and off the breaks begun by then (one taken later stays where it was, planned around)
        free_s = max([free_s, *(b.end_s for b in anchor.breaks_taken if b.start_s <= anchor.at_s)])
        self.move_to(anchor.position, free_s, heading=anchor.heading)
        self.ready_s = free_s

    def _leg_s(self, a: str, b: str) -> int:
        pair = [self.problem.stop_by_id(a), self.problem.stop_by_id(b)]
        sub = _subproblem(self.problem, [_roomy(self.courier, pair)], pair)
        matrix = self.matrices(sub)
        return int(matrix.leg_durations(self.courier.profile)[sub.stop_node(a), sub.stop_node(b)])

    def position_at(self, rest: list[str], where: Location, at_s: int) -> list[str]:
        """A position report: the stops the plan had served before `at_s` and that the position
        agrees with are behind the courier; they drive on from `where`."""
        _, timed = self.time(rest)
        started = sum(1 for v in timed.visits if v.start_s < at_s)
        here = self.place
        if here is None:
            here = self.problem.depots[self.problem.depot_node(self.courier.start_depot)].location
        behind = _leg_on(self.problem, here, rest[: started + 1], where, started)
        self._presume(timed, behind, at_s)
        self.move_to(where, at_s, heading=True)
        # a break under way when they were seen runs to its end; a stop presumed served is
        # served in full (seen while the plan has them still at it, they finish it first)
        serving = [v.departure_s for v in timed.visits[behind - 1 : behind] if behind]
        self.ready_s = max([at_s, *serving, *(b.end_s for b in self.taken if b.start_s <= at_s)])
        return rest[behind:]

    def held(self, rest: list[str], hold: Hold, where: Location | None) -> list[str]:
        """Held from `hold.at_s` until `hold.until_s`: what the plan served before stays served,
        and the courier resumes where the plan had them, that much later."""
        _, timed = self.time(rest)
        served = [v for v in timed.visits if v.start_s < hold.at_s]
        # a break beginning by the second of the hold has begun: it runs to its end, the hold
        # beside it (both keep the courier from work; the later end counts)
        self._presume(timed, len(served), hold.at_s + 1)
        resume = max([hold.until_s, *(b.end_s for b in self.taken if b.start_s <= hold.at_s < b.end_s)])
        after = timed.visits[len(served)] if len(served) < len(timed.visits) else None
        delay = hold.until_s - max(hold.at_s, self.ready_s)
        if where is not None:
            departed = bool(served) or hold.at_s > timed.start_s
            self.move_to(where, resume, heading=departed and after is not None)
            self.ready_s = max(resume, self.ready_s)
        elif served and hold.at_s < served[-1].departure_s:  # held during service
            last = self.problem.stop_by_id(served[-1].stop_id)
            self.move_to(last.location, served[-1].departure_s + delay, heading=False)
        elif after is not None and hold.at_s >= after.arrival_s:  # held while waiting at the next stop
            self.move_to(self.problem.stop_by_id(after.stop_id).location, resume, heading=True)
        elif after is not None and (served or hold.at_s > timed.start_s):
            # on the road to the next stop (or in a break before the leg): once free again, they
            # drive what was left of the leg
            origin = self.problem.stop_by_id(served[-1].stop_id).location if served else self.place
            leg = self._travel_s(origin, after.stop_id)
            left = max(0, min(leg, after.arrival_s - hold.at_s))
            self.move_to(self.problem.stop_by_id(after.stop_id).location, resume + left, heading=True)
        elif served:  # held after the last stop
            last = self.problem.stop_by_id(served[-1].stop_id)
            self.move_to(last.location, max(served[-1].departure_s, resume), heading=False)
        else:  # before leaving
            self.ready_s = max(self.ready_s, resume)
        return rest[len(served) :]

    def _travel_s(self, origin: Location | None, stop_id: str) -> int:
        """Driving time from `origin` (None: the courier's depot) to `stop_id`."""
        alone = replace(self.courier, start_at=origin, available_s=0, breaks=(), fixed_prefix=())
        stop = self.problem.stop_by_id(stop_id)
        sub = _subproblem(self.problem, [_roomy(alone, [stop])], [stop])
        timed = schedule_route(sub, self.matrices(sub), 0, [stop_id])
        return timed.visits[0].arrival_s - timed.start_s

    def served_by(self, rest: list[str], cut: int, floor_s: int) -> list[str]:
        """`rest[cut:]` was given to the courier at `floor_s`: they cannot start it earlier."""
        _, timed = self.time(rest)
        if cut > 0 and timed.visits[cut - 1].departure_s >= floor_s:
            return rest
        self._presume(timed, cut)
        if cut > 0:
            last = self.problem.stop_by_id(rest[cut - 1])
            self.move_to(last.location, max(timed.visits[cut - 1].departure_s, floor_s), heading=False)
        self.ready_s = max(self.ready_s, floor_s)
        return rest[cut:]

    def finish(self, rest: list[str], now_s: int) -> CourierState:
        """Time what is left from where the courier next leaves; what starts before `now_s`
        is presumed served, the first after it is the stop they are driving to."""
        self._guesses_yield_to_facts()
        timed_courier, timed = self.time(rest)
        started = [v for v in timed.visits if v.start_s < now_s]
        departed = timed.start_s < now_s or self.heading
        for k, v in enumerate(timed.visits):
            status: VisitStatus = (
                "presumed" if k < len(started) else "next" if k == len(started) and departed else "ahead"
            )
            self.visits.append(LiveVisit(v.stop_id, status, v.start_s, v.late_s, v.window, v))
        start_at, available_s = timed_courier.start_at, timed_courier.available_s
        if started:
            start_at = self.problem.stop_by_id(started[-1].stop_id).location
            available_s = started[-1].departure_s
        next_stop = next((v.stop_id for v in self.visits if v.status == "next"), None)
        due = tuple(
            b for b in timed_courier.breaks if not any(t.break_id == b.id and t.start_s < now_s for t in timed.breaks)
        )
        taken = tuple(b.id for b in self.courier.breaks if b not in due)
        had = {t.break_id for t in self.taken}
        planned = tuple(b for b in timed.breaks if b.break_id not in had)
        timed = replace(timed, breaks=tuple(sorted((*self.taken, *planned), key=lambda b: b.start_s)))
        return CourierState(self.courier.id, tuple(self.visits), start_at, available_s, next_stop, due, timed, taken)

    def _guesses_yield_to_facts(self) -> None:
        """Stops presumed served start in route order among what the courier did: no earlier
        than the visits before them, no later than the reports after them. A report is a fact
        and keeps its time; a report that came late (one older than what a re-plan presumed)
        moves the guesses around it, never the other way. Where two reports contradict the
        route's order, the later one in the route binds the guesses before it (the earlier
        one, later in time, says nothing of when those were served)."""
        facts_after = [math.inf] * (len(self.visits) + 1)
        for k in reversed(range(len(self.visits))):
            visit = self.visits[k]
            facts_after[k] = facts_after[k + 1] if visit.status == "presumed" else min(facts_after[k + 1], visit.eta_s)
        # the latest start before each visit that the reports after it allow: the bound only
        # grows along the route, so a start once within it stays within (one pass, a heap)
        floor: int | None = None
        pending: list[int] = []  # starts before this visit later than its bound
        for k, visit in enumerate(self.visits):
            bound = facts_after[k + 1]
            while pending and pending[0] <= bound:
                start = heapq.heappop(pending)
                floor = start if floor is None else max(floor, start)
            if visit.status == "presumed":
                eta = visit.eta_s if floor is None else max(visit.eta_s, floor)
                self._presume_at(k, self._beside_breaks(visit.stop_id, int(min(eta, bound)), bound))
            heapq.heappush(pending, self.visits[k].eta_s)

    def _beside_breaks(self, stop_id: str, start: int, bound: float) -> int:
        """`start` of a presumed service moved past a break already taken that it would fall in,
        when the reports after it allow (else left: a report binds it, the break is then the
        guess that yields, as the checker reads it)."""
        service = self.problem.stop_by_id(stop_id).service_s
        for t in sorted(self.taken, key=lambda t: t.start_s):
            if _during(t, start, start + service) and t.end_s <= bound:
                start = t.end_s
        return start

    def _presume_at(self, k: int, eta: int) -> None:
        visit = self.visits[k]
        if visit.status == "presumed" and visit.eta_s != eta:
            self.visits[k] = self._visit(visit.stop_id, "presumed", eta)

    def _visit(self, stop_id: str, status: VisitStatus, eta: int, timing: VisitTiming | None = None) -> LiveVisit:
        """A visit at `eta`, timed against the window its stop is booked for then (as booked
        now: a rebooking counts)."""
        window = self.problem.stop_by_id(stop_id).window_for(eta)
        return LiveVisit(stop_id, status, eta, max(0, eta - window.end_s), window, timing)


def _during(taken: BreakTiming, begin: int, end: int) -> bool:
    """Service from `begin` to `end` overlaps the break (its edges aside; a service of no
    time at the instant a break begins or ends is beside it)."""
    return taken.start_s < begin < taken.end_s or (begin < taken.end_s and taken.start_s < end)


def _leg_on(problem: Problem, start: Location, stops: list[str], where: Location, latest: int) -> int:
    """How many of `stops` lie behind a courier seen at `where`, at most `latest`: the leg
    (from the previous stop to the next) passing nearest to `where`; the later one on a tie."""
    if latest <= 0:
        return 0
    points = [start, *(problem.stop_by_id(s).location for s in stops)]
    best, best_d = latest, float("inf")
    for k in range(latest, -1, -1):
        a, b = points[k], points[k + 1] if k + 1 < len(points) else points[k]
        d = _to_segment(where, a, b)
        if d < best_d - 1e-9:
            best, best_d = k, d
    return best


def _to_segment(p: Location, a: Location, b: Location) -> float:
    """Distance (in local planar units) from `p` to the segment a-b."""
    scale = 1.0 if p.planar else math.cos(math.radians(p.lat))
    px, py, ax, ay, bx, by = p.lon * scale, p.lat, a.lon * scale, a.lat, b.lon * scale, b.lat
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


class _MatrixFor:
    """Builds travel matrices for sub-problems, reusing one for the same locations."""

    def __init__(self, source: TravelSource) -> None:
        self.source = source
        self._cache: dict[tuple[tuple[Location, ...], tuple[str, ...]], TravelMatrix] = {}

    def __call__(self, problem: Problem) -> TravelMatrix:
        key = (problem.locations, problem.profiles)
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = self.source.matrix(problem)
        return self._cache[key]


def _roomy(courier: Courier, stops: list[Stop]) -> Courier:
    """`courier` with room for any one of `stops`: for timing a sequence, where what the van
    holds is not the question (a courier may report serving a stop bigger than their van)."""
    room = tuple(max([cap, *(s.demand[d] for s in stops)]) for d, cap in enumerate(courier.capacity))
    return replace(courier, capacity=room)


def _subproblem(problem: Problem, couriers: list[Courier], stops: list[Stop]) -> Problem:
    return replace(problem, couriers=tuple(couriers), stops=tuple(stops))


def retime_courier(live: LivePlan, day: DayState, courier_id: str, source: TravelSource) -> DayState:
    """`day` with one courier re-timed: a report changes only its sender's timeline. The
    others keep their timing (they follow the plan); those the clock has moved past a stop
    or out of the hub since are re-timed too, so every status is as of `live.now_s`, as
    `retime` gives it, at the cost of a few couriers per report rather than the fleet."""
    matrices = _MatrixFor(source)
    by_courier = {r.courier_id: r for r in live.routes}
    couriers = tuple(
        courier_state(live.problem, matrices, i, by_courier.get(c.id, Route(c.id, ())), live)
        if c.id == courier_id or _behind_clock(state, live.now_s)
        else state
        for i, (c, state) in enumerate(zip(live.problem.couriers, day.couriers, strict=True))
    )
    return DayState(couriers, live.unassigned, live.now_s)


def retime_since(
    live: LivePlan, was: LivePlan, day: DayState, source: TravelSource, between: Iterable[LivePlan] = ()
) -> DayState:
    """`day`, timed for `was`, brought to `live` however many changes lie between them (another
    process made them; `between`: plans it saw on the way, such as the one `live` was changed
    from): the couriers whose route, reports or anchor differ from `was` in `live` or in any of
    `between` re-timed, and those the clock has moved past a stop, as `retime_courier` does for
    one; everyone when the problem itself changed. The same day as `retime(live)`, at the cost
    of the couriers that moved."""
    seen = (live, *between)
    if any(plan.problem != was.problem for plan in seen):
        return retime(live, source)
    matrices = _MatrixFor(source)
    now = {r.courier_id: r for r in live.routes}
    routes = [{r.courier_id: r.stop_ids for r in plan.routes} for plan in (was, *seen)]
    couriers = []
    for i, (c, state) in enumerate(zip(live.problem.couriers, day.couriers, strict=True)):
        route = now.get(c.id, Route(c.id, ()))
        moved = _behind_clock(state, live.now_s) or any(
            stops.get(c.id, ()) != routes[0].get(c.id, ())
            or plan.progress_of(c.id) != was.progress_of(c.id)
            or plan.anchors.get(c.id) != was.anchors.get(c.id)
            for plan, stops in zip(seen, routes[1:], strict=True)
        )
        couriers.append(courier_state(live.problem, matrices, i, route, live) if moved else state)
    return DayState(tuple(couriers), live.unassigned, live.now_s)


def _behind_clock(state: CourierState, now_s: int) -> bool:
    """The clock has passed the start of a stop `state` has still to do, or the courier's
    departure while nothing is marked as being driven to: their statuses lag `now_s`."""
    left = [v for v in state.visits if v.status in ("next", "ahead")]
    if any(v.eta_s < now_s for v in left):
        return True
    return bool(left) and state.next_stop is None and state.timed.start_s < now_s


def retime(live: LivePlan, source: TravelSource) -> DayState:
    """Every courier's route re-timed from their reports (the fast path, no optimizer)."""
    matrices = _MatrixFor(source)
    by_courier = {r.courier_id: r for r in live.routes}
    states = tuple(
        courier_state(live.problem, matrices, i, by_courier.get(c.id, Route(c.id, ())), live)
        for i, c in enumerate(live.problem.couriers)
    )
    return DayState(states, live.unassigned, live.now_s)


@dataclass(frozen=True, slots=True)
class ReplanPolicy:
    """How hard to try when windows are at risk: budget, lateness and move costs."""

    time_limit_s: float = 1.0
    lateness_cost_per_s: int = 50
    move_cost: int = 2000
    seed: int = 0
    model_breaks: bool = False
    """Give OR-Tools the breaks; off by default: its break constraint does not scale to a
    fleet's day in a second, and `retime()` places breaks exactly afterwards anyway."""
    max_couriers: int = 6
    max_stops: int = 80
    """Size of one neighbourhood: the couriers at risk and their nearest colleagues."""
    warm_start: bool = True
    """Start from the current routes (False: re-solve from scratch, the quality reference)."""
    iterations: int | None = None
    """Stop each search after this much work instead of on the clock (`time_limit_s` then only
    bounds it): the same answer however busy the machine is. For tests and comparisons."""


def remaining_problem(
    live: LivePlan, day: DayState, policy: ReplanPolicy | None = None
) -> tuple[Problem, tuple[Route, ...]]:
    """The problem still open at `now`: free stops, couriers starting where they are.

    Returns the problem and the current free sequences as a warm start.
    """
    policy = policy or ReplanPolicy(model_breaks=True)
    problem = live.problem
    # pickups or trips: the engines follow the van's load along the route (see below)
    followed = bool({PICKUPS, TRIPS, RELOAD_STOPS} & problem.features)
    couriers = []
    warm = []
    free: list[Stop] = []
    for courier, state in zip(problem.couriers, day.couriers):
        # a meeting still ahead comes first (right after the stop being driven to): the parcels
        # it brings must not be planned before it
        meetings = tuple(s for s in state.ahead if is_handover(s) and s != state.next_stop)
        prefix = ((state.next_stop,) if state.next_stop else ()) + meetings
        ahead = prefix + tuple(s for s in state.ahead if s not in prefix)
        # a parcel on this van stays on it, and takes its room whether the plan serves it or
        # leaves it out: it counts against the capacity, not as a demand (deliveries only
        # unload, so the van is fullest when it sets out)
        on_van = [s for s in ahead if live.loaded.get(s) == courier.id]
        # so does the stop being driven to: it stays theirs, and takes its room even when the
        # van has less left (a parcel from a colleague's stop aboard)
        on_van += [
            s
            for s in prefix[:1]
            if s == state.next_stop and s not in on_van and not is_handover(s) and not problem.stop_by_id(s).is_pickup
        ]
        # (with pickups or trips too: a parcel aboard left out, or given to a colleague at a
        # meeting planned after the search, still rides along until then, so its room is
        # taken for the rest of the route, though a pickup after its stop could use it)
        zeroed = set(on_van)
        free.extend(
            replace(stop, demand=(0,) * len(stop.demand)) if stop.id in zeroed else stop
            for stop in (_on_van(problem.stop_by_id(s), courier.id, live.loaded) for s in ahead)
        )
        available = _free_from(courier, state, live.now_s)
        taken = _aboard_off_route(problem, state, [problem.stop_by_id(s) for s in zeroed], followed=followed)
        capacity = tuple(max(0, cap - sum(stop.demand[d] for stop in taken)) for d, cap in enumerate(courier.capacity))
        couriers.append(
            replace(
                courier,
                capacity=capacity,
                start_at=state.start_at,
                available_s=available,
                breaks=tuple(b for b in state.breaks_left if b.latest_start_s >= (available or 0))
                if policy.model_breaks
                else (),
                fixed_prefix=prefix,
                max_trips=1,  # the trips left are its reload stops (optimizer.trips)
                # out on a trip, a courier delivers a parcel from the hub only after a reload
                loaded_only=followed and courier.id in live.departed,
            )
        )
        warm.append(Route(courier.id, ahead))
    served = {v.stop_id for c in day.couriers for v in c.visits}
    loose = (_on_van(s, live.loaded.get(s.id), live.loaded) for s in problem.stops if s.id not in served)
    free.extend(s for s in loose if _fits(s, couriers))
    # the reloads no route has: a re-plan may send a courier back to the depot for another trip
    free.extend(spare_reloads(problem, (s for r in live.routes for s in r.stop_ids)))
    # a stop no van has room for any more is left out (with its reason, by `reoptimize`),
    # but the one a courier is driving to, which stays theirs
    prefixes = {s for c in couriers for s in c.fixed_prefix}
    free = [
        s if _fits(s, couriers) else replace(s, demand=(0,) * len(s.demand))
        for s in free
        if _fits(s, couriers) or s.id in prefixes
    ]
    kept = {s.id for s in free}
    warm = [replace(r, stop_ids=tuple(s for s in r.stop_ids if s in kept)) for r in warm]
    return _subproblem(problem, couriers, free), tuple(warm)


def _aboard_off_route(problem: Problem, state: CourierState, zeroed: list[Stop], *, followed: bool) -> list[Stop]:
    """What takes room on the van for the rest of the day without being a demand of the
    remaining problem: parcels aboard counted as room (`zeroed`), and the stops behind the
    courier. Deliveries only, one trip: parcels are loaded at the depot, so everything the
    locked stops took stays this route's. With pickups or trips, the van's load is followed
    along the route: what the past of this trip (since the last reload) leaves aboard is the
    pickups made and the parcels of failed deliveries."""
    past = ("done", "failed", "presumed")
    locked = [(problem.stop_by_id(v.stop_id), v.status) for v in state.visits if v.status in past]
    if not followed:
        return [*(stop for stop, _ in locked), *zeroed]
    reloads = [k for k, (stop, _) in enumerate(locked) if stop.is_reload]
    if reloads:
        locked = locked[reloads[-1] + 1 :]
    made = [stop for stop, status in locked if stop.is_pickup and status != "failed"]
    undelivered = [stop for stop, status in locked if not stop.is_pickup and status == "failed"]
    return [*zeroed, *made, *undelivered]


def _free_from(courier: Courier, state: CourierState, now_s: int) -> int | None:
    """When the courier next sets out: not before a break under way at the clock (or taken
    since they were last free) ends, and, once off the road (no stop being driven to), not
    before the clock."""
    # a break under way, or taken since they were last free, ends first
    free = state.available_s if state.available_s is not None else courier.ready_s
    begun = [
        b.end_s
        for b in state.timed.breaks
        if b.start_s <= now_s < b.end_s or (b.break_id in state.breaks_taken and b.end_s > free)
    ]
    if state.next_stop is not None:
        return max([state.available_s, *begun]) if state.available_s is not None else state.available_s
    return max([courier.ready_s if state.available_s is None else state.available_s, now_s, *begun])


def _begun_by(state: CourierState, now_s: int) -> tuple[BreakTiming, ...]:
    """The breaks an anchor at the clock keeps as taken: those taken, and one under way at
    the clock (`_free_from` has the courier set out after it, so it must not come again)."""
    return tuple(b for b in state.timed.breaks if b.break_id in state.breaks_taken or b.start_s <= now_s < b.end_s)


def _past_in_order(state: CourierState) -> tuple[str, ...]:
    """The stops behind a courier, as a fixed past keeps them: in the order they were served
    (their times; route order among equal ones). Reports can contradict the route's order (a
    courier who served the stops another way); the past then follows what they did, so that
    forgetting one report later does not leave the others out of order."""
    behind = [v for v in state.visits if v.status in ("done", "failed", "presumed")]
    return tuple(v.stop_id for v in sorted(behind, key=lambda v: v.eta_s))


def hold_the_past(live: LivePlan, day: DayState, courier_id: str) -> LivePlan:
    """`courier_id`'s day up to the clock, as `day` times it, made fixed, as a re-optimization
    fixes it: their route starts with what they have served or are presumed to have served,
    anchored where and when they next set out, with the breaks begun by then taken. A change
    to their route made now (a stop cancelled or rebooked) then cannot move their past."""
    state = next(c for c in day.couriers if c.courier_id == courier_id)
    courier = live.problem.courier_by_id(courier_id)
    locked = _past_in_order(state)
    route = next((r for r in live.routes if r.courier_id == courier_id), Route(courier_id, ()))
    anchor = Anchor(
        len(locked),
        state.start_at,
        _free_from(courier, state, live.now_s) or 0,
        state.next_stop is not None,
        tuple((v.stop_id, v.eta_s, v.late_s) for v in state.visits if v.status == "presumed"),
        live.progress_of(courier_id).last_report_s,
        _begun_by(state, live.now_s),
    )
    rest = tuple(s for s in route.stop_ids if s not in locked)
    routes = tuple(replace(r, stop_ids=locked + rest) if r.courier_id == courier_id else r for r in live.routes)
    return replace(live, routes=routes, anchors={**live.anchors, courier_id: anchor})


def _on_van(stop: Stop, courier_id: str | None, loaded: Mapping[str, str]) -> Stop:
    """`stop`, bound to `courier_id`'s van if its parcel is loaded (on theirs: a parcel changes
    van only where it is physically handed over, which the solver does not plan)."""
    if stop.id not in loaded or courier_id is None or stop.parcel_on == courier_id or stop.is_pickup:
        return stop
    return replace(stop, parcel_on=courier_id, at_hub=False)


def _fits(stop: Stop, couriers: list[Courier]) -> bool:
    """Some courier who may serve the stop (its parcel's van, if loaded; the skills it needs)
    still has room."""
    return any(
        stop.parcel_on in (None, courier.id)
        and stop.skills <= courier.skills
        and all(d <= c for d, c in zip(stop.demand, courier.capacity))
        for courier in couriers
    )


def load_parcels(live: LivePlan, day: DayState) -> LivePlan:
    """Parcels as they physically are at `now`: a courier who has left the hub carries every
    parcel their route's first trip held when they left (not those kept at the hub), one who
    has reloaded the parcels of the trip the reload began, and a parcel the problem puts on a
    van is there from the start. Whatever changes routes (a re-optimization,
    `served_elsewhere`, `change_stop`) calls this first, so the trip a courier has when first
    seen gone (or past a reload) is the one they left with."""
    loaded = dict(live.loaded)
    departed = set(live.departed)
    for stop in live.problem.stops:
        if stop.parcel_on is not None and not stop.is_reload:
            loaded.setdefault(stop.id, stop.parcel_on)
    routes = {r.courier_id: r.stop_ids for r in live.routes}
    for state in day.couriers:
        if all(v.status == "ahead" for v in state.visits):
            continue
        # a reload is made once the courier reports it or a stop after it: the clock alone
        # presuming it (a report may yet show them before it) loads nothing
        reported = [k for k, v in enumerate(state.visits) if v.status in ("done", "failed")]
        last = max(reported, default=-1)
        passed = {v.stop_id for k, v in enumerate(state.visits) if v.status == "done" or k < last}
        leaving: str | None = state.courier_id  # the departure loading the trip ahead
        for stop_id in routes.get(state.courier_id, ()):
            if is_reload(stop_id):
                leaving = stop_id if stop_id in passed else None
                continue
            if leaving is None or not live.problem.has_stop(stop_id) or leaving in live.departed:
                continue
            stop = live.problem.stop_by_id(stop_id)
            if not stop.at_hub and not stop.is_pickup:  # a pickup's parcel is at the customer
                loaded.setdefault(stop_id, state.courier_id)
        departed.add(state.courier_id)
        departed.update(s for s in routes.get(state.courier_id, ()) if is_reload(s) and s in passed)
    visits = day.visits
    for handover in live.handovers:
        took = visits.get(handover.take_id)
        if took is not None and took[1].status in ("done", "presumed"):
            # a meeting moves a parcel to the taker, unless the giver still has its stop: they
            # reported serving it (a fact, like an attempt after the meeting) since
            kept = routes.get(handover.giver, ())
            for stop_id in handover.stop_ids:
                if loaded.get(stop_id) == handover.giver and stop_id not in kept:
                    loaded[stop_id] = handover.taker
    if loaded == live.loaded and departed == live.departed:
        return live
    return replace(live, loaded=loaded, departed=frozenset(departed))


def reoptimize(
    live: LivePlan,
    day: DayState,
    source: TravelSource,
    policy: ReplanPolicy,
    focus: frozenset[str] = frozenset(),
) -> LivePlan:
    """Re-sequence and reassign the free stops around the couriers at risk (and those in
    `focus`), with soft window ends, keeping each courier's locked part.

    The fleet is cut into neighbourhoods: each courier at risk with its nearest colleagues,
    up to `policy.max_couriers` couriers and `policy.max_stops` stops. Each is solved on its
    share of the budget, worst first; couriers in no neighbourhood keep their routes.
    Small neighbourhoods are deliberate: measured on generated days, six couriers and 80
    stops in 0.8 s beat the whole 16-courier fleet given 3 s.
    """
    began = time.perf_counter()
    live = load_parcels(live, day)
    sub, warm = remaining_problem(live, day, policy)
    lateness = {c.courier_id: sum(v.late_s for v in c.visits if v.status != "done") for c in day.couriers}
    seeds = sorted(focus or {c.courier_id for c in day.couriers if c.late_stops}, key=lambda c: -lateness.get(c, 0))
    free = {r.courier_id: r for r in warm}
    assigned = {s for r in warm for s in r.stop_ids}
    loose = [s for s in sub.stops if s.id not in assigned]
    for stop in loose:  # stops left out are placed even when nobody is late: seed their nearest courier
        if stop.is_reload:
            continue  # a spare reload is no stop left out: it is there should a re-plan need it
        nearest = _nearest_courier(stop, sub, warm)
        if nearest is not None and nearest not in seeds:
            seeds.append(nearest)
    groups = neighbourhoods(sub, warm, seeds, policy)
    new_routes = dict(free)
    unassigned: list[Unassigned] = [u for u in live.unassigned if not any(u.stop_id == s.id for s in loose)]
    for k, group in enumerate(groups):
        members = set(group)
        couriers = [c for c in sub.couriers if c.id in members]
        stops = [sub.stop_by_id(s) for cid in group for s in free[cid].stop_ids]
        # a stop no van of the group has room for stays out of its search (and is left out)
        stops = [s for s in stops if _fits(s, couriers)]
        stops += [s for s in loose if _nearest_group(s, groups, sub, warm) == k and _fits(s, couriers)]
        left_s = policy.time_limit_s - (time.perf_counter() - began)
        if policy.iterations is not None:
            left_s = policy.time_limit_s  # bounded by work, not by the clock
        elif left_s < MIN_GROUP_S and k > 0:
            break  # the worst neighbourhoods came first; the rest keep their routes
        share = min(left_s, max(left_s / (len(groups) - k), GROUP_SHARE_S))
        routes_k = _repair_group(
            _subproblem(sub, couriers, stops), tuple(free[cid] for cid in group), source, policy, max(share, 0.05)
        )
        if routes_k is None:
            continue  # keep the group's routes as they were
        for route in routes_k:
            new_routes[route.courier_id] = route
    handovers: tuple[Handover, ...] = ()
    # hand-overs are planned on days of deliveries in one trip: a parcel handed over on a day
    # of pickups or trips would ride through reloads and pickups the search did not see coming
    if live.problem.handover_s is not None and not ({PICKUPS, TRIPS, RELOAD_STOPS} & live.problem.features):
        deadline = float("inf") if policy.iterations is not None else began + policy.time_limit_s
        new_routes, handovers = _plan_handovers(live, sub, new_routes, source, policy, deadline)
        if handovers:
            live = replace(
                live,
                problem=with_handovers(live.problem, handovers),
                handovers=(*live.handovers, *handovers),
            )
    routes = []
    anchors = dict(live.anchors)
    starts = {c.id: c for c in sub.couriers}
    for state in day.couriers:
        locked = _past_in_order(state)
        routes.append(Route(state.courier_id, locked + new_routes[state.courier_id].stop_ids))
        start = starts[state.courier_id]
        presumed = tuple((v.stop_id, v.eta_s, v.late_s) for v in state.visits if v.status == "presumed")
        anchors[state.courier_id] = Anchor(
            len(locked),
            start.start_at,
            start.ready_s,
            bool(start.fixed_prefix),
            presumed,
            live.progress_of(state.courier_id).last_report_s,
            _begun_by(state, live.now_s),
        )
    placed_anywhere = {s for r in routes for s in r.stop_ids}
    live = replace(live, problem=with_reloads(live.problem, placed_anywhere))  # the reloads the routes make
    still_out = {u.stop_id: u for u in unassigned if u.stop_id not in placed_anywhere and not is_reload(u.stop_id)}
    for s in live.problem.stops:  # every stop is routed or left out with a reason, never lost
        if s.id not in placed_anywhere and s.id not in still_out:
            holder = live.loaded.get(s.id)
            reason = (
                f"its parcel is on courier {holder}'s van, and they have no time or room left for it"
                if holder is not None
                else "no courier near it has time or room left for it"
            )
            still_out[s.id] = Unassigned(s.id, reason)
    return replace(live, routes=tuple(routes), unassigned=tuple(still_out.values()), anchors=anchors)


def hand_over(live: LivePlan, stop_id: str, courier_id: str, behind: Collection[str] | None = None) -> LivePlan:
    """The plan with `stop_id` on `courier_id`'s route, right after what they have done: for a
    courier who reports serving a stop the plan gave someone else (a re-optimization they had
    not fetched yet) or left out. What they did stands; the plan follows. With `behind` (the
    stops they had begun before it, reported or presumed), right after those and before any
    they reported later, also inside the part a re-optimization fixed (a report older than
    what it presumed); without, after all they reported and after that part."""
    routes: list[Route] = []
    anchors = dict(live.anchors)
    for route in live.routes:
        if stop_id in route.stop_ids:
            where = route.stop_ids.index(stop_id)
            anchor = anchors.get(route.courier_id)
            if anchor is not None and where < anchor.locked:  # the locked prefix shrinks by what left it
                presumed = tuple(p for p in anchor.presumed if p[0] != stop_id)
                anchors[route.courier_id] = replace(anchor, locked=anchor.locked - 1, presumed=presumed)
            route = replace(route, stop_ids=tuple(s for s in route.stop_ids if s != stop_id))
        if route.courier_id == courier_id:
            progress = live.progress_of(courier_id)
            if behind is None:
                at = max((i + 1 for i, s in enumerate(route.stop_ids) if progress.served(s)), default=0)
            else:  # not after a stop they reported later than this one
                at = max((i + 1 for i, s in enumerate(route.stop_ids) if s in behind), default=0)
            anchor = anchors.get(courier_id)
            if anchor is not None and behind is None:
                at = max(at, anchor.locked)
            elif anchor is not None and at < anchor.locked:  # it joins the part fixed
                anchors[courier_id] = replace(anchor, locked=anchor.locked + 1)
            route = replace(route, stop_ids=(*route.stop_ids[:at], stop_id, *route.stop_ids[at:]))
        routes.append(route)
    unassigned = tuple(u for u in live.unassigned if u.stop_id != stop_id)
    return replace(live, routes=tuple(routes), unassigned=unassigned, anchors=anchors)


def own_report(live: LivePlan, event: CourierEvent, source: TravelSource) -> LivePlan:
    """`live` with `event`, a courier's report on their own route (`LivePlan.with_event`). A
    pickup made puts its parcel on the van then and there: when that leaves no room for what
    the route picks up after it, the stops that no longer fit leave the route (`_make_room`)."""
    reported = live.with_event(event)
    if event.kind != "stop_completed" or event.stop_id is None or not live.problem.has_stop(event.stop_id):
        return reported
    if not live.problem.stop_by_id(event.stop_id).is_pickup:
        return reported
    return _make_room(reported, event.courier_id, source)


def served_elsewhere(live: LivePlan, event: CourierEvent, source: TravelSource) -> LivePlan:
    """`live` with `event`, a courier's report of serving or attempting a stop the plan has on
    someone else's route (a re-optimization they had not fetched yet) or left out: what they
    did stands, and the plan follows. The parcel was with them (`LivePlan.loaded`). The
    holder loses the stop without moving their past: one who attempted it stays where the
    attempt left them (`forget_failure`); one the plan had serve it already, or driving to
    it, has their day up to the clock fixed first (`hold_the_past`). The stop joins the
    reporting courier's route right after what they have done, or were presumed to have begun
    before it (`hand_over`): the report does not send them back to those."""
    stop_id, courier_id = event.stop_id, event.courier_id
    if stop_id is None or event.kind not in ("stop_completed", "stop_failed"):
        raise ValueError(f"event {event.event_id}: not a report of serving a stop")
    day = retime(live, source)
    live = load_parcels(live, day)  # the vans as they are before the route changes
    holder = next((r.courier_id for r in live.routes if stop_id in r.stop_ids), None)
    if holder is not None and holder != courier_id:
        if stop_id in live.progress_of(holder).failed:
            live = forget_failure(live, holder, stop_id, source)
        else:
            visits = {v.stop_id: v.status for c in day.couriers if c.courier_id == holder for v in c.visits}
            if visits.get(stop_id) in ("presumed", "next"):
                live = hold_the_past(live, day, holder)
    begun = event.at_s - live.problem.stop_by_id(stop_id).service_s
    taker = next((c for c in day.couriers if c.courier_id == courier_id), None)
    before = () if taker is None else tuple(v.stop_id for v in taker.visits if v.eta_s < begun)
    moved = hand_over(live, stop_id, courier_id, before)
    if live.problem.stop_by_id(stop_id).is_pickup:
        if event.kind == "stop_failed":
            return moved.with_event(event)  # a pickup not made: its parcel is still with the customer
        # a pickup made: its parcel takes room on their van, and what no longer fits leaves the route
        return _make_room(moved.with_event(event), courier_id, source)
    return replace(moved, loaded={**moved.loaded, stop_id: courier_id}).with_event(event)


def unlock_rebooked(
    plan: LivePlan,
    anchors: dict[str, Anchor],
    courier_id: str,
    route: tuple[str, ...],
    stop_id: str,
    statuses: dict[str, str],
) -> tuple[str, ...]:
    """`route` with a rebooked stop, not reported, made free again if the plan had it behind
    the courier (locked by a re-optimization, or presumed served by the clock): out of the
    locked prefix (`anchors` updated) and right after it and after whatever the courier has
    passed or is driving to since, so it is re-timed and re-optimized into its new window."""
    progress = plan.progress_of(courier_id)
    if progress.served(stop_id):
        return route
    anchor = anchors.get(courier_id)
    locked = anchor.locked if anchor is not None else 0
    where = route.index(stop_id)
    if where >= locked and statuses.get(stop_id) != "presumed":
        return route
    if anchor is not None and where < locked:
        locked -= 1
        presumed = tuple(p for p in anchor.presumed if p[0] != stop_id)
        anchors[courier_id] = replace(anchor, locked=locked, presumed=presumed)
    rest = [x for x in route if x != stop_id]
    behind = [i + 1 for i, x in enumerate(rest) if statuses.get(x, "ahead") != "ahead" or progress.served(x)]
    at = max([locked, *behind])
    return (*rest[:at], stop_id, *rest[at:])


def forget_failure(plan: LivePlan, courier_id: str, stop_id: str, source: TravelSource) -> LivePlan:
    """`plan` without `courier_id`'s failed attempt at `stop_id` (rebooked, or served by a
    colleague since). The parcel stays on their van (`LivePlan.loaded`). The attempt still
    says where and when the courier was: unless a
    re-optimization since has them further on, they are anchored there, at its time, with
    the stops before it behind them as they were and the breaks begun by then taken, so they
    are never sent back in time (the attempt's stop itself, no longer reported, is free again)."""
    progress = plan.progress_of(courier_id)
    when = progress.failed.get(stop_id)
    if when is None:
        return plan
    everyone = dict(plan.progress)
    everyone[courier_id] = replace(progress, failed={k: v for k, v in progress.failed.items() if k != stop_id})
    # the attempt proves where the parcel is: on the attempting courier's van (a pickup's
    # stays with the customer)
    aboard = {} if plan.problem.stop_by_id(stop_id).is_pickup else {stop_id: courier_id}
    forgotten = replace(plan, progress=everyone, loaded={**plan.loaded, **aboard})
    route = next((r for r in plan.routes if r.courier_id == courier_id), None)
    stops = [s for s in route.stop_ids if plan.problem.has_stop(s)] if route is not None else []
    if stop_id not in stops:
        return forgotten
    where = stops.index(stop_id)
    current = plan.anchors.get(courier_id)
    timed = next(c for c in retime(plan, source).couriers if c.courier_id == courier_id)
    if current is not None and current.locked > where and current.seen_s >= when:
        # re-optimized since the attempt: that anchor holds it, and more; the breaks begun by
        # the clock stay as the day has them now (the attempt no longer times the stops
        # around them, and reports since the anchor may have moved them)
        begun = _begun_by(timed, plan.now_s)
        ids = {b.break_id for b in begun}
        taken = (*(t for t in current.breaks_taken if t.break_id not in ids), *begun)
        if set(taken) == set(current.breaks_taken):
            return forgotten
        anchor = replace(current, breaks_taken=taken)
        return replace(forgotten, anchors={**plan.anchors, courier_id: anchor})
    if [v.stop_id for v in timed.visits[: where + 1]] != stops[: where + 1]:
        return forgotten
    anchors = dict(plan.anchors)
    anchors[courier_id] = Anchor(
        where,
        plan.problem.stop_by_id(stop_id).location,
        when,
        False,
        tuple((v.stop_id, v.eta_s, v.late_s) for v in timed.visits[:where] if v.status == "presumed"),
        seen_s=progress.last_report_s,
        # breaks begun by the attempt, and those taken since (the rest of what they did stands)
        breaks_taken=tuple(b for b in timed.timed.breaks if b.start_s <= when or b.break_id in timed.breaks_taken),
    )
    return replace(forgotten, anchors=anchors)


def reopen_failed(plan: LivePlan, stop_id: str, source: TravelSource) -> LivePlan:
    """A failed stop rebooked: open again, last on the route of the courier whose van has its
    parcel (who attempted it last); whoever attempted it stays where the attempt left them."""
    holder_now = plan.loaded.get(stop_id)
    attempts = sorted((p.failed[stop_id], c == holder_now, c) for c, p in plan.progress.items() if stop_id in p.failed)
    # the latest attempt last: its courier keeps the parcel (at the same second, the van it is on)
    for _, _, courier_id in attempts:
        plan = forget_failure(plan, courier_id, stop_id, source)
    holder = next((r.courier_id for r in plan.routes if stop_id in r.stop_ids), None)
    if holder is not None and any(r.courier_id == plan.loaded.get(stop_id) for r in plan.routes):
        holder = plan.loaded[stop_id]
    anchors = dict(plan.anchors)
    routes = []
    for route in plan.routes:
        anchor = anchors.get(route.courier_id)
        if anchor is not None and stop_id in route.stop_ids[: anchor.locked]:
            presumed = tuple(p for p in anchor.presumed if p[0] != stop_id)
            anchors[route.courier_id] = replace(anchor, locked=anchor.locked - 1, presumed=presumed)
        rest = tuple(s for s in route.stop_ids if s != stop_id)
        routes.append(replace(route, stop_ids=(*rest, stop_id) if route.courier_id == holder else rest))
    plan = replace(plan, routes=tuple(routes), anchors=anchors)
    return plan if holder is None else _make_room(plan, holder, source)


def _make_room(plan: LivePlan, courier_id: str, source: TravelSource) -> LivePlan:
    """`plan` with `courier_id`'s van holding no more than it can: when the parcels aboard
    (facts) and the ones still at the hub the plan gave them exceed its room, the last of
    the latter are left out (no van has room for them now); the stop being driven to stays."""
    courier = plan.problem.courier_by_id(courier_id)
    if not courier.capacity:
        return plan
    if any(h.taker == courier_id or h.giver == courier_id for h in plan.handovers):
        return plan  # meetings move parcels along the route: a re-plan sorts that out
    state = next(c for c in retime(plan, source).couriers if c.courier_id == courier_id)
    left = list(state.ahead)

    # pickups made on this trip ride along until the next reload
    past = [v for v in state.visits if v.status in ("done", "presumed", "failed")]
    since = max([k + 1 for k, v in enumerate(past) if is_reload(v.stop_id)], default=0)
    made = [
        plan.problem.stop_by_id(v.stop_id).demand
        for v in past[since:]
        if v.status != "failed" and plan.problem.stop_by_id(v.stop_id).is_pickup
    ]
    aboard = [sum(amounts) for amounts in zip(*made)] if made else []

    def load(stops: list[str]) -> tuple[int, ...]:  # the most aboard at once, trip by trip
        return peak_load([plan.problem.stop_by_id(s) for s in stops], len(courier.capacity), aboard)

    # the stop being driven to stays, but a pickup: no parcel of it is aboard to deliver
    movable = [
        s
        for s in left
        if plan.loaded.get(s) != courier_id
        and not is_reload(s)
        and (s != state.next_stop or plan.problem.stop_by_id(s).is_pickup)
    ]
    out: list[str] = []
    while movable and any(a > c for a, c in zip(load(left), courier.capacity)):
        gone = movable.pop()
        left.remove(gone)
        out.append(gone)
    if not out:
        return plan
    routes = tuple(
        replace(r, stop_ids=tuple(s for s in r.stop_ids if s not in out)) if r.courier_id == courier_id else r
        for r in plan.routes
    )
    reason = f"no van has room for it: {courier_id}'s van is full with parcels already aboard"
    unassigned = (*plan.unassigned, *(Unassigned(s, reason) for s in reversed(out)))
    return replace(plan, routes=routes, unassigned=unassigned)


def change_stop(plan: LivePlan, problem: Problem, stop_id: str, source: TravelSource, *, rebooked: bool) -> LivePlan:
    """`plan` once customer service has changed `stop_id`: `problem` is the day with the
    change made (the stop rebooked to new windows, or cancelled: gone from it unless already
    attempted). The past of the courier who has it is fixed first (`hold_the_past`), with the
    breaks they have begun, so neither the stop leaving their route nor moving in it moves
    what they have done. A failed stop rebooked is then open again on its van
    (`reopen_failed`); a rebooked stop the plan had behind them is free again right after
    where they are (`unlock_rebooked`), and a rebooked pickup leaves the route if the van has
    no room left for it there, or a delivery moved past a reload leaves the trip's last parcel
    from the hub out (`_make_room`)."""
    reopen = rebooked and any(stop_id in p.failed for p in plan.progress.values())
    day = retime(plan, source)
    plan = load_parcels(plan, day)  # the vans as they are before the route changes
    statuses: dict[str, str] = {v.stop_id: v.status for c in day.couriers for v in c.visits}
    for courier_id in [r.courier_id for r in plan.routes if stop_id in r.stop_ids]:
        if statuses.get(stop_id) != "ahead":
            plan = hold_the_past(plan, day, courier_id)
    if reopen:
        plan = reopen_failed(plan, stop_id, source)
    anchors = dict(plan.anchors)
    routes = []
    for route in plan.routes:
        kept = tuple(x for x in route.stop_ids if problem.has_stop(x))
        anchor = anchors.get(route.courier_id)
        if anchor is not None:  # the locked prefix shrinks by what left it
            gone = {x for x in route.stop_ids[: anchor.locked] if x not in kept}
            presumed = tuple(p for p in anchor.presumed if p[0] not in gone)
            anchors[route.courier_id] = replace(anchor, locked=anchor.locked - len(gone), presumed=presumed)
        if rebooked and not reopen and stop_id in kept:
            kept = unlock_rebooked(plan, anchors, route.courier_id, kept, stop_id, statuses)
        routes.append(replace(route, stop_ids=kept))
    unassigned = tuple(u for u in plan.unassigned if problem.has_stop(u.stop_id))
    changed = replace(plan, problem=problem, routes=tuple(routes), anchors=anchors, unassigned=unassigned)
    holder = next((r.courier_id for r in routes if stop_id in r.stop_ids), None)
    if rebooked and holder is not None:
        # a pickup presumed made is not, a delivery presumed made is still aboard: either takes
        # room again where the route now serves it (after a reload, on that trip's van)
        return _make_room(changed, holder, source)
    return changed


def rebase(latest: LivePlan, base: LivePlan, better: LivePlan) -> LivePlan | None:
    """Carry `better`, re-optimized from `base`, onto `latest`: `base` plus what couriers
    reported while the search ran. None when the two cannot both hold.

    A courier the search left as it was keeps everything since (`latest`'s route and
    anchor). A courier it re-planned takes the new route, provided their route and delay
    did not change meanwhile and every stop they have served since lies within the new
    route's locked part or is its next stop. Every stop must end up exactly once in a route or
    left out.
    """
    base_routes = {r.courier_id: r.stop_ids for r in base.routes}
    new_routes = {r.courier_id: r.stop_ids for r in better.routes}
    routes: list[Route] = []
    anchors = dict(latest.anchors)
    for route in latest.routes:
        courier_id = route.courier_id
        planned = new_routes.get(courier_id, route.stop_ids)
        if planned == base_routes.get(courier_id):
            routes.append(route)  # not re-planned: everything since stands
            continue
        if route.stop_ids != base_routes.get(courier_id):
            return None  # re-planned here, changed there
        anchor = better.anchors.get(courier_id)
        reachable = set(planned[: (anchor.locked if anchor else 0) + 1])
        progress = latest.progress_of(courier_id)
        if progress.hold != base.progress_of(courier_id).hold:
            return None  # delayed since: the search planned for a courier who is not held so
        if any(s not in reachable for s in (*progress.done, *progress.failed) if latest.problem.has_stop(s)):
            return None  # served a stop the new route no longer starts with
        routes.append(Route(courier_id, planned))
        if anchor is not None:
            anchors[courier_id] = anchor
    handovers = (*latest.handovers, *(h for h in better.handovers if h not in latest.handovers))
    problem = with_reloads(with_handovers(latest.problem, handovers), (s for r in routes for s in r.stop_ids))
    unassigned = tuple(u for u in better.unassigned if problem.has_stop(u.stop_id))
    placed = [s for r in routes for s in r.stop_ids] + [u.stop_id for u in unassigned]
    if len(placed) != len(set(placed)) or set(placed) != {s.id for s in problem.stops}:
        return None
    loaded = {**better.loaded, **latest.loaded}
    departed = better.departed | latest.departed
    return replace(
        latest,
        problem=problem,
        routes=tuple(routes),
        unassigned=unassigned,
        anchors=anchors,
        loaded=loaded,
        departed=departed,
        handovers=handovers,
    )


HANDOVER_CANDIDATES = 3
"""Couriers nearest to a giver who are tried as takers."""


def _plan_handovers(
    live: LivePlan, sub: Problem, free: dict[str, Route], source: TravelSource, policy: ReplanPolicy, deadline: float
) -> tuple[dict[str, Route], tuple[Handover, ...]]:
    """Hand the parcels a courier on the road cannot deliver on time (late, or left out) to a
    nearby colleague who comes to meet them, when that makes the day better: lateness against
    the booked windows, stops left out, and both couriers' extra driving and waiting counted."""
    routes = dict(free)
    made: list[Handover] = []
    placed = {s for r in routes.values() for s in r.stop_ids}
    busy: set[str] = set()  # one meeting per courier per re-plan
    for giver in sub.couriers:
        if time.perf_counter() > deadline:
            break  # out of budget: the background improvement tries again with more
        if giver.id in busy:
            continue
        mine = {s for s, holder in live.loaded.items() if holder == giver.id and sub.has_stop(s)}
        if not mine:
            continue  # nothing on their van (yet): what they have is still at the hub
        # they meet where the giver will be next: the stop they are committed to, or where they are
        where = sub.stop_by_id(giver.fixed_prefix[-1]).location if giver.fixed_prefix else _start_of(sub, giver)
        timed = _timed_alone(sub, giver, list(routes[giver.id].stop_ids), source)
        late = [v.stop_id for v in timed.visits if v.late_s > 0 and v.stop_id in mine]
        late += sorted(s for s in mine if s not in placed)
        late = [s for s in late if s not in giver.fixed_prefix]
        if not late:
            continue
        others = [c for c in sub.couriers if c.id != giver.id and c.id not in busy]
        others.sort(key=lambda c: _distance2(_point(where), _point(_start_of(sub, c))))
        best: tuple[float, Route, Route, Handover] | None = None
        for taker in others[:HANDOVER_CANDIDATES]:
            trial = _try_handover(live, sub, giver, taker, routes, late, where, source, policy)
            if trial is not None and (best is None or trial[0] < best[0]):
                best = trial
        if best is None:
            continue
        _, giver_route, taker_route, handover = best
        routes[giver.id], routes[handover.taker] = giver_route, taker_route
        placed |= set(handover.stop_ids)
        busy |= {giver.id, handover.taker}
        made.append(handover)
    return routes, tuple(made)


def _try_handover(
    live: LivePlan,
    sub: Problem,
    giver: Courier,
    taker: Courier,
    routes: dict[str, Route],
    late: list[str],
    where: Location,
    source: TravelSource,
    policy: ReplanPolicy,
) -> tuple[float, Route, Route, Handover] | None:
    """(cost change, giver's route, taker's route, hand-over) if `taker` taking `late` helps."""
    assert live.problem.handover_s is not None
    carried = [sub.stop_by_id(s) for s in routes[taker.id].stop_ids]  # the taker's own parcels: in the capacity
    for d, cap in enumerate(taker.capacity):
        if sum(s.demand[d] for s in carried) + sum(live.problem.stop_by_id(s).demand[d] for s in late) > cap:
            return None
    giver_now = list(routes[giver.id].stop_ids)
    taker_now = list(routes[taker.id].stop_ids)
    before = _pair_cost(sub, [giver, taker], {giver.id: giver_now, taker.id: taker_now}, late, source, policy)
    # the taker comes right after what they are already committed to; then the parcels
    head = len(taker.fixed_prefix)
    probe = Handover(giver.id, taker.id, tuple(late), where, 0)
    _, take = probe.stops(live.problem.handover_s, len(sub.dimensions))
    with_take = _subproblem(sub, list(sub.couriers), [*sub.stops, take])
    taker_seq = [*taker_now[:head], take.id, *taker_now[head:]]
    for stop_id in late:
        options = [[*taker_seq[:pos], stop_id, *taker_seq[pos:]] for pos in range(head + 1, len(taker_seq) + 1)]
        taker_seq = min(options, key=lambda seq: _seq_cost(with_take, taker, seq, source, policy))
    met = _timed_alone(with_take, taker, taker_seq, source)
    handover = replace(probe, meet_s=next(v.arrival_s for v in met.visits if v.stop_id == take.id))
    give, take = handover.stops(live.problem.handover_s, len(sub.dimensions))
    if sub.has_stop(give.id) or sub.has_stop(take.id):
        return None  # an earlier meeting of the two at that very second: not a second one
    taker_seq = [take.id if s == probe.take_id else s for s in taker_seq]
    giver_seq = [*giver_now[: len(giver.fixed_prefix)], give.id]
    giver_seq += [s for s in giver_now[len(giver.fixed_prefix) :] if s not in late]
    both = _subproblem(sub, list(sub.couriers), [*sub.stops, give, take])
    after = _pair_cost(both, [giver, taker], {giver.id: giver_seq, taker.id: taker_seq}, [], source, policy)
    if after >= before:
        return None
    return after - before, Route(giver.id, tuple(giver_seq)), Route(taker.id, tuple(taker_seq)), handover


def _pair_cost(
    problem: Problem,
    couriers: list[Courier],
    routes: dict[str, list[str]],
    missing: list[str],
    source: TravelSource,
    policy: ReplanPolicy,
) -> float:
    placed = {s for seq in routes.values() for s in seq}
    left_out = sum(1 for s in missing if s not in placed)
    return DROP_PENALTY * left_out + sum(_seq_cost(problem, c, routes[c.id], source, policy) for c in couriers)


def _seq_cost(problem: Problem, courier: Courier, seq: list[str], source: TravelSource, policy: ReplanPolicy) -> float:
    """Lateness (booked windows and shift end), distance and working time of one route."""
    timed = _timed_alone(problem, courier, seq, source)
    overtime = max(0, timed.end_s - courier.shift_end_s)
    return policy.lateness_cost_per_s * (timed.late_s + overtime) + timed.distance_m + timed.duration_s


def _timed_alone(problem: Problem, courier: Courier, seq: list[str], source: TravelSource) -> RouteSchedule:
    # timing only: any van will do, whatever room it has left
    stops = [replace(problem.stop_by_id(s), parcel_on=None) for s in seq]
    part = _subproblem(problem, [_roomy(replace(courier, fixed_prefix=()), stops)], stops)
    return schedule_route(part, source.matrix(part), 0, seq)


def _start_of(problem: Problem, courier: Courier) -> Location:
    if courier.start_at is not None:
        return courier.start_at
    return problem.depots[problem.depot_node(courier.start_depot)].location


def _point(where: Location) -> tuple[float, float]:
    return (where.lat, where.lon)


MIN_GROUP_S = 0.2
"""Below this a neighbourhood's search cannot improve anything; later ones are skipped."""
GROUP_SHARE_S = 0.4
"""Each neighbourhood gets at least this much of the budget (worst first)."""

DROP_PENALTY = 100_000_000
"""Cost of leaving a stop out of the on-time plan: above any detour, so OR-Tools serves
as many customers on time as it can before minimising distance."""


def _repair_group(
    part: Problem, current: tuple[Route, ...], source: TravelSource, policy: ReplanPolicy, budget_s: float
) -> tuple[Route, ...] | None:
    """Re-plan one neighbourhood: most customers on time first, then least lateness.

    1. OR-Tools with *hard* windows and every free stop droppable, warm-started from the
       current routes without their late stops: as many stops on time as possible, then
       the shortest distance. (Soft window ends would say the same in one model, but any
       soft bound slows OR-Tools' local search about a hundredfold on these models:
       measured ~500 against ~50,000 moves a second.)
    2. Every stop that cannot be on time goes back where it makes the least lateness
       (plus detour), each insertion timed exactly by `schedule_route`.
    """
    began = time.perf_counter()
    matrix = source.matrix(part)
    prefix = {s for c in part.couriers for s in c.fixed_prefix}
    bounded = policy.iterations is not None
    relaxed = _subproblem(
        part,
        list(part.couriers),
        [
            replace(s, windows=(TimeWindow(s.earliest_s, max(s.latest_s, _HORIZON_CAP)),), penalty=None)
            if s.id in prefix
            else replace(s, penalty=DROP_PENALTY)
            for s in part.stops
        ],
    )
    timed_now = {
        r.courier_id: schedule_route(relaxed, matrix, i, r.stop_ids)
        for i, r in enumerate(_in_courier_order(relaxed, current))
    }
    on_time = tuple(
        Route(cid, tuple(v.stop_id for v in timed.visits if v.late_s == 0 or v.stop_id in prefix))
        for cid, timed in timed_now.items()
    )
    params = SolveParams(
        time_limit_s=budget_s if bounded else max(budget_s * 0.8, 0.05),
        iterations=policy.iterations,
        seed=policy.seed,
        engine="ortools",
        move_cost=policy.move_cost if policy.warm_start else 0,
        warm_start=on_time if policy.warm_start else (),
    )
    solution = solve(relaxed, matrix, params)
    if not solution.feasible:
        return None
    index = {c.id: i for i, c in enumerate(part.couriers)}
    deadline = float("inf") if bounded else began + budget_s
    original_eta = {v.stop_id: v.start_s for timed in timed_now.values() for v in timed.visits}
    served = {r.courier_id: list(r.stop_ids) for r in solution.routes}
    placed = {s for seq in served.values() for s in seq}
    left = [s for s in part.stops if s.id not in placed]
    candidates = [{r.courier_id: list(r.stop_ids) for r in _in_courier_order(relaxed, current)}]
    for order in (
        sorted(left, key=lambda s: s.latest_s),
        sorted(left, key=lambda s: original_eta.get(s.id, s.latest_s)),
    ):
        if time.perf_counter() > deadline:
            break
        candidates.append(_insert_all(relaxed, part, matrix, index, served, order, policy, deadline))

    def total(routes: dict[str, list[str]]) -> float:
        missing = len(part.stops) - sum(len(seq) for seq in routes.values())
        return DROP_PENALTY * missing + sum(
            _late_cost(relaxed, matrix, index[cid], seq, part, policy) for cid, seq in routes.items()
        )

    best = min(candidates, key=total)
    return tuple(Route(cid, tuple(seq)) for cid, seq in best.items())


def _insert_all(
    relaxed: Problem,
    part: Problem,
    matrix: TravelMatrix,
    index: dict[str, int],
    served: dict[str, list[str]],
    order: list[Stop],
    policy: ReplanPolicy,
    deadline: float,
) -> dict[str, list[str]]:
    """Put each stop of `order`, in turn, where it adds the least lateness and detour."""
    routes = {cid: list(seq) for cid, seq in served.items()}
    cost = {cid: _late_cost(relaxed, matrix, index[cid], seq, part, policy) for cid, seq in routes.items()}
    for stop in order:
        best: tuple[float, str, int] | None = None
        for cid, seq in routes.items():
            courier = part.couriers[index[cid]]
            if not part.can_serve(courier, stop):
                continue  # its parcel is on another van, or it needs a skill they lack
            start = len(courier.fixed_prefix)
            for pos in range(start, len(seq) + 1):
                trial = [*seq[:pos], stop.id, *seq[pos:]]
                trial_stops = [part.stop_by_id(s) for s in trial]
                peak = peak_load(trial_stops, len(part.dimensions))
                if any(carried > cap for carried, cap in zip(peak, courier.capacity)):
                    continue
                if courier.loaded_only and any(trip_deliveries(trial_stops, 0, len(part.dimensions))):
                    continue  # out on a trip: a parcel from the hub comes after a reload
                delta = _late_cost(relaxed, matrix, index[cid], trial, part, policy) - cost[cid]
                if best is None or delta < best[0]:
                    best = (delta, cid, pos)
            if time.perf_counter() > deadline and best is not None:
                break
        if best is None:
            continue  # fits nowhere: it stays out, with a call
        _, cid, pos = best
        routes[cid].insert(pos, stop.id)
        cost[cid] = _late_cost(relaxed, matrix, index[cid], routes[cid], part, policy)
    return routes


_HORIZON_CAP = 10 * 24 * 3600


def _in_courier_order(problem: Problem, routes: tuple[Route, ...]) -> list[Route]:
    by_id = {r.courier_id: r for r in routes}
    return [by_id.get(c.id, Route(c.id, ())) for c in problem.couriers]


def _late_cost(
    relaxed: Problem, matrix: TravelMatrix, courier_index: int, seq: list[str], part: Problem, policy: ReplanPolicy
) -> float:
    """Lateness against the *booked* windows (not the relaxed ones) plus distance."""
    timed = schedule_route(relaxed, matrix, courier_index, seq)
    late = 0
    for visit in timed.visits:
        booked = part.stop_by_id(visit.stop_id).window_for(visit.arrival_s)
        late += max(0, visit.start_s - booked.end_s)
    overtime = max(0, timed.end_s - relaxed.couriers[courier_index].shift_end_s)
    return policy.lateness_cost_per_s * (late + overtime) + timed.distance_m


def neighbourhoods(
    problem: Problem, routes: tuple[Route, ...], seeds: list[str], policy: ReplanPolicy
) -> list[list[str]]:
    """Groups of couriers to re-optimize together: each seed with its nearest colleagues."""
    centre = {r.courier_id: _centroid(problem, r) for r in routes}
    size = {r.courier_id: len(r.stop_ids) for r in routes}
    pool = [r.courier_id for r in routes]
    groups: list[list[str]] = []
    for seed in seeds:
        if seed not in pool:
            continue
        pool.remove(seed)
        group, stops = [seed], size[seed]
        here = centre[seed]
        for other in sorted(pool, key=lambda c: _distance2(here, centre[c])):
            if len(group) >= policy.max_couriers or stops + size[other] > policy.max_stops:
                break
            group.append(other)
            stops += size[other]
        for member in group[1:]:
            pool.remove(member)
        groups.append(group)
    return groups


def _nearest_courier(stop: Stop, problem: Problem, routes: tuple[Route, ...]) -> str | None:
    """The courier with room for `stop` whose stops (or start) lie nearest to it."""
    point = (stop.location.lat, stop.location.lon)
    fitting = [r for r in routes if _fits(stop, [problem.courier_by_id(r.courier_id)])]  # its van, if loaded
    if not fitting:
        return None
    return min(fitting, key=lambda r: _distance2(point, _centroid(problem, r))).courier_id


def _centroid(problem: Problem, route: Route) -> tuple[float, float]:
    courier = problem.courier_by_id(route.courier_id)
    points = [problem.stop_by_id(s).location for s in route.stop_ids]
    if courier.start_at is not None:
        points.append(courier.start_at)
    if not points:
        points = [problem.depots[problem.depot_node(courier.start_depot)].location]
    return (sum(p.lat for p in points) / len(points), sum(p.lon for p in points) / len(points))


def _distance2(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _nearest_group(stop: Stop, groups: list[list[str]], problem: Problem, routes: tuple[Route, ...]) -> int:
    """The group nearest to `stop`; the one with its van for a loaded parcel (-1: none)."""
    if stop.parcel_on is not None:
        return next((k for k, group in enumerate(groups) if stop.parcel_on in group), -1)
    by_id = {r.courier_id: r for r in routes}
    point = (stop.location.lat, stop.location.lon)
    best, best_d = -1, float("inf")
    for k, group in enumerate(groups):
        for courier_id in group:
            d = _distance2(point, _centroid(problem, by_id[courier_id]))
            if d < best_d:
                best, best_d = k, d
    return best


def schedule_of(day: DayState) -> Schedule:
    """The re-timed routes as a plain `Schedule` (for figures)."""
    return Schedule(tuple(c.timed for c in day.couriers))
