"""OR-Tools routing: the full-featured engine, used for replanning a disrupted day.

Models several windows per stop (cumul range with the gaps removed), soft window ends
(a cost per second late), breaks (interval variables on the time dimension), droppable
stops (disjunctions with the stop's penalty), couriers starting at a position and time,
fixed prefixes (the stop a courier is driving to), warm starts from given routes, and a
cost for splitting a courier's warm-start stops across couriers. Trips: each courier who may
reload gets `max_trips - 1` optional reload nodes of their own at their depot (`reload_s` of
service). Pickups and trips: the van's load is a signed dimension (a pickup adds, a delivery
takes off, a reload sets it anew) kept at least the deliveries still aboard on the trip (a
second dimension, which is zero at each trip's end), so capacity holds at every point and
each trip leaves with its own deliveries (`_add_loads`). Skills and loaded parcels
restrict a stop's vehicle variable. Each courier's costs price their arcs and route span;
lateness and move costs are in metres of driving, scaled by `Problem.metre_cost` (and each
stop's lateness by its priority).

Configured as a competent user would: parallel cheapest insertion for the first solution
(the default strategy finds nothing on r101 in 5 s) and guided local search after it.
Matrices go in through `RegisterTransitMatrix`, so no Python runs inside the search.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimizer.engines.base import (
    BREAKS,
    FIXED_PREFIX,
    LOADED_ONLY,
    LOADED_PARCELS,
    MULTIPLE_WINDOWS,
    OPTIONAL_STOPS,
    PICKUPS,
    RELOAD_STOPS,
    SKILLS,
    SOFT_WINDOWS,
    START_POSITIONS,
    TRIPS,
    WARM_START,
)
from optimizer.engines.reasons import with_reasons
from optimizer.model import HORIZON_S, Problem
from optimizer.params import SolveParams
from optimizer.solution import Route, Solution
from optimizer.travel.matrix import TravelMatrix


class ORToolsEngine:
    name = "ortools"
    features = frozenset(
        {
            MULTIPLE_WINDOWS,
            BREAKS,
            OPTIONAL_STOPS,
            START_POSITIONS,
            FIXED_PREFIX,
            SOFT_WINDOWS,
            WARM_START,
            LOADED_PARCELS,
            PICKUPS,
            SKILLS,
            TRIPS,
            RELOAD_STOPS,
            LOADED_ONLY,
        }
    )

    def solve(self, problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution:
        began = time.perf_counter()
        n_couriers = len(problem.couriers)
        starts = [problem.start_node(i) for i in range(n_couriers)]
        ends = [problem.end_node(i) for i in range(n_couriers)]
        # reload nodes follow the matrix's nodes, each standing on its courier's depot
        reload_of = [v for v, c in enumerate(problem.couriers) for _ in range(c.max_trips - 1)]
        place = np.concatenate(
            [
                np.arange(matrix.size),
                np.array([problem.depot_node(problem.couriers[v].start_depot) for v in reload_of], dtype=np.int64),
            ]
        ).astype(np.int64)
        size = len(place)
        distances = matrix.distances_m[np.ix_(place, place)] if reload_of else matrix.distances_m
        manager = pywrapcp.RoutingIndexManager(size, n_couriers, starts, ends)
        routing = pywrapcp.RoutingModel(manager)
        stop_offset = len(problem.depots)
        service = np.zeros(size, dtype=np.int64)
        service[stop_offset : stop_offset + len(problem.stops)] = [s.service_s for s in problem.stops]
        service[matrix.size :] = [problem.couriers[v].reload_s for v in reload_of]
        reload_nodes = []
        for k, v in enumerate(reload_of):
            index = manager.NodeToIndex(matrix.size + k)
            routing.AddDisjunction([index], 0)
            routing.VehicleVar(index).SetValues([-1, v])
            reload_nodes.append(index)
        # the live day's reloads are stops (optional, bound to their courier): reload nodes too
        reload_nodes += [manager.NodeToIndex(problem.stop_node(s.id)) for s in problem.stops if s.is_reload]

        # Nodes that are neither stops nor anyone's start or end: depots nobody uses. They are
        # never visited (a free pass through one would put a non-stop into a route).
        endpoints = set(starts) | set(ends)
        for node in range(stop_offset):
            if node not in endpoints:
                unused = manager.NodeToIndex(node)
                routing.AddDisjunction([unused], 0)
                routing.ActiveVar(unused).SetValue(0)

        arc_costs: dict[int, int] = {}
        for v, courier in enumerate(problem.couriers):
            if courier.cost_per_m not in arc_costs:
                priced = (distances * courier.cost_per_m).tolist()
                arc_costs[courier.cost_per_m] = routing.RegisterTransitMatrix(priced)
            routing.SetArcCostEvaluatorOfVehicle(arc_costs[courier.cost_per_m], v)
        late_cost = None if params.lateness_cost_per_s is None else params.lateness_cost_per_s * problem.metre_cost

        horizon = _horizon(problem)
        time_callbacks = {
            profile: routing.RegisterTransitMatrix(
                (np.asarray(matrix.durations(profile))[np.ix_(place, place)] + service[:, None]).tolist()
            )
            for profile in problem.profiles
        }
        routing.AddDimensionWithVehicleTransits(
            [time_callbacks[c.profile] for c in problem.couriers], horizon, horizon, False, "time"
        )
        time_dim = routing.GetDimensionOrDie("time")
        for v, courier in enumerate(problem.couriers):
            if courier.cost_per_s:
                time_dim.SetSpanCostCoefficientForVehicle(courier.cost_per_s, v)

        _add_loads(problem, manager, routing, size, reload_nodes)

        fixed = {s for c in problem.couriers for s in c.fixed_prefix}
        for stop in problem.stops:
            index = manager.NodeToIndex(problem.stop_node(stop.id))
            cumul = time_dim.CumulVar(index)
            if late_cost is None:
                cumul.SetRange(stop.earliest_s, stop.latest_s)
            else:
                cumul.SetRange(stop.earliest_s, horizon)
                time_dim.SetCumulVarSoftUpperBound(index, stop.latest_s, late_cost * stop.priority)
            for before, after in zip(stop.windows, stop.windows[1:]):
                cumul.RemoveInterval(before.end_s + 1, after.start_s - 1)
            if not stop.required and stop.id not in fixed:
                routing.AddDisjunction([index], int(stop.penalty or 0))
            if stop.parcel_on is not None or stop.skills:  # on one van, or needing skills few have
                allowed = [v for v, c in enumerate(problem.couriers) if problem.can_serve(c, stop)]
                routing.VehicleVar(index).SetValues(allowed if stop.required else [-1, *allowed])

        solver = routing.solver()
        visit_transits = [int(service[manager.IndexToNode(i)]) for i in range(routing.Size())]
        for v, courier in enumerate(problem.couriers):
            start, end = routing.Start(v), routing.End(v)
            time_dim.CumulVar(start).SetRange(courier.ready_s, max(courier.ready_s, courier.shift_end_s))
            if late_cost is None:
                time_dim.CumulVar(end).SetMax(courier.shift_end_s)
            else:
                time_dim.SetCumulVarSoftUpperBound(end, courier.shift_end_s, late_cost)
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(end))
            routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(start))
            if courier.fixed_cost:
                routing.SetFixedCostOfVehicle(courier.fixed_cost, v)
            if courier.breaks:
                intervals = [
                    solver.FixedDurationIntervalVar(
                        b.earliest_start_s, b.latest_start_s, b.duration_s, False, f"{courier.id}:{b.id}"
                    )
                    for b in courier.breaks
                ]
                time_dim.SetBreakIntervalsOfVehicle(intervals, v, visit_transits)
                for interval in intervals:  # taken on the route, as `schedule()` times it
                    solver.Add(interval.StartExpr() >= time_dim.CumulVar(start))
                    solver.Add(interval.EndExpr() <= time_dim.CumulVar(end))
            chain = [start] + [manager.NodeToIndex(problem.stop_node(s)) for s in courier.fixed_prefix]
            for here, there in itertools.pairwise(chain):
                routing.NextVar(here).SetValues([there])
                routing.VehicleVar(there).SetValues([v])

        if params.move_cost and params.warm_start:
            for route in params.warm_start:
                group = [manager.NodeToIndex(problem.stop_node(s)) for s in route.stop_ids if problem.has_stop(s)]
                if len(group) > 1:
                    routing.AddSoftSameVehicleConstraint(group, params.move_cost * problem.metre_cost)

        search = pywrapcp.DefaultRoutingSearchParameters()
        strategies = routing_enums_pb2.FirstSolutionStrategy
        # Insertion filters do not see the constraints pinning a trip's load to its deliveries,
        # and never insert a reload (optional, it only costs on its own): with pickups,
        # parallel insertion fails where local insertion succeeds, and with trips only building
        # routes arc by arc reloads. The other is the fallback when the first finds nothing.
        first = [strategies.PARALLEL_CHEAPEST_INSERTION]
        if reload_nodes:
            first = [strategies.PATH_CHEAPEST_ARC, strategies.LOCAL_CHEAPEST_INSERTION]
        elif any(s.is_pickup for s in problem.stops):
            first = [strategies.LOCAL_CHEAPEST_INSERTION, strategies.PATH_CHEAPEST_ARC]
        search.first_solution_strategy = first[0]
        search.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        remaining = max(params.time_limit_s - (time.perf_counter() - began), 0.05)
        search.time_limit.FromMilliseconds(int(remaining * 1000))
        if params.iterations is not None:  # the same answer on any machine, however busy
            search.solution_limit = params.iterations
        routing.CloseModelWithParameters(search)

        assignment = None
        initial = _initial_routes(problem, params)
        if initial is not None:
            start_from = routing.ReadAssignmentFromRoutes(
                [[manager.NodeToIndex(node) for node in nodes] for nodes in initial], True
            )
            if start_from is not None:
                assignment = routing.SolveFromAssignmentWithParameters(start_from, search)
        for strategy in first:
            if assignment is not None:
                break
            search.first_solution_strategy = strategy
            left = params.time_limit_s - (time.perf_counter() - began)
            search.time_limit.FromMilliseconds(int(max(left, 0.05) * 1000))
            assignment = routing.SolveWithParameters(search)
        runtime = time.perf_counter() - began
        if assignment is None:
            return with_reasons(
                problem,
                matrix,
                Solution(tuple(Route(c.id, ()) for c in problem.couriers), (), self.name, 0, runtime, False),
            )

        node_stop = {problem.stop_node(s.id): s.id for s in problem.stops}
        routes = []
        for v, courier in enumerate(problem.couriers):
            index = assignment.Value(routing.NextVar(routing.Start(v)))
            visited: list[str] = []
            reloads: list[int] = []
            while not routing.IsEnd(index):
                node = manager.IndexToNode(index)
                if node < matrix.size:
                    visited.append(node_stop[node])
                elif visited and (not reloads or reloads[-1] < len(visited)):
                    reloads.append(len(visited))
                index = assignment.Value(routing.NextVar(index))
            while reloads and reloads[-1] >= len(visited):
                reloads.pop()
            routes.append(Route(courier.id, tuple(visited), tuple(reloads)))
        return with_reasons(
            problem, matrix, Solution(tuple(routes), (), self.name, int(assignment.ObjectiveValue()), runtime)
        )


def _add_loads(
    problem: Problem,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    size: int,
    reload_nodes: list[int],
) -> None:
    """One capacity dimension per amount. Deliveries only, one trip: the van leaves full and
    empties (a plain capacity dimension). Otherwise "load" is the van's load, changed by
    +pickup -delivery at a stop and set anew at a reload (its slack), and "aboard" counts the
    deliveries still aboard on the trip (-delivery at a stop, zero where the trip ends: at a
    reload or the route's end). Load >= aboard everywhere pins each trip's start to its
    deliveries, so load is at least the real load and within capacity."""
    offset = len(problem.depots)
    stops = problem.stops
    solver = routing.solver()
    loaded_only = [v for v, c in enumerate(problem.couriers) if c.loaded_only]
    plain = not reload_nodes and not loaded_only and not any(s.is_pickup for s in stops)
    reloads = set(reload_nodes)
    for d, name in enumerate(problem.dimensions):
        caps = [c.capacity[d] for c in problem.couriers]
        taken = np.zeros(size, dtype=np.int64)
        taken[offset : offset + len(stops)] = [s.delivery[d] for s in stops]
        if plain:
            callback = routing.RegisterUnaryTransitVector(taken.tolist())
            routing.AddDimensionWithVehicleCapacity(callback, 0, caps, True, f"load:{name}")
            continue
        room = max(caps, default=0)
        change = np.zeros(size, dtype=np.int64)
        change[offset : offset + len(stops)] = [s.pickup[d] - s.delivery[d] for s in stops]
        change[[manager.IndexToNode(i) for i in reload_nodes]] = -room  # with slack to 2 * room: 0 to room
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector(change.tolist()), 2 * room, caps, False, f"load:{name}"
        )
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector((-taken).tolist()), room, caps, False, f"aboard:{name}"
        )
        load = routing.GetDimensionOrDie(f"load:{name}")
        aboard = routing.GetDimensionOrDie(f"aboard:{name}")
        for index in range(routing.Size()):
            if index not in reloads:
                load.SlackVar(index).SetValue(0)
                aboard.SlackVar(index).SetValue(0)
            else:
                aboard.CumulVar(index).SetValue(0)
            solver.Add(load.CumulVar(index) >= aboard.CumulVar(index))
        for v in loaded_only:  # out on a trip: what it delivers before a reload is aboard already
            aboard.CumulVar(routing.Start(v)).SetMax(0)
        for v in range(len(problem.couriers)):
            aboard.CumulVar(routing.End(v)).SetValue(0)
            solver.Add(load.CumulVar(routing.End(v)) >= aboard.CumulVar(routing.End(v)))


def _horizon(problem: Problem) -> int:
    """Latest time worth modelling: the last shift or window end plus a day of slack for
    lateness (small domains keep OR-Tools fast; hard windows bound it anyway)."""
    latest = max(
        [c.shift_end_s for c in problem.couriers]
        + [c.ready_s for c in problem.couriers]
        + [s.latest_s + s.service_s for s in problem.stops]
    )
    return min(latest + 86_400, HORIZON_S)


def _initial_routes(problem: Problem, params: SolveParams) -> list[list[int]] | None:
    """Warm-start routes as node lists per courier, fixed prefixes first; None if none given."""
    if not params.warm_start:
        return None
    given: dict[str, list[str]] = defaultdict(list)
    for route in params.warm_start:
        given[route.courier_id].extend(route.stop_ids)
    prefixed = {s for c in problem.couriers for s in c.fixed_prefix}
    placed: set[str] = set()
    routes = []
    for courier in problem.couriers:
        ordered = list(courier.fixed_prefix) + [s for s in given.get(courier.id, []) if s not in prefixed]
        nodes = []
        for stop_id in ordered:
            if problem.has_stop(stop_id) and stop_id not in placed:
                placed.add(stop_id)
                nodes.append(problem.stop_node(stop_id))
        routes.append(nodes)
    return routes
