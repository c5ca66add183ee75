"""`ontime report`: a plan file's service-quality figures, and with courier events the
recorded on-time rate, failures, call coverage and grades."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli.common import fail, figure_text, read_problem, road_source
from optimizer.errors import OnTimeError


def report(
    plan_path: Annotated[Path, typer.Argument(metavar="PLAN.json", help="a plan file written by `ontime plan`")],
    events: Annotated[
        Path | None, typer.Option("--events", help="courier events JSON (list, or {events, calls})")
    ] = None,
    problem_path: Annotated[Path | None, typer.Option("--problem", help="the day, if PLAN.json lacks it")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Print a plan's service-quality figures: on-time rate, lateness, hours, overtime, cost
    and, with --events, the recorded on-time rate, failures, call coverage and grades."""
    from pydantic import ValidationError

    from api.schemas import ProblemIn
    from optimizer.kpi import day_kpis
    from optimizer.schedule import schedule
    from optimizer.solution import Route, Solution, Unassigned
    from optimizer.travel.haversine import HaversineSource

    try:
        document = json.loads(plan_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise fail(f"{plan_path}: {exc}") from None
    if not isinstance(document, dict) or "routes" not in document:
        raise fail(f"{plan_path}: not a plan file (no routes); write one with `ontime plan DAY.json -o PLAN.json`")
    if problem_path is not None:
        wire, problem = read_problem(problem_path)
    elif "problem" in document:
        try:
            wire = ProblemIn.model_validate(document["problem"])
            problem = wire.to_domain()
        except (ValidationError, OnTimeError) as exc:
            raise fail(f"{plan_path}: its problem is not valid: {exc}") from None
    else:
        raise fail(f"{plan_path} does not hold its problem: give it with --problem DAY.json")
    try:
        routes = tuple(Route(r["courier_id"], tuple(v["stop_id"] for v in r["visits"])) for r in document["routes"])
        left = tuple(Unassigned(u["stop_id"], u.get("reason", "")) for u in document.get("unassigned", []))
        source, _ = road_source(document.get("road_map") or wire.road_map)
        timed = schedule(problem, (source or HaversineSource()).matrix(problem), routes)
        outcomes = read_outcomes(events, wire.day_start, problem) if events is not None else None
        kpis = day_kpis(problem, timed, Solution(routes, left), outcomes)
    except (KeyError, TypeError) as exc:
        raise fail(f"{plan_path}: not a plan file ({type(exc).__name__}: {exc})") from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    figures = kpis.figures()
    if as_json:
        graded = {c.courier_id: c.grade for c in kpis.couriers if c.grade is not None}
        print(json.dumps({"kpis": figures, "grades": graded}, indent=2))
        return
    console = Console()
    table = Table(title=f"{document.get('name', plan_path.name)}: service quality")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        if value is not None:
            table.add_row(name, figure_text(name, value) if name == "on_time_rate" else str(value))
    console.print(table)
    per = Table(title="couriers")
    for name in ("courier", "stops", "late", "on time", "km", "working h", "overtime h", "done", "failed", "grade"):
        per.add_column(name, justify="left" if name == "courier" else "right")
    for c in kpis.couriers:
        if not c.used and c.actual is None:
            continue
        per.add_row(
            c.courier_id, str(c.stops), str(c.late_stops), f"{c.on_time_rate * 100:.1f}%", f"{c.distance_m / 1000:.1f}",
            f"{c.working_s / 3600:.2f}", f"{c.overtime_s / 3600:.2f}",
            "-" if c.actual is None else str(c.actual.done), "-" if c.actual is None else str(c.actual.failed),
            c.grade or "-",
        )  # fmt: skip
    console.print(per)


def read_outcomes(path: Path, day_start: Any, problem: Any) -> list[Any]:
    """Stop outcomes from an events file: the last `stop_completed`/`stop_failed` per stop, and
    the first call per stop from an optional `calls` list (`stop_id`, `created_at`)."""
    from datetime import datetime

    from optimizer.kpi import StopOutcome

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    events = raw.get("events", []) if isinstance(raw, dict) else raw
    calls = raw.get("calls", []) if isinstance(raw, dict) else []
    if not isinstance(events, list) or not isinstance(calls, list):
        raise ValueError(f'{path}: expected a list of events, or {{"events": [...], "calls": [...]}}')

    def seconds(value: Any, what: str) -> int:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{path}: {what}: {value!r} is not an ISO time with an offset") from None
        if moment.tzinfo is None:
            raise ValueError(f"{path}: {what}: {value!r} needs an offset")
        return max(int((moment - day_start).total_seconds()), 0)

    called: dict[str, int] = {}
    for k, call in enumerate(calls):
        if not isinstance(call, dict) or "stop_id" not in call or "created_at" not in call:
            raise ValueError(f"{path}: calls[{k}] needs stop_id and created_at")
        when = seconds(call["created_at"], f"calls[{k}].created_at")
        called[call["stop_id"]] = min(called.get(call["stop_id"], when), when)
    last: dict[str, tuple[int, dict[str, Any]]] = {}
    for k, event in enumerate(events):
        if not isinstance(event, dict):
            raise ValueError(f"{path}: events[{k}] is not an object")
        if event.get("type") not in ("stop_completed", "stop_failed"):
            continue
        stop_id = event.get("stop_id")
        if not isinstance(stop_id, str) or not problem.has_stop(stop_id):
            raise ValueError(f"{path}: events[{k}].stop_id: no stop {stop_id!r} in the plan's day")
        at = seconds(event.get("at"), f"events[{k}].at")
        if stop_id not in last or at >= last[stop_id][0]:
            last[stop_id] = (at, event)
    known = {c.id for c in problem.couriers}
    return [
        StopOutcome(
            stop_id,
            "done" if event["type"] == "stop_completed" else "failed",
            at,
            called.get(stop_id),
            event.get("courier_id") if event.get("courier_id") in known else None,
        )
        for stop_id, (at, event) in last.items()
    ]
