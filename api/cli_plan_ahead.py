"""Planning ahead on the command line: `ontime whatif`, `ontime report`, `ontime bench whatif`
and `ontime bench traffic` (registered into `api.cli`'s app when that module loads this one).

A variants file is TOML: optional defaults (`time_limit_s`, `seed`, `iterations`, and a
`[cost]` table with `per_km`, `per_hour`, `per_courier`), then one `[[variant]]` table per
variant with a `name` and its changes, either inline or as `[[variant.change]]` tables:

    time_limit_s = 5

    [[variant]]
    name = "two couriers off"
    changes = [{ kind = "remove_couriers", count = 2 }]

    [[variant]]
    name = "festival"
    [[variant.change]]
    kind = "demand_scale"
    factor = 1.3
    [[variant.change]]
    kind = "traffic"
    profile = [["07:30", "09:30", 1.4], ["17:00", "19:30", 1.4]]

Mistakes are reported with the file's line: TOML syntax by `tomllib`, meaning as
`[[variant]] #n` and the key (e.g. `changes[1].factor`).
"""

from __future__ import annotations

import csv
import json
import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli import _benchmarks, _fail, app, bench_app, err
from optimizer.errors import OnTimeError, ProblemIssue

FIGURES: tuple[tuple[str, str], ...] = (
    ("couriers_used", "couriers"),
    ("distance_km", "km"),
    ("driving_hours", "driving h"),
    ("working_hours", "working h"),
    ("overtime_hours", "overtime h"),
    ("on_time_rate", "on time"),
    ("late_stops", "late"),
    ("late_minutes", "late min"),
    ("unassigned", "unassigned"),
    ("cost", "cost"),
)


def _error(message: str) -> typer.Exit:
    """`api.cli._fail` for messages that are not Rich markup (they hold `[[variant]]`)."""
    return _fail(escape(message))


class VariantFileError(ValueError):
    """A variants file that cannot be used; the message names the line and key."""


@dataclass
class VariantFile:
    """What a variants file asks for: variants `(name, changes)` and run defaults."""

    variants: list[tuple[str, list[dict[str, Any]]]]
    time_limit_s: float | None = None
    seed: int | None = None
    iterations: int | None = None
    cost: dict[str, float] = field(default_factory=dict)
    lines: dict[tuple[int, int | None, str | None], int] = field(default_factory=dict)

    def line_of(self, issue_field: str) -> int | None:
        """The file line an issue named `variant[i].changes[j].key` is about, best match."""
        match = re.match(r"variant\[(\d+)\](?:\.changes\[(\d+)\](?:\.(\w+))?)?(?:\.(\w+))?", issue_field)
        if match is None:
            return None
        variant = int(match.group(1))
        change = int(match.group(2)) if match.group(2) is not None else None
        key = match.group(3) or match.group(4)
        probes = [(variant, change, key), (variant, change, None), (variant, None, key)]
        if change is not None:
            probes.append((variant, None, "changes"))  # an inline list
        for probe in (*probes, (variant, None, None)):
            if probe in self.lines:
                return self.lines[probe]
        return None


_HEADER = re.compile(r"^\s*\[\[\s*variant(?:\s*\.\s*(change))?\s*\]\]")
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")
_ALLOWED_TOP = {"time_limit_s", "seed", "iterations", "cost", "variant"}


