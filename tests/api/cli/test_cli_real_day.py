"""`ontime plan` on a real day: the plan file shows each courier's trips and reloads, pickups,
and the day's cost at the couriers' rates."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.api.test_real_day_api import real_day

runner = CliRunner()


def test_plan_writes_trips_reloads_and_the_cost(tmp_path: Path) -> None:
    problem = tmp_path / "day.json"
    problem.write_text(json.dumps(real_day()))
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", str(problem), "-o", str(out), "--time-limit", "10", "--iterations", "500"])
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    li = next(r for r in plan["routes"] if r["courier_id"] == "li")
    (reload,) = li["reloads"]
    first = [v["trip"] for v in li["visits"]].index(2)
    assert reload["before_stop"] == li["visits"][first]["stop_id"]
    assert {v["trip"] for v in li["visits"]} == {1, 2}
    for trip in (1, 2):
        assert sum(1 for v in li["visits"] if v["trip"] == trip and v["stop_id"].startswith("cold")) <= 3
    assert plan["unassigned"] == [] and plan["kpis"]["late_stops"] == 0
    assert plan["kpis"]["cost"] > 120 + 300  # both couriers' days at least


def test_plan_on_the_regions_engine_keeps_the_trips_and_every_window(tmp_path: Path) -> None:
    """`--engine regions`: the same real day planned by PyVRP on regions (one here: a small
    day), trips and skills kept."""
    problem = tmp_path / "day.json"
    problem.write_text(json.dumps(real_day()))
    out = tmp_path / "plan.json"
    args = ["plan", str(problem), "-o", str(out), "--time-limit", "20", "--iterations", "500", "--engine", "regions"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    assert plan["engine"] == "regions"
    li = next(r for r in plan["routes"] if r["courier_id"] == "li")
    assert {v["trip"] for v in li["visits"]} == {1, 2}
    assert {f"cold{k}" for k in range(1, 6)} <= {v["stop_id"] for v in li["visits"]}
    assert plan["unassigned"] == [] and plan["kpis"]["late_stops"] == 0
