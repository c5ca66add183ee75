"""What-if sweep at scale: local process pool vs Ray on one machine (BENCHMARKS.md 3).

A generated 300-stop day and 20 variants of it (every change kind, alone and combined) are
compared with `scenarios.compare` on each executor, the executors alternating round by
round. Measured per run: start-up (pool or Ray, workers warmed with the solver imports) and
the sweep itself, wall time. Then checked: every run gives the very same figures for every
scenario (the iteration budget makes a solve deterministic for its seed). Written to
`benchmarks/results/whatif.md`.
"""

from __future__ import annotations

import datetime as dt
import os
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


def sweep(count: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """`count` variants (cycling through this list): every change kind, alone and combined."""
    rush = [["07:30", "09:30", 1.4], ["17:00", "19:30", 1.4]]
    catalogue: list[tuple[str, list[dict[str, Any]]]] = [
        ("one courier off", [{"kind": "remove_couriers", "count": 1}]),
        ("two couriers off", [{"kind": "remove_couriers", "count": 2}]),
        ("four couriers off", [{"kind": "remove_couriers", "count": 4}]),
        ("one courier more", [{"kind": "add_couriers", "count": 1}]),
        ("three couriers more", [{"kind": "add_couriers", "count": 3}]),
        ("demand -20%", [{"kind": "demand_scale", "factor": 0.8}]),
        ("demand +15%", [{"kind": "demand_scale", "factor": 1.15}]),
        ("demand +30%", [{"kind": "demand_scale", "factor": 1.3}]),
        ("traffic +10%", [{"kind": "traffic", "factor": 1.1}]),
        ("traffic +20%", [{"kind": "traffic", "factor": 1.2}]),
        ("rush hours x1.4", [{"kind": "traffic", "profile": rush}]),
        ("1-hour slots", [{"kind": "slot_width", "minutes": 60}]),
        ("3-hour slots", [{"kind": "slot_width", "minutes": 180}]),
        ("shifts 1 h later", [{"kind": "shift_offset", "minutes": 60}]),
        ("shifts 30 min earlier", [{"kind": "shift_offset", "minutes": -30}]),
        ("service x1.3", [{"kind": "service_scale", "factor": 1.3}]),
        (
            "festival",
            [{"kind": "demand_scale", "factor": 1.3}, {"kind": "traffic", "factor": 1.2}],
        ),
        (
            "festival, two more",
            [
                {"kind": "demand_scale", "factor": 1.3},
                {"kind": "traffic", "factor": 1.2},
                {"kind": "add_couriers", "count": 2},
            ],
        ),
        (
            "rush, 1-hour slots",
            [{"kind": "traffic", "profile": rush}, {"kind": "slot_width", "minutes": 60}],
        ),
        (
            "short-staffed peak",
            [{"kind": "remove_couriers", "count": 2}, {"kind": "demand_scale", "factor": 1.15, "seed": 3}],
        ),
    ]
    return [(f"{name}" if k < len(catalogue) else f"{name} #{k // len(catalogue) + 1}", changes)
            for k, (name, changes) in ((k, catalogue[k % len(catalogue)]) for k in range(count))]  # fmt: skip


@dataclass
class Run:
    executor: str
    round: int
    startup_s: float
    sweep_s: float
    figures: list[dict[str, Any] | None]


def run_once(kind: str, workers: int, problem: Any, runs: Any, params: Any, round_no: int) -> tuple[Run, Any]:
    from api.tasks import warm_up
    from scenarios.compare import compare
    from scenarios.executors import make_executor

    began = time.perf_counter()
    executor = make_executor(kind, workers)
    try:
        for future in [executor.submit(warm_up) for _ in range(workers)]:
            future.result()
        ready = time.perf_counter()
        comparison = compare(problem, (), params, executor, prepared=runs)
        finished = time.perf_counter()
    finally:
        executor.shutdown()
    figures = [r.kpis for r in comparison.results]
    return Run(kind, round_no, ready - began, finished - ready, figures), comparison


def main(
    stops: int, couriers: int, variants: int, time_limit: float, workers: int, rounds: int, out: Path | None
) -> None:
    from api.schemas import ProblemIn
    from scenarios.compare import CompareParams, prepare
    from scenarios.generate import generate_day

    problem = ProblemIn.model_validate(generate_day(stops, couriers, seed=1)).to_domain()
    runs = prepare(problem, sweep(variants))
    params = CompareParams(time_limit_s=time_limit, seed=1)
    load_before = os.getloadavg()
    done: list[Run] = []
    last: Any = None
    for round_no in range(rounds):
        order = ("local", "ray") if round_no % 2 == 0 else ("ray", "local")
        for kind in order:
            print(f"round {round_no + 1}: {kind} ...", file=sys.stderr, flush=True)
            run, last = run_once(kind, workers, problem, runs, params, round_no + 1)
            print(f"  start-up {run.startup_s:.1f} s, sweep {run.sweep_s:.1f} s", file=sys.stderr, flush=True)
            done.append(run)
    load_after = os.getloadavg()
    identical = all(r.figures == done[0].figures for r in done)
    failed = [res.name for res in last.results if res.kpis is None]
    text = report(
        done, last, identical, failed, stops, couriers, variants, time_limit, workers, rounds, load_before, load_after
    )
    target = out or ROOT / "benchmarks" / "results" / "whatif.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(text)
    if not identical or failed:
        raise SystemExit(1)


def report(
    done: list[Run],
    comparison: Any,
    identical: bool,
    failed: list[str],
    stops: int,
    couriers: int,
    variants: int,
    time_limit: float,
    workers: int,
    rounds: int,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> str:
    from scenarios.compare import KPI_FIELDS

    def median(kind: str, what: str) -> float:
        return float(statistics.median(float(getattr(r, what)) for r in done if r.executor == kind))

    lines = [
        "# What-if sweep: local process pool vs Ray (BENCHMARKS.md 3)",
        "",
        f"- Command: `ontime bench whatif --stops {stops} --couriers {couriers} --variants {variants} "
        f"--time-limit {time_limit:g} --workers {workers} --rounds {rounds}`",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {commit()}",
        f"- Machine: {machine()}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        "(shared machine: other jobs ran meanwhile; compare the executors within this run)",
        f"- Day: `generate_day({stops}, {couriers}, seed=1)`; base + {variants} variants = {variants + 1} solves per "
        f"run, {workers} at a time; each a PyVRP search of {comparison.iterations} iterations (the budget "
        f"standing in for {time_limit:g} s), seed 1.",
        "",
        "| round | executor | start-up s | sweep s | total s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in done:
        lines.append(
            f"| {r.round} | {r.executor} | {r.startup_s:.1f} | {r.sweep_s:.1f} | {r.startup_s + r.sweep_s:.1f} |"
        )
    local_sweep, ray_sweep = median("local", "sweep_s"), median("ray", "sweep_s")
    lines += [
        "",
        f"Median sweep: local {local_sweep:.1f} s, Ray {ray_sweep:.1f} s "
        f"(Ray / local = {ray_sweep / local_sweep:.2f}); "
        f"median start-up: local {median('local', 'startup_s'):.1f} s, Ray {median('ray', 'startup_s'):.1f} s.",
        "",
        f"**Identical figures in every run, both executors: {'yes' if identical else 'NO'}**"
        + (f"; failed scenarios: {', '.join(failed)}" if failed else ""),
        "",
        "## The comparison (last run)",
        "",
        "| scenario | " + " | ".join(KPI_FIELDS) + " |",
        "| --- | " + " | ".join("---" for _ in KPI_FIELDS) + " |",
    ]
    for result in comparison.results:
        cells = []
        for name in KPI_FIELDS:
            value = None if result.kpis is None else result.kpis.get(name)
            delta = None if result.delta is None else result.delta.get(name)
            cell = "-" if value is None else f"{value}"
            if delta:
                cell += f" ({'+' if delta > 0 else ''}{delta})"
            cells.append(cell)
        lines.append(f"| {result.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def cli(
    stops: Annotated[int, typer.Option("--stops", min=10, max=5000)] = 300,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500)] = 24,
    variants: Annotated[int, typer.Option("--variants", min=1, max=50)] = 20,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="s per scenario")] = 5.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="processes / Ray CPUs")] = 2,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="local and Ray alternately, this many times")] = 2,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """What-if sweep: local process pool vs Ray, wall time and identical figures (BENCHMARKS.md 3)."""
    main(stops, couriers, variants, time_limit, workers, rounds, out)


if __name__ == "__main__":
    run(cli, "whatif")
