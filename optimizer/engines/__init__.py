"""Routing engines behind one interface; only these modules import a solver library."""

from __future__ import annotations

from optimizer.engines.auto import AutoEngine
from optimizer.engines.base import Engine, required_features
from optimizer.engines.ortools_engine import ORToolsEngine
from optimizer.engines.pyvrp_engine import PyVRPEngine
from optimizer.engines.regions import RegionsEngine
from optimizer.errors import EngineUnavailable
from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.solution import Solution
from optimizer.travel.matrix import TravelMatrix

ENGINES: dict[str, type[Engine]] = {
    "auto": AutoEngine,
    "ortools": ORToolsEngine,
    "pyvrp": PyVRPEngine,
    "regions": RegionsEngine,
}


def solve(problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution:
    """Solve `problem` on `matrix` with the engine `params.engine` names."""
    engine = ENGINES[params.engine]()
    missing = required_features(problem, params) - engine.features
    if missing:
        raise EngineUnavailable(f"engine {engine.name!r} cannot model: {', '.join(sorted(missing))}")
    return engine.solve(problem, matrix, params)


__all__ = ["ENGINES", "Engine", "solve"]
