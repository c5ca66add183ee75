"""`ontime plan --roads`: a day planned and timed on an OpenStreetMap road network, its routes'
distances road distances; `ontime report` re-times the plan on the same map; a bad map named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from optimizer.travel.roads import RoadNetwork, RoadSource
from scenarios.generate import generate_day
from tests.maps import PORTO_CENTRE, crop, day_in_box, embedded

runner = CliRunner()


@pytest.fixture(scope="module")
def porto(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return crop(embedded("porto"), tmp_path_factory.mktemp("map") / "porto-centre.osm.pbf", PORTO_CENTRE)


def test_plan_on_roads_then_report_on_the_same_roads(
    tmp_path: Path, porto: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONTIME_ROAD_CACHE", str(tmp_path / "cache"))
    day = day_in_box(RoadSource(RoadNetwork.open(porto)), PORTO_CENTRE, 16, 2, seed=2)
    problem = tmp_path / "day.json"
    problem.write_text(json.dumps(day))
    plans = {}
    for name, extra in (("roads", ["--roads", str(porto)]), ("straight", [])):
        out = tmp_path / f"{name}.json"
        args = ["plan", str(problem), "-o", str(out), "--time-limit", "5", "--iterations", "300", *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        plans[name] = json.loads(out.read_text())
    assert plans["roads"]["road_map"] == "porto-centre" and plans["straight"]["road_map"] is None
    assert plans["roads"]["kpis"]["distance_km"] != plans["straight"]["kpis"]["distance_km"]
    assert (tmp_path / "cache").is_dir()  # prepared once, kept

    # report re-times the routes on the plan's map: the same distance the plan gave
    (tmp_path / "roads-with-map.json").write_text(json.dumps(plans["roads"] | {"road_map": str(porto)}))
    result = runner.invoke(app, ["report", str(tmp_path / "roads-with-map.json"), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["kpis"]
    assert figures["distance_km"] == pytest.approx(plans["roads"]["kpis"]["distance_km"], abs=0.01)


def test_a_road_map_that_is_not_there_is_named(tmp_path: Path) -> None:
    problem = tmp_path / "day.json"
    problem.write_text(json.dumps(generate_day(3, 1, seed=1)))
    result = runner.invoke(app, ["plan", str(problem), "--roads", str(tmp_path / "nowhere.osm.pbf")])
    assert result.exit_code != 0
    said = " ".join(result.output.split()).replace("\n", "")  # Rich wraps long paths
    assert "nowhere.osm.pbf" in said.replace(" ", "") and "neither a file nor an embedded map" in said
