"""Right calls, early (BENCHMARKS.md 6): the day simulator over many seeds, three policies.

For each generated day size the morning plan is solved once; then each seed draws a world
(`scenarios.simulate.World`, default noise: per-leg and service lognormals, a per-courier-day
pace, rush hours the plan does not know of, 3% failed attempts, one breakdown and one jammed
district) and the day is played under `static`, `live` and `live+risk`, each from a copy of
the morning's database, in process (`api.simulation`). Seeds are split over `--jobs` child
processes. A calm day (no breakdown or jam) measures route changes on an undisturbed day; a
threshold sweep on the first size shows what the risk threshold trades; the LaDe replay
(`scenarios.lade`) scores the same predictor on real pickups.

Written to `benchmarks/results/calls.md` (tables with 95% intervals), `calls_runs.csv` (every
run) and two pictures: `calls_timeline.png` (planned vs true starts and the calls against their
windows, per courier) and `calls_ontime.png` (on-time rate through the day per policy).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from benchmarks.command import run
from benchmarks.provenance import commit, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
GOALS = {"recall_30": 0.95, "precision": 0.90, "route_changes_calm": 3.0, "coverage": (0.85, 0.95)}


def _worker(size: str, seeds: list[int], policies: list[str], calm: bool, risk: float, out: Path) -> None:
    """One child's share: run the seeds and write every run as a JSON line."""
    from api.simulation import SimSettings, simulate
    from scenarios.generate import generate_day
    from scenarios.simulate import PolicyName, World

    stops, couriers = (int(x) for x in size.split("x"))
    day = generate_day(stops, couriers, seed=1)
    world = World().calm() if calm else World()
    chosen: list[PolicyName] = [p for p in ("static", "live", "live+risk") if p in policies]
    runs = simulate(day, chosen, seeds, world, settings=replace(SimSettings(), risk=risk), keep_timeline=True)
    with out.open("w", encoding="utf-8") as f:
        for r in runs:
            f.write(json.dumps({**r.row(), "size": size, "calm": calm, "risk": risk, "timeline": r.timeline}) + "\n")


def _spread(
    size: str, seeds: Sequence[int], policies: Sequence[str], calm: bool, risk: float, jobs: int
) -> list[dict[str, Any]]:
    """Run `seeds` split over `jobs` child processes; every run's row."""
    chunks = [list(seeds[k::jobs]) for k in range(jobs) if seeds[k::jobs]]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ontime-calls-") as folder:
        children = []
        for k, chunk in enumerate(chunks):
            out = Path(folder) / f"part{k}.jsonl"
            args = [size, ",".join(map(str, chunk)), ",".join(policies), str(int(calm)), str(risk), str(out)]
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
            children.append(
                (subprocess.Popen([sys.executable, "-m", "benchmarks.calls", "--worker", *args], env=env), out)
            )
        for child, out in children:
            if child.wait() != 0:
                raise RuntimeError(f"a simulation worker failed ({child.returncode})")
            rows.extend(json.loads(line) for line in out.read_text(encoding="utf-8").splitlines())
    return sorted(rows, key=lambda r: (r["policy"], r["seed"]))


def _summary(rows: list[dict[str, Any]], policy: str) -> dict[str, Any]:
    from scenarios.simulate import SUMMARY_FIELDS, interval

    mine = [r for r in rows if r["policy"] == policy]
    out: dict[str, Any] = {"policy": policy, "runs": len(mine)}
    for name in SUMMARY_FIELDS:
        values = [float(r[name]) for r in mine if r.get(name) is not None]
        out[name] = interval(values) if values else None
    return out


def _cell(value: tuple[float, float] | None, fmt: str, scale: float = 1.0) -> str:
    if value is None:
        return "n/a"
    mean, half = value
    return f"{format(mean * scale, fmt)} ± {format(half * scale, fmt)}"


def _table(rows: list[dict[str, Any]], policies: Sequence[str]) -> list[str]:
    lines = [
        "| policy | on time % | late stops | late min | recall@30 % | recall any % | precision % | lead median "
        "min | lead p10 min | false alarms / courier-day | route changes / courier-day | re-optimizations | "
        "p95 answer ms | ETA p90 coverage % |",
        "| --- | " + " | ".join(["---:"] * 14) + " |",
    ]
    for policy in policies:
        s = _summary(rows, policy)
        lines.append(
            f"| {policy} | {_cell(s['on_time_rate'], '.1f', 100)} | {_cell(s['late_stops'], '.1f')} | "
            f"{_cell(s['late_minutes'], '.0f')} | {_cell(s['recall_30'], '.0f', 100)} | "
            f"{_cell(s['recall_any'], '.0f', 100)} | {_cell(s['precision'], '.0f', 100)} | "
            f"{_cell(s['lead_median_min'], '.0f')} | {_cell(s['lead_p10_min'], '.0f')} | "
            f"{_cell(s['false_alarms_per_courier_day'], '.2f')} | {_cell(s['route_changes_per_courier_day'], '.1f')} | "
            f"{_cell(s['reoptimizations'], '.1f')} | {_cell(s['answer_p95_ms'], '.0f')} | "
            f"{_cell(s['p90_coverage'], '.0f', 100)} |"
        )
    return lines


