"""Importing what dispatchers have: orders and couriers sheets (CSV, GB18030 CSV, .xlsx) with a
mapping file become the wire problem, or every bad row is reported by sheet, row (as Excel
numbers it) and column, and nothing is planned.

The fixtures are the shipped templates (16 orders around one Pudong hub, 3 couriers) and copies
of them with cells changed by hand; the .xlsx files are written here with openpyxl, with the
cell types Excel gives (numbers, times, date-times), never shipped as binaries.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from api.imports import TEMPLATE_FILES, TEMPLATES, SheetErrors, cells, import_problem, read_mapping, read_sheet
from api.schemas import CourierIn, ProblemIn, StopIn
from optimizer.params import SolveParams
from optimizer.plan import plan_day
from tests.api.conftest import SETTINGS, InProcess, database, in_process, wait_solved

runner = CliRunner()
DAY = date(2026, 11, 26)
SHANGHAI = ZoneInfo("Asia/Shanghai")
TIME_COLUMNS = {"预约开始", "预约结束", "上班时间", "下班时间", "午休最早", "午休最晚"}
TEXT_COLUMNS = {"运单号", "工号", "联系电话", "站点"}


# --- sheets made by hand -----------------------------------------------------------------------


def rows_of(name: str) -> list[list[str]]:
    """A template sheet as rows of text, the header first."""
    with (TEMPLATES / name).open(encoding="utf-8-sig", newline="") as handle:
        return [list(r) for r in csv.reader(handle)]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def excel_cell(heading: str, text: str, *, datetimes: bool) -> Any:
    """What Excel would store for a cell typed as `text`: a number, a time (or a date-time), text."""
    if text == "":
        return None
    if heading in TIME_COLUMNS:
        clock = time.fromisoformat(text)
        return datetime.combine(DAY, clock) if datetimes else clock
    if heading not in TEXT_COLUMNS:
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    return text


def write_xlsx(
    path: Path, rows: list[list[str]], *, sheet: str = "Sheet1", title: str | None = None, datetimes: bool = False
) -> Path:
    """The rows as an Excel workbook, typed as Excel types them, under an optional title row."""
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    if title is not None:
        ws.append([title])
    header = rows[0]
    ws.append(header)
    for row in rows[1:]:
        ws.append([excel_cell(h, v, datetimes=datetimes) for h, v in zip(header, row, strict=True)])
    book.save(path)
    return path


def template_problem() -> ProblemIn:
    return import_problem(TEMPLATES / "orders.csv", TEMPLATES / "couriers.csv", TEMPLATES / "mapping.toml")


def mapping_with(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = (TEMPLATES / "mapping.toml").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def where(exc: SheetErrors) -> set[tuple[str, int | None, str]]:
    return {(e.sheet, e.row, e.column) for e in exc.errors}


def message_at(exc: SheetErrors, sheet: str, row: int | None, column: str) -> str:
    return next(e.message for e in exc.errors if (e.sheet, e.row, e.column) == (sheet, row, column))


# --- the template ------------------------------------------------------------------------------


def test_the_shipped_template_imports_and_plans_every_order() -> None:
    problem = template_problem()
    assert problem.name == "浦东-2026-11-26"
    assert (len(problem.depots), len(problem.couriers), len(problem.stops)) == (1, 3, 16)
    first = problem.stops[0]
    assert first.id == "YT7712345001" and (first.lat, first.lon) == (31.2301, 121.5102)
    assert first.windows[0].start == datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    assert first.demand == {"weight_kg": 3.2, "parcels": 1.0} and first.service_min == 4.0
    assert first.customer.name == "李伟" and first.address.startswith("浦东新区")
    c03 = problem.couriers[2]
    assert c03.depot == "hub" and c03.speed_kmh == 22.0 and c03.capacity == {"weight_kg": 120.0, "parcels": 80.0}
    assert c03.breaks[0].earliest_start.isoformat() == "2026-11-26T12:00:00+08:00"
    planned = plan_day(problem.to_domain(), SolveParams(time_limit_s=5, seed=0, iterations=100))
    routed = [v.stop_id for r in planned.schedule.routes for v in r.visits]
    assert sorted(routed + [u.stop_id for u in planned.solution.unassigned]) == sorted(s.id for s in problem.stops)
    assert not planned.solution.unassigned and planned.schedule.late_stops == 0


def test_the_templates_ship_with_the_package_and_excel_opens_the_csvs_as_utf8() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"imports/templates/*"' in pyproject
    assert sorted(p.name for p in TEMPLATES.iterdir()) == sorted(TEMPLATE_FILES)
    for name in ("orders.csv", "couriers.csv"):
        assert (TEMPLATES / name).read_bytes().startswith(b"\xef\xbb\xbf")  # else Excel shows mojibake


def test_csv_and_an_excel_workbook_give_the_same_problem(tmp_path: Path) -> None:
    orders = write_xlsx(tmp_path / "orders.xlsx", rows_of("orders.csv"))
    couriers = write_xlsx(tmp_path / "couriers.xlsx", rows_of("couriers.csv"), datetimes=True)
    assert isinstance(read_sheet(orders).rows[0].cells[6], time)  # Excel's own time cells
    from_excel = import_problem(orders, couriers, TEMPLATES / "mapping.toml")
    assert from_excel.model_dump() == template_problem().model_dump()


def test_an_export_with_a_title_row_is_read_from_its_named_sheet_and_rows_keep_their_excel_numbers(
    tmp_path: Path,
) -> None:
    rows = rows_of("orders.csv")
    rows[4][4] = "北纬31"  # data row 4: Excel row 6 under the title and the header
    orders = write_xlsx(tmp_path / "export.xlsx", rows, sheet="订单", title="菜鸟驿站 派件清单 2026-11-26")
    mapping = mapping_with(tmp_path, ('# sheet = "订单"', 'sheet = "订单"'), ("# header_row = 1", "header_row = 2"))
    with pytest.raises(SheetErrors) as caught:
        import_problem(orders, TEMPLATES / "couriers.csv", mapping)
    assert where(caught.value) == {("orders", 6, "纬度")}
    rows[4][4] = "31.2347"
    write_xlsx(orders, rows, sheet="订单", title="菜鸟驿站 派件清单 2026-11-26")
    assert import_problem(orders, TEMPLATES / "couriers.csv", mapping).model_dump() == template_problem().model_dump()


def test_a_gb18030_csv_reads_as_its_utf8_twin(tmp_path: Path) -> None:
    orders = write_csv(tmp_path / "orders.csv", rows_of("orders.csv"), "gb18030")
    couriers = write_csv(tmp_path / "couriers.csv", rows_of("couriers.csv"), "gb18030")
    with pytest.raises(UnicodeDecodeError):
        orders.read_bytes().decode("utf-8")
    assert import_problem(orders, couriers, TEMPLATES / "mapping.toml").model_dump() == template_problem().model_dump()


# --- bad rows ----------------------------------------------------------------------------------


def bad_day(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The template with one mistake per row, a missing column and an unknown depot."""
    orders = rows_of("orders.csv")
    orders[0].append("违约金")
    for row in orders[1:]:
        row.append("")
    orders[1][4] = "31.23O1"  # row 2: a letter O for a zero
    orders[2][7] = "08:00"  # row 3: the window ends before it starts (09:00)
    orders[3][6] = "9点"  # row 4: not a time
    orders[4][0] = orders[1][0]  # row 5: the id of row 2 again
    orders[5][-1] = "12.5"  # row 6: the penalty must be whole
    orders[6][5] = ""  # row 7: no longitude
    orders[7][4] = "95"  # row 8: not a latitude
    orders[8][8] = "-1"  # row 9: negative weight
    orders[9][6:8] = ["2026-12-25 09:00", "2026-12-25 11:00"]  # row 10: a month away
    couriers = rows_of("couriers.csv")
    speed = couriers[0].index("速度(km/h)")
    couriers = [r[:speed] + r[speed + 1 :] for r in couriers]  # the speed column is gone
    couriers[2][2] = "hub9"  # row 3: no such depot
    mapping = mapping_with(tmp_path, ('address = "收货地址"', 'address = "收货地址"\npenalty = "违约金"'))
    return write_csv(tmp_path / "orders.csv", orders), write_csv(tmp_path / "couriers.csv", couriers), mapping


