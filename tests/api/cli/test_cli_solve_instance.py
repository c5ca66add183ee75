"""`ontime solve-instance` (CONTRACTS.md 2), run as a user would: a subprocess whose stdout
is one JSON object and nothing else, re-checked here in double precision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.instances import read_instance

REPO_ROOT = Path(__file__).resolve().parents[3]
KEYS = {"instance", "routes", "vehicles", "distance", "engine", "runtime_s"}


def vrptw_data() -> Path:
    """As `tests/optimizer/conftest.py`: `$ONTIME_VRPTW_DATA`, else `../shared/data/vrptw`."""
    configured = os.environ.get("ONTIME_VRPTW_DATA")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "vrptw"
    if not (path / "solomon").is_dir():
        pytest.skip(f"no Solomon instances under {path}; set ONTIME_VRPTW_DATA")
    return path


def ontime(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("name", "engine"), [("r101", "auto"), ("rc201", "ortools")])
def test_solve_instance_prints_one_json_object_whose_routes_pass_the_double_precision_check(
    name: str, engine: str
) -> None:
    path = vrptw_data() / "solomon" / f"{name}.txt"
    result = ontime("solve-instance", str(path), "--time-limit", "2", "--engine", engine, "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, result.stdout
    answer = json.loads(result.stdout)
    assert set(answer) == KEYS
    instance = read_instance(path)
    routes = answer["routes"]
    assert answer["instance"] == name
    assert answer["engine"] == ("pyvrp" if engine == "auto" else engine)
    assert all(routes) and answer["vehicles"] == len(routes) <= instance.vehicles
    assert instance.violations(routes) == []
    assert answer["distance"] == pytest.approx(instance.distance(routes), abs=1e-6)
    assert isinstance(answer["runtime_s"], float) and answer["runtime_s"] > 0


def test_malformed_instance_exits_non_zero_naming_the_line_with_nothing_on_stdout(tmp_path: Path) -> None:
    lines = ["BROKEN", "VEHICLE", "NUMBER CAPACITY", "2 10", "CUSTOMER", "CUST NO. X Y", "0 0 0 0 0 100 0", "1 3 4 4 0"]
    (tmp_path / "broken.txt").write_text("\n".join(lines) + "\n")
    result = ontime("solve-instance", "broken.txt", "--time-limit", "1", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    message = " ".join(result.stderr.split())
    assert "error: broken.txt:8: expected 7 columns, found 5" in message


def test_missing_instance_file_exits_non_zero_saying_it_cannot_be_read(tmp_path: Path) -> None:
    result = ontime("solve-instance", "absent.txt", "--time-limit", "1", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "absent.txt: cannot read" in " ".join(result.stderr.split())


def test_unknown_engine_is_refused_before_any_solving(tmp_path: Path) -> None:
    result = ontime("solve-instance", "absent.txt", "--time-limit", "1", "--engine", "gurobi", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "--engine must be auto, ortools or pyvrp" in " ".join(result.stderr.split())


@pytest.mark.slow
@pytest.mark.xdist_group("two-cores")
def test_two_workers_search_side_by_side_and_print_a_plan_that_passes_the_check() -> None:
    """`--workers 2`: two searches with their own seeds, sharing their best, on a process pool;
    the same one JSON object, within the time limit plus the contract's 2 s."""
    path = vrptw_data() / "solomon" / "rc101.txt"
    result = ontime("solve-instance", str(path), "--time-limit", "4", "--seed", "1", "--workers", "2")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == KEYS and out["engine"] == "regions" and out["runtime_s"] <= 6
    instance = read_instance(path)
    assert instance.violations(out["routes"]) == []
    assert sorted(c for r in out["routes"] for c in r) == sorted(c.number for c in instance.customers)
