"""The day simulator through the service (`api.simulation`, `ontime simulate`): the same seed
gives the same figures in process and through a real `ontime serve`, the figures hang
together, and the command prints the contract's JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from api.simulation import SimSettings, simulate
from scenarios.generate import generate_day
from scenarios.simulate import RunFigures, World

pytestmark = pytest.mark.xdist_group("simulation")

SMALL = SimSettings(plan_iterations=300, replan_iterations=50)
TIMING = {"answer_p95_ms"}


def _rows(runs: list[RunFigures]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.row().items() if k not in TIMING} for r in runs]


@pytest.fixture(scope="module")
def day() -> dict[str, Any]:
    return generate_day(40, 4, seed=3)


@pytest.fixture(scope="module")
def in_process_runs(day: dict[str, Any]) -> list[RunFigures]:
    return simulate(day, ["static", "live", "live+risk"], [5], World(), settings=SMALL, keep_timeline=True)


def test_the_same_seed_gives_the_same_figures_in_process_and_through_a_real_server(
    day: dict[str, Any], in_process_runs: list[RunFigures]
) -> None:
    served = simulate(day, ["static", "live", "live+risk"], [5], World(), mode="server", settings=SMALL)
    assert _rows(served) == _rows(in_process_runs)
    assert all(r.events > 0 for r in served if r.policy != "static")


def test_a_simulated_day_scores_every_stop_and_every_call(in_process_runs: list[RunFigures]) -> None:
    for run in in_process_runs:
        assert len(run.timeline) == run.stops == 40
        late = [s for s in run.timeline if s["late"]]
        assert run.late_stops == len(late) and 0 <= run.on_time_rate <= 1
        assert run.calls_right + run.false_alarms == run.calls
        assert run.called_early <= run.called_any <= run.late_customers
        for stop in run.timeline:
            if stop["called_s"] is not None and stop["late"]:
                assert run.called_any >= 1
    static, live, risky = in_process_runs
    assert static.events == 0 and static.route_changes == 0 and static.p90_coverage is None
    assert live.events > 100 and risky.events > 100
    assert live.p90_checked > 0 and risky.p90_checked > 0


def test_the_policies_see_the_same_world(day: dict[str, Any], in_process_runs: list[RunFigures]) -> None:
    """Stops the world makes fail fail under every policy (the draws belong to stops)."""
    static, live, risky = in_process_runs
    assert {s["stop_id"] for s in static.timeline} == {s["stop_id"] for s in risky.timeline}
    assert static.stops == live.stops == risky.stops


def test_ontime_simulate_prints_the_contract_json(tmp_path: Path, day: dict[str, Any]) -> None:
    problem = tmp_path / "day.json"
    problem.write_text(json.dumps(day), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "simulate", str(problem), "--policy", "static", "--seeds", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    for key in (
        "policy",
        "runs",
        "stops",
        "on_time_rate",
        "late_stops",
        "late_minutes",
        "recall_30",
        "recall_any",
        "precision",
        "lead_median_min",
        "false_alarms_per_courier_day",
        "route_changes_per_courier_day",
    ):
        assert key in figures, key
    assert (figures["policy"], figures["runs"], figures["stops"]) == ("static", 2, 40)
    assert 0 <= figures["on_time_rate"] <= 1


def test_ontime_simulate_draws_its_pictures_and_writes_every_run(tmp_path: Path, day: dict[str, Any]) -> None:
    problem = tmp_path / "day.json"
    problem.write_text(json.dumps(day), encoding="utf-8")
    runs, pictures = tmp_path / "runs.csv", tmp_path / "pictures"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "simulate",
            str(problem),
            "--policy",
            "static",
            "--policy",
            "live",
            "--csv",
            str(runs),
            "--pictures",
            str(pictures),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "static" in done.stdout and "live" in done.stdout  # the Rich table
    assert len(runs.read_text(encoding="utf-8").splitlines()) == 3  # a header and one row per run
    for name in ("calls_timeline.png", "calls_ontime.png"):
        assert (pictures / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_bad_policy_is_refused_naming_it(tmp_path: Path, day: dict[str, Any]) -> None:
    problem = tmp_path / "day.json"
    problem.write_text(json.dumps(day), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "simulate", str(problem), "--policy", "psychic"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "psychic" in done.stderr


@pytest.mark.slow
def test_the_p90_eta_covers_85_to_95_percent_of_true_starts_in_a_simulated_day() -> None:
    """Calibration (BENCHMARKS.md 6): over a 200-stop day under the default noise, breakdown and
    jam included, the p90 ETAs the service gave each hour cover 85-95% of the true starts."""
    [run] = simulate(generate_day(200, 16, seed=1), ["live+risk"], [1], World())
    assert run.p90_checked > 500
    assert 0.85 <= run.p90_covered / run.p90_checked <= 0.95, run.p90_coverage
