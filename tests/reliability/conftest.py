"""Fixtures of the reliability tests: a small day, and one shared server for read-mostly tests
(two plans on it: one for the fuzzer to trample, one for tests that need a known state)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scenarios.generate import generate_day
from tests.reliability.support import DAY, ManagedServer, SharedDay, managed_server


@pytest.fixture(scope="session")
def small_day() -> dict[str, Any]:
    """40 stops, 2 couriers (c01, c02; one could not carry them all): solved in about a second."""
    return generate_day(40, 2, seed=5, date=DAY)


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory, small_day: dict[str, Any]) -> Iterator[SharedDay]:
    with managed_server(tmp_path_factory.mktemp("shared")) as managed:
        plan_id, call_id = _day_with_calls(managed, small_day)
        fuzz_plan_id, fuzz_call_id = _day_with_calls(managed, {**small_day, "name": "fuzzed"})
        yield SharedDay(managed, small_day, plan_id, call_id, fuzz_plan_id, fuzz_call_id)


def _day_with_calls(managed: ManagedServer, day: dict[str, Any]) -> tuple[str, str]:
    """A solved day whose couriers c01 and c02 were held up four hours: it has open calls."""
    plan_id = managed.post_plan(day, time_limit_s=1)
    plan = managed.wait_plan(plan_id)
    assert plan["status"] == "solved", plan.get("error")
    routed = {r["courier_id"] for r in plan["routes"] if r["visits"]}
    assert {"c01", "c02"} <= routed, routed
    with managed.client() as client:
        for courier in ("c01", "c02"):
            delay = {
                "event_id": f"setup-delay-{courier}",
                "courier_id": courier,
                "type": "delay",
                "at": f"{DAY}T09:00:00+08:00",
                "delay_min": 240,
            }
            assert client.post(f"/v1/plans/{plan_id}/events", json=delay).status_code == 200
        calls = client.get(f"/v1/plans/{plan_id}/calls").json()
    assert calls, "a four-hour delay should have raised calls"
    return plan_id, str(calls[0]["id"])
