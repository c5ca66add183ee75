"""`engine="auto"`: the best engine that supports what the problem needs.

PyVRP plans best (BENCHMARKS.md 1), so it takes every problem it can model faithfully.
When only breaks stand in its way, PyVRP plans without them for part of the budget and
OR-Tools, with breaks, starts from that plan. Everything else goes to OR-Tools.
"""

from __future__ import annotations

import time
from dataclasses import replace

from optimizer.engines.base import BREAKS, Engine, required_features
from optimizer.engines.ortools_engine import ORToolsEngine
from optimizer.engines.pyvrp_engine import PyVRPEngine
from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.solution import Solution
from optimizer.travel.matrix import TravelMatrix

_WARM_SHARE = 0.5


class AutoEngine:
    name = "auto"
    features = ORToolsEngine.features | PyVRPEngine.features

    def __init__(self) -> None:
        self.pyvrp: Engine = PyVRPEngine()
        self.ortools: Engine = ORToolsEngine()

    def choose(self, problem: Problem, params: SolveParams) -> Engine:
        needed = required_features(problem, params)
        return self.pyvrp if needed <= self.pyvrp.features else self.ortools

    def solve(self, problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution:
        began = time.perf_counter()
        needed = required_features(problem, params)
        if needed <= self.pyvrp.features:
            solution = self.pyvrp.solve(problem, matrix, params)
            if solution.feasible:
                return solution
            rest = max(params.time_limit_s * 0.25, 1.0)
            return self.ortools.solve(problem, matrix, replace(params, time_limit_s=rest))
        if needed - self.pyvrp.features == {BREAKS}:
            relaxed = replace(problem, couriers=tuple(replace(c, breaks=()) for c in problem.couriers))
            first = self.pyvrp.solve(relaxed, matrix, replace(params, time_limit_s=params.time_limit_s * _WARM_SHARE))
            rest = max(params.time_limit_s - (time.perf_counter() - began), 0.1)
            warm = first.routes if first.feasible else ()
            return self.ortools.solve(problem, matrix, replace(params, time_limit_s=rest, warm_start=warm))
        return self.ortools.solve(problem, matrix, params)
