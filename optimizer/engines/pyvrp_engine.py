"""PyVRP: the high-quality engine for static planning with hard windows.

Mapping: every problem location is a PyVRP location (same order, so the matrices pass
through untouched); each depot and each courier start position is a PyVRP depot; couriers
with identical vehicles are one vehicle type with `num_available` > 1 (symmetry helps the
search); a stop with several windows is a required, mutually exclusive client group of one
client per window; an optional stop is a client with `required=False` and its penalty as
prize. A scheduled client's `idx` counts clients only, not depots.

The search stops on the time limit, or after `params.iterations` iterations when given
(deterministic for a seed, whatever the machine's load).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime

from optimizer.engines.base import MULTIPLE_WINDOWS, OPTIONAL_STOPS, START_POSITIONS
from optimizer.engines.reasons import with_reasons
from optimizer.model import Courier, Problem
from optimizer.params import SolveParams
from optimizer.solution import Route, Solution
from optimizer.travel.matrix import TravelMatrix

_MIN_SEARCH_S = 0.05


@dataclass(frozen=True, slots=True)
class _Built:
    data: pyvrp.ProblemData
    client_stop: tuple[int, ...]  # PyVRP client index -> problem stop index
    type_couriers: tuple[tuple[int, ...], ...]  # vehicle type -> problem courier indices


class PyVRPEngine:
    name = "pyvrp"
    features = frozenset({MULTIPLE_WINDOWS, OPTIONAL_STOPS, START_POSITIONS})

    def solve(self, problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution:
        began = time.perf_counter()
        built = build_data(problem, matrix, params)
        # PyVRP's runtime clock starts after its own set-up (neighbourhoods, first
        # solutions), which grows with the square of the number of clients.
        setup = 0.05 + 1.0e-6 * len(built.client_stop) ** 2
        remaining = params.time_limit_s - (time.perf_counter() - began) - setup
        result = pyvrp.solve(
            built.data,
            stop=MaxIterations(params.iterations) if params.iterations else MaxRuntime(max(remaining, _MIN_SEARCH_S)),
            seed=params.seed,
            collect_stats=False,
            display=False,
        )
        solution = _to_solution(problem, built, result.best)
        objective = int(result.cost()) if result.is_feasible() else int(result.best.distance())
        return with_reasons(
            problem,
            matrix,
            Solution(
                solution.routes,
                (),
                self.name,
                objective,
                time.perf_counter() - began,
                result.is_feasible(),
            ),
        )


def build_data(problem: Problem, matrix: TravelMatrix, params: SolveParams) -> _Built:
    """Translate the problem into PyVRP's `ProblemData`, matrices passed whole."""
    locations = [pyvrp.Location(x=loc.lon, y=loc.lat) for loc in problem.locations]
    depot_nodes = [problem.depot_node(d.id) for d in problem.depots]
    depot_nodes += [problem.start_node(i) for i, c in enumerate(problem.couriers) if c.start_at is not None]
    depot_of_node = {node: k for k, node in enumerate(depot_nodes)}
    depots = [pyvrp.Depot(location=node) for node in depot_nodes]

    clients: list[pyvrp.Client] = []
    client_stop: list[int] = []
    groups: list[pyvrp.ClientGroup] = []
    for s, stop in enumerate(problem.stops):
        node = problem.stop_node(stop.id)
        prize = stop.penalty or 0
        members = []
        for window in stop.windows:
            members.append(len(clients))
            clients.append(
                pyvrp.Client(
                    location=node,
                    delivery=list(stop.demand),
                    service_duration=stop.service_s,
                    tw_early=window.start_s,
                    tw_late=window.end_s,
                    prize=prize,
                    required=stop.required and len(stop.windows) == 1,
                    group=len(groups) if len(stop.windows) > 1 else None,
                    name=stop.id,
                )
            )
            client_stop.append(s)
        if len(stop.windows) > 1:
            groups.append(pyvrp.ClientGroup(members, required=stop.required))

    profiles = list(problem.profiles)
    by_type: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, courier in enumerate(problem.couriers):
        by_type[_type_key(problem, i, courier)].append(i)
    vehicle_types = []
    for _key, members in by_type.items():
        courier = problem.couriers[members[0]]
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(members),
                capacity=list(courier.capacity),
                start_depot=depot_of_node[problem.start_node(members[0])],
                end_depot=depot_of_node[problem.end_node(members[0])],
                fixed_cost=courier.fixed_cost,
                tw_early=courier.ready_s,
                tw_late=courier.shift_end_s,
                unit_distance_cost=params.distance_cost_per_m,
                unit_duration_cost=params.duration_cost_per_s,
                profile=profiles.index(courier.profile),
                name=",".join(problem.couriers[m].id for m in members),
            )
        )
    distances = np.asarray(matrix.distances_m)
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=[distances for _ in profiles],  # type: ignore[misc]  # stub says ndarray[int]
        duration_matrices=[np.asarray(matrix.durations(p)) for p in profiles],  # type: ignore[misc]
        groups=groups,
    )
    return _Built(data, tuple(client_stop), tuple(tuple(m) for m in by_type.values()))


def _type_key(problem: Problem, index: int, courier: Courier) -> tuple[object, ...]:
    return (
        problem.start_node(index),
        problem.end_node(index),
        courier.capacity,
        courier.fixed_cost,
        courier.ready_s,
        courier.shift_end_s,
        courier.profile,
    )


def _to_solution(problem: Problem, built: _Built, best: pyvrp.Solution) -> Solution:
    free = [list(members) for members in built.type_couriers]
    stop_lists: dict[int, list[str]] = {}
    for route in best.routes():
        courier_index = free[route.vehicle_type()].pop(0)
        stop_lists[courier_index] = [
            problem.stops[built.client_stop[activity.idx]].id
            for activity in route.schedule()
            if activity.type == pyvrp.ActivityType.CLIENT
        ]
    routes = tuple(Route(c.id, tuple(stop_lists.get(i, ()))) for i, c in enumerate(problem.couriers))
    return Solution(routes)
