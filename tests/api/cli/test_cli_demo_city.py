"""`ontime demo --city porto`: a generated day on the real streets of the embedded Porto
extract, planned on its roads (the map prepared once into the cache)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
pytestmark = pytest.mark.slow


def test_demo_plans_a_day_on_portos_streets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONTIME_ROAD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ONTIME_ROAD_MAP", raising=False)
    args = ["demo", "--city", "porto", "--stops", "25", "--couriers", "3", "--time-limit", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "porto_portugal.osm.pbf" in result.output and "© OpenStreetMap contributors" in result.output
    assert "distance_km" in result.output
    assert any((tmp_path / "cache").iterdir())  # prepared and kept
    assert "ONTIME_ROAD_MAP" not in os.environ  # printing a demo leaves this process's settings alone
    unknown = runner.invoke(app, ["demo", "--city", "atlantis"])
    assert unknown.exit_code != 0 and "atlantis" in unknown.output
