"""Searches side by side sharing their best (`optimizer.engines.cooperative`): a search takes a
better post from the board as it goes, posts its own, and on counted work the plan is the same
in any processes. Searches stop on iterations."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import pyvrp

from optimizer.engines.cooperative import Board, SharedSearch, board, run_shared
from optimizer.engines.pyvrp_engine import PyVRPEngine, build_data
from optimizer.engines.regions import RegionsEngine, initial_solution, local_pool
from optimizer.instances import read_instance
from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.schedule import schedule
from optimizer.solution import Solution
from optimizer.travel.euclidean import EuclideanSource
from optimizer.travel.matrix import TravelMatrix

PARAMS = SolveParams(time_limit_s=60, seed=3, iterations=40)


@pytest.fixture(scope="module")
def rc101(vrptw_data: Path) -> tuple[Problem, TravelMatrix]:
    problem = read_instance(vrptw_data / "solomon" / "rc101.txt").to_problem()
    return problem, EuclideanSource().matrix(problem)


def posted(problem: Problem, matrix: TravelMatrix, solution: Solution) -> tuple[int, pyvrp.Solution]:
    """`solution` as a post: its cost and its PyVRP form."""
    found = initial_solution(problem, matrix, build_data(problem, matrix), solution.routes)
    assert found.is_feasible()
    return int(pyvrp.CostEvaluator([0.0], 0.0, 0.0).cost(found)), found


def test_a_search_takes_a_better_post_and_goes_on_from_it(rc101: tuple[Problem, TravelMatrix], tmp_path: Path) -> None:
    problem, matrix = rc101
    good = PyVRPEngine().solve(problem, matrix, replace(PARAMS, seed=1, iterations=3000))
    cost, found = posted(problem, matrix, good)
    (tmp_path / "mine").mkdir()
    alone = run_shared(SharedSearch(problem, matrix, PARAMS, Board(str(tmp_path / "mine"), 1, False), 0, 1.0, 5))
    assert alone.objective > cost  # 40 iterations from scratch are far from it: the check below can fail
    (tmp_path / "shared").mkdir()
    shared = Board(str(tmp_path / "shared"), 2, together=False)
    for round_ in range(1, 9):
        shared.post(round_, 1, cost, found)
    taken = run_shared(SharedSearch(problem, matrix, PARAMS, shared, 0, 1.0, 5))
    assert taken.objective <= cost
    assert taken.feasible and not taken.unassigned
    assert schedule(problem, matrix, taken.routes).violations == ()
    mine = [shared.read(r, 0.0) for r in range(2, 9)]
    assert all(len(posts) == 2 for posts in mine)  # it posted every round from the first it had one
    assert all(min(posts)[0] <= cost for posts in mine)


def test_the_board_waits_for_every_post_and_hands_back_what_there_is(tmp_path: Path) -> None:
    shared = Board(str(tmp_path), 2)
    solution = pyvrp.Solution(pyvrp.ProblemData(
        clients=[], depots=[pyvrp.Depot(0)], vehicle_types=[pyvrp.VehicleType()],
        distance_matrices=[[[0]]], duration_matrices=[[[0]]], locations=[pyvrp.Location(0, 0)],
    ), [])  # fmt: skip
    shared.post(1, 0, 7, solution)
    began = time.monotonic()
    assert [(c, k) for c, k, _ in shared.read(1, 0.2)] == [(7, 0)]  # the other never posted
    assert time.monotonic() - began >= 0.2
    later = threading.Timer(0.1, lambda: shared.post(2, 1, 5, solution))
    later.start()
    shared.post(2, 0, 9, solution)
    assert sorted((c, k) for c, k, _ in shared.read(2, 10.0)) == [(5, 1), (9, 0)]
    later.join()
    assert list(Path(tmp_path).glob("*.part")) == []


def test_a_search_with_no_board_goes_on_alone(rc101: tuple[Problem, TravelMatrix], tmp_path: Path) -> None:
    problem, matrix = rc101
    missing = Board(str(tmp_path / "elsewhere"), 2)  # as on another machine: no such folder
    alone = run_shared(SharedSearch(problem, matrix, PARAMS, missing, 0, 1.0, 5))
    assert alone.feasible and not alone.unassigned


@pytest.mark.xdist_group("two-cores")
def test_on_counted_work_two_searches_give_the_same_plan_every_time(rc101: tuple[Problem, TravelMatrix]) -> None:
    """Side by side on a process pool, each round waits for both posts: the plan is fixed by
    the seed, whatever the pool's timing (twice, and on a fresh pool)."""
    problem, matrix = rc101
    params = replace(PARAMS, iterations=300)
    with local_pool(2) as pool:
        first = RegionsEngine(pool, workers=2, mode="seeds").solve(problem, matrix, params)
        again = RegionsEngine(pool, workers=2, mode="seeds").solve(problem, matrix, params)
    fresh = RegionsEngine(workers=2, mode="seeds").solve(problem, matrix, params)
    assert first.routes == again.routes == fresh.routes
    assert first.objective == again.objective == fresh.objective
    assert first.feasible and schedule(problem, matrix, first.routes).violations == ()


def test_boards_are_removed_after_the_solve() -> None:
    with board(2) as shared:
        assert Path(shared.directory).is_dir()
    assert not Path(shared.directory).exists()
