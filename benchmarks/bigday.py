"""City-size days (BENCHMARKS.md 3, issue 13): the regions engine on both cores against PyVRP
on one core given five times as long.

For each size (`STOPSxCOURIERS:BUDGET:REFERENCE`), a generated day with pickups and trips
(`generate_day(..., pickup_share, max_trips, reload_min)`) is planned:

- by the regions engine (`optimizer.engines.regions`) on the local process pool and on Ray
  (`ray.init(num_cpus=2)`), two workers each, answering within BUDGET seconds: the travel
  matrix and the solve together (the pool is started and warmed before, as a service keeps it);
- on the first size, by the other way to use both cores (`mode="seeds"`: two whole-day
  searches that share their best as they go), on the local pool;
- by PyVRP alone on one core given REFERENCE seconds (0: no reference), the quality reference;
- on the first size, by the regions engine on an iteration budget on both executors: the very
  same routes are expected from both.

The day is planned as `engine="auto"` plans a day with breaks: without them, room left for them
(`optimizer.engines.auto.without_breaks`), by every contender alike; `schedule()` then places
the breaks on the real day and the late stops that causes are counted. Every plan is re-scored
here (`schedule()` on the day planned, `optimizer.kpi.route_cost`), not taken from the engine:
distance, cost in objective units (each used courier's fixed cost and metres at the day's
rates; the hourly rate is not planned with, as in `without_breaks`), the day's cost in CNY at
the wire's rates with working hours, couriers used, trips. Written to
`benchmarks/results/bigday.md` and `bigday.json` beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from benchmarks.command import run
from benchmarks.provenance import commit, machine

if TYPE_CHECKING:
    from optimizer.engines.regions import Mode

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Size:
    stops: int
    couriers: int
    budget_s: float
    reference_s: float

    @property
    def label(self) -> str:
        return f"{self.stops} stops / {self.couriers} couriers"


def parse_sizes(text: str) -> list[Size]:
    """`2000x120:60:300,5000x300:180:0` -> sizes (stops, couriers, budget s, reference s)."""
    sizes = []
    for part in text.split(","):
        try:
            shape, budget, reference = part.strip().split(":")
            stops, couriers = shape.split("x")
            sizes.append(Size(int(stops), int(couriers), float(budget), float(reference)))
        except ValueError:
            raise typer.BadParameter(f"{part!r}: expected STOPSxCOURIERS:BUDGET_S:REFERENCE_S") from None
    return sizes


@dataclass(frozen=True, slots=True)
class Day:
    """A generated day: the wire form, the real day (with breaks) and the day planned."""

    wire: Any
    real: Any
    planned: Any


def build_day(stops: int, couriers: int, seed: int, pickups: float, trips: int, reload_min: float) -> Day:
    """The generated day with pickups and trips, converted by the wire."""
    from api.schemas import ProblemIn
    from optimizer.engines.auto import without_breaks
    from scenarios.generate import generate_day

    day = generate_day(stops, couriers, seed, pickup_share=pickups, max_trips=trips, reload_min=reload_min)
    wire = ProblemIn.model_validate(day)
    real = wire.to_domain()
    return Day(wire, real, without_breaks(real))


@dataclass
class Run:
    size: str
    who: str
    executor: str
    limit: str
    matrix_s: float
    solve_s: float
    answer_s: float
    distance_km: float
    cost: int
    cost_cny: float
    couriers_used: int
    trips: int
    unassigned: int
    violations: int
    late_with_breaks: int
    feasible: bool
    routes: list[list[Any]] = field(default_factory=list, repr=False)


def score(day: Day, matrix: Any, solution: Any, size: Size, who: str, executor: str, limit: str, **times: float) -> Run:
    """The plan re-scored on the day planned, and timed on the real day (breaks placed)."""
    from optimizer.kpi import route_cost
    from optimizer.schedule import schedule

    planned = schedule(day.planned, matrix, solution.routes)
    used = [r for r in planned.routes if r.visits]
    real = schedule(day.real, matrix, solution.routes)
    trips = sum(len(r.reloads) + 1 for r in solution.routes if r.stop_ids)
    return Run(
        size=size.label,
        who=who,
        executor=executor,
        limit=limit,
        matrix_s=round(times["matrix_s"], 2),
        solve_s=round(times["solve_s"], 2),
        answer_s=round(times["matrix_s"] + times["solve_s"], 2),
        distance_km=round(planned.distance_m / 1000, 3),
        cost=sum(route_cost(day.planned.courier_by_id(r.courier_id), r.distance_m, r.duration_s) for r in used),
        cost_cny=round(
            day.wire.day_cost((r.courier_id, r.distance_m, r.duration_s) for r in real.routes if r.visits), 2
        ),
        couriers_used=len(used),
        trips=trips,
        unassigned=len(solution.unassigned),
        violations=len(planned.violations),
        late_with_breaks=real.late_stops,
        feasible=bool(solution.feasible),
        routes=[[r.courier_id, list(r.stop_ids), list(r.reloads)] for r in solution.routes if r.stop_ids],
    )


def executor_map(executor: Any) -> Callable[..., list[Any]]:
    """A `ParallelMap` on a `scenarios.executors` executor: every item submitted, results in order."""

    def mapped(fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
        futures = [executor.submit(fn, item) for item in items]
        return [future.result() for future in futures]

    return mapped


def timed(
    day: Day, matrix: Any, matrix_s: float, size: Size, engine: Any, params: Any, who: str, executor: str, limit: str
) -> Run:
    """One planner's answer on `day`, timed (the matrix's time counted) and scored."""
    began = time.perf_counter()
    solution = engine.solve(day.planned, matrix, params)
    run_ = score(
        day, matrix, solution, size, who, executor, limit, matrix_s=matrix_s, solve_s=time.perf_counter() - began
    )
    say(f"    {run_.answer_s} s, {run_.distance_km} km, cost {run_.cost}, {run_.couriers_used} couriers")
    return run_


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def measure(
    sizes: list[Size],
    seed: int,
    pickups: float,
    trips: int,
    reload_min: float,
    executors: list[str],
    strategies: Sequence[str],
    iterations: int,
    region_stops: int,
) -> tuple[list[Run], dict[str, Any]]:
    from optimizer.engines.pyvrp_engine import PyVRPEngine
    from optimizer.engines.regions import RegionsEngine, ready
    from optimizer.params import SolveParams
    from optimizer.travel.haversine import HaversineSource
    from scenarios.executors import make_executor

    runs: list[Run] = []
    notes: dict[str, Any] = {"startup_s": {}, "identical": None, "regions": {}, "peak_mb": {}}
    for k, size in enumerate(sizes):
        first = k == 0
        day = build_day(size.stops, size.couriers, seed, pickups, trips, reload_min)
        began = time.perf_counter()
        matrix = HaversineSource().matrix(day.planned)
        matrix_s = time.perf_counter() - began
        limit = max(1.0, size.budget_s - matrix_s - 0.5)
        notes["regions"][size.label] = RegionsEngine(workers=2, region_stops=region_stops).region_count(size.stops)
        deterministic: dict[str, list[list[Any]]] = {}
        for kind in executors:
            say(f"{size.label}: starting {kind} ...")
            started = time.perf_counter()
            executor = make_executor(kind, 2)
            try:
                for future in [executor.submit(ready, w) for w in range(2)]:
                    future.result()
                notes["startup_s"][kind] = round(time.perf_counter() - started, 1)
                parallel = executor_map(executor)
                todo: list[Mode] = ["regions"] if "regions" in strategies else []
                if first and kind == "local" and "seeds" in strategies:
                    todo.append("seeds")
                for strategy in todo:
                    say(f"  {strategy} on {kind}, {limit:.1f} s ...")
                    engine = RegionsEngine(parallel, workers=2, mode=strategy, region_stops=region_stops)
                    params = SolveParams(time_limit_s=limit, seed=seed)
                    runs.append(timed(day, matrix, matrix_s, size, engine, params, strategy, kind, f"{limit:.1f} s"))
                if first and iterations:
                    say(f"  regions on {kind}, {iterations} iterations per search ...")
                    engine = RegionsEngine(parallel, workers=2, region_stops=region_stops)
                    params = SolveParams(time_limit_s=3600, seed=seed, iterations=iterations)
                    runs.append(timed(day, matrix, matrix_s, size, engine, params, "regions", kind, f"{iterations} it"))
                    deterministic[kind] = runs[-1].routes
            finally:
                executor.shutdown()
        if len(deterministic) > 1:
            notes["identical"] = all(r == next(iter(deterministic.values())) for r in deterministic.values())
        if size.reference_s:
            say(f"  PyVRP alone on one core, {size.reference_s:g} s ...")
            params = SolveParams(time_limit_s=size.reference_s, seed=seed)
            limit_text = f"{size.reference_s:g} s"
            runs.append(timed(day, matrix, matrix_s, size, PyVRPEngine(), params, "pyvrp", "one core", limit_text))
        notes["peak_mb"][size.label] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return runs, notes


def _gap(value: float, reference: float | None) -> str:
    if not reference:
        return "-"
    return f"{100 * (value / reference - 1):+.2f}%"


def report(runs: list[Run], notes: dict[str, Any], sizes: list[Size], command: str, setup: dict[str, Any]) -> str:
    lines = [
        "# City-size days: regions on both cores vs PyVRP on one (BENCHMARKS.md 3, issue 13)",
        "",
        f"- Command: `{command}`",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {commit()}",
        f"- Machine: {machine()}; load average {setup['load_before']:.1f} before, {setup['load_after']:.1f} after "
        "(shared machine: other jobs may have run meanwhile)",
        f"- Days: `generate_day(STOPS, COURIERS, seed={setup['seed']}, pickup_share={setup['pickups']:g}, "
        f"max_trips={setup['trips']}, reload_min={setup['reload_min']:g})` (Shanghai, one hub, e-bikes and 20% vans, "
        "10% two-slot stops, 2-hour slots); planned without the lunch breaks as `engine=auto` plans a day with "
        "breaks (room left for them), the breaks then placed by `schedule()` on the real day (column *late with "
        "breaks*). Straight-line travel x 1.3.",
        "- Regions engine: two workers; "
        + ", ".join(f"{label}: {count} sectors" for label, count in notes["regions"].items())
        + f", {setup['rounds']} border rounds (every other one squeezing out a courier per group); "
        + "executors started and warmed before the solve (start-up: "
        + ", ".join(f"{k} {v} s" for k, v in notes["startup_s"].items())
        + "). *Answer* = travel matrix + solve, wall time. PyVRP alone: `PyVRPEngine` with the time limit, one core. "
        + "Peak memory of the benchmark process (day, matrix, PyVRP alone; the workers hold only sectors): "
        + ", ".join(f"{label} {mb:,} MB" for label, mb in notes["peak_mb"].items())
        + " (cumulative).",
        "- Cost: objective units re-scored here (each used courier's fixed cost + metres at the day's rates; "
        "4,000 units = 1 CNY); *CNY* is the day's cost at the wire's rates (150 a courier, 0.5 a km, 35 an hour) "
        "timed with the breaks.",
        "",
    ]
    for size in sizes:
        rows = [r for r in runs if r.size == size.label]
        reference = next((r for r in rows if r.who == "pyvrp"), None)
        lines += [
            f"## {size.label}, answer within {size.budget_s:g} s"
            + (f"; reference PyVRP {size.reference_s:g} s" if size.reference_s else ""),
            "",
            "| planner | executor | limit | answer s | distance km | vs ref | cost | vs ref | CNY | couriers | "
            "trips | unassigned | violations | late with breaks |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in rows:
            lines.append(
                f"| {r.who} | {r.executor} | {r.limit} | {r.answer_s:.1f} | {r.distance_km:,.1f} | "
                f"{_gap(r.distance_km, reference.distance_km if reference else None)} | {r.cost:,} | "
                f"{_gap(r.cost, reference.cost if reference else None)} | {r.cost_cny:,.0f} | {r.couriers_used} | "
                f"{r.trips} | {r.unassigned} | {r.violations} | {r.late_with_breaks} |"
            )
        lines.append("")
    lines += goals(runs, notes, sizes)
    return "\n".join(lines) + "\n"


def goals(runs: list[Run], notes: dict[str, Any], sizes: list[Size]) -> list[str]:
    """The issue's goals read from the runs."""
    lines = ["## Goals", ""]
    for size in sizes:
        rows = [r for r in runs if r.size == size.label and r.who == "regions" and r.limit.endswith(" s")]
        reference = next((r for r in runs if r.size == size.label and r.who == "pyvrp"), None)
        for r in rows:
            within = r.answer_s <= size.budget_s
            text = (
                f"- {size.label}, regions on {r.executor}: answered in {r.answer_s:.1f} s (goal {size.budget_s:g} s: "
            )
            text += "met" if within else "NOT met"
            text += ")"
            if reference is not None:
                gap = 100 * (r.distance_km / reference.distance_km - 1)
                text += f"; distance {gap:+.2f}% against PyVRP alone given {reference.limit}"
                if size.reference_s > size.budget_s:  # the goal: within 1% of a longer search
                    text += f" (goal: at most +1%: {'met' if gap <= 1 else 'NOT met'})"
                text += f", cost {_gap(r.cost, reference.cost)}"
                text += f", {r.couriers_used} couriers to its {reference.couriers_used}"
            lines.append(text + ".")
    if notes["identical"] is not None:
        lines.append(
            "- The iteration-budget runs give "
            + ("the very same routes" if notes["identical"] else "DIFFERENT routes")
            + " on the local pool and on Ray."
        )
    seeds = [r for r in runs if r.who == "seeds"]
    for r in seeds:
        regions = next((x for x in runs if x.size == r.size and x.who == "regions" and x.executor == "local"), None)
        if regions is not None:
            lines.append(
                f"- Two ways to use both cores, {r.size}, same budget: regions {regions.distance_km:,.1f} km, cost "
                f"{regions.cost:,}, {regions.couriers_used} couriers; parallel seeds sharing their best "
                f"{r.distance_km:,.1f} km, cost {r.cost:,}, {r.couriers_used} couriers: "
                + ("regions plan better." if regions.cost < r.cost else "parallel seeds plan better.")
            )
    return lines


