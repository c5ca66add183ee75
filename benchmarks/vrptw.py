"""Static plan quality on the classic VRPTW instances (BENCHMARKS.md 1).

Every solver runs as its own process, peers alternating in order from instance to instance,
as many at a time as `jobs` cores allow: each takes one core, except `ontime2` (OnTime's two
searches side by side, `solve-instance --workers 2`), which waits for two free cores and has
them to itself. `pyvrp2` is PyVRP on two cores as a user would run it: seeds 1 and 2 side by
side, the better kept; its seed-1 half is the `pyvrp` (one core) figure of the same run.
Routes are re-scored here in double precision, never trusted from a solver: distance, fleet,
capacity, windows, return by the depot's due time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
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
    "ontime2": "OnTime on two cores (`ontime solve-instance --workers 2`)",
    "pyvrp": "PyVRP used directly (Model API, x1000 rounded)",
    "pyvrp2": "PyVRP on two cores (seeds 1 and 2 side by side, better kept)",
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


CORES = {"ontime2": 2}
"""Cores a run takes (one unless named here)."""

PAIRS = {"pyvrp2": ("pyvrp", "pyvrp-seed2")}
"""Solvers reported as the better of two one-core runs made side by side."""


def command(solver: str, path: Path, limit: float, seed: int) -> list[str]:
    if solver in ("ontime", "ontime2", "ortools"):
        engine = "ortools" if solver == "ortools" else "auto"
        cli = [sys.executable, "-m", "api.cli", "solve-instance", str(path)]
        workers = ["--workers", "2"] if solver == "ontime2" else []
        return [*cli, "--time-limit", str(limit), "--engine", engine, "--seed", str(seed), *workers]
    if solver == "pyvrp-seed2":
        return [sys.executable, "-m", "benchmarks.peers", "pyvrp", str(path), str(limit), str(seed + 1)]
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
    halves = {half for solver in solvers for half in PAIRS.get(solver, ())}
    units = [PAIRS.get(solver, (solver,)) for solver in solvers if solver not in halves]
    tasks = []
    for k, path in enumerate(files):  # a pair's halves one after the other: side by side
        order = units[k % len(units) :] + units[: k % len(units)]
        tasks += [(solver, path) for unit in order for solver in unit]
    began = time.time()
    runs = run_all(tasks, limit, jobs)
    runs += [pair for solver in solvers if solver in PAIRS for pair in paired(runs, solver)]
    bks = read_bks(data, set_name, [f.stem for f in files])
    two_cores = any(solver in CORES or solver in PAIRS for solver in solvers)
    name = f"vrptw_{set_name}_{limit:g}s{'_two_cores' if two_cores else ''}.md"
    target = out or ROOT / "benchmarks" / "results" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    options = ["--set", set_name, "--time-limit", f"{limit:g}", "--jobs", str(jobs), "--solvers", ",".join(solvers)]
    argv = " ".join(["ontime bench vrptw", *options])
    shown = list(dict.fromkeys(name for solver in solvers for name in (*PAIRS.get(solver, ())[:1], solver)))
    target.write_text(report(runs, bks, shown, set_name, limit, argv, time.time() - began))
    target.with_suffix(".json").write_text(json.dumps([asdict(r) for r in runs], indent=1))
    print(f"wrote {target}", file=sys.stderr)


class Cores:
    """`jobs` cores handed out to runs, several at once to a run that takes several."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.free = count
        self._turn = threading.Condition()

    def take(self, n: int) -> int:
        n = min(n, self.count)
        with self._turn:
            self._turn.wait_for(lambda: self.free >= n)
            self.free -= n
        return n

    def give(self, n: int) -> None:
        with self._turn:
            self.free += n
            self._turn.notify_all()


def run_all(tasks: list[tuple[str, Path]], limit: float, jobs: int) -> list[Run]:
    """Every task in order, each started once it is first in line and the cores it takes are
    free; the runs in task order."""
    cores = Cores(jobs)
    runs: list[Run] = []
    slots: list[list[Run]] = []

    def one(slot: list[Run], solver: str, path: Path, taken: int) -> None:
        try:
            slot.append(run_one(solver, path, limit))
        except Exception as exc:  # counted as a run that found nothing, never left out
            slot.append(Run(path.stem, solver, 0, float("nan"), False, float("nan"), f"{type(exc).__name__}: {exc}"))
        finally:
            cores.give(taken)
        print(
            f"{path.stem} {solver} {slot[0].distance:.2f}" if slot else f"{path.stem} {solver} failed", file=sys.stderr
        )

    threads = []
    for solver, path in tasks:
        taken = cores.take(CORES.get(solver, 1))
        slot: list[Run] = []
        slots.append(slot)
        thread = threading.Thread(target=one, args=(slot, solver, path, taken))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    for slot in slots:
        runs += slot
    return runs


def paired(runs: list[Run], solver: str) -> list[Run]:
    """`solver`'s runs: per instance, the better feasible of its two halves (wall: the longer)."""
    first, second = PAIRS[solver]
    halves = {(r.instance, r.solver): r for r in runs}
    out = []
    for (instance, name), a in halves.items():
        b = halves.get((instance, second))
        if name != first or b is None:
            continue
        best = min((a, b), key=lambda r: (not r.feasible, r.distance))
        out.append(replace(best, solver=solver, wall_s=max(a.wall_s, b.wall_s)))
    return out


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
        " re-scored the same way. Each solver is one process on one core (OnTime on two cores: alone on"
        " the machine), two cores busy at a time, peers alternating in order; PyVRP on two cores is its"
        " one-core run and a second seed's run side by side, the better kept.",
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
    for ours, theirs in (("ontime", "pyvrp"), ("ontime2", "pyvrp"), ("ontime2", "pyvrp2")):
        if ours not in solvers or theirs not in solvers:
            continue
        ratios = [
            100 * (by[(n, ours)].distance / by[(n, theirs)].distance - 1)
            for n in names
            if (n, ours) in by and (n, theirs) in by and by[(n, ours)].feasible and by[(n, theirs)].feasible
        ]
        lines += [
            "",
            f"{LABELS[ours]} vs {LABELS[theirs]}, same run: mean distance {_mean(ratios):+.3f}% "
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
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="cores busy at a time (a run takes one, ontime2 two)")] = 2,
    solvers: Annotated[
        str, typer.Option("--solvers", help="of ontime, ontime2, pyvrp, pyvrp2, ortools, vroom")
    ] = "ontime,pyvrp,ortools,vroom",
    only: Annotated[str, typer.Option("--only", help="comma-separated instance names")] = "",
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Static plan quality on the classic instances, peers in the same run (BENCHMARKS.md 1)."""
    main(set_name, time_limit, data, jobs, solvers.split(","), [o for o in only.split(",") if o], out)


if __name__ == "__main__":
    run(cli, "vrptw")