def _pooled(rows: list[dict[str, Any]], policy: str, name: str) -> float:
    """A ratio pooled over the runs (the sum of numerators over the sum of denominators)."""
    mine = [r for r in rows if r["policy"] == policy]
    late = sum(sum(1 for s in r["timeline"] if s["late"]) for r in mine)
    if name == "recall_30":
        return sum(r["recall_30"] * sum(1 for s in r["timeline"] if s["late"]) for r in mine) / late if late else 1.0
    calls = sum(r["calls"] for r in mine)
    return sum(r["precision"] * r["calls"] for r in mine) / calls if calls else 1.0


def _pictures(rows: list[dict[str, Any]], size: str, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    first = min(r["seed"] for r in rows)
    run_ = next(r for r in rows if r["policy"] == "live+risk" and r["seed"] == first)
    couriers = sorted({s["courier_id"] for s in run_["timeline"] if s["courier_id"]})[:6]
    fig, axes = plt.subplots(len(couriers), 1, figsize=(11, 1.6 * len(couriers) + 1), sharex=True)
    for ax, courier in zip(axes if len(couriers) > 1 else [axes], couriers, strict=True):
        stops = sorted((s for s in run_["timeline"] if s["courier_id"] == courier), key=lambda s: s["planned_s"] or 0)
        for y, s in enumerate(stops):
            h = 1 / 3600
            ax.plot(
                [s["window_start_s"] * h, s["window_end_s"] * h], [y, y], color="#cfd8dc", lw=5, solid_capstyle="butt"
            )
            if s["planned_s"] is not None:
                ax.plot(s["planned_s"] * h, y, "o", ms=3, color="#607d8b")
            if s["true_s"] is not None:
                ax.plot(s["true_s"] * h, y, "x", ms=5, color="#c62828" if s["late"] else "#2e7d32")
            if s["called_s"] is not None:
                ax.plot(s["called_s"] * h, y, "v", ms=6, color="#ef6c00")
        ax.set_ylabel(courier, rotation=0, ha="right", va="center")
        ax.set_yticks([])
    (axes[-1] if len(couriers) > 1 else axes).set_xlabel("hour of the day")
    fig.suptitle(
        f"{size}, seed {first}, live+risk: booked windows (bars), morning ETA (dots), true start (x: green on "
        "time, red late), call made (orange triangle)",
        fontsize=9,
    )
    fig.tight_layout()
    path = folder / "calls_timeline.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path.name)

    fig, ax = plt.subplots(figsize=(8, 4))
    for policy in ("static", "live", "live+risk"):
        mine = [r for r in rows if r["policy"] == policy]
        hours = list(range(9, 22))
        rates = []
        for hour in hours:
            due = [s for r in mine for s in r["timeline"] if s["window_end_s"] <= hour * 3600]
            rates.append(100 * sum(1 for s in due if not s["late"]) / len(due) if due else float("nan"))
        ax.plot(hours, rates, marker="o", label=policy)
    ax.set_xlabel("hour of the day (windows ended by then)")
    ax.set_ylabel("on time %")
    ax.set_title(f"{size}: on-time rate through the day, all seeds pooled")
    ax.legend()
    fig.tight_layout()
    path = folder / "calls_ontime.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path.name)
    return written


def calls(
    sizes: Annotated[str, typer.Option(help="generated day sizes, STOPSxCOURIERS, comma-separated")] = "200x16,1000x60",
    seeds: Annotated[int, typer.Option(min=1, max=500, help="worlds per size")] = 20,
    big_seeds: Annotated[int, typer.Option(min=0, max=500, help="worlds for sizes over 500 stops (0: --seeds)")] = 0,
    calm_seeds: Annotated[int, typer.Option(min=0, max=100, help="undisturbed days per size (route changes)")] = 5,
    risk: Annotated[float, typer.Option(min=0.01, max=1.0, help="live+risk's call threshold")] = 0.5,
    thresholds: Annotated[str, typer.Option(help="a threshold sweep on the first size (live+risk), '' for none")] = "",
    sweep_seeds: Annotated[int, typer.Option(min=1, max=100, help="worlds per threshold in the sweep")] = 6,
    jobs: Annotated[int, typer.Option(min=1, max=16, help="child processes")] = 2,
    lade: Annotated[bool, typer.Option(help="also replay the LaDe pickups (../shared/data/lade)")] = True,
    out: Annotated[Path, typer.Option(help="results folder")] = RESULTS,
    note: Annotated[str, typer.Option(help="a line for the results header")] = "",
) -> None:
    """Simulate generated days under three policies over many seeds; write calls.md."""
    began = time.monotonic()
    policies = ["static", "live", "live+risk"]
    command = "ontime bench calls " + " ".join(sys.argv[1:])
    header = [
        "# Right calls, early: the day simulator (BENCHMARKS.md 6)",
        "",
        f"- command: `{command}`",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {commit()}",
        f"- machine: {machine()}; {jobs} simulation process(es), each service in process on SQLite",
    ]
    if note:
        header.append(f"- note: {note}")
    body: list[str] = []
    all_rows: list[dict[str, Any]] = []
    pictures: list[str] = []
    for k, size in enumerate(s.strip() for s in sizes.split(",") if s.strip()):
        n = big_seeds if big_seeds and int(size.split("x")[0]) > 500 else seeds
        print(f"{size}: {n} seeds x {len(policies)} policies", file=sys.stderr, flush=True)
        rows = _spread(size, list(range(1, n + 1)), policies, False, risk, jobs)
        all_rows.extend(rows)
        body += [f"## {size.replace('x', ' stops / ')} couriers, default noise, {n} seeds", ""]
        body += _table(rows, policies)
        static, live_risk = _summary(rows, "static"), _summary(rows, "live+risk")
        was = static["late_minutes"][0]
        fewer = live_risk["late_minutes"][0] / was - 1 if was else 0.0
        body += [
            "",
            f"Pooled over the seeds, live+risk: recall@30 {_pooled(rows, 'live+risk', 'recall_30'):.1%}, "
            f"precision {_pooled(rows, 'live+risk', 'precision'):.1%}. Late minutes vs static: "
            f"{fewer:+.0%}; "
            f"on-time rate {100 * (live_risk['on_time_rate'][0] - static['on_time_rate'][0]):+.1f} points.",
            "",
        ]
        if calm_seeds:
            calm = _spread(size, list(range(1, calm_seeds + 1)), ["live", "live+risk"], True, risk, jobs)
            body += [f"Undisturbed day (no breakdown, no jam), {calm_seeds} seeds:", ""]
            body += [*_table(calm, ["live", "live+risk"]), ""]
            all_rows.extend(calm)
        if k == 0:
            pictures = _pictures(rows, size, out)
            body += [f"![timeline]({pictures[0]})", "", f"![on time through the day]({pictures[1]})", ""]
            if thresholds:
                body += [f"### Threshold sweep, {size}, live+risk, {sweep_seeds} seeds", ""]
                body += ["| threshold | recall@30 % | recall any % | precision % | calls | lead median min |"]
                body += ["| ---: | ---: | ---: | ---: | ---: | ---: |"]
                for value in (float(x) for x in thresholds.split(",")):
                    swept = _spread(size, list(range(1, sweep_seeds + 1)), ["live+risk"], False, value, jobs)
                    s = _summary(swept, "live+risk")
                    calls_n = sum(r["calls"] for r in swept) / len(swept)
                    body.append(
                        f"| {value} | {_cell(s['recall_30'], '.0f', 100)} | {_cell(s['recall_any'], '.0f', 100)} | "
                        f"{_cell(s['precision'], '.0f', 100)} | {calls_n:.1f} | {_cell(s['lead_median_min'], '.0f')} |"
                    )
                body.append("")
    if lade:
        body += _lade_section(risk)
    header.append(f"- total wall time: {(time.monotonic() - began) / 60:.1f} min")
    (out / "calls.md").write_text("\n".join([*header, "", *body]) + "\n", encoding="utf-8")
    with (out / "calls_runs.csv").open("w", newline="", encoding="utf-8") as f:
        fields = [k for k in all_rows[0] if k != "timeline"] if all_rows else []
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(all_rows)
    print((out / "calls.md").read_text(encoding="utf-8"))


def _lade_section(risk: float) -> list[str]:
    from optimizer.risk import NoiseModel
    from scenarios.lade import fit_lade, lade_data_dir, sweep

    folder = lade_data_dir()
    if not folder.is_dir():
        return ["## LaDe replay", "", f"Skipped: no LaDe data at {folder.name}.", ""]
    fit = fit_lade(folder)
    lines = [
        "## LaDe replay (real Cainiao pickups, Hangzhou and Jilin)",
        "",
        f"Fitted on {fit.pickups} pickups: speed {fit.speed_mps:.2f} m/s on "
        f"straight line x 1.3, service {fit.service_s:.0f} s, leg/service sigma {fit.leg_sigma:.3f}, pace sigma "
        f"{fit.pace_sigma:.3f}; late share {fit.late_share:.2%}.",
        "",
        "| model | threshold | flagged | really late | recall@30 % | recall any % | precision % | median lead min |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, model in (("fitted", fit.noise_model()), ("service default", NoiseModel())):
        for figures in sweep(folder, model, sorted({0.3, risk, 0.7})):
            lines.append(
                f"| {name} | {figures.threshold} | {figures.flagged} | {figures.late} | "
                f"{_pct(figures.recall_at_lead)} | {_pct(figures.recall_any)} | {_pct(figures.precision)} | "
                f"{figures.median_lead_min if figures.median_lead_min is not None else 'n/a'} |"
            )
    return [*lines, ""]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        size_, seeds_, policies_, calm_, risk_, out_ = sys.argv[2:8]
        _worker(
            size_, [int(s) for s in seeds_.split(",")], policies_.split(","), calm_ == "1", float(risk_), Path(out_)
        )
    else:
        run(calls, "calls")
