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
from scenarios.pictures import draw_day

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
            row = {**r.row(), "size": size, "calm": calm, "risk": risk, "timeline": r.timeline}
            f.write(json.dumps({**row, "late_detail": r.late_detail}) + "\n")


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


def _by_margin(rows: list[dict[str, Any]], policy: str, minutes: float = 15.0) -> str:
    """Recall@30 pooled over the runs, split by how late the stops turned out: a stop a few
    minutes late was a coin toss half an hour before its window ended."""
    detail = [d for r in rows if r["policy"] == policy for d in r.get("late_detail", [])]
    small = [early for late, early in detail if late <= minutes]
    large = [early for late, early in detail if late > minutes]

    def share(xs: list[bool]) -> str:
        return f"{sum(xs) / len(xs):.0%} of {len(xs)}" if xs else "none"

    return f"late by {minutes:.0f} min or less: {share(small)}; by more: {share(large)}"


def _pooled(rows: list[dict[str, Any]], policy: str, name: str) -> float:
    """A ratio pooled over the runs (the sum of numerators over the sum of denominators)."""
    mine = [r for r in rows if r["policy"] == policy]
    late = sum(sum(1 for s in r["timeline"] if s["late"]) for r in mine)
    if name == "recall_30":
        return sum(r["recall_30"] * sum(1 for s in r["timeline"] if s["late"]) for r in mine) / late if late else 1.0
    calls = sum(r["calls"] for r in mine)
    return sum(r["precision"] * r["calls"] for r in mine) / calls if calls else 1.0


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
            "Recall@30 by how late the stops turned out, pooled: "
            + "; ".join(f"{p}: {_by_margin(rows, p)}" for p in ("live", "live+risk"))
            + ".",
            "",
        ]
        if calm_seeds:
            calm = _spread(size, list(range(1, calm_seeds + 1)), ["live", "live+risk"], True, risk, jobs)
            body += [f"Undisturbed day (no breakdown, no jam), {calm_seeds} seeds:", ""]
            body += [*_table(calm, ["live", "live+risk"]), ""]
            all_rows.extend(calm)
        if k == 0:
            pictures = draw_day(rows, size, out)
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
    body += _risk_speed()
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


def _risk_speed() -> list[str]:
    """How long drawing the risk takes: one courier's route (the fast path after a report) and
    a whole 1000-stop fleet at once (after a re-optimization), on a generated day's stops cut
    into routes in window order and timed with `schedule_route`."""
    from api.schemas import ProblemIn
    from optimizer.risk import NoiseModel, RouteAhead, route_risk
    from optimizer.schedule import schedule_route
    from optimizer.travel.haversine import HaversineSource
    from scenarios.generate import generate_day

    problem = ProblemIn.model_validate(generate_day(1000, 60, seed=1)).to_domain()
    matrix = HaversineSource().matrix(problem)
    ordered = sorted(problem.stops, key=lambda s: s.earliest_s)
    n = len(problem.couriers)
    routes = [schedule_route(problem, matrix, k, [s.id for s in ordered[k::n]]) for k in range(n)]
    model = NoiseModel()
    lines = ["## Drawing the risk", "", "| what | visits | ms (median of 50) |", "| --- | ---: | ---: |"]
    for label, chosen in (("one courier's route", routes[:1]), (f"the whole fleet ({n} routes)", routes)):
        ahead = [RouteAhead(r, len(r.visits)) for r in chosen]
        times = []
        for _ in range(50):
            began = time.perf_counter()
            route_risk(ahead, model)
            times.append((time.perf_counter() - began) * 1000)
        lines.append(f"| {label} | {sum(len(r.visits) for r in chosen)} | {sorted(times)[25]:.2f} |")
    return [*lines, ""]


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
        f"Fitted on {fit.pickups} pickups in {fit.courier_days} courier-days ({fit.gaps_used} of {fit.gaps} gaps "
        f"between consecutive pickups; the rest idle): speed {fit.speed_mps:.2f} m/s on straight line x 1.3, "
        f"service {fit.service_s} s; spread of log(gap / planned) {fit.spread_total:.3f} overall, "
        f"{fit.spread_within:.3f} around each courier's median (leg and service sigma {fit.service_sigma:.3f}); "
        f"courier pace sigma {fit.pace_sigma:.3f} ({fit.pace_couriers} couriers).",
        "",
        f"Lateness of the {fit.timed_pickups} pickups with a real window: {fit.late_share:.2%} late "
        f"(median {fit.late_p50_min or 0:.0f} min, p90 {fit.late_p90_min or 0:.0f} min late), "
        f"{fit.last_30min_share:.1%} in the window's last 30 min, {fit.early_share:.1%} before it opened.",
        "",
        "The simulator's default world takes the service spread from this fit (0.575); the legs keep 0.25 (gaps "
        "cannot tell legs from stops) and the courier pace 0.15 (the fitted 0.33 also holds couriers' other work: "
        "LaDe couriers deliver between pickups).",
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
