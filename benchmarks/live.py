"""Live re-optimization through the real HTTP server (BENCHMARKS.md 2).

For each generated day (200 stops / 16 couriers, 1000 / 60) a real `ontime serve` on
SQLite plans the day, then receives, in order:
- single delays: one courier at a time held 60 min, at times spread over the day;
- a stream of positions and stop completions, as the plan says they happen;
- a hub outage: every courier held 3 h at 09:30 (on a fresh copy of the plan).
Each request is timed from send to answer. After the first single delay and after the
outage, the plan's total lateness is compared with a 30-second re-solve of the same
remaining problem in this process: from scratch (no warm start) and warm over the whole
fleet, the better of the two being the reference.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from api.schemas import ProblemIn
from api.server_process import ServerProcess, server_env
from benchmarks.command import run
from benchmarks.provenance import commit, machine
from optimizer.replan import CourierEvent, LivePlan, ReplanPolicy, reoptimize, retime
from optimizer.solution import Route
from optimizer.travel.haversine import HaversineSource
from scenarios.generate import generate_day

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-dispatcher"


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    quality: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class LiveServer:
    """`ontime serve` on SQLite in `folder`, settings as shipped but the answer budget."""

    def __init__(self, folder: Path, replan_s: float) -> None:
        env = server_env(
            f"sqlite:///{folder / 'bench.sqlite'}", f"dispatcher:{KEY}", ONTIME_REPLAN_TIME_LIMIT_S=str(replan_s)
        )
        self.server = ServerProcess(env, folder / "server.log", {"dispatcher": KEY})
        self.server.start(timeout_s=120)
        self.client = self.server.client(timeout_s=120)
        time.sleep(2.0)  # let the re-optimization worker finish importing the solvers

    def plan(self, day: dict[str, Any], limit_s: float) -> dict[str, Any]:
        plan_id = self.client.post("/v1/plans", json={"problem": day, "time_limit_s": limit_s}).json()["id"]
        while True:
            plan: dict[str, Any] = self.client.get(f"/v1/plans/{plan_id}").json()
            if plan["status"] in ("solved", "failed"):
                if plan["status"] == "failed":
                    raise RuntimeError(plan["error"])
                return plan
            time.sleep(0.5)

    def post(self, plan_id: str, event: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        began = time.perf_counter()
        answer = self.client.post(f"/v1/plans/{plan_id}/events", json=event)
        elapsed = time.perf_counter() - began
        if answer.status_code != 200:
            raise RuntimeError(f"{event['event_id']}: {answer.status_code} {answer.text[:300]}")
        body: dict[str, Any] = answer.json()
        return elapsed, body

    def close(self) -> None:
        self.client.close()
        self.server.stop(timeout_s=20)


def _late_minutes(plan: dict[str, Any]) -> tuple[int, float]:
    late = [
        v["late_min"] for r in plan["routes"] for v in r["visits"] if v["status"] == "planned" and v["late_min"] > 0
    ]
    return len(late), sum(late)


def _reference(
    day: dict[str, Any], plan: dict[str, Any], events: list[dict[str, Any]], budget_s: float
) -> tuple[int, float]:
    """Late stops and minutes after the best 30-second re-solve of the same situation."""
    wire = ProblemIn.model_validate(day)
    problem = wire.to_domain()
    routes = tuple(Route(r["courier_id"], tuple(v["stop_id"] for v in r["visits"])) for r in plan["routes"])
    live = LivePlan(problem, routes, {}, (), 0)
    for e in events:
        at_s = int((dt.datetime.fromisoformat(e["at"]) - wire.day_start).total_seconds())
        live = live.with_event(
            CourierEvent(e["event_id"], e["courier_id"], "delay", at_s, delay_s=round(e["delay_min"] * 60))
        )
    source = HaversineSource()
    day_state = retime(live, source)
    whole = ReplanPolicy(time_limit_s=budget_s, max_couriers=10_000, max_stops=1_000_000)
    best: tuple[int, float] | None = None
    for policy in (replace(whole, warm_start=False), whole):
        timed = retime(reoptimize(live, day_state, source, policy), source)
        late = [v.late_s / 60 for c in timed.couriers for v in c.visits if v.late_s > 0 and v.status != "done"]
        result = (len(late) + len(timed.unassigned), sum(late) + 600 * len(timed.unassigned))
        if best is None or result[1] < best[1]:
            best = result
    assert best is not None
    return best


def _after_improvement(server: LiveServer, plan_id: str, polish_s: float) -> tuple[float, dict[str, Any]]:
    """The plan once background improvement has settled, and how long after the answers
    that was (bounded wait: no change for `polish_s` + 5 s)."""
    began = time.perf_counter()
    plan = server.client.get(f"/v1/plans/{plan_id}").json()
    changed_at = began
    while time.perf_counter() - began < polish_s * 6 + 20:
        time.sleep(1.0)
        latest = server.client.get(f"/v1/plans/{plan_id}").json()
        if latest["version"] != plan["version"] or latest["kpis"] != plan["kpis"]:
            plan, changed_at = latest, time.perf_counter()
        elif time.perf_counter() - changed_at > polish_s + 5:
            break
    return changed_at - began, plan


def run_day(
    stops: int,
    couriers: int,
    plan_limit_s: float,
    replan_s: float,
    reference_s: float,
    folder: Path,
    samples: Samples,
    polish_s: float = 5.0,
) -> None:
    day = generate_day(stops, couriers, seed=5)
    label = f"{stops}/{couriers}"
    server = LiveServer(folder, replan_s)
    try:
        base = server.plan(day, plan_limit_s)
        # single delays, one courier at a time, 09:00 .. 15:00
        busy = sorted(base["routes"], key=lambda r: -len(r["visits"]))
        first_quality_done = False
        for k, route in enumerate(busy[: min(20, len(busy))]):
            hhmm = 9 * 60 + (k * 360) // max(1, min(20, len(busy)))
            event = {
                "event_id": f"d{k}",
                "courier_id": route["courier_id"],
                "type": "delay",
                "at": f"{day['stops'][0]['windows'][0]['start'][:10]}T{hhmm // 60:02d}:{hhmm % 60:02d}:00+08:00",
                "delay_min": 60,
            }
            before = server.client.get(f"/v1/plans/{base['id']}").json()
            elapsed, _ = server.post(base["id"], event)
            samples.add(f"{label} delay", elapsed)
            if not first_quality_done:
                after = server.client.get(f"/v1/plans/{base['id']}").json()
                ref = _reference(day, before, [event], reference_s)
                ours = _late_minutes(after)
                samples.quality.append({"day": label, "case": "one courier delayed 60 min", "ours": ours, "ref": ref})
                first_quality_done = True
        # a stream of positions and completions, as planned, in time order
        plan = server.client.get(f"/v1/plans/{base['id']}").json()
        stream = []
        for route in plan["routes"]:
            for visit in route["visits"][:6]:
                if visit["status"] != "planned":
                    continue
                stream.append((visit["eta"], "position", route["courier_id"], visit))
                stream.append((visit["departure"], "stop_completed", route["courier_id"], visit))
        stream.sort(key=lambda item: item[0])
        for n, (when, kind, courier, visit) in enumerate(stream[:400]):
            report_event: dict[str, Any] = {"event_id": f"s{n}", "courier_id": courier, "type": kind, "at": when}
            if kind == "position":
                stop = next(s for s in day["stops"] if s["id"] == visit["stop_id"])
                report_event |= {"lat": stop["lat"], "lon": stop["lon"]}
            else:
                report_event["stop_id"] = visit["stop_id"]
            elapsed, answer = server.post(base["id"], report_event)
            samples.add(
                f"{label} {kind} (no window at risk)"
                if not answer["calls"] and not answer["changed_routes"]
                else f"{label} {kind} (re-optimized)",
                elapsed,
            )
        # the hub outage, on a fresh plan of the same day
        fresh = server.plan(day, plan_limit_s)
        outage = [
            {
                "event_id": f"o-{c['id']}",
                "courier_id": c["id"],
                "type": "delay",
                "at": f"{day['stops'][0]['windows'][0]['start'][:10]}T09:30:00+08:00",
                "delay_min": 180,
            }
            for c in day["couriers"]
        ]
        for event in outage:
            elapsed, _ = server.post(fresh["id"], event)
            samples.add(f"{label} outage delay", elapsed)
        after = server.client.get(f"/v1/plans/{fresh['id']}").json()
        ref = _reference(day, fresh, outage, reference_s)
        samples.quality.append(
            {"day": label, "case": "hub outage, all held 3 h at 09:30", "ours": _late_minutes(after), "ref": ref}
        )
        settled, improved = _after_improvement(server, fresh["id"], polish_s)
        samples.quality.append(
            {
                "day": label,
                "case": f"hub outage, after background improvement (last change {settled:.0f} s after the answers)",
                "ours": _late_minutes(improved),
                "ref": ref,
            }
        )
    finally:
        server.close()


def main(sizes: list[tuple[int, int]], replan_s: float, reference_s: float, out: Path | None) -> None:
    samples = Samples()
    began = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for stops, couriers in sizes:
            folder = Path(tmp) / f"{stops}"
            folder.mkdir()
            run_day(stops, couriers, 10.0 if stops <= 300 else 30.0, replan_s, reference_s, folder, samples)
            print(f"done {stops}/{couriers}", file=sys.stderr)
    target = out or ROOT / "benchmarks" / "results" / "live.md"
    target.write_text(report(samples, sizes, replan_s, reference_s, time.time() - began))
    print(f"wrote {target}", file=sys.stderr)


def report(samples: Samples, sizes: list[tuple[int, int]], replan_s: float, reference_s: float, wall: float) -> str:
    sizes_arg = ",".join(f"{s}x{c}" for s, c in sizes)
    lines = [
        "# Live re-optimization through the HTTP server",
        "",
        f"- Command: `ontime bench live --sizes {sizes_arg} --replan-budget {replan_s:g} --reference {reference_s:g}`",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {commit()}; total wall {wall / 60:.1f} min",
        f"- Machine: {machine()}; server on SQLite, re-optimization in one local worker process",
        "- Latency is from send to answer of `POST /v1/plans/{id}/events`, through uvicorn on loopback.",
        "- Settings as shipped: one-second answer budget, background improvement after re-optimized answers"
        " (`ONTIME_POLISH_TIME_LIMIT_S=5`, its own worker process).",
        "",
        "## Latency",
        "",
        "| day / event | n | p50 | p95 | max |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, values in samples.latencies.items():
        lines.append(
            f"| {kind} | {len(values)} | {statistics.median(values) * 1000:.0f} ms | "
            f"{_pct(values, 95) * 1000:.0f} ms | {max(values) * 1000:.0f} ms |"
        )
    lines += [
        "",
        f"## Lateness after the answer vs a {reference_s:g}-second re-solve",
        "",
        "Reference: the better of a from-scratch and a warm whole-fleet OR-Tools re-solve of the same"
        " remaining problem (a dropped stop counts 600 min).",
        "",
        "| day | case | late stops (ours) | late min (ours) | late stops (ref) | late min (ref) | ours vs ref |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for q in samples.quality:
        (ours_n, ours_m), (ref_n, ref_m) = q["ours"], q["ref"]
        ratio = f"{100 * (ours_m / ref_m - 1):+.1f}%" if ref_m > 0 else ("equal" if ours_m == 0 else "ref is 0")
        lines.append(f"| {q['day']} | {q['case']} | {ours_n} | {ours_m:.0f} | {ref_n} | {ref_m:.0f} | {ratio} |")
    return "\n".join(lines) + "\n"


def cli(
    sizes: Annotated[str, typer.Option("--sizes", help="stops x couriers, comma-separated")] = "200x16,1000x60",
    replan_budget: Annotated[float, typer.Option("--replan-budget", help="answer budget of a delay, s")] = 1.0,
    reference: Annotated[float, typer.Option("--reference", help="budget of the reference re-solve, s")] = 30.0,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Delay, stream and outage latency through a real server, and lateness vs a long re-solve."""
    parsed = [(int(a), int(b)) for a, b in (part.split("x") for part in sizes.split(",") if part)]
    main(parsed, replan_budget, reference, out)


if __name__ == "__main__":
    run(cli, "live")
