"""Re-time fixed routes: ETAs, waits, lateness, breaks, loads and violations.

`schedule()` is pure and knows nothing of engines: it times any routes, solved or edited
by hand (VROOM's "plan mode"). It is the service's fast path after a delay report, so it is
plain integer arithmetic over the route, a few microseconds per stop.

Rules, in the dispatcher's words:
- a courier leaves their start at `ready_s`; leaving a depot for a first stop that is not
  open yet, they leave late enough not to wait there;
- arriving before a window opens, they wait; service starts in the first window not yet
  closed on arrival, else in the last one, late;
- a break is taken before a leg when it fits in waiting that would happen anyway, or when
  putting it off past the next stop would pass its latest start; a break not taken by the
  route's end is taken before the drive home;
- at a reload (`Route.reloads`) the courier drives back to their start depot, unloads the
  pickups and loads the next trip's deliveries in `reload_s`; the van leaves each trip with
  that trip's deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from optimizer.model import HORIZON_S, Break, Courier, Problem, Stop, TimeWindow, trip_deliveries
from optimizer.solution import Route
from optimizer.travel.matrix import TravelMatrix

ViolationKind = Literal["late", "capacity", "shift_end", "break_late", "unknown_stop", "skill"]


@dataclass(frozen=True, slots=True)
class Violation:
    """Why a plan is not as booked: what, where, by how much (seconds or units)."""

    kind: ViolationKind
    courier_id: str
    stop_id: str | None
    amount: int
    message: str


@dataclass(frozen=True, slots=True)
class VisitTiming:
    stop_id: str
    arrival_s: int
    start_s: int
    wait_s: int
    late_s: int
    departure_s: int
    window: TimeWindow
    load_on_arrival: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class BreakTiming:
    break_id: str
    start_s: int
    end_s: int


@dataclass(frozen=True, slots=True)
class ReloadTiming:
    """A stop at the depot between trips: before the `before`-th stop of the route."""

    before: int
    arrival_s: int
    departure_s: int


@dataclass(frozen=True, slots=True)
class RouteSchedule:
    courier_id: str
    start_s: int
    end_s: int
    visits: tuple[VisitTiming, ...]
    breaks: tuple[BreakTiming, ...]
    distance_m: int
    travel_s: int
    wait_s: int
    late_s: int
    load: tuple[int, ...]
    violations: tuple[Violation, ...]
    reloads: tuple[ReloadTiming, ...] = ()

    @property
    def duration_s(self) -> int:
        return self.end_s - self.start_s

    @property
    def late_stops(self) -> int:
        return sum(1 for v in self.visits if v.late_s > 0)


@dataclass(frozen=True, slots=True)
class Schedule:
    routes: tuple[RouteSchedule, ...]

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)

    @property
    def late_s(self) -> int:
        return sum(r.late_s for r in self.routes)

    @property
    def late_stops(self) -> int:
        return sum(r.late_stops for r in self.routes)

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(v for r in self.routes for v in r.violations)

    @property
    def visits(self) -> dict[str, VisitTiming]:
        return {v.stop_id: v for r in self.routes for v in r.visits}

    def route(self, courier_id: str) -> RouteSchedule:
        for route in self.routes:
            if route.courier_id == courier_id:
                return route
        raise KeyError(courier_id)


def schedule(problem: Problem, matrix: TravelMatrix, routes: Iterable[Route]) -> Schedule:
    """Time every given route; couriers without a route are not listed."""
    courier_index = {c.id: i for i, c in enumerate(problem.couriers)}
    timed = []
    for route in routes:
        if route.courier_id not in courier_index:
            raise KeyError(f"unknown courier {route.courier_id!r}")
        timed.append(schedule_route(problem, matrix, courier_index[route.courier_id], route.stop_ids, route.reloads))
    return Schedule(tuple(timed))


def schedule_route(
    problem: Problem,
    matrix: TravelMatrix,
    courier_index: int,
    stop_ids: tuple[str, ...] | list[str],
    reloads: tuple[int, ...] = (),
) -> RouteSchedule:
    """Time one courier's stop sequence, going back to reload before the stops at `reloads`."""
    courier = problem.couriers[courier_index]
    durations = matrix.leg_durations(courier.profile)
    speed = matrix.speed
    distances = matrix.distances_m
    violations: list[Violation] = []
    stops: list[Stop] = []
    sequence: list[Stop | None] = []  # None: a reload at the depot
    for position, stop_id in enumerate(stop_ids):
        if position in reloads and stops:
            sequence.append(None)
        if not problem.has_stop(stop_id):
            violations.append(Violation("unknown_stop", courier.id, stop_id, 0, f"unknown stop {stop_id!r}"))
            continue
        stop = problem.stop_by_id(stop_id)
        if not stop.skills <= courier.skills:
            missing = ", ".join(sorted(stop.skills - courier.skills))
            violations.append(Violation("skill", courier.id, stop_id, 0, f"the courier lacks {missing}"))
        stops.append(stop)
        sequence.append(stop)
    nodes = [problem.stop_node(s.id) for s in stops]
    start_node = problem.start_node(courier_index)
    depot_node = problem.depot_node(courier.start_depot)
    dims = len(problem.dimensions)
    reload_stop = Stop("reload", problem.depots[depot_node].location, (TimeWindow(0, HORIZON_S),), courier.reload_s)
    load = list(trip_deliveries(sequence, 0, dims))

    t = courier.ready_s
    if stops and courier.start_at is None and not courier.breaks:
        first = int(durations[start_node, nodes[0]])
        t = max(t, stops[0].earliest_s - first if speed is None else speed.depart_by(first, stops[0].earliest_s))
    start_s = t
    pending: list[Break] = sorted(courier.breaks, key=lambda b: b.earliest_start_s)
    taken: list[BreakTiming] = []
    visits: list[VisitTiming] = []
    node = start_node
    distance = travel = waited = late_total = 0
    on_board = list(load)
    peak = list(load)
    reloaded: list[ReloadTiming] = []

    for k, item in enumerate(sequence):
        stop = reload_stop if item is None else item
        stop_node = depot_node if item is None else problem.stop_node(stop.id)
        free = int(durations[node, stop_node])
        leg = free
        while pending:
            brk = pending[0]
            brk_start = max(t, brk.earliest_start_s)
            if speed is not None:
                leg = speed.travel_s(free, t)
            arrival = t + leg
            window = stop.window_for(arrival)
            resume = brk_start + brk.duration_s
            fits_in_wait = resume + (leg if speed is None else speed.travel_s(free, resume)) <= window.start_s
            next_chance = max(arrival, window.start_s) + stop.service_s
            if brk_start <= brk.latest_start_s and (fits_in_wait or next_chance > brk.latest_start_s):
                t = _take(brk, brk_start, taken, courier, violations)
                pending.pop(0)
            elif brk_start > brk.latest_start_s:
                t = _take(brk, t, taken, courier, violations)
                pending.pop(0)
            else:
                break
        if speed is not None:
            leg = speed.travel_s(free, t)
        arrival = t + leg
        if item is None:  # unload the pickups, load the next trip
            reloaded.append(ReloadTiming(len(visits), arrival, arrival + courier.reload_s))
            on_board = list(trip_deliveries(sequence, k + 1, dims))
            peak = [max(p, b) for p, b in zip(peak, on_board)]
            distance += int(distances[node, stop_node])
            travel += leg
            t = arrival + courier.reload_s
            node = stop_node
            continue
        window = stop.window_for(arrival)
        start = max(arrival, window.start_s)
        late = max(0, start - window.end_s)
        if late:
            violations.append(
                Violation("late", courier.id, stop.id, late, f"service starts {late}s after the window ends")
            )
        visits.append(
            VisitTiming(stop.id, arrival, start, start - arrival, late, start + stop.service_s, window, tuple(on_board))
        )
        for d in range(dims):
            on_board[d] += stop.pickup[d] - stop.delivery[d]
        if stop.is_reload:  # a reload visit of the live day: unload, load the next trip
            on_board = list(trip_deliveries(sequence, k + 1, dims))
        peak = [max(p, b) for p, b in zip(peak, on_board)]
        distance += int(distances[node, stop_node])
        travel += leg
        waited += start - arrival
        late_total += late
        t = start + stop.service_s
        node = stop_node

    for brk in pending:
        t = _take(brk, max(t, brk.earliest_start_s) if t <= brk.latest_start_s else t, taken, courier, violations)
    end_node = problem.end_node(courier_index)
    leg = int(durations[node, end_node])
    if speed is not None:
        leg = speed.travel_s(leg, t)
    end_s = t + leg
    distance += int(distances[node, end_node])
    travel += leg
    if end_s > courier.shift_end_s:
        over = end_s - courier.shift_end_s
        violations.append(Violation("shift_end", courier.id, None, over, f"back {over}s after the shift ends"))
    for d, (carried, capacity) in enumerate(zip(peak, courier.capacity)):
        if carried > capacity:
            name = problem.dimensions[d]
            violations.append(
                Violation(
                    "capacity", courier.id, None, carried - capacity, f"carries {carried} {name}, capacity {capacity}"
                )
            )
    return RouteSchedule(
        courier.id,
        start_s,
        end_s,
        tuple(visits),
        tuple(taken),
        distance,
        travel,
        waited,
        late_total,
        tuple(load),
        tuple(violations),
        tuple(reloaded),
    )


def _take(brk: Break, start: int, taken: list[BreakTiming], courier: Courier, violations: list[Violation]) -> int:
    taken.append(BreakTiming(brk.id, start, start + brk.duration_s))
    if start > brk.latest_start_s:
        over = start - brk.latest_start_s
        violations.append(Violation("break_late", courier.id, None, over, f"break {brk.id} starts {over}s late"))
    return start + brk.duration_s
