"""How fast `schedule_route()` re-times one courier's 50-stop route (the fast path after a
delay report). Run `python -m benchmarks.schedule_speed`; it writes
`benchmarks/results/schedule_speed.md`.

Protocol: one seeded city day (50 stops in 2-hour slots within about 2 km of a hub,
great-circle travel at 5 m/s, a 30-minute lunch break, one load dimension), routed slot by
slot, nearest stop next. After a warm-up, `BATCHES` batches of `CALLS` calls are timed with
`perf_counter_ns`, the garbage collector paused as `timeit` does; the figure is the median
over batches of the time per call. The machine is shared, so the load average at the start
is recorded next to the figure.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.provenance import commit, machine
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.schedule import schedule_route
from optimizer.travel.haversine import HaversineSource
from optimizer.travel.matrix import TravelMatrix

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "benchmarks" / "results" / "schedule_speed.md"
COMMAND = "python -m benchmarks.schedule_speed"
STOPS = 50
SEED = 7
WARMUP_CALLS = 200
BATCHES = 300
CALLS = 20
HUB = Location(52.520, 13.405)


def fifty_stop_day(seed: int = SEED) -> tuple[Problem, TravelMatrix, tuple[str, ...]]:
    """The benchmark day, its travel matrix, and the route: stops in slot order, west to east."""
    rng = np.random.default_rng(seed)
    stops = []
    for i in range(STOPS):
        where = Location(HUB.lat + rng.uniform(-0.02, 0.02), HUB.lon + rng.uniform(-0.03, 0.03))
        slot_start = 8 * 3600 + int(rng.integers(0, 4)) * 2 * 3600
        stops.append(
            Stop(
                f"s{i:02d}",
                where,
                (TimeWindow(slot_start, slot_start + 2 * 3600),),
                int(rng.integers(120, 300)),
                (int(rng.integers(1, 4)),),
            )
        )
    courier = Courier(
        "bench",
        "hub",
        7 * 3600 + 1800,
        18 * 3600,
        (200,),
        speed_mps=5.0,
        breaks=(Break("lunch", 12 * 3600, 13 * 3600, 1800),),
    )
    problem = Problem("schedule-speed", (Depot("hub", HUB),), (courier,), tuple(stops), ("parcels",))
    matrix = HaversineSource().matrix(problem)
    return problem, matrix, _slot_by_slot_nearest(problem, matrix)


def _slot_by_slot_nearest(problem: Problem, matrix: TravelMatrix) -> tuple[str, ...]:
    """A plausible route: slots in order, within a slot always the nearest stop next."""
    route: list[str] = []
    here = problem.depot_node("hub")
    for slot_start in sorted({s.earliest_s for s in problem.stops}):
        left = [s for s in problem.stops if s.earliest_s == slot_start]
        while left:
            nearest = min(left, key=lambda s: int(matrix.distances_m[here, problem.stop_node(s.id)]))
            left.remove(nearest)
            route.append(nearest.id)
            here = problem.stop_node(nearest.id)
    return tuple(route)


def measure(problem: Problem, matrix: TravelMatrix, route: tuple[str, ...]) -> list[float]:
    """Microseconds per call, one figure per batch."""
    for _ in range(WARMUP_CALLS):
        schedule_route(problem, matrix, 0, route)
    samples = []
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(BATCHES):
            began = time.perf_counter_ns()
            for _ in range(CALLS):
                schedule_route(problem, matrix, 0, route)
            samples.append((time.perf_counter_ns() - began) / CALLS / 1000)
    finally:
        if was_enabled:
            gc.enable()
    return samples


def report(samples: list[float], problem: Problem, matrix: TravelMatrix, route: tuple[str, ...]) -> str:
    timed = schedule_route(problem, matrix, 0, route)
    median = statistics.median(samples)
    deciles = statistics.quantiles(samples, n=10)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            "# schedule() speed: re-timing one 50-stop route",
            "",
            f"- Command: `{COMMAND}`",
            f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Commit measured: {commit()}",
            f"- Machine: {machine()}",
            f"- Load average at start (1/5/15 min): {load}",
            f"- Protocol: {WARMUP_CALLS} warm-up calls, then {BATCHES} batches of {CALLS} calls of "
            "`schedule_route()`, GC paused; median over batches (see the module docstring).",
            f"- The route: {len(timed.visits)} stops, {len(timed.breaks)} break, "
            f"{timed.distance_m / 1000:.1f} km, {timed.late_stops} late stops, "
            f"{len(timed.violations)} violations.",
            "",
            "| figure | value |",
            "| --- | --- |",
            f"| median per 50-stop route | {median:.1f} µs |",
            f"| median per stop | {median / STOPS:.2f} µs |",
            f"| 10th / 90th percentile per route | {deciles[0]:.1f} / {deciles[-1]:.1f} µs |",
            f"| fastest batch per route | {min(samples):.1f} µs |",
            "",
        ]
    )


def main() -> None:
    problem, matrix, route = fifty_stop_day()
    samples = measure(problem, matrix, route)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(report(samples, problem, matrix, route))
    print(f"median {statistics.median(samples):.1f} µs per 50-stop route; wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
