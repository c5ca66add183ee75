"""`ontime bench vrptw` with OnTime on two cores against PyVRP on one and on two: the runs it
makes, how it shares the cores, and what it reports."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from benchmarks.vrptw import Cores, Run, main, paired
from tests.api.cli.test_cli_solve_instance import vrptw_data


def test_pyvrp_on_two_cores_is_the_better_of_its_two_seeds_per_instance() -> None:
    runs = [
        Run("c101", "pyvrp", 10, 830.0, True, 5.0),
        Run("c101", "pyvrp-seed2", 10, 828.9, True, 5.2),
        Run("r101", "pyvrp", 19, 1650.8, True, 5.1),
        Run("r101", "pyvrp-seed2", 0, float("nan"), False, 9.0, "no routes"),
    ]
    two = {r.instance: r for r in paired(runs, "pyvrp2")}
    assert (two["c101"].distance, two["c101"].solver, two["c101"].wall_s) == (828.9, "pyvrp2", 5.2)
    assert two["r101"].feasible and two["r101"].distance == 1650.8  # an infeasible half never wins


def test_a_two_core_run_waits_for_both_cores_and_has_them_to_itself() -> None:
    cores = Cores(2)
    busy: list[int] = []
    assert cores.take(1) == 1
    taken = threading.Event()

    def wants_two() -> None:
        cores.take(2)
        busy.append(2 - cores.free)
        taken.set()

    thread = threading.Thread(target=wants_two)
    thread.start()
    time.sleep(0.2)
    assert not taken.is_set()  # one core is busy: it waits
    cores.give(1)
    thread.join(5)
    assert taken.is_set() and busy == [2] and cores.free == 0
    assert Cores(1).take(2) == 1  # a one-core machine lends what it has


@pytest.mark.slow
@pytest.mark.xdist_group("two-cores")
def test_a_run_reports_ontime_on_two_cores_against_pyvrp_on_one_and_on_two(tmp_path: Path) -> None:
    out = tmp_path / "table.md"
    main("solomon", 1.0, vrptw_data(), 2, ["ontime2", "pyvrp2"], ["c101"], out)
    text = out.read_text()
    for label in ("OnTime on two cores", "PyVRP used directly", "PyVRP on two cores"):
        assert label in text
    assert "vs PyVRP on two cores (seeds 1 and 2 side by side, better kept), same run" in text
    rows = [line for line in text.splitlines() if line.startswith("| c101 |")]
    assert len(rows) == 1 and "INFEASIBLE" not in rows[0] and rows[0].count(" / ") == 3 * 3