BAD = {
    ("couriers", 1, "速度(km/h)"): "no column",
    ("couriers", 3, "站点"): "unknown depot 'hub9'",
    ("orders", 2, "纬度"): "not a number: '31.23O1'",
    ("orders", 3, "预约结束"): "08:00 is before 预约开始 09:00",
    ("orders", 4, "预约开始"): "not a time: '9点'",
    ("orders", 5, "运单号"): "duplicate id YT7712345001 (also row 2)",
    ("orders", 6, "违约金"): "'12.5' is not a whole number",
    ("orders", 7, "经度"): "missing",
    ("orders", 8, "纬度"): "less than or equal to 90",
    ("orders", 9, "重量(kg)"): "greater than or equal to 0",
    ("orders", 10, "预约开始"): "outside the plan's week",
    ("orders", 10, "预约结束"): "outside the plan's week",
}


def test_every_bad_row_is_reported_with_its_row_and_column(tmp_path: Path) -> None:
    with pytest.raises(SheetErrors) as caught:
        import_problem(*bad_day(tmp_path))
    assert where(caught.value) == set(BAD), [str(e) for e in caught.value.errors]
    for (sheet, row, column), words in BAD.items():
        assert words in message_at(caught.value, sheet, row, column), (sheet, row, column)
    by_place = {(e.sheet, e.row): e for e in caught.value.errors}
    assert (by_place[("orders", 2)].field, by_place[("orders", 2)].id) == ("stops.lat", "YT7712345001")
    assert (by_place[("couriers", 3)].field, by_place[("couriers", 3)].id) == ("couriers.depot", "c02")
    assert [e.sheet for e in caught.value.errors][:2] == ["couriers", "couriers"]  # couriers first, then by row