def main(
    sizes_text: str,
    seed: int,
    pickups: float,
    trips: int,
    reload_min: float,
    executors: list[str],
    strategies: list[str],
    iterations: int,
    region_stops: int,
    out: Path | None,
    command: str,
) -> list[Run]:
    from optimizer.engines.regions import RegionsEngine

    sizes = parse_sizes(sizes_text)
    load_before = os.getloadavg()[0]
    runs, notes = measure(sizes, seed, pickups, trips, reload_min, executors, strategies, iterations, region_stops)
    setup = {
        "seed": seed,
        "pickups": pickups,
        "trips": trips,
        "reload_min": reload_min,
        "rounds": RegionsEngine().rounds,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    text = report(runs, notes, sizes, command, setup)
    target = out or ROOT / "benchmarks" / "results" / "bigday.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    figures = [{k: v for k, v in asdict(r).items() if k != "routes"} for r in runs]
    target.with_suffix(".json").write_text(
        json.dumps({"setup": setup, "notes": notes, "runs": figures}, indent=1) + "\n", encoding="utf-8"
    )
    print(text)
    return runs


def cli(
    sizes: Annotated[
        str, typer.Option("--sizes", help="STOPSxCOURIERS:BUDGET_S:REFERENCE_S, comma-separated (reference 0: none)")
    ] = "2000x120:60:300,5000x300:180:180,1000x60:60:60",
    seed: Annotated[int, typer.Option("--seed")] = 1,
    pickups: Annotated[
        float, typer.Option("--pickups", min=0.0, max=1.0, help="share of stops that are pickups")
    ] = 0.2,
    trips: Annotated[int, typer.Option("--trips", min=1, max=10, help="trips each courier may make")] = 2,
    reload_min: Annotated[
        float, typer.Option("--reload-min", min=0.0, max=120.0, help="minutes a reload takes")
    ] = 15.0,
    executors: Annotated[str, typer.Option("--executors", help="local, ray or both")] = "local,ray",
    strategies: Annotated[str, typer.Option("--strategies", help="regions and/or seeds (seeds: first size)")] = (
        "regions,seeds"
    ),
    iterations: Annotated[
        int, typer.Option("--iterations", min=0, help="per-search budget of the same-figures check (0: none)")
    ] = 400,
    region_stops: Annotated[int, typer.Option("--region-stops", min=10, help="about how many stops a sector")] = 400,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """City-size days: regions on both cores (local pool, Ray) vs PyVRP on one (BENCHMARKS.md 3)."""
    command = " ".join(["python -m benchmarks.bigday", *sys.argv[1:]])
    main(
        sizes,
        seed,
        pickups,
        trips,
        reload_min,
        [e.strip() for e in executors.split(",") if e.strip()],
        [s.strip() for s in strategies.split(",") if s.strip()],
        iterations,
        region_stops,
        out,
        command.strip(),
    )


if __name__ == "__main__":
    run(cli, "bigday")
