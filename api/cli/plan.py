"""`ontime plan`: plan a day given in the wire format, or read from an orders sheet and a couriers
sheet with a mapping file; the plan file `ontime report` reads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from api.cli.common import EngineOption, err, fail, read_problem, road_source, with_progress
from optimizer.errors import OnTimeError

if TYPE_CHECKING:
    from api.imports import SheetErrors
    from api.schemas import ProblemIn
    from optimizer.model import Problem


def _sheet(name: str, text: str) -> Any:
    """A file option of the sheets' way in."""
    return typer.Option(name, exists=True, dir_okay=False, show_default=False, help=text)


def plan(
    problem_path: Annotated[
        Path | None,
        typer.Argument(
            help="problem JSON (CONTRACTS.md 3), or {'problem': ...}; or give --orders, --couriers and --mapping",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="write the plan JSON here (default stdout)")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, max=3600)] = 10.0,
    engine: EngineOption = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    iterations: Annotated[
        int | None,
        typer.Option("--iterations", min=1, help="stop after this much work: the same plan on any machine"),
    ] = None,
    orders: Annotated[Path | None, _sheet("--orders", "orders sheet (.csv or .xlsx), read with --mapping")] = None,
    couriers: Annotated[Path | None, _sheet("--couriers", "couriers sheet (.csv or .xlsx)")] = None,
    mapping: Annotated[Path | None, _sheet("--mapping", "mapping (TOML): columns, time zone, date, depots")] = None,
    depots: Annotated[Path | None, _sheet("--depots", "depots sheet, if the mapping reads them from one")] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="the plan's date (YYYY-MM-DD) for times written as HH:MM; default: the mapping's"),
    ] = None,
    roads: Annotated[
        str | None,
        typer.Option(
            "--roads",
            help="plan and time on this road network: an .osm.pbf file or an embedded map (xuzhou, porto); "
            "default: the map the problem names, else straight lines",
            show_default=False,
        ),
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            file_okay=False,
            help="write the sheet templates (orders.csv, couriers.csv, mapping.toml) into this folder and stop",
        ),
    ] = None,
) -> None:
    """Plan a day from a problem in the wire format, or from orders and couriers sheets with a
    mapping file; write routes, ETAs and KPIs. A sheet with a bad row plans nothing: every bad
    row is listed with its row number and column."""
    from api.schemas import kpis_out, route_out
    from optimizer.params import SolveParams
    from optimizer.plan import plan_day

    if template is not None:
        _write_templates(template)
        return
    sheets = {"orders": orders, "couriers": couriers, "mapping": mapping}
    if problem_path is not None:
        if any(sheets.values()) or depots is not None or day is not None:
            raise fail("give either PROBLEM.json or --orders, --couriers and --mapping, not both")
        wire, problem = read_problem(problem_path, name_file=False)
    else:
        wire, problem = _imported(orders, couriers, mapping, depots, day)
    params = SolveParams(time_limit_s=time_limit, engine=engine, seed=seed, iterations=iterations)  # type: ignore[arg-type]
    source, road_map = road_source(roads or wire.road_map)
    result = with_progress(
        f"planning {len(problem.stops)} stops", time_limit, lambda: plan_day(problem, params, source)
    )
    day_start = wire.day_start
    document = {
        "name": problem.name,
        "engine": result.solution.engine,
        "routes": [route_out(day_start, r).model_dump(mode="json") for r in result.schedule.routes],
        "unassigned": [{"stop_id": u.stop_id, "reason": u.reason} for u in result.solution.unassigned],
        "kpis": kpis_out(problem, result.schedule, result.solution, wire).model_dump(mode="json"),
        "road_map": road_map,
        "problem": wire.model_dump(mode="json"),  # so `ontime report PLAN.json` needs nothing else
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n")
        kpis = document["kpis"]
        err.print(f"wrote {out}: {kpis}")


def _imported(
    orders: Path | None, couriers: Path | None, mapping: Path | None, depots: Path | None, day: str | None
) -> tuple[ProblemIn, Problem]:
    """The day read from the sheets, or every bad row as a table on stderr and exit 2."""
    from api.imports import SheetErrors, import_problem

    if orders is None or couriers is None or mapping is None:
        raise fail("give PROBLEM.json, or --orders, --couriers and --mapping (examples: `ontime plan --template DIR`)")
    try:
        on = date.fromisoformat(day) if day is not None else None
    except ValueError:
        raise fail(f"--date {day!r} is not a date such as 2026-11-26") from None
    try:
        wire = import_problem(orders, couriers, mapping, depots=depots, day=on)
        problem = wire.to_domain()
    except SheetErrors as exc:
        files = {"orders": orders.name, "couriers": couriers.name, "mapping": mapping.name}
        if depots is not None:
            files["depots"] = depots.name
        _print_errors(exc, files)
        raise typer.Exit(2) from None
    except OnTimeError as exc:
        raise fail(str(exc)) from None
    err.print(f"read {len(wire.stops)} stops and {len(wire.couriers)} couriers ({orders.name}, {couriers.name})")
    return wire, problem


def _print_errors(exc: SheetErrors, files: dict[str, str]) -> None:
    rows = {(e.sheet, e.row) for e in exc.errors if e.row is not None}
    table = Table(title=f"{len(exc.errors)} problems in {len(rows)} rows: nothing was planned", title_justify="left")
    for heading in ("file", "row", "column", "problem"):
        table.add_column(heading, overflow="fold")
    for e in exc.errors:
        row = "" if e.row is None else str(e.row)
        table.add_row(Text(files.get(e.sheet, e.sheet)), row, Text(e.column), Text(e.message))
    err.print(table)


def _write_templates(folder: Path) -> None:
    from api.imports import write_templates

    try:
        written = write_templates(folder)
    except (FileExistsError, OSError) as exc:
        raise fail(str(exc)) from None
    for path in written:
        err.print(f"wrote {path}")
    err.print(
        f"plan them with: ontime plan --orders {written[0]} --couriers {written[1]} --mapping {written[2]}",
        highlight=False,
    )