def test_a_sheet_cut_short_or_not_a_sheet_at_all_is_refused_whole(tmp_path: Path) -> None:
    text = (TEMPLATES / "orders.csv").read_bytes()
    cut = tmp_path / "orders.csv"
    last = text.index(b"YT7712345016")
    cut.write_bytes(text[: text.index(b"+8613812340006,") + 15])  # the last row stops after its phone
    with pytest.raises(SheetErrors, match="cut short") as caught:
        import_problem(cut, TEMPLATES / "couriers.csv", TEMPLATES / "mapping.toml")
    assert where(caught.value) == {("orders", 17, "")}
    cut.write_bytes(text[: last + 14])  # inside the name's first character
    with pytest.raises(SheetErrors, match="ends inside a character: is it cut short"):
        import_problem(cut, TEMPLATES / "couriers.csv", TEMPLATES / "mapping.toml")
    broken = tmp_path / "orders.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(SheetErrors, match=r"not a readable \.xlsx"):
        import_problem(broken, TEMPLATES / "couriers.csv", TEMPLATES / "mapping.toml")
    quote = tmp_path / "quote.csv"
    quote.write_text('运单号,纬度\n"YT1,31.2\n', encoding="utf-8")
    with pytest.raises(SheetErrors, match="cannot be read from here on"):
        read_sheet(quote, role="orders")


def test_a_mapping_with_unknown_fields_and_unmapped_required_ones_is_refused_before_any_row(tmp_path: Path) -> None:
    template = read_mapping(TEMPLATES / "mapping.toml")
    assert (template.zone_name, template.day, [d["id"] for d in template.depots]) == ("Asia/Shanghai", DAY, ["hub"])
    mapping = mapping_with(
        tmp_path,
        ('lat = "纬度"\n', 'latitude = "纬度"\n'),
        ('windows.1.end = "预约结束"\n', ""),
        ("date = 2026-11-26", 'date = "26/11/2026"'),
        ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Pudong"'),
    )
    with pytest.raises(SheetErrors) as caught:
        import_problem(TEMPLATES / "orders.csv", TEMPLATES / "couriers.csv", mapping)
    assert {e.column for e in caught.value.errors} == {"orders.columns.latitude", "date", "timezone"}
    assert all(e.sheet == "mapping" for e in caught.value.errors)
    assert "stop has no field 'latitude'" in message_at(caught.value, "mapping", None, "orders.columns.latitude")
    fixed = mapping_with(tmp_path, ('windows.1.end = "预约结束"\n', ""))
    with pytest.raises(SheetErrors) as caught:
        import_problem(TEMPLATES / "orders.csv", TEMPLATES / "couriers.csv", fixed)
    assert where(caught.value) == {("mapping", None, "orders.columns.windows.1.end")}


