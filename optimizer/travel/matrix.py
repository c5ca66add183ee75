"""The travel matrix handed whole to engines and to `schedule()`.

With time-of-day traffic (`with_speed`), the matrix keeps the free-flow durations and the
`SpeedProfile`, which `schedule()` applies exactly leg by leg from each departure time, and
its `durations` become the time-independent stand-in engines plan with (see `travel.speed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from optimizer.travel.speed import Approximation, SpeedProfile, scale_durations

if TYPE_CHECKING:
    from optimizer.model import Problem

IntMatrix = npt.NDArray[np.int64]

UNREACHABLE = 10_000_000
"""Seconds and metres of a pair no road joins: solvers avoid it; `engines.reasons` names it."""


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Distances in metres and, per vehicle profile, durations in seconds.

    Rows and columns follow `Problem.locations`. Arrays are read-only. `speed` None means
    travel takes the same time all day. With a `speed` profile, `free_flow_s` holds the
    durations without traffic (what `schedule()` times legs from) and `durations_s` what
    engines plan with.
    """

    distances_m: IntMatrix
    durations_s: Mapping[str, IntMatrix]
    speed: SpeedProfile | None = None
    free_flow_s: Mapping[str, IntMatrix] | None = None

    def __post_init__(self) -> None:
        n = self.distances_m.shape[0]
        if self.distances_m.shape != (n, n):
            raise ValueError("distance matrix must be square")
        for profile, durations in self.durations_s.items():
            if durations.shape != (n, n):
                raise ValueError(f"duration matrix of profile {profile!r} has the wrong shape")
        if (self.speed is None) != (self.free_flow_s is None):
            raise ValueError("a speed profile comes with free-flow durations, and only with them")
        free = self.free_flow_s or {}
        if set(free) - set(self.durations_s):
            raise ValueError("free-flow durations must be for the matrix's profiles")
        for profile, durations in free.items():
            if durations.shape != (n, n):
                raise ValueError(f"free-flow matrix of profile {profile!r} has the wrong shape")
        for array in (self.distances_m, *self.durations_s.values(), *free.values()):
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

    def leg_durations(self, profile: str) -> IntMatrix:
        """What `schedule()` times legs from: free-flow seconds when there is a speed
        profile (applied per departure), else the durations themselves."""
        if self.free_flow_s is None:
            return self.durations(profile)
        try:
            return self.free_flow_s[profile]
        except KeyError:
            raise KeyError(f"travel matrix has no profile {profile!r}") from None

    def scaled(self, factor: float) -> TravelMatrix:
        """All durations multiplied by `factor` (traffic), distances unchanged."""
        return TravelMatrix(
            self.distances_m,
            {p: np.ceil(d * factor).astype(np.int64) for p, d in self.durations_s.items()},
            None if self.speed is None else self.speed.times(SpeedProfile.constant(factor)),
            self.free_flow_s,
        )

    def with_speed(self, speed: SpeedProfile, problem: Problem, how: Approximation = "window") -> TravelMatrix:
        """This matrix under time-of-day traffic `speed` (on top of any profile it has):
        `schedule()` applies the profile exactly; engines get durations scaled per leg as
        `how` says (`SpeedProfile.engine_factors`)."""
        free = self.free_flow_s if self.free_flow_s is not None else self.durations_s
        combined = speed if self.speed is None else self.speed.times(speed)
        planning = {p: scale_durations(d, combined.engine_factors(problem, d, how)) for p, d in free.items()}
        return TravelMatrix(self.distances_m, planning, combined, dict(free))


class TravelSource(Protocol):
    """Builds the matrix of a problem's locations for each of its vehicle profiles."""

    def matrix(self, problem: Problem) -> TravelMatrix: ...


@dataclass(frozen=True, slots=True)
class TimeOfDaySource:
    """`base`'s matrix under time-of-day traffic `speed` (see `TravelMatrix.with_speed`)."""

    base: TravelSource
    speed: SpeedProfile
    how: Approximation = "window"

    def matrix(self, problem: Problem) -> TravelMatrix:
        return self.base.matrix(problem).with_speed(self.speed, problem, self.how)
