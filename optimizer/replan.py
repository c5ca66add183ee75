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

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from optimizer.engines import solve
from optimizer.model import Break, Courier, Location, Problem, Stop, TimeWindow
from optimizer.params import SolveParams
from optimizer.schedule import RouteSchedule, Schedule, VisitTiming, schedule_route
from optimizer.solution import Route, Unassigned
from optimizer.travel.matrix import TravelMatrix, TravelSource

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
    timed: RouteSchedule

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
    """Time one courier's route from what they reported, presuming the plan in between."""
    courier = problem.couriers[index]
    progress = live.progress_of(courier.id)
    stops = [s for s in route.stop_ids if problem.has_stop(s)]
    last = max((i for i, s in enumerate(stops) if progress.served(s)), default=-1)
    visits: list[LiveVisit] = []
    anchor: Location | None = courier.start_at
    anchor_s = courier.ready_s
    for stop_id in stops[: last + 1]:
        stop = problem.stop_by_id(stop_id)
        when = progress.done.get(stop_id, progress.failed.get(stop_id))
        reported: VisitStatus = (
            "done" if stop_id in progress.done else "failed" if stop_id in progress.failed else "presumed"
        )
        eta = (when - stop.service_s) if when is not None else anchor_s
        window = stop.window_for(eta)
        visits.append(LiveVisit(stop_id, reported, eta, max(0, eta - window.end_s), window, None))
        anchor, anchor_s = stop.location, max(anchor_s, when if when is not None else anchor_s)
    replanned = live.anchors.get(courier.id)
    heading = False  # on the road: the stop they were driving to stays first
    if replanned is not None and replanned.locked - 1 >= last and replanned.at_s >= anchor_s:
        timed_before = {sid: (eta, late) for sid, eta, late in replanned.presumed}
        for stop_id in stops[last + 1 : replanned.locked]:
            eta, late = timed_before.get(stop_id, (replanned.at_s, 0))
            window = problem.stop_by_id(stop_id).window_for(eta)
            visits.append(LiveVisit(stop_id, "presumed", eta, late, window, None))
        last = replanned.locked - 1
        anchor = replanned.position if replanned.position is not None else courier.start_at
        anchor_s, heading = replanned.at_s, replanned.heading
    if progress.position is not None and progress.position[1] >= anchor_s:
        anchor, anchor_s = progress.position
        heading = True
    rest = stops[last + 1 :]

    def time_from(place: Location | None, ready: int, sequence: list[str]) -> tuple[Courier, RouteSchedule]:
        moved = place is not courier.start_at or ready != courier.ready_s
        timed_courier = replace(
            courier,
            start_at=place if moved else courier.start_at,
            available_s=ready if moved else courier.available_s,
            breaks=_breaks_left(courier.breaks, ready),
            fixed_prefix=(),
        )
        sub = _subproblem(problem, [timed_courier], [problem.stop_by_id(s) for s in sequence])
        return timed_courier, schedule_route(sub, source_matrix(sub), 0, sequence)

    hold = progress.hold
    if hold is not None and hold.until_s > anchor_s:
        # Stops the plan starts before the hold are served as planned; the rest shift.
        _, unheld = time_from(anchor, anchor_s, rest)
        served_first = [v for v in unheld.visits if v.start_s < hold.at_s]
        for v in served_first:
            visits.append(LiveVisit(v.stop_id, "presumed", v.start_s, v.late_s, v.window, v))
        delay = hold.until_s - max(hold.at_s, anchor_s)
        if hold.position is not None:
            anchor, anchor_s = hold.position, hold.until_s
        elif served_first:
            last_served = served_first[-1]
            anchor = problem.stop_by_id(last_served.stop_id).location
            anchor_s = last_served.departure_s + delay  # held in service or on the next leg
            heading = hold.at_s >= last_served.departure_s
        elif hold.at_s <= unheld.start_s:
            anchor_s = max(anchor_s, hold.until_s)
        else:
            anchor_s = unheld.start_s + delay
            heading = True
        rest = rest[len(served_first) :]
    timed_courier, timed = time_from(anchor, anchor_s, rest)
    started = [v for v in timed.visits if v.start_s < live.now_s]
    departed = timed.start_s < live.now_s or heading
    for k, v in enumerate(timed.visits):
        if k < len(started):
            status: VisitStatus = "presumed"
        elif k == len(started) and departed:
            status = "next"
        else:
            status = "ahead"
        visits.append(LiveVisit(v.stop_id, status, v.start_s, v.late_s, v.window, v))
    start_at, available_s = timed_courier.start_at, timed_courier.available_s
    if started:
        start_at = problem.stop_by_id(started[-1].stop_id).location
        available_s = started[-1].departure_s
    next_stop = next((v.stop_id for v in visits if v.status == "next"), None)
    remaining_breaks = tuple(
        b for b in timed_courier.breaks if not any(t.break_id == b.id and t.start_s < live.now_s for t in timed.breaks)
    )
    return CourierState(courier.id, tuple(visits), start_at, available_s, next_stop, remaining_breaks, timed)