def test_the_date_given_moves_the_day_and_any_wire_field_can_be_mapped(tmp_path: Path) -> None:
    orders = rows_of("orders.csv")
    orders[0] += ["必送", "第二时段开始", "第二时段结束", "放驿站"]
    for row in orders[1:]:
        row += ["", "", "", ""]
    orders[1][-4:] = ["是", "16:00", "18:00", "放驿站"]
    mapping = mapping_with(
        tmp_path,
        (
            'address = "收货地址"',
            'address = "收货地址"\nrequired = "必送"\nwindows.2.start = "第二时段开始"\n'
            'windows.2.end = "第二时段结束"\nparcel.at = { column = "放驿站", values = { "放驿站" = "hub" } }',
        ),
        ('depot = "站点"', "# no depot column: the one depot"),
    )
    orders_csv = write_csv(tmp_path / "o.csv", orders)
    problem = import_problem(orders_csv, TEMPLATES / "couriers.csv", mapping, day=date(2026, 12, 1))
    assert problem.name == "浦东-2026-12-01"
    first, second = problem.stops[:2]
    assert first.required and [w.start.hour for w in first.windows] == [9, 16]
    assert not second.required and len(second.windows) == 1
    assert first.windows[1].end.isoformat() == "2026-12-01T18:00:00+08:00"
    assert first.parcel is not None and first.parcel.at == "hub" and second.parcel is None
    assert {c.depot for c in problem.couriers} == {"hub"}
    orders[2][-1] = "驿站"  # row 3: the sheet's word for the wire's "hub" is 放驿站
    with pytest.raises(SheetErrors) as caught:
        import_problem(write_csv(tmp_path / "o.csv", orders), TEMPLATES / "couriers.csv", mapping)
    assert where(caught.value) == {("orders", 3, "放驿站")}
    assert "'驿站' is not one of 放驿站" in str(caught.value)


def test_depots_can_come_from_a_sheet_of_their_own(tmp_path: Path) -> None:
    inline = "[[depots]]                    # or read depots from a sheet: [depots.columns] id, lat, lon\n"
    inline += 'id = "hub"\nlat = 31.2204\nlon = 121.5447\n'
    mapping = mapping_with(tmp_path, (inline, '[depots.columns]\nid = "站点编号"\nlat = "纬度"\nlon = "经度"\n'))
    depots = write_csv(tmp_path / "depots.csv", [["站点编号", "纬度", "经度"], ["hub", "31.2204", "121.5447"]])
    sheets = (TEMPLATES / "orders.csv", TEMPLATES / "couriers.csv", mapping)
    with pytest.raises(SheetErrors, match="give it"):
        import_problem(*sheets)
    assert import_problem(*sheets, depots=depots).model_dump() == template_problem().model_dump()
    write_csv(depots, [["站点编号", "纬度", "经度"], ["hub", "31.2204", "121,5447"]])
    with pytest.raises(SheetErrors) as caught:
        import_problem(*sheets, depots=depots)
    assert where(caught.value) == {("depots", 2, "经度")}


