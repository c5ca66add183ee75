"""`ontime solve-instance`: a classic VRPTW instance in, one JSON object out (CONTRACTS.md 2)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import err, fail
from optimizer.errors import OnTimeError


def solve_instance(
    path: Annotated[Path, typer.Argument(help="Solomon-format VRPTW instance file")],
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, max=3600, help="seconds")],
    engine: Annotated[str, typer.Option("--engine", help="auto, ortools or pyvrp")] = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="searches side by side, one core each, sharing their best (default 1: one core's worth of work)",
        ),
    ] = 1,
) -> None:
    """Solve a classic VRPTW instance; print one JSON object (CONTRACTS.md 2)."""
    began = time.perf_counter()
    from optimizer.engines import solve
    from optimizer.engines.auto import AutoEngine
    from optimizer.instances import read_instance
    from optimizer.params import SolveParams
    from optimizer.travel.euclidean import EuclideanSource

    if engine not in ("auto", "ortools", "pyvrp"):
        raise fail(f"--engine must be auto, ortools or pyvrp, not {engine!r}")
    try:
        instance = read_instance(path)
        problem = instance.to_problem()
        matrix = EuclideanSource().matrix(problem)
        budget = max(time_limit - (time.perf_counter() - began) - 0.1, 0.1)
        params = SolveParams(time_limit_s=budget, engine=engine, seed=seed)  # type: ignore[arg-type]
        if workers > 1:
            from optimizer.engines.regions import RegionsEngine

            solution = RegionsEngine(workers=workers, mode="seeds").solve(problem, matrix, params)
        elif engine == "auto":  # one core: a big instance's regions one after the other
            solution = AutoEngine(workers=1).solve(problem, matrix, params)
        else:
            solution = solve(problem, matrix, params)
    except OnTimeError as exc:
        raise fail(str(exc)) from None
    routes = [[int(s) for s in r.stop_ids] for r in solution.used_routes]
    print(
        json.dumps(
            {
                "instance": instance.name,
                "routes": routes,
                "vehicles": len(routes),
                "distance": round(instance.distance(routes), 6),
                "engine": solution.engine,
                "runtime_s": round(time.perf_counter() - began, 3),
            }
        )
    )
    problems = instance.violations(routes)
    if solution.unassigned or problems:
        err.print(f"[yellow]no feasible plan: {len(solution.unassigned)} customers unassigned[/yellow]")
        for problem_text in problems[:5]:
            err.print(f"  {problem_text}")
        raise typer.Exit(1)
