"""Road networks (BENCHMARKS.md 7, `ontime bench roads`): how fast, and why road times matter.

**Speed**, per embedded map (`scenarios.maps`: Porto, the Xuzhou region), each step in a
process of its own pinned to one core (`os.sched_setaffinity` to one CPU and
`OMP_NUM_THREADS=1` set before pyroutingkit, which bundles libgomp, is loaded):

- *prepare*: `RoadNetwork.open` on a cold cache (`--cache-dir`, default a new temporary
  directory): read the `.osm.pbf` (pyosmium) and order the CCH topology (pyroutingkit); then
  the same `open` again in that process after clearing the in-process memo `roads._OPEN`;
- *load*, in a fresh process: `open` from the cache, and *ready*: open, the snapping index and
  strongly connected parts built, and the default profile's two metrics (time, and time with
  length) customized, i.e. everything before the first matrix can be answered;
- *matrices*: N x N for N random points spread evenly over the city's disc (the generator's
  hub and radius), `RoadSource.weights` of the default profile (durations and distances: two
  CCH many-to-many searches), snapping included, a fresh `RoadSource` each run, median of
  `--repeats`; and the whole `TravelMatrix` of a generated day with N locations (e-bikes and
  vans: two profiles, four searches);
- memory: peak RSS of each process (`resource.getrusage`) and the cache's size on disk. The
  CPU the timed process used per wall second is reported (about 1.0: one core), and the CPU
  other work used meanwhile, on the pinned core and on the whole machine (`/proc/stat`).

**Why road times matter**, per map: a generated day (`generate_day(stops, couriers, seed,
city=...)`) moved onto the streets (`on_streets`), planned with the straight-line model
(`HaversineSource(1.3)`) by a deterministic search (`scenarios.compare.plan_reproducibly`:
PyVRP on an iteration budget, breaks placed by `schedule()`); those very routes are then timed
on roads (`schedule(problem, road_matrix, routes)`): per leg the straight-line duration against
the road duration, per stop the arrival, and the booked windows missed when driven on roads.
Then the same day planned on roads (`RoadSource`) by the same search. Stops that some courier
cannot reach from the hub, or get back from, on the map are taken out of the day first (and
counted), so both plans serve the same stops. Written to `benchmarks/results/roads.md` and
`roads.json` beside it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from benchmarks.command import run
from benchmarks.provenance import commit, machine

if TYPE_CHECKING:
    from optimizer.model import Location, Problem
    from optimizer.schedule import Schedule
    from optimizer.solution import Solution
    from optimizer.travel.matrix import TravelMatrix

ROOT = Path(__file__).resolve().parent.parent
MAPS = ("porto", "xuzhou")
GOALS = {"prepare_s": 60.0, "ready_s": 5.0, 1000: 2.0, 2000: 6.0}
"""The issue's goals, seconds on one core: preparing, loading, an N x N matrix by N."""
T = TypeVar("T")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- one core, and what else ran ------------------------------------------------------------


def one_core() -> int:
    """Pin this process to one CPU and keep OpenMP to one thread; the CPU pinned.

    Must run before pyroutingkit (and its libgomp) is loaded in this process."""
    os.environ["OMP_NUM_THREADS"] = "1"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def cpu_busy_s(core: int) -> tuple[float, float]:
    """Seconds of CPU time spent busy so far (not idle, not waiting on I/O) on `core` and on all
    cores together, from `/proc/stat`; (nan, nan) where there is none."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return math.nan, math.nan
    tick = os.sysconf("SC_CLK_TCK")
    busy: dict[str, float] = {}
    for line in lines:
        name, *values = line.split()
        if name in ("cpu", f"cpu{core}"):
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
            busy[name] = (user + nice + system + irq + softirq + steal) / tick
    return busy.get(f"cpu{core}", math.nan), busy.get("cpu", math.nan)


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Probe:
    """Wall time of a stretch of work, the CPU this process used in it, and what other work
    used meanwhile on the pinned core and on the whole machine (in cores)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    other_on_core: float = 0.0
    other_cores: float = 0.0


