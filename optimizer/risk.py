"""Risk-aware ETAs: how likely each visit still ahead is to start after its window ends.

A plan's ETA is one number; the day is not. `NoiseModel` says how the truth spreads around the
plan: each leg's travel time and each stop's service time are the planned ones times a
lognormal factor of median 1 (`leg_sigma`, `service_sigma`), and the whole courier-day runs at a
pace of its own (a slow driver stays slow: one lognormal factor shared by every leg and stop of
the courier, `pace_sigma`). `route_risk` pushes `samples` draws of that model through what is
left of each route, in the plan's order from where the courier next leaves: a draw arriving
before a window opens waits (waiting absorbs early arrivals), a break the plan holds between two
visits is taken on the way, and each visit's median and 90th-percentile start and the share of
draws starting after the window's end are read off the draws. The draws are fixed per visit
rank (`seed`), so the same route gives the same figures in any process: the service's answers
and the simulator's figures reproduce.

`learn_pace` updates a courier's pace from what they reported (planned vs observed times
between consecutive completions): a conjugate normal update of the log pace, so two reports
move it little and a morning of them a lot. Pure functions of their arguments throughout.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from optimizer.schedule import RouteSchedule

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """How far the truth strays from the plan (lognormal sigmas, median 1)."""

    leg_sigma: float = 0.25
    service_sigma: float = 0.575
    pace_sigma: float = 0.15
    samples: int = 256
    seed: int = 20261201

    def __post_init__(self) -> None:
        for name in ("leg_sigma", "service_sigma", "pace_sigma"):
            value = getattr(self, name)
            if not 0 <= value <= 2:
                raise ValueError(f"{name} must be in [0, 2], not {value}")
        if not 16 <= self.samples <= 100_000:
            raise ValueError(f"samples must be in [16, 100000], not {self.samples}")

    @property
    def observation_var(self) -> float:
        """Variance of one observed log(actual / planned) around the courier's log pace: a leg
        and a stop, each with its own noise (their sum's log is near their mix's)."""
        return (self.leg_sigma**2 + self.service_sigma**2) / 2


@dataclass(frozen=True, slots=True)
class Pace:
    """A courier-day's pace: log(actual / planned) ~ Normal(log_mean, log_var)."""

    log_mean: float = 0.0
    log_var: float = 0.15**2
    observations: int = 0

    def __post_init__(self) -> None:
        if not math.isfinite(self.log_mean) or not 0 <= self.log_var < 4:
            raise ValueError("a pace needs a finite log mean and a variance in [0, 4)")

    @classmethod
    def prior(cls, model: NoiseModel) -> Pace:
        return cls(0.0, model.pace_sigma**2, 0)

    @property
    def factor(self) -> float:
        """The pace's median: 1.2 is 20% slower than planned."""
        return math.exp(self.log_mean)


def learn_pace(model: NoiseModel, observed: Iterable[tuple[int, int]]) -> Pace:
    """The pace that `observed` (planned, actual) seconds of stretches of the day say, from the
    prior: each stretch one noisy reading of log(actual / planned). Stretches under a minute
    planned say nothing reliable and are skipped; one reading is clipped to a factor of 4
    either way, so one odd report cannot swing the day."""
    pace = Pace.prior(model)
    precision = 1 / pace.log_var if pace.log_var > 0 else math.inf
    if math.isinf(precision):
        return pace
    weighted = 0.0
    count = 0
    noise_precision = 1 / max(model.observation_var, 1e-6)
    for planned, actual in observed:
        if planned < 60 or actual <= 0:
            continue
        reading = min(max(math.log(actual / planned), -math.log(4)), math.log(4))
        weighted += reading * noise_precision
        precision += noise_precision
        count += 1
    if count == 0:
        return pace
    return Pace(weighted / precision, 1 / precision, count)


@dataclass(frozen=True, slots=True)
class VisitRisk:
    """One visit still ahead: its median and 90th-percentile service start and how likely it
    starts after the window ends (0-1)."""

    stop_id: str
    eta_p50_s: int
    eta_p90_s: int
    p_late: float


@dataclass(frozen=True, slots=True)
class RouteAhead:
    """What the draws need of one route: the visits still ahead (the last `count` of `timed`'s
    visits) and the courier's pace."""

    timed: RouteSchedule
    count: int
    pace: Pace = field(default_factory=Pace)


