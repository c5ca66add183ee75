"""`ontime whatif`: a base day and its variants solved alike, in parallel; a comparison table,
and on request a CSV, a JSON and a chart. Variants files: `api.cli.variants_file`."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.common import err, fail, figure_text, read_problem, road_source
from api.cli.variants_file import VariantFileError, explain_issues, read_variant_file

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
    roads: Annotated[
        str | None,
        typer.Option("--roads", help="plan every scenario on this road network (.osm.pbf or xuzhou, porto)"),
    ] = None,
) -> None:
    """Solve a base day and its variants alike, in parallel; print the comparison table.

    VARIANTS.toml holds `\\[\\[variant]]` tables with a `name` and `changes` (format: the docs of
    api/cli/variants_file.py); the same files and seed give the same figures on either executor.
    """
    from optimizer.kpi import CostModel
    from scenarios.compare import CompareParams, VariantResult, compare, prepare
    from scenarios.executors import make_executor
    from scenarios.variants import InvalidChange

    if executor not in ("local", "ray"):
        raise fail(f"--executor must be local or ray, not {executor!r}")
    wire, problem = read_problem(base_path)
    source, _ = road_source(roads or wire.road_map)
    try:
        spec = read_variant_file(variants_path)
        runs = prepare(problem, spec.variants, where="variant")
        params = CompareParams(
            time_limit_s=time_limit or spec.time_limit_s or 10.0,
            seed=seed if seed is not None else spec.seed or 0,
            iterations=iterations or spec.iterations,
            cost_model=CostModel(**spec.cost),
            source=source,
        )
    except VariantFileError as exc:
        raise fail(str(exc)) from None
    except InvalidChange as exc:
        raise fail("\n".join(explain_issues(variants_path, spec, exc.issues))) from None
    except (ValueError, TypeError) as exc:
        raise fail(f"{variants_path}: {exc}") from None

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
            text = "-" if value is None else figure_text(name, value)
            if delta:
                colour = "red" if (delta > 0) != (name == "on_time_rate") else "green"
                text += f" [{colour}]({'+' if delta > 0 else ''}{figure_text(name, delta)})[/{colour}]"
            cells.append(text)
        table.add_row(result.name, *cells)
    return table


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