@contextmanager
def probe(core: int) -> Iterator[Probe]:
    found = Probe()
    core0, all0 = cpu_busy_s(core)
    cpu0, began = own_cpu_s(), time.perf_counter()
    yield found
    found.wall_s = time.perf_counter() - began
    found.cpu_s = own_cpu_s() - cpu0
    core1, all1 = cpu_busy_s(core)
    wall = max(found.wall_s, 1e-9)
    found.other_on_core = max(0.0, (core1 - core0 - found.cpu_s) / wall)
    found.other_cores = max(0.0, (all1 - all0 - found.cpu_s) / wall)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a new Python process (spawned: nothing loaded, nothing cached)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# -- locations -------------------------------------------------------------------------------


def city_points(city: str, count: int, seed: int) -> list[Location]:
    """`count` points spread evenly over the city's disc (the generator's hub and radius)."""
    import numpy as np

    from optimizer.model import Location
    from scenarios.generate import CITIES, KM_PER_DEG_LAT

    place = CITIES[city]
    rng = np.random.default_rng(seed)
    radius_km = place.radius_km * np.sqrt(rng.random(count))
    angle = rng.random(count) * 2 * math.pi
    lat = place.hub_lat + radius_km * np.sin(angle) / KM_PER_DEG_LAT
    lon = place.hub_lon + radius_km * np.cos(angle) / (KM_PER_DEG_LAT * math.cos(math.radians(place.hub_lat)))
    return [Location(round(float(a), 6), round(float(b), 6)) for a, b in zip(lat, lon)]


