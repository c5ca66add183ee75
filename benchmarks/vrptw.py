"""Static plan quality on the classic VRPTW instances (BENCHMARKS.md 1).

Every solver runs as its own process (one core each, `jobs` at a time), peers alternating
in order from instance to instance. Routes are re-scored here in double precision, never
trusted from a solver: distance, fleet, capacity, windows, return by the depot's due time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer

from benchmarks.command import run
from benchmarks.provenance import commit, machine
from optimizer.instances import read_instance

ROOT = Path(__file__).resolve().parent.parent
FEASIBILITY_TOLERANCE = 1e-3
"""Time units; the x1000 integer models of the peers round to this granularity."""

LABELS = {
    "ontime": "OnTime (`ontime solve-instance`, engine auto)",
    "pyvrp": "PyVRP used directly (Model API, x1000 rounded)",
    "ortools": "OR-Tools routing, parallel cheapest insertion + GLS",
    "vroom": "VROOM via pyvroom, exploration level 5, 1 thread",
}


@dataclass
class Run:
    instance: str
    solver: str
    vehicles: int
    distance: float
    feasible: bool
    wall_s: float
    problems: str = ""


def default_data() -> Path:
    return ROOT.parent / "shared" / "data" / "vrptw"


def command(solver: str, path: Path, limit: float, seed: int) -> list[str]:
    if solver in ("ontime", "ortools"):
        engine = "auto" if solver == "ontime" else "ortools"
        cli = [sys.executable, "-m", "api.cli", "solve-instance", str(path)]
        return [*cli, "--time-limit", str(limit), "--engine", engine, "--seed", str(seed)]
    return [sys.executable, "-m", "benchmarks.peers", solver, str(path), str(limit), str(seed)]


def run_one(solver: str, path: Path, limit: float, seed: int = 1) -> Run:
    instance = read_instance(path)
    began = time.perf_counter()
    proc = subprocess.run(
        command(solver, path, limit, seed), cwd=ROOT, capture_output=True, text=True, timeout=limit * 3 + 60
    )
    wall = time.perf_counter() - began
    try:
        routes = [[int(n) for n in r] for r in json.loads(proc.stdout)["routes"]]
    except (json.JSONDecodeError, KeyError, TypeError):
        return Run(instance.name, solver, 0, float("nan"), False, wall, (proc.stderr or proc.stdout)[-300:])
    problems = instance.violations(routes, FEASIBILITY_TOLERANCE)
    used = [r for r in routes if r]
    return Run(instance.name, solver, len(used), instance.distance(used), not problems, wall, "; ".join(problems)[:300])


def read_bks(data: Path, set_name: str, names: list[str]) -> dict[str, float]:
    """Distance-only best-known routes, re-scored in double precision."""
    found = {}
    for name in names:
        sol = data / "solutions" / "distance_only" / set_name / f"{name}.sol"
        if not sol.exists():
            continue
        routes = [
            [int(n) for n in line.split(":", 1)[1].split()]
            for line in sol.read_text().splitlines()
            if line.lower().startswith("route")
        ]
        found[name] = read_instance(data / set_name / f"{name}.txt").distance(routes)
    return found


def main(
    set_name: str, limit: float, data: Path | None, jobs: int, solvers: list[str], only: list[str], out: Path | None
) -> None:
    data = data or default_data()
    files = sorted((data / set_name).glob("*.txt"), key=_natural)
    if only:
        files = [f for f in files if f.stem in only]
    if not files:
        raise SystemExit(f"no instances in {data / set_name}")
    tasks = []
    for k, path in enumerate(files):
        order = solvers[k % len(solvers) :] + solvers[: k % len(solvers)]
        tasks += [(solver, path) for solver in order]
    began = time.time()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_one, solver, path, limit) for solver, path in tasks]
        runs = []
        for done, future in enumerate(futures, start=1):
            runs.append(future.result())
            print(
                f"[{done}/{len(futures)}] {runs[-1].instance} {runs[-1].solver} {runs[-1].distance:.2f}",
                file=sys.stderr,
            )
    bks = read_bks(data, set_name, [f.stem for f in files])
    target = out or ROOT / "benchmarks" / "results" / f"vrptw_{set_name}_{limit:g}s.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    argv = " ".join(["ontime bench vrptw", "--set", set_name, "--time-limit", f"{limit:g}", "--jobs", str(jobs)])
    target.write_text(report(runs, bks, solvers, set_name, limit, argv, time.time() - began))
    target.with_suffix(".json").write_text(json.dumps([asdict(r) for r in runs], indent=1))
    print(f"wrote {target}", file=sys.stderr)


def _natural(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.stem)]


def _class(name: str) -> str:
    match = re.match(r"(rc|r|c)(\d)", name)
    return f"{match.group(1).upper()}{match.group(2)}" if match else "?"


def report(
    runs: list[Run], bks: dict[str, float], solvers: list[str], set_name: str, limit: float, argv: str, wall: float
) -> str:
    by = {(r.instance, r.solver): r for r in runs}
    names = sorted({r.instance for r in runs}, key=lambda n: _natural(Path(n)))

    def gap(r: Run) -> float:
        return 100 * (r.distance / bks[r.instance] - 1) if r.instance in bks and r.feasible else float("nan")

    lines = [
        f"# VRPTW benchmark: {set_name}, {limit:g} s per instance",
        "",
        f"- Command: `{argv}`",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {commit()}; total wall {wall / 60:.1f} min",
        f"- Machine: {machine()}",
        "- Rules: Euclidean travel in double precision, hard windows, fleet of the instance, objective total"
        " distance; routes re-scored by the benchmark (feasible = every rule holds within"
        f" {FEASIBILITY_TOLERANCE:g} time units). Gap = distance vs the distance-only best-known routes"
        " re-scored the same way. Each solver is one process on one core; two run at a time, peers"
        " alternating in order.",
        "",
        "## Summary",
        "",
        "| solver | feasible | mean gap to BKS | worst gap | mean vehicles | mean wall time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for solver in solvers:
        rs = [by[(n, solver)] for n in names if (n, solver) in by]
        gaps = [g for g in (gap(r) for r in rs) if g == g]
        lines.append(
            f"| {LABELS.get(solver, solver)} | {sum(r.feasible for r in rs)}/{len(rs)} | "
            f"{_mean(gaps):+.2f}% | {max(gaps, default=float('nan')):+.2f}% | "
            f"{_mean([r.vehicles for r in rs]):.2f} | {_mean([r.wall_s for r in rs]):.1f} s |"
        )
    if "ontime" in solvers and "pyvrp" in solvers:
        ratios = [
            100 * (by[(n, "ontime")].distance / by[(n, "pyvrp")].distance - 1)
            for n in names
            if by[(n, "ontime")].feasible and by[(n, "pyvrp")].feasible
        ]
        lines += [
            "",
            f"OnTime vs PyVRP used directly, same run: mean distance {_mean(ratios):+.3f}% "
            f"(median {statistics.median(ratios) if ratios else float('nan'):+.3f}%, "
            f"OnTime shorter on {sum(r < -1e-9 for r in ratios)}, equal on {sum(abs(r) <= 1e-9 for r in ratios)},"
            f" longer on {sum(r > 1e-9 for r in ratios)} of {len(ratios)}).",
        ]
    lines += ["", "## Per class (mean gap to BKS)", "", "| class | " + " | ".join(solvers) + " |"]
    lines.append("| --- " * (len(solvers) + 1) + "|")
    for cls in sorted({_class(n) for n in names}):
        cells = []
        for solver in solvers:
            gaps = [gap(by[(n, solver)]) for n in names if _class(n) == cls and (n, solver) in by]
            cells.append(f"{_mean([g for g in gaps if g == g]):+.2f}%")
        lines.append(f"| {cls} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Per instance (vehicles / distance / gap / wall s)",
        "",
        "| instance | BKS | " + " | ".join(solvers) + " |",
        "| --- " * (len(solvers) + 2) + "|",
    ]
    for n in names:
        cells = []
        for solver in solvers:
            r = by.get((n, solver))
            if r is None:
                cells.append("-")
            elif not r.feasible:
                cells.append(f"INFEASIBLE {r.problems[:80]}")
            else:
                cells.append(f"{r.vehicles} / {r.distance:.2f} / {gap(r):+.2f}% / {r.wall_s:.1f}")
        lines.append(f"| {n} | {bks.get(n, float('nan')):.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _mean(values: list[float] | list[int]) -> float:
    return statistics.fmean(values) if values else float("nan")


def cli(
    set_name: Annotated[str, typer.Option("--set", help="solomon or homberger_200")] = "solomon",
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1)] = 10.0,
    data: Annotated[Path | None, typer.Option("--data", envvar="ONTIME_VRPTW_DATA")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="solver processes in parallel, one core each")] = 2,
    solvers: Annotated[str, typer.Option("--solvers")] = "ontime,pyvrp,ortools,vroom",
    only: Annotated[str, typer.Option("--only", help="comma-separated instance names")] = "",
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Static plan quality on the classic instances, peers in the same run (BENCHMARKS.md 1)."""
    main(set_name, time_limit, data, jobs, solvers.split(","), [o for o in only.split(",") if o], out)


if __name__ == "__main__":
    run(cli, "vrptw")
