"""`engine="regions"`: city-size days (1,000-5,000 stops) planned on every core.

PyVRP's iterated local search spends each iteration on a few routes, but an iteration also
costs time in proportion to the whole solution, so a search needs about `n` iterations of
cost about `n` (measured on generated days: about 300 iterations a second at 250 stops, 80 at
500, 37 at 1,000): a day twice the size takes four times as long to plan as well. Cut into
`k` regions, it takes `k` times less, and the regions run side by side.

1. **Regions.** Stops are cut into sectors by their angle around the depots' centre, each with
   about the same work (service time plus the drive from the nearest other stop), the first
   cut where the stops leave the widest gap. Couriers are dealt to the sectors in proportion
   to their work, kind by kind (depots, shift, vehicle, skills, trips), so every sector
   gets its share of each kind. A courier whose parcels are on the van or who is already
   driving to a stop goes where those stops are, with them; a stop no courier of its sector
   may serve (skills, too heavy, windows outside every shift) moves to the nearest sector
   with one that can.
2. **Solve.** Each sector is a problem of its own (`replace(problem, stops=..., couriers=...)`,
   its travel matrix cut out of the whole one, nothing recomputed), solved by PyVRP. The
   sectors run on the `parallel` map given (a process pool, Ray), as many at once as it has
   workers.
3. **Borders.** Routes are grouped again by the angle of their centre, the cuts turned by a
   fraction of a sector (half, then a quarter, then three quarters...), each group with its
   routes' stops and couriers, a share of the unused couriers and the stops left out near it,
   and PyVRP searches each group from its current routes (a warm start): stops on either side
   of an old cut are now in one problem. `rounds` of these.
4. **Fewer couriers.** Every other border round *squeezes*: each group is to do without its
   lightest route (that courier taken out, the stops kept) and gets no unused courier. A group
   whose search places every stop it had placed keeps the new routes, one courier fewer;
   otherwise its routes stay as they were. Sectors each end with a part-filled route, which
   a search of the whole day would have merged: without this, the plan used 47-49 couriers
   where PyVRP alone, given 300 s, used 44 (generated 2,000-stop day); with it, 38-44.

`SolveParams.iterations` makes it deterministic: every search (sector or group) stops after
that many iterations, seeds follow from `params.seed`, and the map returns results in order,
so any executor gives the same plan. Otherwise the time limit is split between the phases
(the sectors get `first_share`, the border rounds the rest, evenly) and each phase between its
waves of searches. The plan's objective is re-scored on the whole day (`plan_cost`). What
the problem says holds as PyVRP models it, since every sub-problem is the problem's own stops
and couriers: depots per courier, skills, capacity along the route with pickups, trips, fixed
and per-metre and per-second costs.

`mode="seeds"` is the other way to use the cores: `workers` searches of the whole problem
with different seeds that share their best as they go, without restarting
(`optimizer.engines.cooperative`). It is what `ontime solve-instance --workers` runs on the
classic instances; on city-size days the regions plan better (a search of the whole day is
slow however many run).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime

from optimizer.engines.cooperative import SharedSearch, board, run_shared
from optimizer.engines.pyvrp_engine import PyVRPEngine, _to_solution, build_data
from optimizer.engines.reasons import with_reasons
from optimizer.kpi import route_cost
from optimizer.model import Courier, Problem, Stop
from optimizer.params import SolveParams
from optimizer.schedule import schedule
from optimizer.solution import Route, Solution
from optimizer.travel.matrix import TravelMatrix

T = TypeVar("T")
R = TypeVar("R")

Mode = Literal["regions", "seeds"]

REGION_STOPS = 400
"""About how many stops one sector gets: small enough to search fast, big enough that few
routes cross a cut."""
MIN_SEARCH_S = 0.2
"""The least time a search is given, whatever the budget left."""
SYNC_S = 2.0
"""`mode="seeds"`: seconds between the searches' exchanges of their best."""
SEED_ROUNDS = 10
"""`mode="seeds"` on counted work: exchanges in a search's iterations."""
_CLOSING_S = 0.5
"""Time kept back for putting the plan together at the end."""


