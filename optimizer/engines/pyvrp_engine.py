"""PyVRP: the high-quality engine for static planning with hard windows.

Mapping: every problem location is a PyVRP location (same order, so the matrices pass
through untouched); each depot and each courier start position is a PyVRP depot; couriers
with identical vehicles are one vehicle type with `num_available` > 1 (symmetry helps the
search); a stop with several windows is a required, mutually exclusive client group of one
client per window; an optional stop is a client with `required=False` and its penalty as
prize; a pickup is a client with a pickup amount instead of a delivery (PyVRP keeps the load
within capacity at every point of the route). Skills: couriers whose skills leave out some
stops get a routing profile of their own in which those stops are out of reach (arcs to
and from them cost `_OUT_OF_REACH` in distance and duration). Costs are each courier's
(vehicle type: fixed, per metre, per second). Trips: a courier with `max_trips` > 1 may
reload at a depot of its own (its start depot's location, `reload_s` of service), up to
`max_trips - 1` times. A scheduled client's `idx` counts clients only, not depots.

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

from optimizer.engines.base import MULTIPLE_WINDOWS, OPTIONAL_STOPS, PICKUPS, SKILLS, START_POSITIONS, TRIPS
from optimizer.engines.reasons import with_reasons
from optimizer.model import Courier, Problem
from optimizer.params import SolveParams
from optimizer.solution import Route, Solution
from optimizer.travel.matrix import TravelMatrix

_MIN_SEARCH_S = 0.05
_OUT_OF_REACH = 100_000_000
"""Distance (m) and duration (s) of an arc a courier may not drive: past any window and shift."""


@dataclass(frozen=True, slots=True)
class _Built:
    data: pyvrp.ProblemData
    client_stop: tuple[int, ...]  # PyVRP client index -> problem stop index
    type_couriers: tuple[tuple[int, ...], ...]  # vehicle type -> problem courier indices


class PyVRPEngine:
    name = "pyvrp"
    features = frozenset({MULTIPLE_WINDOWS, OPTIONAL_STOPS, START_POSITIONS, PICKUPS, SKILLS, TRIPS})

    def solve(self, problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution:
        began = time.perf_counter()
        built = build_data(problem, matrix)
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


def build_data(problem: Problem, matrix: TravelMatrix) -> _Built:
    """Translate the problem into PyVRP's `ProblemData`, matrices passed whole."""
    locations = [pyvrp.Location(x=loc.lon, y=loc.lat) for loc in problem.locations]
    depot_nodes = [problem.depot_node(d.id) for d in problem.depots]
    depot_nodes += [problem.start_node(i) for i, c in enumerate(problem.couriers) if c.start_at is not None]
    depot_of_node = {node: k for k, node in enumerate(depot_nodes)}
    depots = [pyvrp.Depot(location=node) for node in depot_nodes]
    reload_depot: dict[tuple[int, int], int] = {}
    for courier in problem.couriers:
        key = (problem.depot_node(courier.start_depot), courier.reload_s)
        if courier.max_trips > 1 and key not in reload_depot:
            reload_depot[key] = len(depots)
            depots.append(pyvrp.Depot(location=key[0], service_duration=courier.reload_s, name="reload"))

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
                    delivery=list(stop.delivery),
                    pickup=list(stop.pickup),
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

    profiles = _profiles(problem)
    by_type: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, courier in enumerate(problem.couriers):
        by_type[_type_key(problem, i, courier)].append(i)
    vehicle_types = []
    for _key, members in by_type.items():
        courier = problem.couriers[members[0]]
        reload_key = (problem.depot_node(courier.start_depot), courier.reload_s)
        reloads = [reload_depot[reload_key]] if courier.max_trips > 1 else []
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(members),
                capacity=list(courier.capacity),
                start_depot=depot_of_node[problem.start_node(members[0])],
                end_depot=depot_of_node[problem.end_node(members[0])],
                fixed_cost=courier.fixed_cost,
                tw_early=courier.ready_s,
                tw_late=courier.shift_end_s,
                unit_distance_cost=courier.cost_per_m,
                unit_duration_cost=courier.cost_per_s,
                profile=list(profiles).index(_profile_key(problem, courier)),
                reload_depots=reloads,
                max_reloads=max(courier.max_trips - 1, 0),
                name=",".join(problem.couriers[m].id for m in members),
            )
        )
    distances = np.asarray(matrix.distances_m)
    distance_matrices, duration_matrices = [], []
    for (profile, _skills), out_of_reach in profiles.items():
        dist, dur = distances, np.asarray(matrix.durations(profile))
        if out_of_reach:
            dist, dur = _unreachable(dist, out_of_reach), _unreachable(dur, out_of_reach)
        distance_matrices.append(dist)
        duration_matrices.append(dur)
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=distance_matrices,  # type: ignore[arg-type]  # the stub says ndarray[int]
        duration_matrices=duration_matrices,  # type: ignore[arg-type]
        groups=groups,
    )
    return _Built(data, tuple(client_stop), tuple(tuple(m) for m in by_type.values()))


