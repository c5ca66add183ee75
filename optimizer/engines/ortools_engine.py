"""OR-Tools routing: the full-featured engine, used for replanning a disrupted day.

Models several windows per stop (cumul range with the gaps removed), soft window ends
(a cost per second late), breaks (interval variables on the time dimension), droppable
stops (disjunctions with the stop's penalty), couriers starting at a position and time,
fixed prefixes (the stop a courier is driving to), warm starts from given routes, and a
cost for splitting a courier's warm-start stops across couriers.

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
    LOADED_PARCELS,
    MULTIPLE_WINDOWS,
    OPTIONAL_STOPS,
    SOFT_WINDOWS,
    START_POSITIONS,
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
        }
    )

    def solve(self, problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution:
        began = time.perf_counter()
        n_couriers = len(problem.couriers)
        starts = [problem.start_node(i) for i in range(n_couriers)]
        ends = [problem.end_node(i) for i in range(n_couriers)]
        manager = pywrapcp.RoutingIndexManager(matrix.size, n_couriers, starts, ends)
        routing = pywrapcp.RoutingModel(manager)
        stop_offset = len(problem.depots)
        service = np.zeros(matrix.size, dtype=np.int64)
        service[stop_offset : stop_offset + len(problem.stops)] = [s.service_s for s in problem.stops]

        # Nodes that are neither stops nor anyone's start or end: depots nobody uses. They are
        # never visited (a free pass through one would put a non-stop into a route).
        endpoints = set(starts) | set(ends)
        for node in range(stop_offset):
            if node not in endpoints:
                unused = manager.NodeToIndex(node)
                routing.AddDisjunction([unused], 0)
                routing.ActiveVar(unused).SetValue(0)

        arc_cost = (matrix.distances_m * params.distance_cost_per_m).tolist()
        routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(arc_cost))

        horizon = _horizon(problem)
        time_callbacks = {
            profile: routing.RegisterTransitMatrix((matrix.durations(profile) + service[:, None]).tolist())
            for profile in problem.profiles
        }
        routing.AddDimensionWithVehicleTransits(
            [time_callbacks[c.profile] for c in problem.couriers], horizon, horizon, False, "time"
        )
        time_dim = routing.GetDimensionOrDie("time")
        if params.duration_cost_per_s:
            time_dim.SetSpanCostCoefficientForAllVehicles(params.duration_cost_per_s)

        for d, name in enumerate(problem.dimensions):
            demand = np.zeros(matrix.size, dtype=np.int64)
            demand[stop_offset : stop_offset + len(problem.stops)] = [s.demand[d] for s in problem.stops]
            callback = routing.RegisterUnaryTransitVector(demand.tolist())
            routing.AddDimensionWithVehicleCapacity(
                callback, 0, [c.capacity[d] for c in problem.couriers], True, f"load:{name}"
            )

        fixed = {s for c in problem.couriers for s in c.fixed_prefix}
        courier_index = {c.id: v for v, c in enumerate(problem.couriers)}
        for stop in problem.stops:
            index = manager.NodeToIndex(problem.stop_node(stop.id))
            cumul = time_dim.CumulVar(index)
            if params.lateness_cost_per_s is None:
                cumul.SetRange(stop.earliest_s, stop.latest_s)
            else:
                cumul.SetRange(stop.earliest_s, horizon)
                time_dim.SetCumulVarSoftUpperBound(index, stop.latest_s, params.lateness_cost_per_s)
            for before, after in zip(stop.windows, stop.windows[1:]):
                cumul.RemoveInterval(before.end_s + 1, after.start_s - 1)
            if not stop.required and stop.id not in fixed:
                routing.AddDisjunction([index], int(stop.penalty or 0))
            if stop.parcel_on is not None:  # on that courier's van: nobody else can serve it
                holder = courier_index[stop.parcel_on]
                routing.VehicleVar(index).SetValues([holder] if stop.required else [-1, holder])

        solver = routing.solver()
        visit_transits = [int(service[manager.IndexToNode(i)]) for i in range(routing.Size())]
        for v, courier in enumerate(problem.couriers):
            start, end = routing.Start(v), routing.End(v)
            time_dim.CumulVar(start).SetRange(courier.ready_s, max(courier.ready_s, courier.shift_end_s))
            if params.lateness_cost_per_s is None:
                time_dim.CumulVar(end).SetMax(courier.shift_end_s)
            else:
                time_dim.SetCumulVarSoftUpperBound(end, courier.shift_end_s, params.lateness_cost_per_s)
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
                    routing.AddSoftSameVehicleConstraint(group, params.move_cost)

        search = pywrapcp.DefaultRoutingSearchParameters()
        search.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
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
        if assignment is None:
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
            visited = []
            while not routing.IsEnd(index):
                visited.append(node_stop[manager.IndexToNode(index)])
                index = assignment.Value(routing.NextVar(index))
            routes.append(Route(courier.id, tuple(visited)))
        return with_reasons(
            problem, matrix, Solution(tuple(routes), (), self.name, int(assignment.ObjectiveValue()), runtime)
        )


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