@pytest.mark.skipif(
    not {"skills"} <= StopIn.model_fields.keys() & CourierIn.model_fields.keys(), reason="the wire has no skills"
)
def test_a_list_field_is_split_on_its_separator(tmp_path: Path) -> None:
    orders, couriers = rows_of("orders.csv"), rows_of("couriers.csv")
    for sheet in (orders, couriers):
        sheet[0].append("技能")
        for row in sheet[1:]:
            row.append("")
    orders[1][-1] = "冷链、大件"
    couriers[1][-1] = "cold、bulky、van"
    mapping = mapping_with(
        tmp_path,
        ('address = "收货地址"', 'address = "收货地址"\nskills = { column = "技能", separator = "、" }'),
        ('id = "工号"', 'id = "工号"\nskills = "技能"'),  # any common separator
    )
    couriers_csv = write_csv(tmp_path / "c.csv", couriers)
    with pytest.raises(SheetErrors) as caught:  # skills are ids: letters and digits
        import_problem(write_csv(tmp_path / "o.csv", orders), couriers_csv, mapping)
    assert where(caught.value) == {("orders", 2, "技能")}
    orders[1][-1] = "cold、bulky"
    problem = import_problem(write_csv(tmp_path / "o.csv", orders), couriers_csv, mapping)
    assert list(problem.stops[0].skills) == ["cold", "bulky"]
    assert sorted(problem.couriers[0].skills) == ["bulky", "cold", "van"]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("09:00", "2026-11-26T09:00:00+08:00"),
        ("9:05:30", "2026-11-26T09:05:30+08:00"),
        ("０９：００", "2026-11-26T09:00:00+08:00"),
        ("24:00", "2026-11-27T00:00:00+08:00"),
        ("2026/11/27 8:30", "2026-11-27T08:30:00+08:00"),
        ("2026-11-26T09:00:00Z", "2026-11-26T17:00:00+08:00"),
        (0.375, "2026-11-26T09:00:00+08:00"),
        (46352.5, "2026-11-26T12:00:00+08:00"),
        (time(13, 30), "2026-11-26T13:30:00+08:00"),
        (datetime(2026, 11, 26, 8, 59, 59, 999_990), "2026-11-26T09:00:00+08:00"),
    ],
)
def test_local_times_in_cells_become_aware_times_in_the_mappings_zone(cell: Any, expected: str) -> None:
    assert cells.local_time(cell, DAY, SHANGHAI) == expected


@pytest.mark.parametrize("cell", ["9点", "25:00", "09:60", "2026-02-30 09:00", True])
def test_what_is_not_a_time_is_refused(cell: Any) -> None:
    with pytest.raises(cells.CellError):
        cells.local_time(cell, DAY, SHANGHAI)


def test_numbers_are_json_numbers_and_whole_where_the_wire_needs_an_integer() -> None:
    assert cells.number("12", whole=False) == 12.0 and isinstance(cells.number("12", whole=False), float)
    assert cells.number("１２.0", whole=True) == 12 and isinstance(cells.number(12.0, whole=True), int)
    for bad in ("12.5", "3kg", "", "nan", True):
        with pytest.raises(cells.CellError):
            cells.number(bad, whole=True)
    assert cells.text(13800001234.0) == "13800001234"  # a phone Excel stored as a number


# --- the command line --------------------------------------------------------------------------


def sheets_args(orders: Path, couriers: Path, mapping: Path) -> list[str]:
    return ["plan", "--orders", str(orders), "--couriers", str(couriers), "--mapping", str(mapping)]


