"""Plan a day: problem -> travel matrix -> engine -> timed routes. The core's one call."""

from __future__ import annotations

from dataclasses import dataclass

from optimizer.engines import solve
from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.schedule import Schedule, schedule
from optimizer.solution import Solution
from optimizer.travel.haversine import HaversineSource
from optimizer.travel.matrix import TravelMatrix, TravelSource


@dataclass(frozen=True, slots=True)
class Plan:
    problem: Problem
    matrix: TravelMatrix
    solution: Solution
    schedule: Schedule


def plan_day(problem: Problem, params: SolveParams, source: TravelSource | None = None) -> Plan:
    """Solve `problem` and time the result; `source` defaults to great-circle travel."""
    matrix = (source or HaversineSource()).matrix(problem)
    solution = solve(problem, matrix, params)
    return Plan(problem, matrix, solution, schedule(problem, matrix, solution.routes))