def _breaks_left(breaks: tuple[Break, ...], from_s: int) -> tuple[Break, ...]:
    """Breaks that can still start at or after `from_s` (later ones keep their window)."""
    return tuple(b for b in breaks if b.latest_start_s >= from_s)


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


def _subproblem(problem: Problem, couriers: list[Courier], stops: list[Stop]) -> Problem:
    return replace(problem, couriers=tuple(couriers), stops=tuple(stops))


def retime_courier(live: LivePlan, day: DayState, courier_id: str, source: TravelSource) -> DayState:
    """`day` with one courier re-timed: a report changes only its sender's timeline. The
    others keep their timing; their statuses may lag the clock, which only a re-optimization
    reads, and it re-times everyone first."""
    matrices = _MatrixFor(source)
    index = next(i for i, c in enumerate(live.problem.couriers) if c.id == courier_id)
    route = next((r for r in live.routes if r.courier_id == courier_id), Route(courier_id, ()))
    fresh = courier_state(live.problem, matrices, index, route, live)
    couriers = tuple(fresh if c.courier_id == courier_id else c for c in day.couriers)
    return DayState(couriers, live.unassigned, live.now_s)


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


def remaining_problem(
    live: LivePlan, day: DayState, policy: ReplanPolicy | None = None
) -> tuple[Problem, tuple[Route, ...]]:
    """The problem still open at `now`: free stops, couriers starting where they are.

    Returns the problem and the current free sequences as a warm start.
    """
    policy = policy or ReplanPolicy(model_breaks=True)
    problem = live.problem
    couriers = []
    warm = []
    free: list[Stop] = []
    for courier, state in zip(problem.couriers, day.couriers):
        ahead = state.ahead
        free.extend(problem.stop_by_id(s) for s in ahead)
        available = state.available_s
        if state.next_stop is None:
            available = max(courier.ready_s if available is None else available, live.now_s)
        # parcels are loaded at the depot: what the locked stops take stays on this route
        locked = [problem.stop_by_id(v.stop_id) for v in state.visits if v.status in ("done", "failed", "presumed")]
        capacity = tuple(max(0, cap - sum(stop.demand[d] for stop in locked)) for d, cap in enumerate(courier.capacity))
        couriers.append(
            replace(
                courier,
                capacity=capacity,
                start_at=state.start_at,
                available_s=available,
                breaks=state.breaks_left if policy.model_breaks else (),
                fixed_prefix=(state.next_stop,) if state.next_stop else (),
            )
        )
        warm.append(Route(courier.id, ahead))
    served = {v.stop_id for c in day.couriers for v in c.visits}
    free.extend(s for s in problem.stops if s.id not in served and _fits(s, couriers))
    return _subproblem(problem, couriers, free), tuple(warm)