@lru_cache(maxsize=512)
def _draws(seed: int, kind: int, rank: int, samples: int) -> FloatArray:
    """Standard normal draws for the `rank`-th visit ahead (kind 0: legs, 1: stops, 2: pace),
    the same in every process and whatever the route's length."""
    values: FloatArray = np.random.default_rng([seed, kind, rank]).standard_normal(samples)
    values.setflags(write=False)
    return values


def route_risk(routes: Sequence[RouteAhead], model: NoiseModel) -> list[tuple[VisitRisk, ...]]:
    """Each route's visits ahead with their risk, all routes drawn together (numpy over routes
    x samples, one step per visit rank)."""
    out: list[list[VisitRisk]] = [[] for _ in routes]
    live = [i for i, r in enumerate(routes) if r.count > 0]
    if not live:
        return [()] * len(routes)
    legs = [_legs(routes[i].timed, routes[i].count) for i in live]
    n, s = len(live), model.samples
    pace_mean = np.array([routes[i].pace.log_mean for i in live])[:, None]
    pace_sd = np.sqrt(np.array([routes[i].pace.log_var for i in live]))[:, None]
    log_pace = pace_mean + pace_sd * _draws(model.seed, 2, 0, s)[None, :]
    t = np.array([float(part[0].leave_s) for part in legs])[:, None] + np.zeros((n, s))
    longest = max(len(part) for part in legs)
    starts = np.full((n, longest, s), np.nan)
    ends = np.full((n, longest), np.inf)
    for k in range(longest):
        here = np.array([k < len(part) for part in legs])
        rows = [part[k] if k < len(part) else part[-1] for part in legs]
        rest_from = np.array([r.rest_from_s for r in rows])[:, None]
        rest_s = np.array([float(r.rest_s) for r in rows])[:, None]
        leg_s = np.array([float(r.leg_s) for r in rows])[:, None]
        open_s = np.array([float(r.window_start_s) for r in rows])[:, None]
        service_s = np.array([float(r.service_s) for r in rows])[:, None]
        rested = np.where(rest_s > 0, np.maximum(t, rest_from) + rest_s, t)
        arrive = rested + leg_s * np.exp(log_pace + model.leg_sigma * _draws(model.seed, 0, k, s)[None, :])
        start = np.maximum(arrive, open_s)
        after = start + service_s * np.exp(log_pace + model.service_sigma * _draws(model.seed, 1, k, s)[None, :])
        t = np.where(here[:, None], after, t)
        starts[:, k, :] = np.where(here[:, None], start, np.nan)
        ends[:, k] = [float(r.window_end_s) for r in rows]
    median_rank, p90_rank = (s - 1) // 2, math.ceil(0.9 * s) - 1
    ranked = np.partition(np.nan_to_num(starts, nan=0.0), (median_rank, p90_rank), axis=2)
    p50 = np.ceil(ranked[:, :, median_rank])
    p90 = np.ceil(ranked[:, :, p90_rank])
    late = (starts > ends[:, :, None]).mean(axis=2)
    for j, i in enumerate(live):
        out[i] = [
            VisitRisk(row.stop_id, int(p50[j, k]), int(p90[j, k]), round(float(late[j, k]), 3))
            for k, row in enumerate(legs[j])
        ]
    return [tuple(r) for r in out]


@dataclass(frozen=True, slots=True)
class _Leg:
    """One visit ahead as planned: leave the previous place at `leave_s` (first visit only),
    rest `rest_s` (breaks; not before `rest_from_s`), drive `leg_s`, wait for the window, serve."""

    stop_id: str
    leave_s: int
    rest_from_s: float
    """A break held between the visits starts no earlier than this (-inf: as soon as free)."""
    rest_s: int
    leg_s: int
    window_start_s: int
    window_end_s: int
    service_s: int


def _legs(timed: RouteSchedule, count: int) -> list[_Leg]:
    visits = timed.visits
    first = len(visits) - count
    out = []
    for k in range(first, len(visits)):
        v = visits[k]
        leave = timed.start_s if k == 0 else visits[k - 1].departure_s
        rests = [b for b in timed.breaks if leave <= b.start_s and b.end_s <= v.arrival_s]
        rest_s = sum(b.end_s - b.start_s for b in rests)
        rest_from = min((b.start_s for b in rests), default=leave)  # waited for: a fixed start
        ready = max([leave, *(b.end_s for b in rests)])
        out.append(
            _Leg(
                v.stop_id,
                leave,
                float(rest_from) if rest_from > leave else -math.inf,
                rest_s,
                max(0, v.arrival_s - ready),
                v.window.start_s,
                v.window.end_s,
                v.departure_s - v.start_s,
            )
        )
    return out
