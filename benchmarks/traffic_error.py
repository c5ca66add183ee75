"""Time-of-day traffic: the ETA error left by planning with time-independent stand-ins.

Engines plan with one duration per leg; `schedule()` times the chosen routes exactly under
the speed profile (`optimizer.travel.speed`). For generated days under rush hours (x1.4 at
07:30-09:30 and 17:00-19:30) and each stand-in (`free`: traffic ignored, `mean`: one factor
over the shifts, `window`: per leg, the profile's mean around the target's booked windows),
the same deterministic PyVRP search plans the day; then per stop the engine's implied ETA
(the routes timed on the stand-in matrix, which is what the engine believed) is compared
with the exact ETA (timed under the profile). Reported: the absolute ETA error's p50, p90
and max, its mean sign, late stops the engine did not see coming, and the plan's exact
lateness and distance. Also `schedule_route()` on a 50-stop route with and without a
profile. Written to `benchmarks/results/traffic_error.md`.
"""

from __future__ import annotations

import datetime as dt
import gc
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from benchmarks.command import run
from benchmarks.provenance import commit, machine

ROOT = Path(__file__).resolve().parent.parent
RUSH = ((7 * 3600 + 1800, 9 * 3600 + 1800, 1.4), (17 * 3600, 19 * 3600 + 1800, 1.4))


@dataclass
class Row:
    seed: int
    how: str
    errors_s: list[int]
    implied_late: int
    exact_late: int
    unforeseen_late: int
    exact_late_min: float
    distance_km: float
    unassigned: int


def measure(problem: Any, how: str, time_limit: float, seed: int) -> Row:
    from optimizer.params import SolveParams
    from optimizer.schedule import schedule
    from optimizer.travel.haversine import HaversineSource
    from optimizer.travel.matrix import TravelMatrix
    from optimizer.travel.speed import SpeedProfile
    from scenarios.compare import budget_iterations, plan_reproducibly

    speed = SpeedProfile.from_periods(RUSH)
    matrix = HaversineSource().matrix(problem).with_speed(speed, problem, how)  # type: ignore[arg-type]
    params = SolveParams(
        time_limit_s=time_limit, seed=seed, iterations=budget_iterations(time_limit, len(problem.stops))
    )
    solution, _ = plan_reproducibly(problem, matrix, params)
    believed = schedule(problem, TravelMatrix(matrix.distances_m, matrix.durations_s), solution.routes)
    exact = schedule(problem, matrix, solution.routes)
    implied = believed.visits
    errors = [v.start_s - implied[sid].start_s for sid, v in exact.visits.items()]
    unforeseen = sum(1 for sid, v in exact.visits.items() if v.late_s > 0 and implied[sid].late_s == 0)
    return Row(
        seed,
        how,
        errors,
        believed.late_stops,
        exact.late_stops,
        unforeseen,
        exact.late_s / 60,
        exact.distance_m / 1000,
        len(solution.unassigned),
    )


def schedule_speed(with_profile: bool, repeats: int = 3000) -> float:
    """Median microseconds of `schedule_route()` on one courier's 50-stop route."""
    from dataclasses import replace

    from api.schemas import ProblemIn
    from optimizer.schedule import schedule_route
    from optimizer.travel.haversine import HaversineSource
    from optimizer.travel.speed import SpeedProfile
    from scenarios.generate import generate_day

    problem = ProblemIn.model_validate(generate_day(50, 1, seed=3)).to_domain()
    problem = replace(problem, couriers=(replace(problem.couriers[0], shift_end_s=24 * 3600),))
    matrix = HaversineSource().matrix(problem)
    if with_profile:
        matrix = matrix.with_speed(SpeedProfile.from_periods(RUSH), problem)
    route = tuple(s.id for s in sorted(problem.stops, key=lambda s: s.earliest_s))
    batches = []
    gc.disable()
    try:
        for _ in range(repeats // 100):
            began = time.perf_counter()
            for _ in range(100):
                schedule_route(problem, matrix, 0, route)
            batches.append((time.perf_counter() - began) / 100 * 1e6)
    finally:
        gc.enable()
    return statistics.median(batches)


def main(stops: int, couriers: int, seeds: int, time_limit: float, out: Path | None) -> None:
    from api.schemas import ProblemIn
    from scenarios.generate import generate_day

    rows: list[Row] = []
    for seed in range(1, seeds + 1):
        problem = ProblemIn.model_validate(generate_day(stops, couriers, seed=seed)).to_domain()
        for how in ("free", "mean", "window"):
            print(f"day seed {seed}, stand-in {how} ...", file=sys.stderr, flush=True)
            rows.append(measure(problem, how, time_limit, seed))
    plain, timed = schedule_speed(False), schedule_speed(True)
    text = report(rows, stops, couriers, seeds, time_limit, plain, timed)
    target = out or ROOT / "benchmarks" / "results" / "traffic_error.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(text)


def _pct(values: list[int], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(max(round(p / 100 * len(ordered) + 0.5) - 1, 0), len(ordered) - 1)] / 60


def report(rows: list[Row], stops: int, couriers: int, seeds: int, limit: float, plain: float, timed: float) -> str:
    lines = [
        "# Time-of-day traffic: ETA error of the engines' stand-ins",
        "",
        f"- Command: `ontime bench traffic --stops {stops} --couriers {couriers} --seeds {seeds} "
        f"--time-limit {limit:g}`",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {commit()}",
        f"- Machine: {machine()}",
        f"- Days: `generate_day({stops}, {couriers}, seed)` for seeds 1..{seeds}; profile x1.4 at 07:30-09:30 and "
        "17:00-19:30, 1.0 otherwise; the same deterministic PyVRP search (iteration budget for "
        f"{limit:g} s, breaks placed by `schedule()`) for every stand-in.",
        "- ETA error = exact ETA (timed under the profile) - implied ETA (timed on the matrix the engine planned "
        "with), over all routed stops of all days; minutes.",
        "",
        "| stand-in | abs error p50 | p90 | max | mean signed | late stops implied | late stops exact | "
        "late, not foreseen | exact late min | km | unassigned |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for how in ("free", "mean", "window"):
        mine = [r for r in rows if r.how == how]
        errors = [e for r in mine for e in r.errors_s]
        absolute = [abs(e) for e in errors]
        lines.append(
            f"| {how} | {_pct(absolute, 50):.1f} | {_pct(absolute, 90):.1f} | {max(absolute, default=0) / 60:.1f} | "
            f"{statistics.fmean(errors) / 60 if errors else 0:+.1f} | {sum(r.implied_late for r in mine)} | "
            f"{sum(r.exact_late for r in mine)} | {sum(r.unforeseen_late for r in mine)} | "
            f"{sum(r.exact_late_min for r in mine):.0f} | {sum(r.distance_km for r in mine):.1f} | "
            f"{sum(r.unassigned for r in mine)} |"
        )
    lines += [
        "",
        "## `schedule_route()` speed, one 50-stop route (median of batches of 100, GC paused)",
        "",
        "| travel | microseconds per route |",
        "| --- | --- |",
        f"| time-independent matrix | {plain:.0f} |",
        f"| with the rush-hour profile | {timed:.0f} |",
    ]
    return "\n".join(lines) + "\n"


def cli(
    stops: Annotated[int, typer.Option("--stops", min=10, max=5000)] = 200,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500)] = 16,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="generated days")] = 3,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="s per plan")] = 5.0,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Time-of-day traffic: the ETA error engines' time-independent stand-ins leave (exact vs implied)."""
    main(stops, couriers, seeds, time_limit, out)


if __name__ == "__main__":
    run(cli, "traffic")
