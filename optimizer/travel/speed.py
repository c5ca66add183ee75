"""Time-of-day traffic: how much longer travel takes depending on when a leg is driven.

A `SpeedProfile` is a step function of the time of day, in seconds from the problem's day
start (local midnight, as every time in the domain): factor `factors[k]` from `bounds[k]` to
`bounds[k + 1]`, the last factor from the last bound on. A factor of 1.4 means travel is 1.4
times as slow as free flow (the matrix's durations).

**Exact timing.** A leg of free-flow duration `d` is `d` seconds of driving "work"; while the
factor is `f`, one second of clock time does `1/f` seconds of it. Departing at `t`, the leg
ends at the first `T` with integral from `t` to `T` of `1/f(u) du = d`. So a leg crossing a
period boundary is integrated piece by piece, and a later departure never arrives earlier
(FIFO, the property that keeps waiting pointless). Example: 10 km at 18 km/h is 2000 s free
flow; leaving at 09:20 with x1.5 from 09:30, the first 600 s do 600 s of work, the remaining
1400 s take 2100 s: 45 min in all, arriving 10:05. Results are whole seconds, rounded up
(never optimistic), like every duration matrix.

**Engines** solve with time-independent matrices. `engine_factors` gives each leg one factor
to scale its free-flow duration by, so the engine plans with a good stand-in and `schedule()`
re-times the routes exactly (see `TravelMatrix.with_speed` and `benchmarks/traffic_error.py`
for the error this leaves):

- `"window"` (default): a leg into a stop is scaled by the profile's mean over the time the
  courier would be driving it to arrive inside the stop's booked windows, i.e. over each
  window widened by the leg's free-flow duration before its start, weighted by length; legs
  into a depot or start position by the mean over the couriers' shifts;
- `"mean"`: every leg by the mean over all couriers' shift seconds (one number);
- `"free"`: no scaling (traffic ignored while planning; the baseline of the benchmark).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from optimizer.model import Problem

Approximation = Literal["window", "mean", "free"]
APPROXIMATIONS: tuple[Approximation, ...] = ("window", "mean", "free")

MAX_FACTOR = 1e6
"""A sanity bound only: what-if changes are limited on their own, and their products may be large."""
_EPS = 1e-7
_FAR_S = 10**9
"""A time beyond every horizon: the last factor holds up to here in the integrals."""


@dataclass(frozen=True, slots=True)
class SpeedProfile:
    """Travel-time factors over the day (see the module docstring). `bounds` start at 0 and
    increase strictly; `factors[k]` holds from `bounds[k]` on, the last one to the end."""

    bounds: tuple[int, ...]
    factors: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.bounds or len(self.bounds) != len(self.factors):
            raise ValueError("a speed profile needs one factor per bound, and at least one")
        if self.bounds[0] != 0:
            raise ValueError("a speed profile's first bound must be 0 (the day start)")
        if any(b <= a for a, b in zip(self.bounds, self.bounds[1:])):
            raise ValueError("a speed profile's bounds must increase strictly")
        for factor in self.factors:
            if not (math.isfinite(factor) and 0 < factor <= MAX_FACTOR):
                raise ValueError(f"speed factors must be above 0 and at most {MAX_FACTOR:g}, got {factor}")

    # -- building ---------------------------------------------------------------------

    @classmethod
    def constant(cls, factor: float) -> SpeedProfile:
        return cls((0,), (float(factor),))

    @classmethod
    def from_periods(cls, periods: Iterable[tuple[int, int, float]], outside: float = 1.0) -> SpeedProfile:
        """`(start_s, end_s, factor)` periods that do not overlap; `outside` elsewhere."""
        ordered = sorted((int(a), int(b), float(f)) for a, b, f in periods)
        bounds: list[int] = [0]
        factors: list[float] = [float(outside)]
        last_end = 0
        for start, end, factor in ordered:
            if not 0 <= start < end:
                raise ValueError(f"a period must end after it starts, from the day start on: {start}..{end}")
            if start < last_end:
                raise ValueError("speed profile periods must not overlap")
            if start == bounds[-1]:
                factors[-1] = factor
            else:
                bounds.append(start)
                factors.append(factor)
            bounds.append(end)
            factors.append(float(outside))
            last_end = end
        return cls._merged(bounds, factors)

    @classmethod
    def _merged(cls, bounds: Sequence[int], factors: Sequence[float]) -> SpeedProfile:
        """The same step function without bounds between equal factors."""
        out_b: list[int] = []
        out_f: list[float] = []
        for bound, factor in zip(bounds, factors):
            if out_f and out_f[-1] == factor:
                continue
            out_b.append(bound)
            out_f.append(factor)
        return cls(tuple(out_b), tuple(out_f))

    def times(self, other: SpeedProfile) -> SpeedProfile:
        """Both slowdowns at once: the pointwise product of the two step functions."""
        bounds = sorted(set(self.bounds) | set(other.bounds))
        return self._merged(bounds, [self.factor_at(b) * other.factor_at(b) for b in bounds])

    @property
    def is_constant(self) -> bool:
        return len(self.factors) == 1

    # -- reading ----------------------------------------------------------------------

    def factor_at(self, t_s: int | float) -> float:
        """The factor at `t_s` seconds from day start (times before 0 count as 0)."""
        return self.factors[max(bisect.bisect_right(self.bounds, t_s) - 1, 0)]

    def travel_s(self, free_s: int, depart_s: int) -> int:
        """Seconds a leg of `free_s` free-flow seconds takes when leaving at `depart_s`, exactly."""
        if free_s <= 0:
            return 0
        bounds, factors = self.bounds, self.factors
        k = max(bisect.bisect_right(bounds, depart_s) - 1, 0)
        last = len(bounds) - 1
        t = float(depart_s)
        work = float(free_s)
        while k < last:
            factor = factors[k]
            room = (bounds[k + 1] - t) / factor
            if work <= room:
                break
            work -= room
            t = float(bounds[k + 1])
            k += 1
        return math.ceil(t + work * factors[k] - depart_s - _EPS)

    def depart_by(self, free_s: int, arrive_s: int) -> int:
        """The latest whole second to leave on a leg of `free_s` free-flow seconds and still
        arrive by `arrive_s` (the leg run backwards, then checked forwards)."""
        if free_s <= 0:
            return arrive_s
        bounds, factors = self.bounds, self.factors
        k = max(bisect.bisect_left(bounds, arrive_s) - 1, 0)
        t = float(arrive_s)
        work = float(free_s)
        while k > 0:
            room = (t - bounds[k]) / factors[k]
            if work <= room:
                break
            work -= room
            t = float(bounds[k])
            k -= 1
        depart = math.floor(t - work * factors[k] + _EPS)
        while depart + self.travel_s(free_s, depart) > arrive_s:
            depart -= 1
        while depart + 1 + self.travel_s(free_s, depart + 1) <= arrive_s:
            depart += 1
        return depart

    def cumulative(self, t_s: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The integral of the factor from 0 to each `t_s`, vectorised (before 0 the first factor holds)."""
        knots = np.array([-_FAR_S, *self.bounds, max(_FAR_S, self.bounds[-1] + 1)], dtype=np.float64)
        factors = np.array([self.factors[0], *self.factors])
        values = np.concatenate(
            ([-_FAR_S * self.factors[0]], np.cumsum(np.diff(knots) * factors) - _FAR_S * self.factors[0])
        )
        result: npt.NDArray[np.float64] = np.interp(np.asarray(t_s, dtype=np.float64), knots, values)
        return result

    def mean(self, start_s: float, end_s: float) -> float:
        """The mean factor from `start_s` to `end_s` (the factor there for an empty span)."""
        if end_s <= start_s:
            return self.factor_at(start_s)
        low, high = self.cumulative([start_s, end_s])
        return float((high - low) / (end_s - start_s))

    def shift_mean(self, problem: Problem) -> float:
        """The mean factor over all couriers' shift seconds (1.0 for a profile of 1.0)."""
        total = sum(max(c.shift_end_s - c.shift_start_s, 0) for c in problem.couriers)
        if total == 0:
            return self.factor_at(min((c.shift_start_s for c in problem.couriers), default=0))
        weighted = sum(
            self.mean(c.shift_start_s, c.shift_end_s) * (c.shift_end_s - c.shift_start_s)
            for c in problem.couriers
            if c.shift_end_s > c.shift_start_s
        )
        return weighted / total

    # -- engines ----------------------------------------------------------------------

    def engine_factors(
        self, problem: Problem, free_s: npt.NDArray[np.int64], how: Approximation = "window"
    ) -> npt.NDArray[np.float64]:
        """One factor per leg (same shape as `free_s`) for a time-independent engine."""
        n = free_s.shape[0]
        if how == "free":
            return np.ones((n, n))
        shift_mean = self.shift_mean(problem)
        factors = np.full((n, n), shift_mean)
        if how == "mean" or self.is_constant:
            return factors
        if how != "window":
            raise ValueError(f"unknown approximation {how!r}: one of {', '.join(APPROXIMATIONS)}")
        free = free_s.astype(np.float64)
        for stop in problem.stops:
            j = problem.stop_node(stop.id)
            legs = free[:, j]
            spent = np.zeros(n)
            length = np.zeros(n)
            for window in stop.windows:
                low = window.start_s - legs
                spent += self.cumulative(window.end_s) - self.cumulative(low)
                length += window.end_s - low
            np.divide(spent, length, out=factors[:, j], where=length > 0)
        return factors


def scale_durations(free_s: npt.NDArray[np.int64], factors: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Free-flow durations times per-leg factors, rounded up like `SpeedProfile.travel_s`."""
    return np.ceil(free_s * factors - _EPS).clip(min=0).astype(np.int64)
