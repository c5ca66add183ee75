"""Peer solvers used directly, as a competent user would, one process and one core each.

`python -m benchmarks.peers SOLVER PATH TIME_LIMIT SEED` prints one JSON object with the
routes (customer numbers); the benchmark re-scores them itself.
"""

from __future__ import annotations

import json
import math
import sys
import time
from datetime import timedelta
from pathlib import Path

from optimizer.instances import Instance, read_instance

SCALE = 1000


def _durations(instance: Instance) -> list[list[int]]:
    nodes = [instance.depot, *instance.customers]
    return [[round(math.hypot(a.x - b.x, a.y - b.y) * SCALE) for b in nodes] for a in nodes]


def solve_pyvrp(instance: Instance, time_limit: float, seed: int) -> list[list[int]]:
    """PyVRP's Model API with the usual 'exact' convention (x1000, rounded)."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    matrix = _durations(instance)
    model = Model()
    depot_node = instance.depot
    locations = [model.add_location(n.x, n.y) for n in (depot_node, *instance.customers)]
    depot = model.add_depot(locations[0], tw_early=depot_node.ready * SCALE, tw_late=depot_node.due * SCALE)
    model.add_vehicle_type(
        instance.vehicles,
        capacity=instance.capacity,
        start_depot=depot,
        end_depot=depot,
        tw_early=depot_node.ready * SCALE,
        tw_late=depot_node.due * SCALE,
    )
    for k, c in enumerate(instance.customers, start=1):
        model.add_client(
            locations[k],
            delivery=c.demand,
            service_duration=c.service * SCALE,
            tw_early=c.ready * SCALE,
            tw_late=c.due * SCALE,
        )
    for i, frm in enumerate(locations):
        for j, to in enumerate(locations):
            model.add_edge(frm, to, matrix[i][j], matrix[i][j])
    result = model.solve(stop=MaxRuntime(time_limit), seed=seed, display=False)
    numbers = [c.number for c in instance.customers]
    return [[numbers[a.idx] for a in route.schedule() if a.type.name == "CLIENT"] for route in result.best.routes()]


def solve_vroom(instance: Instance, time_limit: float, seed: int) -> list[list[int]]:
    """pyvroom at exploration level 5, one thread, integer durations x1000."""
    import vroom

    problem = vroom.Input()
    problem.set_durations_matrix("car", _durations(instance))
    horizon = vroom.TimeWindow(instance.depot.ready * SCALE, instance.depot.due * SCALE)
    for v in range(instance.vehicles):
        problem.add_vehicle(vroom.Vehicle(v + 1, start=0, end=0, capacity=[instance.capacity], time_window=horizon))
    for k, c in enumerate(instance.customers, start=1):
        problem.add_job(
            vroom.Job(
                c.number,
                location=k,
                default_service=c.service * SCALE,
                delivery=[c.demand],
                time_windows=[vroom.TimeWindow(c.ready * SCALE, c.due * SCALE)],
            )
        )
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit))
    routes: dict[int, list[int]] = {}
    frame = solution.routes
    for vehicle, kind, job in zip(frame["vehicle_id"], frame["type"], frame["id"]):
        if kind == "job":
            routes.setdefault(int(vehicle), []).append(int(job))
    return list(routes.values())


SOLVERS = {"pyvrp": solve_pyvrp, "vroom": solve_vroom}


def main() -> None:
    solver, path, limit, seed = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    began = time.perf_counter()
    instance = read_instance(path)
    routes = SOLVERS[solver](instance, limit, seed)
    print(json.dumps({"instance": instance.name, "routes": routes, "runtime_s": time.perf_counter() - began}))


if __name__ == "__main__":
    main()
