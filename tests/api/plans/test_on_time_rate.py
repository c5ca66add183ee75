"""The on-time rate has one definition (`optimizer.kpi.on_time_rate`), pinned by golden
pairs: a day's visits (stop, status, seconds late) and stop count -> the rate the API shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.plans.state import CourierSnapshot, PlanState, SnapshotVisit
from api.plans.views import kpis_out
from optimizer.handover import is_handover
from optimizer.kpi import on_time_rate

GOLDEN = json.loads((Path(__file__).parent / "golden" / "on_time_rate.json").read_text())


def _state(visits: list[list[Any]]) -> PlanState:
    rows = tuple(
        SnapshotVisit(sid, status, 600 * k, late, 0, 3600, 0, 600 * k) for k, (sid, status, late) in enumerate(visits)
    )
    return PlanState(snapshot={"c1": CourierSnapshot(0, 3600, 1000, (), rows)})


@pytest.mark.parametrize("pair", GOLDEN, ids=[p["claim"] for p in GOLDEN])
def test_the_plan_figures_show_the_golden_on_time_rate(pair: dict[str, Any]) -> None:
    assert kpis_out(_state(pair["visits"]), pair["stops"]).on_time_rate == pair["on_time_rate"]


@pytest.mark.parametrize("pair", GOLDEN, ids=[p["claim"] for p in GOLDEN])
def test_the_one_definition_gives_the_golden_on_time_rate(pair: dict[str, Any]) -> None:
    on_time = sum(1 for sid, status, late in pair["visits"] if not is_handover(sid) and status != "failed" and not late)
    assert round(on_time_rate(on_time, pair["stops"]), 4) == pair["on_time_rate"]
