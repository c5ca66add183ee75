"""The load benchmark's figures: reports are judged by how the server answered them. A report
that put a window newly at risk is re-optimized, like a delay, and judged by the delay goal;
the 50 ms goal is for those that put no window at risk (BENCHMARKS.md 2)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.exc import DBAPIError

from api.store.scratch import DEFAULT_PG_ADMIN_URL, check_reachable
from benchmarks.load import Sample, Scenario, markdown, run_scenario, summary


def completion(ms: float, path: str, status: int = 200) -> Sample:
    return Sample("stop_completed", ms / 1000, status, 0.0, "" if status == 200 else f"{status} conflict", path)


def test_completions_that_were_re_optimized_get_a_row_and_the_delay_goal() -> None:
    samples = [completion(10 + i % 5, "retimed") for i in range(95)]
    samples += [completion(700, "reoptimized") for _ in range(5)]
    rows = {row["type"]: row for row in summary(samples, wall_s=10.0, stops=1000)}
    mixed = rows["stop_completed"]
    assert mixed["events"] == 100 and mixed["goal_ms"] is None and mixed["p99_ms"] == 700
    routine = rows["stop_completed: re-timed only"]
    assert routine["events"] == 95 and routine["goal_ms"] == 50 and routine["max_ms"] == 14
    searched = rows["stop_completed: re-optimized"]
    assert searched["events"] == 5 and searched["goal_ms"] == 2000 and searched["p50_ms"] == 700
    assert rows["delay"]["goal_ms"] == 2000 and rows["all"]["events"] == 100
    assert "position: re-timed only" not in rows and rows["position"]["goal_ms"] == 50  # nothing to split


def test_the_table_says_which_goal_was_missed() -> None:
    samples = [completion(60, "retimed") for _ in range(20)] + [completion(900, "reoptimized")]
    samples.append(completion(5, "", status=409))
    result = {
        "scenario": Scenario(stops=200, couriers=10, speedup=30),
        "rows": summary(samples, wall_s=5.0, stops=200),
        "wall_s": 5.0,
        "couriers_reporting": 10,
        "routes_used": 4,
        "late_stops_after": 0,
        "plan_version_after": 2,
    }
    text = markdown([result], {"command": "test"})
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert lines["stop_completed: re-timed only"].endswith("| p95 <= 50 ms: MISSED |")
    assert lines["stop_completed: re-optimized"].endswith("| p95 <= 1000 ms: met |")
    assert "| 1 (409 conflict: 1) |" in lines["stop_completed"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.xdist_group("load-replicas")
def test_a_day_played_on_two_replicas_is_answered_and_its_costs_measured() -> None:
    """`ontime bench load --replicas`: a small day through two real servers on a PostgreSQL
    database of its own (made and dropped), every request to the next replica in turn."""
    admin = os.environ.get("ONTIME_TEST_PG_URL", DEFAULT_PG_ADMIN_URL)
    try:
        check_reachable(admin)
    except DBAPIError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL unreachable: {exc.orig}")
    scenario = Scenario(
        stops=30, couriers=4, speedup=600, position_every_min=10, delays=1, time_limit_s=1, max_seconds=20, replicas=2
    )
    result = run_scenario(scenario, progress=False, pg_url=admin)
    everything = next(row for row in result["rows"] if row["type"] == "all")
    assert everything["events"] > 10 and everything["errors"] == 0
    assert result["written"]["commits"] >= everything["events"]  # each report committed
    assert result["state_bytes"] > 0 and result["cpu_s"] > 0
    text = markdown([result], {"command": "test"})
    assert "2 replicas on PostgreSQL" in text and "database transactions" in text
