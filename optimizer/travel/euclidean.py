"""Planar Euclidean travel for the classic (Solomon, Gehring & Homberger) instances.

Distances are double-precision Euclidean in the instance's units; inside they become
integers at `scale` units per instance unit. Durations are rounded *up*, so a route that is
feasible on the integer matrix is feasible in double precision too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from optimizer.model import Location, Problem
from optimizer.travel.matrix import TravelMatrix


def euclidean(locations: tuple[Location, ...] | list[Location]) -> npt.NDArray[np.float64]:
    points = np.array([(loc.lon, loc.lat) for loc in locations], dtype=np.float64).reshape(-1, 2)
    x, y = points[:, 0], points[:, 1]
    distances: npt.NDArray[np.float64] = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    return distances


@dataclass(frozen=True, slots=True)
class EuclideanSource:
    """Travel time equals distance (one instance unit per time unit), times `scale`."""

    scale: int = 1000

    def matrix(self, problem: Problem) -> TravelMatrix:
        exact = euclidean(problem.locations) * self.scale
        durations = np.ceil(exact - 1e-9).astype(np.int64)
        return TravelMatrix(np.rint(exact).astype(np.int64), {p: durations for p in problem.profiles})
