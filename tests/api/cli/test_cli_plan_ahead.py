"""`ontime whatif` and `ontime report` on small inputs, and variants files that are wrong in
every way a planner could get them wrong (each refused with the line and the key)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli.variants_file import VariantFileError, read_variant_file
from scenarios.generate import write_day

runner = CliRunner()

GOOD = """\
time_limit_s = 1
iterations = 60
seed = 4

[[variant]]
name = "one courier off"
changes = [{ kind = "remove_couriers", count = 1 }]

[[variant]]
name = "festival"
[[variant.change]]
kind = "demand_scale"
factor = 1.3
[[variant.change]]
kind = "traffic"
profile = [["07:30", "09:30", 1.4], ["17:00", "19:30", 1.4]]

[cost]
per_km = 0.6
"""


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_day(tmp_path_factory.mktemp("day") / "day.json", 25, 3, seed=6)


def test_whatif_prints_the_table_and_writes_csv_json_and_a_chart(day: Path, tmp_path: Path) -> None:
    variants = tmp_path / "variants.toml"
    variants.write_text(GOOD)
    result = runner.invoke(app, ["whatif", str(day), str(variants), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "one courier off" in result.stdout and "festival" in result.stdout
    with (tmp_path / "out" / "whatif.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == ["base", "one courier off", "festival"]
    assert rows[0]["d_distance_km"] == "" and rows[2]["d_distance_km"] != ""
    document = json.loads((tmp_path / "out" / "whatif.json").read_text())
    assert document["iterations"] == 60 and document["seed"] == 4
    assert document["results"][2]["kpis"]["stops"] == 32  # 25 x 1.3, rounded
    assert (tmp_path / "out" / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[variant]]\nname = "x"\nchanges = [{ kind = "traffic", factor = 1.2 }\n', "not valid TOML"),
        ('[[variant]]\nname = "x"\nchanges = [{ kind = "traffic" factor = 1.2 }]\n', "line 3"),
        ('time_limit = 5\n[[variant]]\nname = "x"\n', "unknown top-level key 'time_limit'"),
        ("seed = 1\n", "no [[variant]] tables"),
        ('[[variant]]\nname = "a"\n\n[[variant]]\nnam = "b"\n', "line 5, [[variant]] #2: unknown key 'nam'"),
        ('[[variant]]\nname = ""\n', "[[variant]] #1: name must be a non-empty string"),
        (
            '[[variant]]\nname = "a"\nchanges = []\n[[variant.change]]\nkind = "traffic"\nfactor = 1.1\n',
            "not both",
        ),
        ('[[variant]]\nname = "a"\nchanges = "fewer couriers"\n', "line 3, [[variant]] #1: changes must be a list"),
        ('seed = 1.5\n[[variant]]\nname = "a"\n', "seed must be a whole number"),
    ],
)
def test_a_malformed_variants_file_is_refused_with_its_line(
    day: Path, tmp_path: Path, text: str, expected: str
) -> None:
    variants = tmp_path / "bad.toml"
    variants.write_text(text)
    result = runner.invoke(app, ["whatif", str(day), str(variants)])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            '[[variant.change]]\nkind = "demand_scale"\nfactor = 1.3\n'
            '[[variant.change]]\nkind = "traffic"\nfactor = "fast"\n',
            "line 11, [[variant]] #2 'festival': changes[1].factor (traffic): must be a number, got 'fast'",
        ),
        (
            'changes = [{ kind = "remove_couriers", count = 3 }]\n',
            "line 6, [[variant]] #2 'festival': changes[0].count",
        ),
        ('changes = [{ kind = "teleport" }]\n', "line 6, [[variant]] #2 'festival': changes[0].kind"),
        (
            'changes = [{ kind = "traffic", profile = [["07:30", "31:00x", 1.4]] }]\n',
            "[[variant]] #2 'festival': changes[0].profile[0].end",
        ),
    ],
)
def test_a_change_that_does_not_fit_is_named_by_variant_line_and_key(
    day: Path, tmp_path: Path, changes: str, expected: str
) -> None:
    variants = tmp_path / "bad.toml"
    variants.write_text(f'[[variant]]\nname = "fine"\n\n[[variant]]\nname = "festival"\n{changes}')
    result = runner.invoke(app, ["whatif", str(day), str(variants)])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output


def test_two_variants_of_one_name_are_refused(day: Path, tmp_path: Path) -> None:
    variants = tmp_path / "twice.toml"
    variants.write_text('[[variant]]\nname = "a"\n[[variant]]\nname = "a"\n')
    result = runner.invoke(app, ["whatif", str(day), str(variants)])
    assert result.exit_code == 2
    assert "line 4, [[variant]] #2 'a': name" in " ".join(result.output.split())


def test_the_file_reader_finds_keys_in_change_tables(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text(GOOD)
    spec = read_variant_file(path)
    assert [name for name, _ in spec.variants] == ["one courier off", "festival"]
    assert (spec.time_limit_s, spec.iterations, spec.seed, spec.cost) == (1.0, 60, 4, {"per_km": 0.6})
    assert spec.line_of("variant[1].changes[1].profile") == 16
    assert spec.line_of("variant[1].changes[0]") == 11
    assert spec.line_of("variant[0].changes[0].count") == 7  # inline: the changes line
    with pytest.raises(VariantFileError, match=r"No such file|not found|missing"):
        read_variant_file(tmp_path / "missing.toml")


def test_report_prints_a_plans_quality_figures_with_its_records(day: Path, tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    planned = runner.invoke(app, ["plan", str(day), "-o", str(plan_path), "--time-limit", "0.5"])
    assert planned.exit_code == 0, planned.output
    plan = json.loads(plan_path.read_text())
    route = next(r for r in plan["routes"] if len(r["visits"]) >= 2)
    first, second = route["visits"][:2]
    events = {
        "events": [
            {
                "courier_id": route["courier_id"],
                "type": "stop_completed",
                "stop_id": first["stop_id"],
                "at": first["eta"],
            },
            {
                "courier_id": route["courier_id"],
                "type": "stop_failed",
                "stop_id": second["stop_id"],
                "at": second["eta"],
            },
        ],
        "calls": [],
    }
    events_path = tmp_path / "events.json"
    events_path.write_text(json.dumps(events))

    table = runner.invoke(app, ["report", str(plan_path)])
    assert table.exit_code == 0, table.output
    assert "on_time_rate" in table.stdout and "cost" in table.stdout

    answer = runner.invoke(app, ["report", str(plan_path), "--events", str(events_path), "--json"])
    assert answer.exit_code == 0, answer.output
    figures = json.loads(answer.stdout)
    assert figures["kpis"]["stops"] == 25
    assert figures["kpis"]["failed"] == 1
    assert figures["kpis"]["actual_on_time_rate"] == pytest.approx(1 / 25, abs=1e-4)
    assert figures["kpis"]["distance_km"] == plan["kpis"]["distance_km"]
    assert figures["grades"][route["courier_id"]] == "C"


def test_report_refuses_what_is_not_a_plan(day: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(day)])
    assert result.exit_code == 2
    assert "not a plan file" in " ".join(result.output.split())
