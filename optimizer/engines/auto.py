"""`engine="auto"`: the best engine that supports what the problem needs.

PyVRP plans best (BENCHMARKS.md 1), so it takes every problem it can model faithfully; from
`REGIONS_FROM` stops on, as the regions engine (PyVRP on sectors of the day, side by side on
the cores, `optimizer.engines.regions`), since one PyVRP search slows down with the size of
the day (`benchmarks/results/bigday.md`). When only breaks stand in its way, PyVRP plans
without them (`without_breaks`: room left for them) and `schedule()` places each break in
waiting time or where it must go; if that breaks no window or shift, the plan stands.
Otherwise OR-Tools, which models breaks, starts from it with the rest of the budget and the
plan with fewer violations wins. (OR-Tools' break constraint does not scale past a few
hundred stops in a dispatcher's budget, so it is the repair, not the planner.) Everything
else goes to OR-Tools.
"""

from __future__ import annotations

import time
from dataclasses import replace

from optimizer.engines.base import BREAKS, Engine, required_features
from optimizer.engines.ortools_engine import ORToolsEngine
from optimizer.engines.pyvrp_engine import PyVRPEngine
from optimizer.engines.regions import RegionsEngine
from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.schedule import schedule
from optimizer.solution import Solution
from optimizer.travel.matrix import TravelMatrix

_FIRST_SHARE = 0.7
REGIONS_FROM = 1000
"""Stops from which PyVRP plans a day as the regions engine."""


class AutoEngine:
    name = "auto"
    features = ORToolsEngine.features | PyVRPEngine.features

    def __init__(self, *, workers: int | None = None) -> None:
        """`workers`: processes the regions engine plans on (default: up to two, one a core)."""
        self.pyvrp: Engine = PyVRPEngine()
        self.regions = RegionsEngine(workers=workers)
        self.ortools: Engine = ORToolsEngine()

    def choose(self, problem: Problem, params: SolveParams) -> Engine:
        """The engine that plans `problem` first (OR-Tools may repair its plan)."""
        needed = required_features(problem, params) - {BREAKS}
        if not needed <= self.pyvrp.features:
            return self.ortools
        return self.regions if len(problem.stops) >= REGIONS_FROM else self.pyvrp

    def solve(self, problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution:
        began = time.perf_counter()
        needed = required_features(problem, params)
        planner = self.choose(problem, params)
        if needed <= self.pyvrp.features:
            solution = planner.solve(problem, matrix, params)
            if solution.feasible or planner is self.regions:  # OR-Tools does not scale to a city's day
                return solution
            # Past the limit already in the worst case; bounded so the answer stays within about a second of it.
            rest = max(params.time_limit_s - (time.perf_counter() - began), min(1.0, params.time_limit_s * 0.1))
            return self.ortools.solve(problem, matrix, replace(params, time_limit_s=rest))
        if needed - self.pyvrp.features == {BREAKS}:
            relaxed = without_breaks(problem)
            first = planner.solve(relaxed, matrix, replace(params, time_limit_s=params.time_limit_s * _FIRST_SHARE))
            first_score = _score(problem, matrix, first)
            if first.feasible and first_score[:2] == (0, 0):
                return first
            if planner is self.regions:  # no repair: OR-Tools' breaks do not scale to a city's day
                return first if first_score[1] == 0 else replace(first, feasible=False)
            rest = max(params.time_limit_s - (time.perf_counter() - began), 0.1)
            warm = first.routes if first.feasible else ()
            repaired = self.ortools.solve(problem, matrix, replace(params, time_limit_s=rest, warm_start=warm))
            if _score(problem, matrix, repaired) < first_score:
                return repaired
            # The break-free plan with its breaks placed breaks a window, break or shift: say so.
            return first if first_score[1] == 0 else replace(first, feasible=False)
        return self.ortools.solve(problem, matrix, params)


def without_breaks(problem: Problem) -> Problem:
    """`problem` for an engine without breaks, leaving room for them: a courier with breaks
    is back their length earlier, and their waiting is not priced (an hourly cost packs a
    route so tight that a break placed afterwards makes the next stops late: measured on
    generated 200-stop days, 14 to 18 late stops with it, none without)."""
    if not any(c.breaks for c in problem.couriers):
        return problem
    return replace(
        problem,
        couriers=tuple(
            replace(
                c,
                breaks=(),
                cost_per_s=0,
                shift_end_s=max(c.ready_s, c.shift_end_s - sum(b.duration_s for b in c.breaks)),
            )
            if c.breaks
            else c
            for c in problem.couriers
        ),
    )


def _score(problem: Problem, matrix: TravelMatrix, solution: Solution) -> tuple[int, int, int, int]:
    """Lower is better: unassigned, violations, seconds late, metres."""
    timed = schedule(problem, matrix, solution.routes)
    return (len(solution.unassigned), len(timed.violations), timed.late_s, timed.distance_m)