class ParallelMap(Protocol):
    """Runs `fn` on every item, some at once, and returns the results in the items' order.
    `fn` is a top-level function and the items are picklable (a process pool, Ray)."""

    def __call__(self, fn: Callable[[T], R], items: Sequence[T], /) -> list[R]: ...


def serial_map(fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
    """A `ParallelMap` in this process, one item after the other."""
    return [fn(item) for item in items]


@contextmanager
def local_pool(workers: int) -> Iterator[ParallelMap]:
    """A `ParallelMap` on a pool of `workers` spawned processes (in this process for one),
    warmed up: each worker has imported the solver before the map is handed out."""
    if workers <= 1:
        yield serial_map
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(ready, range(workers)))

        def pooled(fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
            return list(pool.map(fn, items))

        yield pooled


def ready(_: object = None) -> int:
    """A task that only loads this module and PyVRP in a worker (to warm a pool up): its pid."""
    return os.getpid()


@dataclass(frozen=True, slots=True)
class Search:
    """One PyVRP search: a (sub-)problem, its matrix, how long, and the routes to start from."""

    problem: Problem
    matrix: TravelMatrix
    params: SolveParams
    warm: tuple[Route, ...] = ()


def run_search(search: Search) -> Solution:
    """PyVRP on `search` (a top-level function for process pools): from the warm routes when
    there are any, else from scratch as the PyVRP engine does."""
    if not search.warm:
        return PyVRPEngine().solve(search.problem, search.matrix, search.params)
    return _warm_search(search)


class RegionsEngine:
    """PyVRP on regions of the day side by side, then across their borders (module docstring).

    `parallel` None: a local pool of `workers` processes (default: up to two, one per core)
    is started for each solve. `region_stops` sets the sectors' size, `rounds` the border
    rounds, `first_share` the sectors' share of the time, `squeeze` whether every other
    round tries to do with fewer couriers; `sync_s` how often the searches of `mode="seeds"`
    share their best."""

    name = "regions"
    features = PyVRPEngine.features

    def __init__(
        self,
        parallel: ParallelMap | None = None,
        *,
        workers: int | None = None,
        mode: Mode = "regions",
        region_stops: int = REGION_STOPS,
        rounds: int = 5,
        first_share: float = 0.4,
        squeeze: bool = True,
        sync_s: float = SYNC_S,
    ) -> None:
        if region_stops < 10:
            raise ValueError("region_stops must be at least 10")
        if rounds < 0:
            raise ValueError("rounds must not be negative")
        if not 0 < first_share <= 1:
            raise ValueError("first_share must be in (0, 1]")
        if sync_s <= 0:
            raise ValueError("sync_s must be positive")
        self.parallel = parallel
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        self.mode: Mode = mode
        self.region_stops = region_stops
        self.rounds = rounds
        self.first_share = first_share
        self.squeeze = squeeze
        self.sync_s = sync_s

    def solve(self, problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution:
        began = time.perf_counter()
        if self.parallel is not None:
            return self._solve(problem, matrix, params, self.parallel, began)
        if self.mode == "regions" and self.region_count(len(problem.stops)) <= 1:
            return self._solve(problem, matrix, params, serial_map, began)
        with local_pool(self.workers) as parallel:
            return self._solve(problem, matrix, params, parallel, began)

    def _solve(
        self, problem: Problem, matrix: TravelMatrix, params: SolveParams, parallel: ParallelMap, began: float
    ) -> Solution:
        clock = _Clock(began, params.time_limit_s, params.iterations is not None)
        if self.mode == "seeds":
            routes, objective, feasible = self._seeds(problem, matrix, params, parallel, clock)
        else:
            routes, objective, feasible = self._regions(problem, matrix, params, parallel, clock)
        order = {c.id: k for k, c in enumerate(problem.couriers)}
        ordered = tuple(sorted(routes, key=lambda r: order[r.courier_id]))
        return with_reasons(
            problem,
            matrix,
            Solution(ordered, (), self.name, objective, time.perf_counter() - began, feasible),
        )

    # -- decomposition -------------------------------------------------------------------

    def _regions(
        self, problem: Problem, matrix: TravelMatrix, params: SolveParams, parallel: ParallelMap, clock: _Clock
    ) -> tuple[list[Route], int, bool]:
        count = self.region_count(len(problem.stops))
        if count <= 1:
            (solution,) = parallel(run_search, [Search(problem, matrix, clock.params(params, 1.0, 1))])
            return list(solution.routes), solution.objective, solution.feasible
        geometry = _Geometry.of(problem, matrix)
        weights = self._weights()
        groups = [Group(tuple(stops), tuple(couriers)) for stops, couriers in sectors(problem, geometry, count)]
        routes: list[Route] = []
        feasible = False
        for phase, weight in enumerate(weights):
            if phase:
                offset = _OFFSETS[(phase - 1) % len(_OFFSETS)]
                squeeze = self.squeeze and phase % 2 == 0
                groups = route_groups(problem, geometry, routes, count, offset, squeeze=squeeze)
            busy = [g for g in groups if g.stops]
            waves = math.ceil(len(busy) / self.workers)
            if phase and clock.out_of_time(waves):
                break
            subs = [cut(problem, matrix, g.stops, g.couriers) for g in busy]
            timed = clock.params(params, weight / sum(weights[phase:]), waves)
            searches = [
                Search(sub, submatrix, _seeded(timed, phase, k), g.warm)
                for k, ((sub, submatrix), g) in enumerate(zip(subs, busy))
            ]
            results = parallel(run_search, searches)
            kept = [_kept(g, result) for g, result in zip(busy, results)]
            routes = [r for group_routes, _ in kept for r in group_routes]
            # A group kept as it was is as feasible as the day was before.
            feasible = all(result.feasible if new else feasible for (_, new), result in zip(kept, results))
            planned = {r.courier_id for r in routes}
            routes += [Route(c.id, ()) for c in problem.couriers if c.id not in planned]
        return routes, plan_cost(problem, matrix, routes), feasible

    def _weights(self) -> list[float]:
        """Each phase's share of the time: the first, then the rounds evenly."""
        if not self.rounds:
            return [1.0]
        return [self.first_share] + [(1 - self.first_share) / self.rounds] * self.rounds

    def region_count(self, stops: int) -> int:
        """How many sectors: about `region_stops` stops each, a multiple of the workers."""
        count = round(stops / self.region_stops)
        if count <= 1:
            return 1
        return math.ceil(count / self.workers) * self.workers

    # -- parallel seeds ------------------------------------------------------------------

    def _seeds(
        self, problem: Problem, matrix: TravelMatrix, params: SolveParams, parallel: ParallelMap, clock: _Clock
    ) -> tuple[list[Route], int, bool]:
        timed = clock.params(params, 1.0, 1)
        every = max(1, (params.iterations or 0) // SEED_ROUNDS)
        with board(self.workers, together=parallel is not serial_map) as shared:
            searches = [
                SharedSearch(problem, matrix, _seeded(timed, 0, w), shared, w, self.sync_s, every)
                for w in range(self.workers)
            ]
            best = min(parallel(run_shared, searches), key=_rank)
        return list(best.routes), best.objective, best.feasible


_OFFSETS = (0.5, 0.25, 0.75)
"""Where the border rounds cut, as a fraction of a sector past the first cut."""


def _seeded(params: SolveParams, phase: int, search: int) -> SolveParams:
    """`params` with the seed of one search of one phase (a function of the given seed only)."""
    return replace(params, seed=(params.seed + 1000 * phase + search) % 2**31)


def _rank(solution: Solution) -> tuple[bool, int, int]:
    return (not solution.feasible, len(solution.unassigned), solution.objective)


@dataclass(frozen=True, slots=True)
class _Clock:
    """The solve's time, handed out to phases and their waves of searches."""

    began: float
    limit_s: float
    on_iterations: bool

    def left(self) -> float:
        return self.limit_s - (time.perf_counter() - self.began) - _CLOSING_S

    def params(self, params: SolveParams, share: float, waves: int) -> SolveParams:
        """`params` for each search of a phase that gets `share` of the time left, run in
        `waves` waves (the iteration budget as given, when there is one)."""
        if self.on_iterations:
            return replace(params, warm_start=())
        limit = max(MIN_SEARCH_S, self.left() * share / max(waves, 1))
        return replace(params, time_limit_s=min(limit, 3600.0), warm_start=())

    def out_of_time(self, waves: int) -> bool:
        """Whether a phase of `waves` waves has too little time left to be worth starting."""
        return not self.on_iterations and self.left() < waves * 2 * MIN_SEARCH_S


# -- geometry -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Geometry:
    """Each stop's position around the depots' centre and its work (seconds)."""

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    work: npt.NDArray[np.float64]
    start: float
    """The angle the first sector starts at: in the widest gap between stops."""

    @classmethod
    def of(cls, problem: Problem, matrix: TravelMatrix) -> _Geometry:
        depots = [problem.depot_node(c.start_depot) for c in problem.couriers]
        locations = problem.locations
        lat0 = float(np.mean([locations[d].lat for d in depots]))
        lon0 = float(np.mean([locations[d].lon for d in depots]))
        planar = locations[0].planar
        squeeze = 1.0 if planar else math.cos(math.radians(lat0))
        x = np.array([(s.location.lon - lon0) * squeeze for s in problem.stops])
        y = np.array([s.location.lat - lat0 for s in problem.stops])
        service = np.array([s.service_s for s in problem.stops], dtype=np.float64)
        return cls(x, y, service + _nearest_s(problem, matrix), _widest_gap(np.arctan2(y, x).tolist()))

    def angle(self, stop: int) -> float:
        return math.atan2(self.y[stop], self.x[stop])


def _nearest_s(problem: Problem, matrix: TravelMatrix) -> npt.NDArray[np.float64]:
    """Seconds to each stop from the nearest other stop (the first courier's profile)."""
    n = len(problem.stops)
    if n < 2:
        return np.zeros(n)
    first = len(problem.depots)
    durations = matrix.durations(problem.couriers[0].profile)
    nearest = np.empty(n)
    for lo in range(0, n, 512):
        hi = min(n, lo + 512)
        block = np.array(durations[first + lo : first + hi, first : first + n], dtype=np.float64)
        block[np.arange(hi - lo), np.arange(lo, hi)] = np.inf
        nearest[lo:hi] = block.min(axis=1)
    return nearest


def _widest_gap(angles: Sequence[float]) -> float:
    """An angle in the middle of the widest gap between neighbouring `angles`."""
    if len(angles) < 2:
        return angles[0] + math.pi if angles else 0.0
    ordered = sorted(angles)
    gaps = [((ordered[(k + 1) % len(ordered)] - a) % (2 * math.pi), k) for k, a in enumerate(ordered)]
    gap, k = max(gaps, key=lambda g: (g[0], -g[1]))
    return ordered[k] + gap / 2


def _cuts(angles: Sequence[float], work: Sequence[float], count: int, start: float, offset: float) -> list[int]:
    """The group (0 to `count` - 1) of each item: items in angle order from `start`, cut
    into `count` runs of equal work, the cuts moved on by `offset` of a run's work (the last
    run's tail wraps round to the first)."""
    n = len(angles)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda k: ((angles[k] - start) % (2 * math.pi), k))
    total = float(sum(work)) or 1.0
    run = total / count
    groups = [0] * n
    done = 0.0
    for item in order:
        middle = done + work[item] / 2 + offset * run
        groups[item] = int(middle // run) % count
        done += work[item]
    return groups


# -- partitions ---------------------------------------------------------------------------


def _kind(courier: Courier) -> tuple[object, ...]:
    """What sets couriers apart for where they can work: depots, start, shift, vehicle
    profile, skills and trips (capacities and costs vary within a kind)."""
    return (
        courier.start_depot,
        courier.end_depot,
        courier.start_at,
        courier.ready_s,
        courier.shift_end_s,
        courier.profile,
        courier.skills,
        courier.max_trips,
    )


def _deal(problem: Problem, couriers: Sequence[int], shares: Sequence[float], dealt: list[list[int]]) -> None:
    """Deal `couriers` (indices) to the groups in proportion to `shares`, kind by kind, each
    leftover to the group furthest below its share so far (added to `dealt`)."""
    total = sum(shares) or 1.0
    fractions = [s / total for s in shares]
    owed = [0.0] * len(shares)
    by_kind: dict[tuple[object, ...], list[int]] = {}
    for c in couriers:
        by_kind.setdefault(_kind(problem.couriers[c]), []).append(c)
    for members in by_kind.values():
        ideal = [len(members) * f for f in fractions]
        counts = [math.floor(x) for x in ideal]
        owed = [o + x - n for o, x, n in zip(owed, ideal, counts)]
        for _ in range(len(members) - sum(counts)):
            g = max(range(len(owed)), key=lambda k: (owed[k], -k))
            counts[g] += 1
            owed[g] -= 1
        rest = iter(members)
        for g, n in enumerate(counts):
            dealt[g].extend(next(rest) for _ in range(n))


def _pinned(problem: Problem) -> dict[int, list[int]]:
    """Couriers (index) with the stops (index) only they may serve, or they must visit first."""
    index = {c.id: k for k, c in enumerate(problem.couriers)}
    pinned: dict[int, list[int]] = {}
    offset = len(problem.depots)
    for k, courier in enumerate(problem.couriers):
        for stop_id in courier.fixed_prefix:
            pinned.setdefault(k, []).append(problem.stop_node(stop_id) - offset)
    for s, stop in enumerate(problem.stops):
        if stop.parcel_on is not None and s not in pinned.get(index[stop.parcel_on], []):
            pinned.setdefault(index[stop.parcel_on], []).append(s)
    return pinned


def _fits(problem: Problem, courier: Courier, stop: Stop) -> bool:
    """Whether `courier` may serve `stop` as far as skills, parcels, capacity and shift say."""
    return (
        problem.can_serve(courier, stop)
        and all(d <= c for d, c in zip(stop.demand, courier.capacity))
        and any(courier.ready_s <= w.end_s and w.start_s + stop.service_s <= courier.shift_end_s for w in stop.windows)
    )


def _servable(problem: Problem, stops: list[list[int]], couriers: list[list[int]]) -> None:
    """Move each stop no courier of its group may serve to the nearest group (in sector
    order) with one that can."""
    count = len(stops)
    for g in range(count):
        keep = []
        for s in stops[g]:
            stop = problem.stops[s]
            if any(_fits(problem, problem.couriers[c], stop) for c in couriers[g]):
                keep.append(s)
                continue
            for step in range(1, count):
                other = next(
                    (
                        h
                        for h in ((g + step) % count, (g - step) % count)
                        if any(_fits(problem, problem.couriers[c], stop) for c in couriers[h])
                    ),
                    None,
                )
                if other is not None:
                    stops[other].append(s)
                    break
            else:
                keep.append(s)  # no courier anywhere: left to the engine to report
        stops[g] = keep


def sectors(problem: Problem, geometry: _Geometry, count: int) -> list[tuple[list[int], list[int]]]:
    """The first partition: (stop indices, courier indices) of each sector."""
    n = len(problem.stops)
    angles = [geometry.angle(s) for s in range(n)]
    group = _cuts(angles, geometry.work.tolist(), count, geometry.start, 0.0)
    stops: list[list[int]] = [[] for _ in range(count)]
    for s in range(n):
        stops[group[s]].append(s)
    couriers: list[list[int]] = [[] for _ in range(count)]
    pinned = _pinned(problem)
    for c, own in pinned.items():
        votes = [sum(1 for s in own if group[s] == g) for g in range(count)]
        home = max(range(count), key=lambda g: (votes[g], -g))
        couriers[home].append(c)
        for s in own:
            if group[s] != home:
                stops[group[s]].remove(s)
                stops[home].append(s)
                group[s] = home
    shares = [float(geometry.work[stops[g]].sum()) for g in range(count)]
    free = [c for c in range(len(problem.couriers)) if c not in pinned]
    _deal(problem, free, shares, couriers)
    _servable(problem, stops, couriers)
    return [(sorted(s), sorted(c)) for s, c in zip(stops, couriers)]


@dataclass(frozen=True, slots=True)
class Group:
    """One search of a round: stops and couriers (indices into the problem's), the routes it
    starts from, and the routes taken out of it to be planned without (`squeeze`)."""

    stops: tuple[int, ...]
    couriers: tuple[int, ...]
    warm: tuple[Route, ...] = ()
    dropped: tuple[Route, ...] = ()


def route_groups(
    problem: Problem,
    geometry: _Geometry,
    routes: Sequence[Route],
    count: int,
    offset: float,
    *,
    squeeze: bool = False,
) -> list[Group]:
    """A border round's partition: routes by the angle of their centre into `count` groups
    cut `offset` of a group past the first cut, each with its routes' stops and couriers, a
    share of the unused couriers and the stops left out nearby.

    `squeeze`: each group of two routes or more is to do without its lightest route (its
    courier is taken out, its stops stay) and gets no unused courier: fewer couriers, if the
    search can place those stops elsewhere."""
    offset_stop = len(problem.depots)
    courier_index = {c.id: k for k, c in enumerate(problem.couriers)}
    used = [r for r in routes if r.stop_ids]
    members = [[problem.stop_node(s) - offset_stop for s in r.stop_ids] for r in used]
    routed = {s for m in members for s in m}
    left = [s for s in range(len(problem.stops)) if s not in routed]
    angles = [math.atan2(float(geometry.y[m].mean()), float(geometry.x[m].mean())) for m in members]
    angles += [geometry.angle(s) for s in left]
    work = [float(geometry.work[m].sum()) for m in members] + [float(geometry.work[s]) for s in left]
    group = _cuts(angles, work, count, geometry.start, offset)
    stops: list[list[int]] = [[] for _ in range(count)]
    couriers: list[list[int]] = [[] for _ in range(count)]
    warm: list[list[Route]] = [[] for _ in range(count)]
    for k, route in enumerate(used):
        stops[group[k]].extend(members[k])
        couriers[group[k]].append(courier_index[route.courier_id])
        warm[group[k]].append(route)
    pinned = _pinned(problem)
    home = {c: g for g in range(count) for c in couriers[g]}
    for k, s in enumerate(left):
        holder = problem.stops[s].parcel_on
        g = home.get(courier_index[holder], group[len(used) + k]) if holder is not None else group[len(used) + k]
        stops[g].append(s)
    busy = {courier_index[r.courier_id] for r in used}
    for c, own in pinned.items():
        if c not in busy:  # an unused courier with stops only they may serve goes with them
            g = next((h for h in range(count) if any(s in stops[h] for s in own)), 0)
            couriers[g].append(c)
            busy.add(c)
    dropped: list[list[Route]] = [[] for _ in range(count)]
    if squeeze:
        for g in range(count):
            free = [r for r in warm[g] if courier_index[r.courier_id] not in pinned]
            if len(warm[g]) < 2 or not free:
                continue
            lightest = min(
                free, key=lambda r: float(geometry.work[[problem.stop_node(s) - offset_stop for s in r.stop_ids]].sum())
            )
            warm[g].remove(lightest)
            couriers[g].remove(courier_index[lightest.courier_id])
            dropped[g].append(lightest)
    else:
        shares = [float(geometry.work[stops[g]].sum()) for g in range(count)]
        _deal(problem, [c for c in range(len(problem.couriers)) if c not in busy], shares, couriers)
    _servable(problem, stops, couriers)
    return [
        Group(tuple(sorted(s)), tuple(sorted(c)), tuple(w), tuple(d))
        for s, c, w, d in zip(stops, couriers, warm, dropped)
    ]


def cut(
    problem: Problem, matrix: TravelMatrix, stops: Sequence[int], couriers: Sequence[int]
) -> tuple[Problem, TravelMatrix]:
    """The sub-problem of `stops` and `couriers` (indices) with its travel matrix, cut out of
    `matrix` (same depots first, then these stops, then these couriers' start positions)."""
    sub = replace(
        problem,
        stops=tuple(problem.stops[s] for s in stops),
        couriers=tuple(problem.couriers[c] for c in couriers),
    )
    first = len(problem.depots)
    nodes = list(range(first)) + [first + s for s in stops]
    nodes += [problem.start_node(c) for c in couriers if problem.couriers[c].start_at is not None]
    return sub, sub_matrix(matrix, nodes)


def sub_matrix(matrix: TravelMatrix, nodes: Sequence[int]) -> TravelMatrix:
    """`matrix` restricted to `nodes`, in that order."""
    ix = np.ix_(np.asarray(nodes), np.asarray(nodes))
    free = None if matrix.free_flow_s is None else {p: f[ix] for p, f in matrix.free_flow_s.items()}
    return TravelMatrix(matrix.distances_m[ix], {p: d[ix] for p, d in matrix.durations_s.items()}, matrix.speed, free)


def _kept(group: Group, result: Solution) -> tuple[tuple[Route, ...], bool]:
    """The group's routes after its search, and whether they are the search's: they are,
    unless the group was to do without a route and the search could not place every stop
    it had placed (then the routes stay as they were)."""
    if not group.dropped:
        return result.routes, True
    placed_before = sum(len(r) for r in group.warm + group.dropped)
    if result.feasible and len(group.stops) - len(result.unassigned) >= placed_before:
        return result.routes, True
    return group.warm + group.dropped, False


def plan_cost(problem: Problem, matrix: TravelMatrix, routes: Sequence[Route]) -> int:
    """What `routes` cost in objective units: each used courier's fixed, per-metre and
    per-second costs (their times as `schedule()` gives them), plus the penalty of every
    optional stop left out."""
    timed = schedule(problem, matrix, routes)
    index = {c.id: c for c in problem.couriers}
    cost = sum(route_cost(index[r.courier_id], r.distance_m, r.duration_s) for r in timed.routes if r.visits)
    routed = {v.stop_id for r in timed.routes for v in r.visits}
    return cost + sum(s.penalty or 0 for s in problem.stops if s.id not in routed)


# -- warm-started PyVRP ------------------------------------------------------------------


def _warm_search(search: Search) -> Solution:
    began = time.perf_counter()
    problem, matrix, params = search.problem, search.matrix, search.params
    built = build_data(problem, matrix)
    initial = initial_solution(problem, matrix, built, search.warm)
    remaining = params.time_limit_s - (time.perf_counter() - began) - 1.0e-6 * len(built.client_stop) ** 2
    result = pyvrp.solve(
        built.data,
        stop=MaxIterations(params.iterations) if params.iterations else MaxRuntime(max(remaining, 0.05)),
        seed=params.seed,
        collect_stats=False,
        display=False,
        initial_solution=initial,
    )
    routes = _to_solution(problem, built, result.best).routes
    objective = int(result.cost()) if result.is_feasible() else int(result.best.distance())
    solution = Solution(routes, (), "pyvrp", objective, time.perf_counter() - began, result.is_feasible())
    return with_reasons(problem, matrix, solution)


def initial_solution(problem: Problem, matrix: TravelMatrix, built: Any, warm: Sequence[Route]) -> pyvrp.Solution:
    """`warm` as a PyVRP solution of `built` (the problem's PyVRP data): each stop as the
    client of the window its timing uses, each reload as a visit to the courier's reload
    depot. Stops the problem does not have are left out."""
    data: pyvrp.ProblemData = built.data
    first_client: dict[int, int] = {}
    for client, stop in enumerate(built.client_stop):
        first_client.setdefault(stop, client)
    type_of = {c: t for t, members in enumerate(built.type_couriers) for c in members}
    index = {c.id: k for k, c in enumerate(problem.couriers)}
    kept = [
        Route(r.courier_id, tuple(s for s in r.stop_ids if problem.has_stop(s)), ())
        if any(not problem.has_stop(s) for s in r.stop_ids)
        else r
        for r in warm
        if r.courier_id in index
    ]
    timed = schedule(problem, matrix, kept)
    routes = []
    offset = len(problem.depots)
    for route, timing in zip(kept, timed.routes):
        if not route.stop_ids:
            continue
        vehicle_type = type_of[index[route.courier_id]]
        reload_depots = data.vehicle_type(vehicle_type).reload_depots
        activities = []
        for position, visit in enumerate(timing.visits):
            if position in route.reloads and reload_depots:
                activities.append(pyvrp.Activity(pyvrp.ActivityType.DEPOT, reload_depots[0]))
            s = problem.stop_node(visit.stop_id) - offset
            window = problem.stops[s].windows.index(visit.window)
            activities.append(pyvrp.Activity(pyvrp.ActivityType.CLIENT, first_client[s] + window))
        routes.append(pyvrp.Route(data, activities, vehicle_type))
    return pyvrp.Solution(data, routes)


__all__ = [
    "Group",
    "ParallelMap",
    "RegionsEngine",
    "Search",
    "cut",
    "initial_solution",
    "local_pool",
    "plan_cost",
    "ready",
    "route_groups",
    "run_search",
    "sectors",
    "serial_map",
    "sub_matrix",
]
