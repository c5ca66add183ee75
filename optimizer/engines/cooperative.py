"""Searches of one problem side by side, one core each, that share their best as they go.

Each search is PyVRP's own iterated local search (late-acceptance hill climbing over its local
search), with a different seed. At fixed points (every `sync_s` seconds of its own clock, or
every `sync_iterations` iterations when the work is counted) each search posts its best
feasible solution on a shared `Board` and reads everyone's post of the same round. A search
that finds a better solution on the board than its own best takes it as its next candidate:
PyVRP's search then adopts it as its best and its current solution, exactly as it would a
candidate it had found itself, and goes on from there with its own history and penalties.
Nothing restarts: restarting a search from someone else's routes (what this replaced) threw
away its acceptance history and cost more than the sharing won (Gehring & Homberger 200 at
30 s: +0.32% to PyVRP's best of two seeds' +0.27%).

The board is a directory of small pickles (a post is written whole and renamed into place),
so the searches may run in any processes of one machine: a local pool or Ray on one node (a
search on another machine finds no board and goes on alone). A search that does not see
another's post within the wait goes on alone. On counted work, rounds wait for every
search's post, so the plan is the same on any executor and any load.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyvrp
from pyvrp import IteratedLocalSearch, IteratedLocalSearchParams
from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks
from pyvrp.PenaltyManager import PenaltyManager
from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours
from pyvrp.stop import MaxIterations, MaxRuntime

from optimizer.engines.pyvrp_engine import _to_solution, build_data
from optimizer.engines.reasons import with_reasons
from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.solution import Solution
from optimizer.travel.matrix import TravelMatrix

_POLL_S = 0.002
_TIMED_WAIT_S = 0.5
"""The longest a round on the clock waits for the others' posts."""
_COUNTED_WAIT_S = 120.0
"""How long a counted round waits for the others' posts (a pool with fewer processes than
searches would otherwise wait for a search that cannot start until this one ends)."""