def generated_problem(city: str, stops: int, seed: int) -> Problem:
    """A generated day of the city with `stops` stops (one hub: `stops + 1` locations)."""
    from api.schemas import ProblemIn
    from scenarios.generate import generate_day

    couriers = max(1, min(500, stops // 17))
    return ProblemIn.model_validate(generate_day(stops, couriers, seed, city=city)).to_domain()


# -- speed: the child processes ---------------------------------------------------------------


def prepare_child(name: str, cache_dir: str) -> dict[str, Any]:
    """Open the map on the cache given (cold unless it already held it), then again from it."""
    core = one_core()
    from optimizer.travel import roads
    from scenarios.maps import map_file

    path, cache = map_file(name), Path(cache_dir)
    before = set(cache.iterdir()) if cache.is_dir() else set()
    with probe(core) as prepared:
        network = roads.RoadNetwork.open(path, cache)
    made = (set(cache.iterdir()) if cache.is_dir() else set()) - before
    graph = network.graph
    roads._OPEN.clear()
    with probe(core) as reopened:
        roads.RoadNetwork.open(path, cache)
    folder = network.topology_dir.parent
    return {
        "map": name,
        "file": path.name,
        "file_mb": path.stat().st_size / 1e6,
        "cold": bool(made),
        "nodes": graph.node_count,
        "segments": int(graph.seg_a.size),
        "arcs": int((graph.seg_forward >= 0).sum() + (graph.seg_backward >= 0).sum()),
        "prepare": asdict(prepared),
        "reopen": asdict(reopened),
        "cache_mb": sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6,
        "peak_mb": peak_mb(),
        "core": core,
        "omp_threads": os.environ.get("OMP_NUM_THREADS"),
    }


def serve_child(name: str, cache_dir: str, sizes: Sequence[int], repeats: int, seed: int) -> dict[str, Any]:
    """In a fresh process: load the map from the cache, get ready, time matrices."""
    core = one_core()
    with probe(core) as imported:
        import numpy as np

        from optimizer.travel import roads
        from scenarios.maps import map_file
    path, cache = map_file(name), Path(cache_dir)
    profile = roads.RoadProfiles.load().default
    with probe(core) as ready:
        with probe(core) as loaded:
            network = roads.RoadNetwork.open(path, cache)
        hub = city_points(name, 1, seed)
        snap = network.snap(hub)
        with probe(core) as customized:
            for kind in ("time", "lex"):
                network.block(snap, snap, profile, None, kind)
    points = city_points(name, max(sizes), seed)
    matrices: dict[str, Any] = {}
    for n in sizes:
        runs, snapping = [], []
        for _ in range(repeats):
            source = roads.RoadSource(network)
            with probe(core) as timed:
                with probe(core) as snapped:
                    source.snaps(points[:n])
                times, _ = source.weights(points[:n], profile, None)
            runs.append(asdict(timed))
            snapping.append(snapped.wall_s)
        off = ~np.isfinite(times)
        np.fill_diagonal(off, False)
        matrices[str(n)] = {"runs": runs, "snap_s": snapping, "no_path_share": float(off.mean())}
        say(f"  {name} {n} x {n}: " + ", ".join(f"{r['wall_s']:.2f}" for r in runs) + " s")
    days: dict[str, Any] = {}
    for n in sizes:
        problem = generated_problem(name, n - 1, seed)
        runs = []
        for _ in range(repeats):
            source = roads.RoadSource(network)
            with probe(core) as timed:
                source.matrix(problem)
            runs.append(asdict(timed))
        days[str(n)] = {"runs": runs, "couriers": len(problem.couriers), "profiles": list(problem.profiles)}
        say(f"  {name} day of {n} locations: " + ", ".join(f"{r['wall_s']:.2f}" for r in runs) + " s")
    return {
        "map": name,
        "profile": profile,
        "import": asdict(imported),
        "load": asdict(loaded),
        "ready": asdict(ready),
        "customize": asdict(customized),
        "matrices": matrices,
        "days": days,
        "peak_mb": peak_mb(),
        "core": core,
        "omp_threads": os.environ.get("OMP_NUM_THREADS"),
    }


def measure_speed(maps: Sequence[str], cache_dir: Path, sizes: Sequence[int], repeats: int, seed: int) -> list[Any]:
    found = []
    for name in maps:
        load_before = os.getloadavg()
        say(f"{name}: preparing (one core, fresh process) ...")
        prepared = in_fresh_process(prepare_child, name, str(cache_dir))
        say(f"  {prepared['prepare']['wall_s']:.1f} s ({'cold' if prepared['cold'] else 'warm'} cache)")
        say(f"{name}: loading and matrices (one core, fresh process) ...")
        served = in_fresh_process(serve_child, name, str(cache_dir), list(sizes), repeats, seed)
        found.append({"prepare": prepared, "serve": served, "load_before": load_before, "load_after": os.getloadavg()})
    return found


# -- why road times matter --------------------------------------------------------------------


@dataclass
class Plan:
    """One plan's routes timed on one matrix: the figures a dispatcher looks at."""

    name: str
    late_stops: int
    late_min: float
    distance_km: float
    couriers_used: int
    cost: int
    cost_cny: float
    unassigned: int


@dataclass
class Eta:
    """The straight-line model against roads on one generated day."""

    map: str
    stops_generated: int
    stops_dropped: int
    stops: int
    couriers: int
    iterations: int
    legs: int
    leg_abs_min_p50: float
    leg_abs_min_p90: float
    leg_worst_min: float
    leg_worst_straight_min: float
    leg_worst_road_min: float
    leg_abs_pct_p50: float
    leg_abs_pct_p90: float
    leg_worst_pct: float
    leg_under_share: float
    leg_signed_min_mean: float
    leg_road_km_per_straight_km: float
    arrival_abs_min_p50: float
    arrival_worst_min: float
    newly_late: int
    plans: list[Plan] = field(default_factory=list)


def reachable_stops(problem: Problem, matrix: TravelMatrix) -> set[str]:
    """Stops every courier can reach from their start and get back to their depot from."""
    from optimizer.travel.matrix import UNREACHABLE

    kept = set()
    for stop in problem.stops:
        node = problem.stop_node(stop.id)
        if all(
            matrix.durations(c.profile)[problem.start_node(i), node] < UNREACHABLE
            and matrix.durations(c.profile)[node, problem.end_node(i)] < UNREACHABLE
            for i, c in enumerate(problem.couriers)
        ):
            kept.add(stop.id)
    return kept


def legs(problem: Problem, solution: Solution) -> Iterator[tuple[str, int, int]]:
    """(profile, from node, to node) of every leg driven, depot legs and reloads included."""
    index = {c.id: i for i, c in enumerate(problem.couriers)}
    for route in solution.routes:
        if not route.stop_ids:
            continue
        i = index[route.courier_id]
        nodes = [problem.start_node(i)]
        for position, stop_id in enumerate(route.stop_ids):
            if position in route.reloads:
                nodes.append(problem.end_node(i))
            nodes.append(problem.stop_node(stop_id))
        nodes.append(problem.end_node(i))
        profile = problem.couriers[i].profile
        for a, b in itertools.pairwise(nodes):
            if a != b:
                yield profile, a, b


def figures(name: str, problem: Problem, wire: Any, timed: Schedule, unassigned: int) -> Plan:
    from optimizer.kpi import route_cost

    used = [r for r in timed.routes if r.visits]
    return Plan(
        name=name,
        late_stops=timed.late_stops,
        late_min=round(timed.late_s / 60, 1),
        distance_km=round(timed.distance_m / 1000, 2),
        couriers_used=len(used),
        cost=sum(route_cost(problem.courier_by_id(r.courier_id), r.distance_m, r.duration_s) for r in used),
        cost_cny=round(wire.day_cost((r.courier_id, r.distance_m, r.duration_s) for r in used), 2),
        unassigned=unassigned,
    )


def measure_eta(
    name: str, cache_dir: Path, stops: int, couriers: int, seed: int, time_limit: float, iterations: int
) -> Eta:
    import numpy as np

    from api.schemas import ProblemIn
    from optimizer.params import SolveParams
    from optimizer.schedule import schedule
    from optimizer.travel.haversine import HaversineSource
    from optimizer.travel.roads import RoadNetwork, RoadSource
    from scenarios.compare import budget_iterations, plan_reproducibly
    from scenarios.generate import generate_day
    from scenarios.maps import map_file, on_streets

    road = RoadSource(RoadNetwork.open(map_file(name), cache_dir))
    day = on_streets(generate_day(stops, couriers, seed, city=name), road)
    whole = ProblemIn.model_validate(day).to_domain()
    kept = reachable_stops(whole, road.matrix(whole))
    day["stops"] = [s for s in day["stops"] if s["id"] in kept]
    wire = ProblemIn.model_validate(day)
    problem = wire.to_domain()
    straight_matrix = HaversineSource(1.3).matrix(problem)
    road_matrix = road.matrix(problem)
    budget = iterations or budget_iterations(time_limit, len(problem.stops))
    params = SolveParams(time_limit_s=max(time_limit * 10, 60.0), seed=seed, iterations=budget)

    say(f"{name}: planning {len(problem.stops)} stops on straight lines ({budget} iterations) ...")
    straight, _ = plan_reproducibly(problem, straight_matrix, params)
    believed = schedule(problem, straight_matrix, straight.routes)
    driven = schedule(problem, road_matrix, straight.routes)
    say(f"{name}: planning on roads ...")
    on_roads, _ = plan_reproducibly(problem, road_matrix, params)
    road_plan = schedule(problem, road_matrix, on_roads.routes)

    errors, percents, pairs, km = [], [], [], []
    for profile, a, b in legs(problem, straight):
        s = int(straight_matrix.durations(profile)[a, b])
        r = int(road_matrix.durations(profile)[a, b])
        errors.append(s - r)
        pairs.append((s, r))
        if r > 0:
            percents.append(100 * (s - r) / r)
        if straight_matrix.distances_m[a, b] > 0:
            km.append(road_matrix.distances_m[a, b] / straight_matrix.distances_m[a, b])
    absolute = np.abs(np.array(errors, dtype=np.float64)) / 60
    pct = np.abs(np.array(percents))
    worst = int(np.argmax(absolute))
    shift = [
        abs(driven.visits[sid].arrival_s - v.arrival_s) / 60
        for sid, v in believed.visits.items()
        if sid in driven.visits
    ]
    newly_late = sum(1 for sid, v in driven.visits.items() if v.late_s > 0 and believed.visits[sid].late_s == 0)
    return Eta(
        map=name,
        stops_generated=stops,
        stops_dropped=stops - len(problem.stops),
        stops=len(problem.stops),
        couriers=len(problem.couriers),
        iterations=budget,
        legs=len(errors),
        leg_abs_min_p50=float(np.percentile(absolute, 50)),
        leg_abs_min_p90=float(np.percentile(absolute, 90)),
        leg_worst_min=float(absolute[worst]),
        leg_worst_straight_min=pairs[worst][0] / 60,
        leg_worst_road_min=pairs[worst][1] / 60,
        leg_abs_pct_p50=float(np.percentile(pct, 50)),
        leg_abs_pct_p90=float(np.percentile(pct, 90)),
        leg_worst_pct=float(pct.max()),
        leg_under_share=sum(1 for e in errors if e < 0) / len(errors),
        leg_signed_min_mean=statistics.fmean(errors) / 60,
        leg_road_km_per_straight_km=float(np.median(km)) * 1.3,
        arrival_abs_min_p50=statistics.median(shift),
        arrival_worst_min=max(shift),
        newly_late=newly_late,
        plans=[
            figures("straight-line plan, as it believed", problem, wire, believed, len(straight.unassigned)),
            figures("straight-line plan, driven on roads", problem, wire, driven, len(straight.unassigned)),
            figures("planned on roads", problem, wire, road_plan, len(on_roads.unassigned)),
        ],
    )


# -- the report ---------------------------------------------------------------------------------


def _median(runs: list[dict[str, Any]], key: str = "wall_s") -> float:
    return float(statistics.median(r[key] for r in runs))


def _mark(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def speed_rows(speed: list[dict[str, Any]], sizes: Sequence[int]) -> list[tuple[str, str, list[str], str]]:
    """(figure, goal, one cell per map, pass?) rows of the speed table."""
    rows: list[tuple[str, str, list[str], str]] = []

    def add(label: str, goal: float | None, values: list[float], fmt: str = "{:.2f} s") -> None:
        verdict = "-" if goal is None else _mark(all(v <= goal for v in values))
        rows.append((label, "-" if goal is None else f"<= {goal:g} s", [fmt.format(v) for v in values], verdict))

    prepare = [m["prepare"] for m in speed]
    serve = [m["serve"] for m in speed]
    add("prepare: parse + CCH order, cold cache", GOALS["prepare_s"], [p["prepare"]["wall_s"] for p in prepare])
    add("open again in that process (memo cleared)", None, [p["reopen"]["wall_s"] for p in prepare])
    add("fresh process: open from the cache", None, [s["load"]["wall_s"] for s in serve])
    add(
        "fresh process: ready (open, snap index, 2 metrics customized)",
        GOALS["ready_s"],
        [s["ready"]["wall_s"] for s in serve],
    )
    add("  of which customizing the 2 metrics", None, [s["customize"]["wall_s"] for s in serve])
    add("fresh process: importing numpy, scipy, pyroutingkit, ...", None, [s["import"]["wall_s"] for s in serve])
    for n in sizes:
        goal = GOALS.get(n)
        runs = [s["matrices"][str(n)]["runs"] for s in serve]
        add(
            f"{n:,} x {n:,} random points, 1 profile (median of {len(runs[0])})",
            goal,
            [_median(r) for r in runs],
        )
        add("  of which snapping", None, [statistics.median(s["matrices"][str(n)]["snap_s"]) for s in serve])
        add("  CPU s per wall s (1.0: one core)", None, [_median(r, "cpu_s") / _median(r) for r in runs], "{:.2f}")
        add(
            "  pairs without a path",
            None,
            [100 * s["matrices"][str(n)]["no_path_share"] for s in serve],
            "{:.1f}%",
        )
    for n in sizes:
        runs = [s["days"][str(n)]["runs"] for s in serve]
        add(f"generated day, {n:,} locations, 2 profiles (median)", GOALS.get(n), [_median(r) for r in runs])
    add("peak memory, preparing process", None, [p["peak_mb"] for p in prepare], "{:,.0f} MB")
    add("peak memory, serving process (after the matrices)", None, [s["peak_mb"] for s in serve], "{:,.0f} MB")
    add("cache on disk", None, [p["cache_mb"] for p in prepare], "{:.1f} MB")
    return rows


def _other(speed: list[dict[str, Any]]) -> dict[str, float]:
    """CPU other work used during the timed steps, in cores: on the pinned core and on the
    whole machine, the most in one step and the mean over all of them (weighted by time)."""
    probes = []
    for m in speed:
        probes += [m["prepare"]["prepare"], m["serve"]["ready"]]
        for block in ("matrices", "days"):
            for figures_ in m["serve"][block].values():
                probes += figures_["runs"]
    wall = sum(p["wall_s"] for p in probes) or 1.0
    return {
        f"{how}_{where}": (
            max(p[where] for p in probes) if how == "max" else sum(p[where] * p["wall_s"] for p in probes) / wall
        )
        for how in ("max", "mean")
        for where in ("other_on_core", "other_cores")
    }


def report(
    speed: list[dict[str, Any]], etas: list[Eta], setup: dict[str, Any], sizes: Sequence[int], command: str
) -> str:
    from scenarios.maps import ATTRIBUTION

    lines = [
        "# Road networks: speed on one core, and why road times matter (BENCHMARKS.md 7)",
        "",
        f"- Command: `{command}` (from the checkout; runs `python -m benchmarks.roads`)",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {commit()}",
        f"- Machine: {machine()}; pyroutingkit {setup['versions']['pyroutingkit']}, "
        f"osmium {setup['versions']['osmium']}. Numbers from one 2-core shared machine.",
    ]
    if speed:
        other = _other(speed)
        loads = ", ".join(
            f"{m['prepare']['map']} {m['load_before'][0]:.2f} before / {m['load_after'][0]:.2f} after" for m in speed
        )
        busy = setup["load_start"][0] > 1 or other["mean_other_cores"] > 0.25 or other["max_other_cores"] > 0.5
        lines += [
            f"- Load average (1 min): {setup['load_start'][0]:.2f} at the start; around each map's timing {loads} "
            "(our own single-core process adds about 1). CPU other work used during the timed steps "
            "(`/proc/stat` less our own CPU time): on the pinned core "
            f"{other['mean_other_on_core']:.0%} on average, at most {other['max_other_on_core']:.0%} in a step; "
            f"on the whole machine {other['mean_other_cores']:.2f} cores on average, at most "
            f"{other['max_other_cores']:.2f}: "
            + (
                "**other work was running**; re-run on a quiet machine for final figures."
                if busy
                else "no other heavy work was running."
            ),
            f"- One core: every timed step ran in a fresh spawned process pinned with `os.sched_setaffinity` to "
            f"CPU {speed[0]['serve']['core']} and with `OMP_NUM_THREADS={speed[0]['serve']['omp_threads']}` "
            "set before pyroutingkit (bundled libgomp) was loaded.",
            f"- Cache: {'a new temporary directory (cold)' if setup['temporary_cache'] else 'the `--cache-dir` given'};"
            " preparing was "
            + ", ".join(f"{m['prepare']['map']} {'cold' if m['prepare']['cold'] else 'WARM'}" for m in speed)
            + ". The fresh process loads files just written, so they come from the OS page cache.",
            f"- Matrices: N random points spread evenly over the city's disc (`scenarios.generate.CITIES`: Porto "
            f"6 km, Xuzhou 7 km around the hub; seed {setup['seed']}), `RoadSource(network).weights(points, "
            f"'{speed[0]['serve']['profile']}', None)` (the default profile: durations, and the distances of the "
            "fastest paths: two CCH many-to-many searches), a fresh `RoadSource` each run, snapping included. "
            "Generated day: `RoadSource(network).matrix(generate_day(N - 1, (N - 1) // 17, seed, city))` "
            "(e-bikes and vans: two profiles, four searches; the first of its runs also customizes those profiles' "
            "four metrics). *Pairs without a path*: points whose nearest street lies on a piece of the map the "
            "e-scooter's network (no motorways) does not join, more than 100 m nearer than any street of it "
            "(snapping prefers the largest strongly connected part of the profile's own roads).",
            "",
            "| map | file | drivable nodes | segments | arcs |",
            "| --- | --- | --- | --- | --- |",
        ]
        for m in speed:
            p = m["prepare"]
            lines.append(
                f"| {p['map']} | `../shared/data/osm/{p['file']}` ({p['file_mb']:.1f} MB) | {p['nodes']:,} | "
                f"{p['segments']:,} | {p['arcs']:,} |"
            )
        names = [m["prepare"]["map"].capitalize() for m in speed]
        lines += [
            "",
            "## Speed on one core",
            "",
            "| figure | goal | " + " | ".join(names) + " | pass? |",
            "| --- | --- | " + " | ".join("---" for _ in names) + " | --- |",
        ]
        for label, goal, cells, verdict in speed_rows(speed, sizes):
            lines.append(f"| {label} | {goal} | " + " | ".join(cells) + f" | {verdict} |")
        lines.append("")
    if etas:
        lines += eta_report(etas, setup)
    lines += [f"Maps: {ATTRIBUTION} (ODbL)."]
    return "\n".join(lines) + "\n"


def eta_report(etas: list[Eta], setup: dict[str, Any]) -> list[str]:
    names = [e.map.capitalize() for e in etas]
    first = etas[0]
    lines = [
        "## Why road times matter: a straight-line plan driven on roads",
        "",
        f"- Day: `generate_day({setup['stops']}, {setup['couriers']}, seed={setup['seed']}, city=...)` moved onto the"
        " streets (`on_streets`); e-bikes (18 km/h) and 20% vans (25 km/h), 2-hour booked slots, lunch breaks."
        " Stops some courier cannot reach from the hub or get back from on the map are taken out first: "
        + ", ".join(f"{e.map} {e.stops_dropped} of {e.stops_generated}" for e in etas)
        + ".",
        f"- Plans: `plan_reproducibly` (PyVRP on {first.iterations:,} iterations, seed {setup['seed']}; breaks"
        " placed by `schedule()`) on the straight-line model (`HaversineSource(1.3)`) and on roads"
        " (`RoadSource`); the straight-line plan's very routes timed on roads by"
        " `schedule(problem, road_matrix, routes)`.",
        "- Leg error = straight-line duration - road duration of each leg driven (depot legs included), for the"
        " courier's profile; negative: the straight line promised too little time.",
        "",
        "| straight-line ETA error | " + " | ".join(names) + " |",
        "| --- | " + " | ".join("---" for _ in names) + " |",
    ]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("legs driven", [f"{e.legs}" for e in etas])
    row("per leg, absolute error: median", [f"{e.leg_abs_min_p50:.1f} min ({e.leg_abs_pct_p50:.0f}%)" for e in etas])
    row("per leg, absolute error: p90", [f"{e.leg_abs_min_p90:.1f} min ({e.leg_abs_pct_p90:.0f}%)" for e in etas])
    row(
        "worst leg (minutes)",
        [
            f"{e.leg_worst_min:.1f} min (straight {e.leg_worst_straight_min:.1f}, road {e.leg_worst_road_min:.1f})"
            for e in etas
        ],
    )
    row("worst leg (%)", [f"{e.leg_worst_pct:.0f}%" for e in etas])
    row("legs the straight line under-estimates", [f"{e.leg_under_share:.0%}" for e in etas])
    row("mean signed error per leg", [f"{e.leg_signed_min_mean:+.1f} min" for e in etas])
    row("road km per straight-line km (median leg; model: 1.3)", [f"{e.leg_road_km_per_straight_km:.2f}" for e in etas])
    row(
        "arrival on roads vs as believed: median absolute difference",
        [f"{e.arrival_abs_min_p50:.0f} min" for e in etas],
    )
    row("arrival on roads vs as believed: worst difference", [f"{e.arrival_worst_min:.0f} min" for e in etas])
    row("stops on time as believed, late on roads", [f"{e.newly_late}" for e in etas])
    lines += [
        "",
        "| map | plan | late stops | late min | distance km | couriers | cost (units) | cost CNY | unassigned |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in etas:
        for p in e.plans:
            lines.append(
                f"| {e.map.capitalize()} ({e.stops} stops) | {p.name} | {p.late_stops} | {p.late_min:,.0f} | "
                f"{p.distance_km:,.1f} | {p.couriers_used} | {p.cost:,} | {p.cost_cny:,.0f} | {p.unassigned} |"
            )
    lines += [
        "",
        "Distances and costs of the plans driven on roads are road kilometres; those of the plan as believed are"
        " straight-line kilometres x 1.3. Cost: objective units (each used courier's fixed cost and metres at the"
        " day's rates, 4,000 units = 1 CNY); CNY at the wire's rates with working hours.",
        "",
    ]
    return lines


# -- the command ---------------------------------------------------------------------------------


def main(
    maps: list[str],
    sizes: list[int],
    repeats: int,
    stops: int,
    couriers: int,
    seed: int,
    time_limit: float,
    iterations: int,
    parts: set[str],
    cache_dir: Path | None,
    out: Path | None,
    command: str,
) -> None:
    temporary = cache_dir is None
    cache = Path(tempfile.mkdtemp(prefix="ontime-bench-roads-")) if cache_dir is None else cache_dir
    setup: dict[str, Any] = {
        "maps": maps,
        "sizes": sizes,
        "repeats": repeats,
        "stops": stops,
        "couriers": couriers,
        "seed": seed,
        "time_limit_s": time_limit,
        "parts": sorted(parts),
        "temporary_cache": temporary,
        "versions": {p: metadata.version(p) for p in ("pyroutingkit", "osmium")},
        "load_start": os.getloadavg(),
    }
    try:
        speed = measure_speed(maps, cache, sizes, repeats, seed) if "speed" in parts else []
        etas = (
            [measure_eta(name, cache, stops, couriers, seed, time_limit, iterations) for name in maps]
            if "eta" in parts
            else []
        )
    finally:
        if temporary:
            shutil.rmtree(cache, ignore_errors=True)
    setup["load_end"] = os.getloadavg()
    text = report(speed, etas, setup, sizes, command)
    target = out or ROOT / "benchmarks" / "results" / "roads.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    target.with_suffix(".json").write_text(
        json.dumps({"setup": setup, "speed": speed, "eta": [asdict(e) for e in etas]}, indent=1) + "\n",
        encoding="utf-8",
    )
    print(text)


def _names(text: str, allowed: Sequence[str], option: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(allowed))
    if unknown or not names:
        raise typer.BadParameter(f"expected some of {', '.join(allowed)}, got {text!r}", param_hint=option)
    return names


def cli(
    maps: Annotated[str, typer.Option("--maps", help="embedded maps, comma-separated")] = ",".join(MAPS),
    sizes: Annotated[str, typer.Option("--sizes", help="matrix sizes N (N x N), comma-separated")] = "1000,2000",
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="runs per matrix; the median is reported")] = 3,
    stops: Annotated[int, typer.Option("--stops", min=10, max=5000, help="stops of the generated day")] = 300,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500, help="couriers of the generated day")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="random points, generated day and search")] = 1,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="s per plan, as an iteration budget (reproducible)")
    ] = 10.0,
    iterations: Annotated[
        int, typer.Option("--iterations", min=0, help="PyVRP iterations per plan (0: from --time-limit)")
    ] = 0,
    parts: Annotated[str, typer.Option("--parts", help="speed and/or eta")] = "speed,eta",
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="road cache; default a new temporary one, so preparing is measured cold"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="results file (default benchmarks/results/roads.md)")
    ] = None,
) -> None:
    """Road networks: preparing, loading and matrices on one core; a straight-line plan driven on roads."""
    try:
        size_list = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected numbers, got {sizes!r}", param_hint="--sizes") from None
    if not size_list or min(size_list) < 2:
        raise typer.BadParameter("sizes must be at least 2", param_hint="--sizes")
    main(
        _names(maps, MAPS, "--maps"),
        size_list,
        repeats,
        stops,
        couriers,
        seed,
        time_limit,
        iterations,
        set(_names(parts, ("speed", "eta"), "--parts")),
        cache_dir,
        out,
        " ".join(["ontime bench roads", *sys.argv[1:]]).strip(),
    )


if __name__ == "__main__":
    run(cli, "roads")
