"""`ontime simulate`: the day simulator on one problem (CONTRACTS.md 2, `scenarios.simulate`)."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli.common import err, fail, read_problem

PolicyOption = Annotated[
    list[str], typer.Option("--policy", help="static, live or live+risk (repeat for several; default all three)")
]


def simulate(
    problem: Annotated[Path, typer.Argument(help="a day in the wire format (or {'problem': ...})")],
    policy: PolicyOption = [],  # noqa: B006 (Typer reads the default; it is never mutated)
    seeds: Annotated[int, typer.Option("--seeds", min=1, max=1000, help="how many worlds to draw")] = 1,
    seed: Annotated[int, typer.Option("--seed", min=0, help="the first world's seed")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="print the figures as JSON on stdout")] = False,
    mode: Annotated[str, typer.Option("--mode", help="in-process, or server (a real `ontime serve`)")] = "in-process",
    calm: Annotated[bool, typer.Option("--calm", help="no breakdown, jam or late hub: an undisturbed day")] = False,
    risk: Annotated[float, typer.Option("--risk", min=0.01, max=1.0, help="live+risk's call threshold")] = 0.5,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="write every run's figures to this CSV")] = None,
    pictures: Annotated[
        Path | None,
        typer.Option("--pictures", help="draw a courier timeline and the on-time rate through the day in this folder"),
    ] = None,
) -> None:
    """Simulate the day under real uncertainty and score the calls: on-time rate, recall and
    precision of the calls, lead time, route changes (means over the seeds, 95% intervals)."""
    from api.simulation import SimSettings
    from api.simulation import simulate as run
    from scenarios.simulate import POLICIES, PolicyName, RunFigures, World, summarise

    wanted = policy or list(POLICIES)
    unknown = [p for p in wanted if p not in POLICIES]
    if unknown:
        raise fail(f"--policy: unknown {', '.join(unknown)}; known: {', '.join(POLICIES)}")
    if mode not in ("in-process", "server"):
        raise fail(f"--mode: unknown {mode!r}; known: in-process, server")
    wire, _ = read_problem(problem)
    world = World().calm() if calm else World()
    policies: list[PolicyName] = [p for p in POLICIES if p in wanted]
    with err.status("simulating") as status:

        def progress(figures: RunFigures) -> None:
            status.update(f"simulated {figures.policy}, seed {figures.seed}")

        runs = run(
            wire.model_dump(mode="json"),
            policies,
            list(range(seed, seed + seeds)),
            world,
            mode=mode,  # type: ignore[arg-type]
            settings=replace(SimSettings(), risk=risk),
            keep_timeline=pictures is not None,
            progress=progress,
        )
    summaries = [summarise([r for r in runs if r.policy == p]) for p in policies]
    if csv_out is not None:
        rows = [r.row() for r in runs]
        with csv_out.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if pictures is not None:
        from scenarios.pictures import draw_day

        pictures.mkdir(parents=True, exist_ok=True)
        drawn = draw_day([{**r.row(), "timeline": r.timeline} for r in runs], wire.name, pictures)
        err.print(f"pictures: {', '.join(str(pictures / name) for name in drawn)}")
    if json_out:
        answer = summaries[0] if len(summaries) == 1 else summaries
        sys.stdout.write(json.dumps(answer) + "\n")
        return
    table = Table(title=f"{wire.name}: {seeds} seed(s){' (calm)' if calm else ''}")
    for column in ("policy", "on time", "late", "late min", "recall@30", "recall", "precision", "lead", "changes"):
        table.add_column(column)
    for s in summaries:
        table.add_row(
            s["policy"],
            f"{s['on_time_rate']:.1%} ± {s['on_time_rate_ci95']:.1%}",
            f"{s['late_stops']:.1f}",
            f"{s['late_minutes']:.0f}",
            f"{s['recall_30']:.0%}",
            f"{s['recall_any']:.0%}",
            f"{s['precision']:.0%}",
            f"{s['lead_median_min']:.0f} min",
            f"{s['route_changes_per_courier_day']:.1f}",
        )
    Console().print(table)
