"""`ontime bench calls` (BENCHMARKS.md 6): its tables pool and split the runs' figures as they
say, and a tiny run writes the results file, every run's row and both pictures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.calls import _by_margin, _pooled, _table

ROOT = Path(__file__).resolve().parents[2]


def run(policy: str, seed: int, late: list[tuple[float, bool]], calls: int, right: int) -> dict[str, Any]:
    called = sum(1 for _, early in late if early)
    return {
        "policy": policy,
        "seed": seed,
        "on_time_rate": 1 - len(late) / 100,
        "late_stops": len(late),
        "late_minutes": sum(m for m, _ in late),
        "recall_30": called / len(late) if late else 1.0,
        "recall_any": 1.0,
        "precision": right / calls if calls else 1.0,
        "calls": calls,
        "lead_median_min": 40.0,
        "lead_p10_min": 31.0,
        "false_alarms_per_courier_day": (calls - right) / 10,
        "route_changes_per_courier_day": 0.5,
        "reoptimizations": 3,
        "answer_p95_ms": 20.0,
        "p90_coverage": 0.9,
        "late_detail": late,
        "timeline": [{"late": True}] * len(late) + [{"late": False}] * (100 - len(late)),
    }


RUNS = [
    run("live+risk", 1, [(3.0, False), (40.0, True)], calls=4, right=3),
    run("live+risk", 2, [(5.0, True), (30.0, True), (60.0, True)], calls=4, right=2),
]


def test_recall_and_precision_are_pooled_over_the_runs_not_averaged() -> None:
    assert _pooled(RUNS, "live+risk", "recall_30") == pytest.approx(4 / 5)
    assert _pooled(RUNS, "live+risk", "precision") == pytest.approx(5 / 8)


def test_recall_is_split_by_how_late_the_stops_turned_out() -> None:
    assert _by_margin(RUNS, "live+risk") == "late by 15 min or less: 50% of 2; by more: 100% of 3"


def test_the_table_gives_each_policy_its_means_with_an_interval() -> None:
    row = _table(RUNS, ["live+risk"])[2]
    assert row.startswith("| live+risk | 97.5 ± ")
    assert "| 0.5 ± 0.0 |" in row  # route changes per courier-day, the same in both runs


@pytest.mark.slow
def test_a_tiny_run_writes_the_results_every_run_and_both_pictures(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "bench",
            "calls",
            "--sizes",
            "20x2",
            "--seeds",
            "2",
            "--calm-seeds",
            "0",
            "--no-lade",
            "--jobs",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = (tmp_path / "calls.md").read_text(encoding="utf-8")
    for policy in ("static", "live", "live+risk"):
        assert f"| {policy} | " in results
    assert "## Drawing the risk" in results
    assert len((tmp_path / "calls_runs.csv").read_text(encoding="utf-8").splitlines()) == 1 + 2 * 3
    for name in ("calls_timeline.png", "calls_ontime.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