def _profile_key(problem: Problem, courier: Courier) -> tuple[str, frozenset[str]]:
    """A routing profile: the courier's vehicle profile and the skills stops ask of them."""
    needed = {skill for stop in problem.stops for skill in stop.skills}
    return courier.profile, courier.skills & needed


def _profiles(problem: Problem) -> dict[tuple[str, frozenset[str]], tuple[int, ...]]:
    """Every routing profile, in first-use order, with the stop nodes out of its reach."""
    profiles: dict[tuple[str, frozenset[str]], tuple[int, ...]] = {}
    for courier in problem.couriers:
        key = _profile_key(problem, courier)
        if key not in profiles:
            profiles[key] = tuple(problem.stop_node(s.id) for s in problem.stops if not s.skills <= key[1])
    return profiles


def _unreachable(matrix: np.ndarray, nodes: tuple[int, ...]) -> np.ndarray:
    """A copy of `matrix` with every arc into or out of `nodes` out of reach."""
    blocked = np.array(matrix, dtype=np.int64, copy=True)
    index = np.asarray(nodes)
    blocked[:, index] = _OUT_OF_REACH
    blocked[index, :] = _OUT_OF_REACH
    blocked[index, index] = 0
    return blocked


def _type_key(problem: Problem, index: int, courier: Courier) -> tuple[object, ...]:
    return (
        problem.start_node(index),
        problem.end_node(index),
        courier.capacity,
        courier.fixed_cost,
        courier.cost_per_m,
        courier.cost_per_s,
        courier.ready_s,
        courier.shift_end_s,
        _profile_key(problem, courier),
        courier.max_trips,
        courier.reload_s,
    )


def _to_solution(problem: Problem, built: _Built, best: pyvrp.Solution) -> Solution:
    free = [list(members) for members in built.type_couriers]
    found: dict[int, Route] = {}
    for route in best.routes():
        courier_index = free[route.vehicle_type()].pop(0)
        stop_ids: list[str] = []
        reloads: list[int] = []
        visits = route.schedule()
        for activity in visits[1:-1]:  # between leaving the start depot and coming back
            if activity.type == pyvrp.ActivityType.CLIENT:
                stop_ids.append(problem.stops[built.client_stop[activity.idx]].id)
            elif stop_ids and (not reloads or reloads[-1] < len(stop_ids)):
                reloads.append(len(stop_ids))  # a reload: the next trip starts here
        while reloads and reloads[-1] >= len(stop_ids):
            reloads.pop()
        found[courier_index] = Route(problem.couriers[courier_index].id, tuple(stop_ids), tuple(reloads))
    routes = tuple(found.get(i, Route(c.id, ())) for i, c in enumerate(problem.couriers))
    return Solution(routes)