def _fits(stop: Stop, couriers: list[Courier]) -> bool:
    """Some courier still has room for the stop's demand."""
    return any(all(d <= c for d, c in zip(stop.demand, courier.capacity)) for courier in couriers)


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
    sub, warm = remaining_problem(live, day, policy)
    lateness = {c.courier_id: sum(v.late_s for v in c.visits if v.status != "done") for c in day.couriers}
    seeds = sorted(focus or {c.courier_id for c in day.couriers if c.late_stops}, key=lambda c: -lateness.get(c, 0))
    groups = neighbourhoods(sub, warm, seeds, policy)
    free = {r.courier_id: r for r in warm}
    assigned = {s for r in warm for s in r.stop_ids}
    loose = [s for s in sub.stops if s.id not in assigned]
    new_routes = dict(free)
    unassigned: list[Unassigned] = [u for u in live.unassigned if not any(u.stop_id == s.id for s in loose)]
    for k, group in enumerate(groups):
        members = set(group)
        couriers = [c for c in sub.couriers if c.id in members]
        stops = [sub.stop_by_id(s) for cid in group for s in free[cid].stop_ids]
        stops += [s for s in loose if _nearest_group(s, groups, sub, warm) == k and _fits(s, couriers)]
        left_s = policy.time_limit_s - (time.perf_counter() - began)
        if left_s < MIN_GROUP_S and k > 0:
            break  # the worst neighbourhoods came first; the rest keep their routes
        share = min(left_s, max(left_s / (len(groups) - k), GROUP_SHARE_S))
        routes_k = _repair_group(
            _subproblem(sub, couriers, stops), tuple(free[cid] for cid in group), source, policy, max(share, 0.05)
        )
        if routes_k is None:
            continue  # keep the group's routes as they were
        for route in routes_k:
            new_routes[route.courier_id] = route
    routes = []
    anchors = dict(live.anchors)
    starts = {c.id: c for c in sub.couriers}
    for state in day.couriers:
        locked = tuple(v.stop_id for v in state.visits if v.status in ("done", "failed", "presumed"))
        routes.append(Route(state.courier_id, locked + new_routes[state.courier_id].stop_ids))
        start = starts[state.courier_id]
        presumed = tuple((v.stop_id, v.eta_s, v.late_s) for v in state.visits if v.status == "presumed")
        anchors[state.courier_id] = Anchor(
            len(locked), start.start_at, start.ready_s, bool(start.fixed_prefix), presumed
        )
    placed_anywhere = {s for r in routes for s in r.stop_ids}
    still_out = {u.stop_id: u for u in unassigned if u.stop_id not in placed_anywhere}
    for s in (*loose, *(x for x in live.problem.stops if not sub.has_stop(x.id))):
        if s.id not in placed_anywhere and s.id not in still_out:
            still_out[s.id] = Unassigned(s.id, "no courier near it has time or room left for it")
    return replace(live, routes=tuple(routes), unassigned=tuple(still_out.values()), anchors=anchors)


def hand_over(live: LivePlan, stop_id: str, courier_id: str) -> LivePlan:
    """The plan with `stop_id` on `courier_id`'s route, right after what they have done: for a
    courier who reports serving a stop the plan gave someone else (a re-optimization they had
    not fetched yet) or left out. What they did stands; the plan follows."""
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
            behind = max((i + 1 for i, s in enumerate(route.stop_ids) if progress.served(s)), default=0)
            anchor = anchors.get(courier_id)
            at = max(behind, anchor.locked if anchor is not None else 0)
            route = replace(route, stop_ids=(*route.stop_ids[:at], stop_id, *route.stop_ids[at:]))
        routes.append(route)
    unassigned = tuple(u for u in live.unassigned if u.stop_id != stop_id)
    return replace(live, routes=tuple(routes), unassigned=unassigned, anchors=anchors)


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
    unassigned = tuple(u for u in better.unassigned if latest.problem.has_stop(u.stop_id))
    placed = [s for r in routes for s in r.stop_ids] + [u.stop_id for u in unassigned]
    if len(placed) != len(set(placed)) or set(placed) != {s.id for s in latest.problem.stops}:
        return None
    return replace(latest, routes=tuple(routes), unassigned=unassigned, anchors=anchors)


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
        time_limit_s=max(budget_s * 0.8, 0.05),
        seed=policy.seed,
        engine="ortools",
        move_cost=policy.move_cost if policy.warm_start else 0,
        warm_start=on_time if policy.warm_start else (),
    )
    solution = solve(relaxed, matrix, params)
    if not solution.feasible:
        return None
    index = {c.id: i for i, c in enumerate(part.couriers)}
    deadline = began + budget_s
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
    load = {
        cid: [sum(part.stop_by_id(s).demand[d] for s in seq) for d in range(len(part.dimensions))]
        for cid, seq in routes.items()
    }
    for stop in order:
        best: tuple[float, str, int] | None = None
        for cid, seq in routes.items():
            capacity = part.couriers[index[cid]].capacity
            if any(have + need > cap for have, need, cap in zip(load[cid], stop.demand, capacity)):
                continue
            start = 1 if part.courier_by_id(cid).fixed_prefix else 0
            for pos in range(start, len(seq) + 1):
                trial = [*seq[:pos], stop.id, *seq[pos:]]
                delta = _late_cost(relaxed, matrix, index[cid], trial, part, policy) - cost[cid]
                if best is None or delta < best[0]:
                    best = (delta, cid, pos)
            if time.perf_counter() > deadline and best is not None:
                break
        if best is None:
            continue  # fits nowhere: it stays out, with a call
        _, cid, pos = best
        routes[cid].insert(pos, stop.id)
        load[cid] = [have + need for have, need in zip(load[cid], stop.demand)]
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