def test_ontime_plan_plans_the_template_from_its_sheets(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    args = sheets_args(TEMPLATES / "orders.csv", TEMPLATES / "couriers.csv", TEMPLATES / "mapping.toml")
    result = runner.invoke(cli, [*args, "-o", str(out), "--time-limit", "5", "--iterations", "100"])
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    assert plan["kpis"]["stops"] == 16 and plan["kpis"]["unassigned"] == 0
    assert plan["problem"]["name"] == "浦东-2026-11-26"
    assert "read 16 stops and 3 couriers" in result.output


def test_ontime_plan_lists_every_bad_row_and_plans_nothing(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = runner.invoke(cli, [*sheets_args(*bad_day(tmp_path)), "-o", str(out), "--time-limit", "1"])
    assert result.exit_code == 2, result.output
    assert not out.exists()
    text = " ".join(result.output.split())
    assert f"{len(BAD)} problems in 11 rows: nothing was planned" in text
    for (_, row, column), _words in BAD.items():
        assert column.split("(")[0] in text and f" {row} " in text


def test_ontime_plan_writes_the_templates_and_refuses_to_mix_the_ways_in(tmp_path: Path) -> None:
    folder = tmp_path / "start"
    result = runner.invoke(cli, ["plan", "--template", str(folder)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(TEMPLATE_FILES)
    assert (folder / "mapping.toml").read_bytes() == (TEMPLATES / "mapping.toml").read_bytes()
    again = runner.invoke(cli, ["plan", "--template", str(folder)])
    assert again.exit_code == 2 and "exists" in again.output
    problem = tmp_path / "day.json"
    problem.write_text(template_problem().model_dump_json())
    args = sheets_args(folder / "orders.csv", folder / "couriers.csv", folder / "mapping.toml")
    both = runner.invoke(cli, [*args, str(problem)])
    assert both.exit_code == 2 and "not both" in both.output
    half = runner.invoke(cli, ["plan", "--orders", str(folder / "orders.csv")])
    assert half.exit_code == 2 and "--mapping" in " ".join(half.output.split())


# --- HTTP --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """The app in process on SQLite: the import touches no store, the plan after it does."""
    folder = tmp_path_factory.mktemp("imports-app")
    with database("sqlite", folder) as url, in_process(url, **SETTINGS) as running:
        yield running


def upload(path: Path) -> dict[str, str]:
    return {"filename": path.name, "content_base64": base64.b64encode(path.read_bytes()).decode()}


def import_body(orders: Path, couriers: Path, mapping: Path) -> dict[str, Any]:
    return {"orders": upload(orders), "couriers": upload(couriers), "mapping": upload(mapping)}


def plan_ids(client: httpx.Client) -> set[str]:
    return {p["id"] for p in client.get("/v1/plans?limit=500").json()}


def test_the_import_endpoint_answers_the_problem_that_then_plans(api: InProcess, tmp_path: Path) -> None:
    orders = write_xlsx(tmp_path / "orders.xlsx", rows_of("orders.csv"))
    body = import_body(orders, TEMPLATES / "couriers.csv", TEMPLATES / "mapping.toml")
    with api.client("planner") as client:
        answer = client.post("/v1/imports/problem", json=body)
        assert answer.status_code == 200, answer.text
        problem = answer.json()
        assert problem == template_problem().model_dump(mode="json")
        created = client.post("/v1/plans", json={"problem": problem, "time_limit_s": 5, "iterations": 100})
        assert created.status_code == 202, created.text
        plan = wait_solved(client, created.json()["id"])
    assert plan["status"] == "solved" and plan["kpis"]["stops"] == 16 and not plan["unassigned"]


def test_the_import_endpoint_lists_every_bad_row_and_plans_nothing(api: InProcess, tmp_path: Path) -> None:
    with api.client() as client:
        before = plan_ids(client)
        answer = client.post("/v1/imports/problem", json=import_body(*bad_day(tmp_path)))
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_input" and error["message"].startswith(f"{len(BAD)} problems")
        assert {(d["sheet"], d["row"], d["column"]) for d in error["details"]} == set(BAD)
        row2 = next(d for d in error["details"] if (d["sheet"], d["row"]) == ("orders", 2))
        assert (row2["field"], row2["id"]) == ("stops.lat", "YT7712345001")
        assert plan_ids(client) == before


def test_the_import_endpoint_takes_dates_refuses_bad_files_and_couriers(api: InProcess) -> None:
    body = import_body(TEMPLATES / "orders.csv", TEMPLATES / "couriers.csv", TEMPLATES / "mapping.toml")
    with api.client() as client:
        moved = client.post("/v1/imports/problem", json={**body, "date": "2026-12-01", "name": "next week"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["name"] == "next week"
        assert moved.json()["stops"][0]["windows"][0]["start"] == "2026-12-01T09:00:00+08:00"
        garbled = {**body, "orders": {"filename": "orders.xlsx", "content_base64": "not base64!"}}
        refused = client.post("/v1/imports/problem", json=garbled)
        assert refused.status_code == 422 and refused.json()["error"]["details"][0]["sheet"] == "orders"
        old_excel = base64.b64encode(b"\xd0\xcf\x11\xe0junk").decode()
        binary = {**body, "orders": {"filename": "o.xls", "content_base64": old_excel}}
        assert "save it as .xlsx" in client.post("/v1/imports/problem", json=binary).json()["error"]["message"]
        templates = client.get("/v1/imports/templates")
        assert templates.status_code == 200
        assert [f["name"] for f in templates.json()["files"]] == list(TEMPLATE_FILES)
    with api.client("service") as service:
        assert service.post("/v1/imports/problem", json=body).status_code == 403
    with api.client("c01") as courier:
        assert courier.get("/v1/imports/templates").status_code == 403