def read_variant_file(path: Path) -> VariantFile:
    """Read and check the shape of a variants file (the changes' meaning is checked later)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VariantFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VariantFileError(f"{path}: not valid TOML: {exc}") from None
    lines = _locate(text)

    def where(variant: int, key: str | None = None) -> str:
        line = lines.get((variant, None, key)) or lines.get((variant, None, None))
        return f"{path}{f' line {line}' if line else ''}, [[variant]] #{variant + 1}"

    unknown = sorted(set(data) - _ALLOWED_TOP)
    if unknown:
        raise VariantFileError(
            f"{path}: unknown top-level key {unknown[0]!r}; known: {', '.join(sorted(_ALLOWED_TOP))}"
        )
    raw = data.get("variant")
    if not isinstance(raw, list) or not raw:
        raise VariantFileError(f"{path}: no [[variant]] tables; add one per variant, with a name and changes")
    variants: list[tuple[str, list[dict[str, Any]]]] = []
    for k, table in enumerate(raw):
        extra = sorted(set(table) - {"name", "changes", "change"})
        if extra:
            raise VariantFileError(
                f"{where(k, extra[0])}: unknown key {extra[0]!r} (use name, changes or [[variant.change]])"
            )
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise VariantFileError(f"{where(k, 'name')}: name must be a non-empty string")
        if "changes" in table and "change" in table:
            raise VariantFileError(
                f"{where(k, 'changes')}: give changes inline or as [[variant.change]] tables, not both"
            )
        changes = table.get("changes", table.get("change", []))
        if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
            raise VariantFileError(f"{where(k, 'changes')}: changes must be a list of tables with a kind")
        variants.append((name, changes))
    cost = data.get("cost", {})
    if not isinstance(cost, dict) or set(cost) - {"per_km", "per_hour", "per_courier"}:
        raise VariantFileError(f"{path}: [cost] holds only per_km, per_hour and per_courier")
    out = VariantFile(variants, lines=lines, cost={k: float(v) for k, v in cost.items()})
    for key, kind in (("time_limit_s", float), ("seed", int), ("iterations", int)):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
                raise VariantFileError(f"{path}: {key} must be a {'whole ' if kind is int else ''}number")
            setattr(out, key, kind(value))
    return out


def _locate(text: str) -> dict[tuple[int, int | None, str | None], int]:
    """Line numbers (1-based) of each `[[variant]]`, `[[variant.change]]` and the keys in them."""
    lines: dict[tuple[int, int | None, str | None], int] = {}
    variant, change, inside = -1, None, False
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            if header.group(1):
                change = 0 if change is None else change + 1
            else:
                variant, change = variant + 1, None
            inside = variant >= 0
            lines.setdefault((variant, change, None), number)
        elif line.lstrip().startswith("["):
            inside = False  # another table, e.g. [cost]
        elif inside and (key := _KEY.match(line)):
            lines.setdefault((variant, change, key.group(1)), number)
    return lines


def explain_issues(path: Path, spec: VariantFile, issues: Sequence[ProblemIssue]) -> list[str]:
    """Each issue as `FILE line N, [[variant]] #n 'name': changes[j].key: message`."""
    out = []
    for issue in issues:
        match = re.match(r"variant\[(\d+)\]\.?(.*)", issue.field)
        if match is None:
            out.append(f"{path}: {issue}")
            continue
        k = int(match.group(1))
        line = spec.line_of(issue.field)
        name = spec.variants[k][0] if k < len(spec.variants) else ""
        key = match.group(2) or "name"
        kind = f" ({issue.id})" if issue.id and issue.id != name else ""
        out.append(
            f"{path}{f' line {line}' if line else ''}, [[variant]] #{k + 1} {name!r}: {key}{kind}: {issue.message}"
        )
    return out


def load_problem_file(path: Path) -> tuple[Any, Any]:
    """A wire problem file (or `{"problem": ...}`) as (ProblemIn, domain Problem); exits on errors."""
    from pydantic import ValidationError

    from api.schemas import ProblemIn

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        wire = ProblemIn.model_validate(raw.get("problem", raw) if isinstance(raw, dict) else raw)
        return wire, wire.to_domain()
    except (OSError, json.JSONDecodeError) as exc:
        raise _error(f"{path}: {exc}") from None
    except ValidationError as exc:
        raise _error("\n".join(f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    except OnTimeError as exc:
        raise _error(f"{path}: {exc}") from None


# --- whatif ----------------------------------------------------------------------------


@app.command()
def whatif(
    base_path: Annotated[Path, typer.Argument(metavar="BASE.json", help="the base day (problem JSON)")],
    variants_path: Annotated[
        Path, typer.Argument(metavar="VARIANTS.toml", help="the variants (see `ontime whatif --help`)")
    ],
    executor: Annotated[str, typer.Option("--executor", help="local (process pool) or ray")] = "local",
    time_limit: Annotated[float | None, typer.Option("--time-limit", min=0.1, max=3600, help="s per scenario")] = None,
    iterations: Annotated[int | None, typer.Option("--iterations", min=1, help="PyVRP iterations per scenario")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="scenarios solved at once")] = 2,
    out: Annotated[Path | None, typer.Option("--out", help="write whatif.csv, whatif.json and whatif.png here")] = None,
) -> None:
    """Solve a base day and its variants alike, in parallel; print the comparison table.

    VARIANTS.toml holds `[[variant]]` tables with a `name` and `changes` (see the module
    docs); the same files and seed give the same figures on either executor.
    """
    from optimizer.kpi import CostModel
    from scenarios.compare import CompareParams, VariantResult, compare, prepare
    from scenarios.executors import make_executor
    from scenarios.variants import InvalidChange

    if executor not in ("local", "ray"):
        raise _error(f"--executor must be local or ray, not {executor!r}")
    wire, problem = load_problem_file(base_path)
    try:
        spec = read_variant_file(variants_path)
        runs = prepare(problem, spec.variants, where="variant")
        params = CompareParams(
            time_limit_s=time_limit or spec.time_limit_s or 10.0,
            seed=seed if seed is not None else spec.seed or 0,
            iterations=iterations or spec.iterations,
            cost_model=CostModel(**spec.cost),
        )
    except VariantFileError as exc:
        raise _error(str(exc)) from None
    except InvalidChange as exc:
        raise _error("\n".join(explain_issues(variants_path, spec, exc.issues))) from None
    except (ValueError, TypeError) as exc:
        raise _error(f"{variants_path}: {exc}") from None

    pool = make_executor(executor, workers)
    columns = (SpinnerColumn(), TextColumn("{task.description:<28}"), BarColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=not err.is_terminal) as progress:
            tasks = {run.name: progress.add_task(run.name, total=1) for run in runs}

            def done(result: VariantResult) -> None:
                mark = "[red]failed[/red]" if result.error else "[green]done[/green]"
                progress.update(tasks[result.name], completed=1, description=f"{result.name} {mark}")

            comparison = compare(problem, (), params, pool, on_done=done, prepared=runs)
    finally:
        pool.shutdown()
    title = f"what-if on {wire.name} ({executor}, seed {params.seed}, {comparison.iterations} iterations)"
    Console(width=None if sys.stdout.isatty() else 200).print(comparison_table(comparison, title))
    for result in comparison.results:
        if result.error:
            err.print(f"[red]{result.name}[/red]: {result.error}")
    if out is not None:
        written = write_outputs(comparison, out)
        err.print("wrote " + ", ".join(str(p) for p in written))
    if comparison.base.kpis is None:
        raise typer.Exit(1)


def comparison_table(comparison: Any, title: str) -> Table:
    table = Table(title=title)
    table.add_column("scenario")
    for _, label in FIGURES:
        table.add_column(label, justify="right")
    for result in comparison.results:
        cells = []
        for name, _ in FIGURES:
            value = None if result.kpis is None else result.kpis.get(name)
            delta = None if result.delta is None else result.delta.get(name)
            text = "-" if value is None else _fmt(name, value)
            if delta:
                colour = "red" if (delta > 0) != (name == "on_time_rate") else "green"
                text += f" [{colour}]({'+' if delta > 0 else ''}{_fmt(name, delta)})[/{colour}]"
            cells.append(text)
        table.add_row(result.name, *cells)
    return table


def _fmt(name: str, value: float) -> str:
    if name == "on_time_rate":
        return f"{value * 100:.1f}%"
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"


def write_outputs(comparison: Any, out: Path) -> list[Path]:
    """`whatif.csv` (one row per scenario, figures and deltas), `whatif.json`, `whatif.png`."""
    out.mkdir(parents=True, exist_ok=True)
    rows = comparison.rows()
    csv_path = out / "whatif.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    json_path = out / "whatif.json"
    json_path.write_text(
        json.dumps(
            {"iterations": comparison.iterations, "seed": comparison.seed, "results": comparison.to_wire()},
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    png_path = out / "whatif.png"
    draw_chart(rows, png_path)
    return [csv_path, json_path, png_path]


def draw_chart(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Small multiples: one horizontal bar chart per figure, the base's bar in dark grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [("distance_km", "distance, km"), ("working_hours", "working hours"), ("couriers_used", "couriers used"),
             ("on_time_rate", "on-time rate"), ("late_stops", "late stops"), ("unassigned", "unassigned stops"),
             ("overtime_hours", "overtime, h"), ("cost", "cost")]  # fmt: skip
    names = [str(r["name"]) for r in rows]
    fig, axes = plt.subplots(2, 4, figsize=(16, max(4.0, 0.9 + 0.32 * len(rows)) * 2), sharey=True)
    for ax, (key, label) in zip(axes.flat, shown):
        values = [float(r[key]) if r[key] is not None else 0.0 for r in rows]
        colours = ["#444444" if n == "base" else "#3a7dc9" for n in names]
        bars = ax.barh(range(len(rows)), values, color=colours)
        ax.bar_label(bars, fmt="%.4g", fontsize=7, padding=2)
        ax.set_title(label, fontsize=10)
        if not any(values):
            ax.set_xlim(0, 1)
        base = values[0] if values else 0.0
        ax.axvline(base, color="#444444", linewidth=0.8, linestyle="--")
        ax.tick_params(labelsize=8)
    axes.flat[0].set_yticks(range(len(rows)), names)
    axes.flat[0].invert_yaxis()
    axes.flat[4].set_yticks(range(len(rows)), names)
    fig.suptitle("What-if: each variant against the base (dashed line)", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- report ----------------------------------------------------------------------------


@app.command()
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
        raise _error(f"{plan_path}: {exc}") from None
    if not isinstance(document, dict) or "routes" not in document:
        raise _error(f"{plan_path}: not a plan file (no routes); write one with `ontime plan DAY.json -o PLAN.json`")
    if problem_path is not None:
        wire, problem = load_problem_file(problem_path)
    elif "problem" in document:
        try:
            wire = ProblemIn.model_validate(document["problem"])
            problem = wire.to_domain()
        except (ValidationError, OnTimeError) as exc:
            raise _error(f"{plan_path}: its problem is not valid: {exc}") from None
    else:
        raise _error(f"{plan_path} does not hold its problem: give it with --problem DAY.json")
    try:
        routes = tuple(Route(r["courier_id"], tuple(v["stop_id"] for v in r["visits"])) for r in document["routes"])
        left = tuple(Unassigned(u["stop_id"], u.get("reason", "")) for u in document.get("unassigned", []))
        timed = schedule(problem, HaversineSource().matrix(problem), routes)
        outcomes = read_outcomes(events, wire.day_start, problem) if events is not None else None
        kpis = day_kpis(problem, timed, Solution(routes, left), outcomes)
    except (KeyError, TypeError) as exc:
        raise _error(f"{plan_path}: not a plan file ({type(exc).__name__}: {exc})") from None
    except ValueError as exc:
        raise _error(str(exc)) from None
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
            table.add_row(name, _fmt(name, value) if name == "on_time_rate" else str(value))
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


# --- benchmarks ------------------------------------------------------------------------


@bench_app.command("whatif")
def bench_whatif(
    stops: Annotated[int, typer.Option("--stops", min=10, max=5000)] = 300,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500)] = 24,
    variants: Annotated[int, typer.Option("--variants", min=1, max=50)] = 20,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="s per scenario")] = 5.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="processes / Ray CPUs")] = 2,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="local and Ray alternately, this many times")] = 2,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """What-if sweep: local process pool vs Ray, wall time and identical figures (BENCHMARKS.md 3)."""
    _benchmarks()
    import benchmarks.whatif

    benchmarks.whatif.main(stops, couriers, variants, time_limit, workers, rounds, out)


@bench_app.command("traffic")
def bench_traffic(
    stops: Annotated[int, typer.Option("--stops", min=10, max=5000)] = 200,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500)] = 16,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="generated days")] = 3,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="s per plan")] = 5.0,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Time-of-day traffic: the ETA error engines' time-independent stand-ins leave (exact vs implied)."""
    _benchmarks()
    import benchmarks.traffic_error

    benchmarks.traffic_error.main(stops, couriers, seeds, time_limit, out)
