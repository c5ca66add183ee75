"""The travel matrix handed whole to engines and to `schedule()`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from optimizer.model import Problem

IntMatrix = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Distances in metres and, per vehicle profile, durations in seconds.

    Rows and columns follow `Problem.locations`. Arrays are read-only.
    """

    distances_m: IntMatrix
    durations_s: Mapping[str, IntMatrix]

    def __post_init__(self) -> None:
        n = self.distances_m.shape[0]
        if self.distances_m.shape != (n, n):
            raise ValueError("distance matrix must be square")
        for profile, durations in self.durations_s.items():
            if durations.shape != (n, n):
                raise ValueError(f"duration matrix of profile {profile!r} has the wrong shape")
        for array in (self.distances_m, *self.durations_s.values()):
            if array.dtype != np.int64:
                raise ValueError("matrices must hold int64")
            if (array < 0).any():
                raise ValueError("matrices must not hold negative values")
            array.setflags(write=False)

    @property
    def size(self) -> int:
        return int(self.distances_m.shape[0])

    def durations(self, profile: str) -> IntMatrix:
        try:
            return self.durations_s[profile]
        except KeyError:
            raise KeyError(f"travel matrix has no profile {profile!r}") from None

    def scaled(self, factor: float) -> TravelMatrix:
        """All durations multiplied by `factor` (traffic), distances unchanged."""
        return TravelMatrix(
            self.distances_m,
            {p: np.ceil(d * factor).astype(np.int64) for p, d in self.durations_s.items()},
        )


class TravelSource(Protocol):
    """Builds the matrix of a problem's locations for each of its vehicle profiles."""

    def matrix(self, problem: Problem) -> TravelMatrix: ...