@dataclass(frozen=True, slots=True)
class Board:
    """Where `searches` searches post their best, round by round (a directory). `together`:
    whether they run at the same time (else each reads what the earlier ones left)."""

    directory: str
    searches: int
    together: bool = True

    def post(self, round_: int, search: int, cost: int, solution: pyvrp.Solution) -> None:
        final = Path(self.directory, f"{round_}-{search}.pkl")
        partial = final.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(pickle.dumps((cost, solution), protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, final)

    def read(self, round_: int, wait_s: float) -> list[tuple[int, int, pyvrp.Solution]]:
        """Every post of `round_` as (cost, search, solution), waiting up to `wait_s` for
        all of them to be there."""
        deadline = time.monotonic() + wait_s
        paths = [Path(self.directory, f"{round_}-{k}.pkl") for k in range(self.searches)]
        while not all(p.exists() for p in paths) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        posts = []
        for k, path in enumerate(paths):
            if path.exists():
                cost, solution = pickle.loads(path.read_bytes())
                posts.append((cost, k, solution))
        return posts


@contextmanager
def board(searches: int, *, together: bool = True) -> Iterator[Board]:
    """A fresh board for one solve, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ontime-board-") as directory:
        yield Board(directory, searches, together)


@dataclass(frozen=True, slots=True)
class SharedSearch:
    """One of the searches side by side: which one, with what seed and budget, where to share.
    `sync_s` paces the rounds on the clock; on counted work (`params.iterations`),
    `sync_iterations` does."""

    problem: Problem
    matrix: TravelMatrix
    params: SolveParams
    board: Board
    index: int
    sync_s: float
    sync_iterations: int


class _Sharing:
    """PyVRP's local search with the board in front: at each round's first call, the best
    post on the board is the candidate when it beats this search's best."""

    def __init__(self, search: LocalSearch, task: SharedSearch) -> None:
        self.search = search
        self.task = task
        self.best: pyvrp.Solution | None = None
        self.best_cost: int | None = None
        self.calls = 0
        self.round = 0
        self.began = time.perf_counter()
        counted = task.params.iterations is not None
        self.wait_s = (
            0.0 if not task.board.together else _COUNTED_WAIT_S if counted else min(task.sync_s / 2, _TIMED_WAIT_S)
        )

    def on_best(self, best: pyvrp.Solution, cost: int) -> None:
        if best.is_feasible() and (self.best_cost is None or cost < self.best_cost):
            self.best, self.best_cost = best, cost

    def __call__(
        self, solution: pyvrp.Solution, cost_evaluator: pyvrp.CostEvaluator, exhaustive: bool = False
    ) -> pyvrp.Solution:
        if not exhaustive:
            self.calls += 1
            if self._round_due():
                shared = self._share()
                if shared is not None:
                    return shared
        return self.search(solution, cost_evaluator, exhaustive=exhaustive)

    def _round_due(self) -> bool:
        task = self.task
        if task.params.iterations is not None:
            return self.calls % task.sync_iterations == 0
        return time.perf_counter() - self.began >= (self.round + 1) * task.sync_s

    def _share(self) -> pyvrp.Solution | None:
        task = self.task
        self.round += 1
        try:
            if self.best is not None and self.best_cost is not None:
                task.board.post(self.round, task.index, self.best_cost, self.best)
            posts = task.board.read(self.round, self.wait_s)
        except OSError:  # no board here (a Ray worker on another machine): go on alone
            self.wait_s = 0.0
            return None
        if len(posts) < task.board.searches and task.params.iterations is not None:
            self.wait_s = 0.0  # someone is not running beside this search: go on alone
        if not posts:
            return None
        cost, search, solution = min(posts, key=lambda p: (p[0], p[1]))
        if search == task.index or (self.best_cost is not None and cost >= self.best_cost):
            return None
        return solution


class _Callbacks(IteratedLocalSearchCallbacks):
    def __init__(self, sharing: _Sharing, cost: pyvrp.CostEvaluator) -> None:
        self.sharing = sharing
        self.cost = cost

    def on_best(self, best: pyvrp.Solution) -> None:
        self.sharing.on_best(best, int(self.cost.cost(best)))


def run_shared(task: SharedSearch) -> Solution:
    """One search of the side-by-side solve (a top-level function for process pools and Ray):
    PyVRP's iterated local search, set up as `pyvrp.solve` sets it up, sharing on the board."""
    began = time.perf_counter()
    problem, matrix, params = task.problem, task.matrix, task.params
    built = build_data(problem, matrix)
    data = built.data
    settings = pyvrp.SolveParams()
    rng = pyvrp.RandomNumberGenerator(seed=params.seed)
    neighbours = compute_neighbours(data, settings.neighbourhood)
    local = LocalSearch(data, rng, neighbours, PerturbationManager(settings.perturbation))
    for operator in settings.operators:
        if operator.supports(data):
            local.add_operator(operator(data))
    penalties = PenaltyManager(settings.penalty.midpoint_penalties(data), settings.penalty)
    initial = local(pyvrp.Solution.make_random(data, rng), penalties.max_cost_evaluator(), exhaustive=True)
    sharing = _Sharing(local, task)
    # Feasible solutions cost the same under any penalties: one evaluator ranks every post.
    ranking = penalties.max_cost_evaluator()
    sharing.on_best(initial, int(ranking.cost(initial)))
    ils_params = IteratedLocalSearchParams(callbacks=_Callbacks(sharing, ranking))
    ils = IteratedLocalSearch(data, penalties, sharing, initial, ils_params)
    remaining = params.time_limit_s - (time.perf_counter() - began)
    stop = MaxIterations(params.iterations) if params.iterations else MaxRuntime(max(remaining, 0.05))
    result = ils.run(stop, collect_stats=False)
    solution = _to_solution(problem, built, result.best)
    objective = int(result.cost()) if result.is_feasible() else int(result.best.distance())
    return with_reasons(
        problem,
        matrix,
        Solution(solution.routes, (), "pyvrp", objective, time.perf_counter() - began, result.is_feasible()),
    )
