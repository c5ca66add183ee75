"""Solver work that runs in an executor process: top-level, picklable in and out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optimizer.params import SolveParams
from optimizer.plan import plan_day
from optimizer.replan import DayState, LivePlan, ReplanPolicy, reoptimize
from optimizer.solution import Route, Unassigned
from optimizer.travel.matrix import TravelSource


@dataclass(frozen=True, slots=True)
class SolvedDay:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    engine: str
    runtime_s: float


def solve_problem(problem_json: dict[str, Any], params: dict[str, Any], source: TravelSource) -> SolvedDay:
    """Plan a wire-format day (validated again here: the worker trusts nothing)."""
    from api.schemas import ProblemIn

    problem = ProblemIn.model_validate(problem_json).to_domain()
    iterations = params.get("iterations")
    solve_params = SolveParams(
        time_limit_s=float(params["time_limit_s"]),
        engine=params.get("engine", "auto"),
        seed=int(params.get("seed", 0)),
        iterations=int(iterations) if iterations is not None else None,
    )
    result = plan_day(problem, solve_params, source)
    solution = result.solution
    return SolvedDay(solution.routes, solution.unassigned, solution.engine, solution.runtime_s)


def reoptimize_day(
    live: LivePlan, day: DayState, source: TravelSource, policy: ReplanPolicy, focus: frozenset[str] = frozenset()
) -> LivePlan:
    return reoptimize(live, day, source, policy, focus)


def warm_up() -> bool:
    """Import the solvers so the first real task does not pay for it."""
    import ortools.constraint_solver.pywrapcp  # noqa: F401
    import pyvrp  # noqa: F401

    return True
