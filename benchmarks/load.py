"""Load: a fleet of couriers reporting through a day, accelerated, against a real server.

`ontime bench load` starts `ontime serve` on 127.0.0.1 with a temporary SQLite database,
plans a generated day, then plays that day: every courier sends, in the order of the day,
positions along their route (every `--position-every` simulated minutes) and a completion
for each stop, as their own courier key, one request at a time (a phone waits for its
answer); a few couriers also report a delay. Simulated time runs `--speedup` times faster
than the wall clock; each event carries its simulated `at`. The run is bounded by
`--max-events` and `--max-seconds` and stops by itself.

Reported per event type: count, errors, p50/p95/p99/max latency (send to answer), plus the
throughput and how far behind schedule the couriers fell (a sign the server was saturated).
Positions and completions are also split by the server's `Server-Timing` answer: re-timed
only, or re-optimized because they put a window newly at risk (a courier running late).
Goals (BENCHMARKS.md 2): zero errors; a position or completion that puts no window at risk
p95 <= 50 ms; delay p95 <= 1 s at 200 stops (<= 2 s at 1000), and so for a position or
completion that needed the same re-optimization.

`--replicas N` plays each day twice on a PostgreSQL database of its own (created and dropped
on the server `--pg-url` names): once against one server, once against N replicas with every
request sent to the next replica in turn (a round-robin load balancer). It also reads what
each event cost: database transactions and rows written (`pg_stat_database`), WAL bytes,
the state's size, and the servers' CPU seconds (their process groups, solver workers
included). Results go to `load_replicas.md`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from sqlalchemy import create_engine, text

from api.server_process import ServerProcess, running_server, server_env
from api.store.scratch import DEFAULT_PG_ADMIN_URL, scratch_database
from benchmarks.command import run

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "load.md"
RESULTS_REPLICAS = ROOT / "benchmarks" / "results" / "load_replicas.md"
DAY = "2026-11-26"
KEYS: dict[str, str] = {
    "dispatcher": "bench-dispatcher-key",
    "planner": "bench-planner-key",
    "service": "bench-service-key",
}


def courier_key(courier_id: str) -> str:
    return f"bench-courier-{courier_id}"


def key_spec(courier_ids: list[str]) -> str:
    """Keys for the three office roles and one per courier (`ONTIME_API_KEYS`)."""
    return ",".join(
        [f"{role}:{key}" for role, key in KEYS.items()] + [f"courier:{c}:{courier_key(c)}" for c in courier_ids]
    )


ROUTINE_GOAL_MS = 50.0
"""A position or completion that puts no window at risk (BENCHMARKS.md 2)."""


def search_goal_ms(stops: int) -> float:
    """A delay, or any report whose answer needed a re-optimization (BENCHMARKS.md 2)."""
    return 1000.0 if stops <= 200 else 2000.0


# -- a server of its own ---------------------------------------------------------------------


@contextmanager
def serve(
    courier_ids: list[str],
    env: dict[str, str] | None = None,
    log: Path | None = None,
    profile: Path | None = None,
    database_url: str | None = None,
) -> Iterator[str]:
    """`ontime serve` from this checkout on a free loopback port and a fresh SQLite file (or
    `database_url`); with `profile`, py-spy samples the server (raw collapsed stacks) until the
    block ends."""
    folder = Path(tempfile.mkdtemp(prefix="ontime-bench-"))
    url = database_url or f"sqlite:///{folder / 'ontime.sqlite'}"
    full_env = server_env(url, key_spec(courier_ids), **(env or {}))
    # solver workers outlive a stopped server while they finish a task: stopping it ends its process group
    with running_server(full_env, log or folder / "server.log", timeout_s=90) as server:
        sampler: subprocess.Popen[bytes] | None = None
        if profile is not None and server.process is not None:
            spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            command = [spy, "record", "-p", str(server.process.pid), "-f", "raw", "-o", str(profile)]
            sampler = subprocess.Popen(
                [*command, "-r", "100", "--idle"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        try:
            yield server.url
        finally:
            if sampler is not None:
                sampler.send_signal(signal.SIGINT)
                with suppress(subprocess.TimeoutExpired):
                    sampler.wait(30)


@contextmanager
def serve_replicas(courier_ids: list[str], replicas: int, database_url: str) -> Iterator[list[ServerProcess]]:
    """`replicas` servers from this checkout on one database, each on a free loopback port with
    a name of its own (`ONTIME_REPLICA_ID`), all stopped when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="ontime-bench-"))
    with ExitStack() as stack:
        servers = []
        for k in range(replicas):
            env = server_env(database_url, key_spec(courier_ids), ONTIME_REPLICA_ID=f"bench-r{k}")
            servers.append(stack.enter_context(running_server(env, folder / f"server-{k}.log", timeout_s=90)))
        yield servers


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of the processes in process group `pgid` (a server and its
    solver workers), their children that ended included, from /proc; 0 where /proc is not there."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after the name: state, ppid, pgrp, ... utime, stime, cutime, cstime
            total += sum(int(f) for f in fields[11:15]) / tick
    return total


def database_counters(url: str) -> dict[str, float]:
    """This database's committed transactions and rows written so far, and the server's WAL
    position (bytes)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted, "
                    "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') "
                    "FROM pg_stat_database WHERE datname = current_database()"
                )
            ).one()
            state = conn.execute(text("SELECT max(octet_length(CAST(state AS text))) FROM plans")).scalar()
    finally:
        engine.dispose()
    return {"commits": float(row[0]), "rows": float(row[1]), "wal": float(row[2]), "state_bytes": float(state or 0)}


def wait_json(method: str, url: str, key: str, body: Any = None) -> Any:
    answer = httpx.request(method, url, json=body, headers={"X-API-Key": key}, timeout=120)
    answer.raise_for_status()
    return answer.json()


def solved_plan(url: str, day: dict[str, Any], time_limit_s: float) -> dict[str, Any]:
    """Plan `day` on the server and wait for it."""
    created = wait_json("POST", f"{url}/v1/plans", KEYS["dispatcher"], {"problem": day, "time_limit_s": time_limit_s})
    deadline = time.monotonic() + time_limit_s * 3 + 120
    while time.monotonic() < deadline:
        plan: dict[str, Any] = wait_json("GET", f"{url}/v1/plans/{created['id']}", KEYS["dispatcher"])
        if plan["status"] == "solved":
            return plan
        if plan["status"] == "failed":
            raise RuntimeError(f"the plan failed: {plan.get('error')}")
        time.sleep(0.5)
    raise RuntimeError("the plan was not solved in time")


def generated_day(stops: int, couriers: int, seed: int = 11) -> dict[str, Any]:
    from scenarios.generate import generate_day

    return generate_day(stops, couriers, seed=seed, date=DAY)


# -- the simulated day -------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Report:
    at: datetime
    courier_id: str
    body: dict[str, Any] = field(compare=False)


def route_reports(
    courier_id: str,
    visits: list[dict[str, Any]],
    stops: dict[str, dict[str, Any]],
    *,
    start_at: datetime,
    start_from: tuple[float, float],
    every: timedelta,
    phase: timedelta,
    label: str,
    delay: tuple[int, float] | None = None,
) -> list[Report]:
    """A courier's reports along `visits` from `start_at`: a position every `every` on the way
    to each stop (starting `phase` after leaving), its completion at the planned departure, and
    optionally a delay (visit index, minutes) on arriving at one of them."""
    out: list[Report] = []

    def add(at: datetime, body: dict[str, Any]) -> None:
        event_id = f"{courier_id}-{label}{len(out) + 1}"
        out.append(
            Report(at, courier_id, {"event_id": event_id, "courier_id": courier_id, "at": at.isoformat(), **body})
        )

    here, clock = start_from, start_at
    for k, visit in enumerate(visits):
        stop = stops[visit["stop_id"]]
        eta = max(datetime.fromisoformat(visit["eta"]), clock)
        leg = max((eta - clock).total_seconds(), 1.0)
        t = clock + phase
        while t < eta:
            f = (t - clock).total_seconds() / leg
            lat = here[0] + (stop["lat"] - here[0]) * f
            lon = here[1] + (stop["lon"] - here[1]) * f
            add(t, {"type": "position", "lat": round(lat, 6), "lon": round(lon, 6)})
            t += every
        if delay is not None and k == delay[0]:
            add(eta, {"type": "delay", "delay_min": delay[1], "reason": "bench"})
        done = datetime.fromisoformat(visit["departure"]) if visit.get("departure") else eta
        add(max(done, eta), {"type": "stop_completed", "stop_id": visit["stop_id"]})
        here, clock = (stop["lat"], stop["lon"]), max(done, eta)
    return out


@dataclass(frozen=True)
class Fleet:
    """What a courier's phone knows to re-plan its own reports when its route changes."""

    stops: dict[str, dict[str, Any]]
    every: timedelta
    phase: dict[str, timedelta]


def day_reports(
    plan: dict[str, Any], day: dict[str, Any], *, position_every_min: float, delays: int, seed: int
) -> tuple[dict[str, list[Report]], Fleet]:
    """Each courier's reports in day order: positions on the way to each stop, its completion,
    and for `delays` couriers a delay (30-60 min) at a stop in the first half of their route."""
    rng = random.Random(seed)
    stops = {s["id"]: s for s in day["stops"]}
    depot = (day["depots"][0]["lat"], day["depots"][0]["lon"])
    routes = {r["courier_id"]: r for r in plan["routes"]}
    busy = [cid for cid, r in routes.items() if r["visits"]]
    delayed = set(rng.sample(busy, min(delays, len(busy))))
    every = timedelta(minutes=position_every_min)
    fleet = Fleet(stops, every, {c["id"]: every * rng.random() for c in day["couriers"]})  # phones not in step
    reports: dict[str, list[Report]] = {}
    for courier in day["couriers"]:
        cid = courier["id"]
        route = routes.get(cid)
        visits = route["visits"] if route else []
        if not visits:  # an idle courier still reports where they are, through their shift
            clock = datetime.fromisoformat(courier["shift_start"]) + fleet.phase[cid]
            end = datetime.fromisoformat(courier["shift_end"])
            idle: list[Report] = []
            while clock < end:
                body = {"event_id": f"{cid}-{len(idle) + 1}", "courier_id": cid, "at": clock.isoformat()}
                idle.append(Report(clock, cid, {**body, "type": "position", "lat": depot[0], "lon": depot[1]}))
                clock += every
            reports[cid] = idle
            continue
        delay = (rng.randrange(max(1, len(visits) // 2)), rng.choice([30, 45, 60])) if cid in delayed else None
        start = (
            datetime.fromisoformat(route["start"])
            if route and route.get("start")
            else datetime.fromisoformat(courier["shift_start"])
        )
        reports[cid] = route_reports(
            cid,
            visits,
            stops,
            start_at=start,
            start_from=depot,
            every=every,
            phase=fleet.phase[cid],
            label="",
            delay=delay,
        )
    return reports, fleet


@dataclass
class Sample:
    type: str
    latency_s: float
    status: int
    lag_s: float
    error: str = ""
    path: str = ""
    """How the server reached its answer (`Server-Timing`): retimed, reoptimized or repeated."""
    server_s: float = float("nan")
    """The server's own time for it (`Server-Timing` dur): the rest is HTTP and waiting."""
    detail: str = ""
    """What the server said of a refused report."""


def server_timing(header: str) -> tuple[str, float]:
    """`retimed;dur=12.5` -> ("retimed", 0.0125): the answer's path and server seconds."""
    path, _, rest = header.partition(";")
    duration = rest.removeprefix("dur=")
    try:
        return path, float(duration) / 1000
    except ValueError:
        return path, float("nan")


async def play(
    urls: list[str],
    plan_id: str,
    reports: dict[str, list[Report]],
    fleet: Fleet,
    *,
    speedup: float,
    max_events: int,
    max_seconds: float,
) -> tuple[list[Sample], float]:
    """Send every courier's reports on the accelerated clock; returns samples and wall seconds.
    A courier whose route changed fetches it and reports along the new one from then on. Each
    request goes to the next of `urls` in turn (one server, or replicas behind a round-robin)."""
    everything = sorted(r for rs in reports.values() for r in rs)[:max_events]
    if not everything:
        return [], 0.0
    first = everything[0].at
    last = everything[-1].at
    wanted: dict[str, list[Report]] = {}
    for r in everything:
        wanted.setdefault(r.courier_id, []).append(r)
    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=len(wanted) + 4, max_keepalive_connections=len(wanted) + 4)
    turn = itertools.count()

    def next_url() -> str:
        return urls[next(turn) % len(urls)]

    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        began = time.perf_counter()
        stop_at = began + max_seconds

        async def courier(cid: str, mine: list[Report]) -> None:
            headers = {"X-API-Key": courier_key(cid)}
            queue = list(reversed(mine))
            here: tuple[float, float] | None = None
            replans = 0
            while queue:
                report = queue.pop()
                if report.at > last:
                    return
                due = began + (report.at - first).total_seconds() / speedup
                now = time.perf_counter()
                if due > stop_at or now > stop_at:
                    return
                if due > now:
                    await asyncio.sleep(due - now)
                sent = time.perf_counter()
                error = path = detail = ""
                server_s = float("nan")
                try:
                    answer = await client.post(
                        f"{next_url()}/v1/plans/{plan_id}/events", json=report.body, headers=headers
                    )
                    status = answer.status_code
                    path, server_s = server_timing(answer.headers.get("server-timing", ""))
                    if status != 200:
                        said = answer.json().get("error", {})
                        error = f"{status} {said.get('code', '')}".strip()
                        detail = str(said.get("message", ""))[:160]
                except httpx.HTTPError as exc:
                    status, error = 0, type(exc).__name__
                latency = time.perf_counter() - sent
                samples.append(Sample(report.body["type"], latency, status, sent - due, error, path, server_s, detail))
                body = report.body
                if "lat" in body:
                    here = (body["lat"], body["lon"])
                elif body.get("stop_id") in fleet.stops:
                    here = (fleet.stops[body["stop_id"]]["lat"], fleet.stops[body["stop_id"]]["lon"])
                if status != 200 or cid not in answer.json()["changed_routes"] or here is None:
                    continue
                # the phone shows the new route: report along it from now on (a pending delay stays)
                route = await client.get(f"{next_url()}/v1/plans/{plan_id}/couriers/{cid}/route", headers=headers)
                if route.status_code != 200:
                    continue
                replans += 1
                planned = [v for v in route.json()["visits"] if v.get("status", "planned") == "planned"]
                kept = [r for r in queue if r.body["type"] == "delay"]
                fresh = route_reports(
                    cid,
                    planned,
                    fleet.stops,
                    start_at=report.at,
                    start_from=here,
                    every=fleet.every,
                    phase=fleet.phase[cid],
                    label=f"r{replans}-",
                )
                queue = sorted([r for r in fresh if r.at > report.at] + kept, reverse=True)

        await asyncio.gather(*(courier(cid, mine) for cid, mine in wanted.items()))
        return samples, time.perf_counter() - began


# -- figures ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


SPLIT = {"retimed": "re-timed only", "reoptimized": "re-optimized"}
"""The rows positions and completions are split into, by the server's answer path."""


def summary(samples: list[Sample], wall_s: float, stops: int = 200) -> list[dict[str, Any]]:
    """A row per event type, with its goal; positions and completions that needed a
    re-optimization as well as ones that did not get rows of their own, each with its goal."""
    groups: list[tuple[str, list[Sample], float | None]] = []
    for kind in ("position", "stop_completed"):
        mine = [s for s in samples if s.type == kind]
        split = {path: [s for s in mine if s.path == path] for path in SPLIT}
        if not split["reoptimized"]:
            groups.append((kind, mine, ROUTINE_GOAL_MS))
            continue
        groups.append((kind, mine, None))
        groups.append((f"{kind}: {SPLIT['retimed']}", split["retimed"], ROUTINE_GOAL_MS))
        groups.append((f"{kind}: {SPLIT['reoptimized']}", split["reoptimized"], search_goal_ms(stops)))
    groups.append(("delay", [s for s in samples if s.type == "delay"], search_goal_ms(stops)))
    groups.append(("all", samples, None))
    rows = []
    for kind, mine, goal in groups:
        ok = [s.latency_s * 1000 for s in mine if s.status == 200]
        rows.append(
            {
                "type": kind,
                "goal_ms": goal,
                "events": len(mine),
                "errors": sum(1 for s in mine if s.status != 200),
                "error_statuses": ", ".join(
                    f"{error}: {n}" for error, n in sorted(Counter(s.error for s in mine if s.status != 200).items())
                ),
                "p50_ms": percentile(ok, 50),
                "p95_ms": percentile(ok, 95),
                "p99_ms": percentile(ok, 99),
                "max_ms": max(ok, default=float("nan")),
                "server_p95_ms": percentile([s.server_s * 1000 for s in mine if s.status == 200 and s.path], 95),
                "per_s": len(ok) / wall_s if wall_s else 0.0,
                "lag_p95_s": percentile([s.lag_s for s in mine], 95),
            }
        )
    return rows


def run_context(command: str, began: str) -> dict[str, str]:
    """Command, date, commit, machine, and what else was using the CPU."""
    from benchmarks.provenance import commit, machine

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "command": f"`{command}`",
        "date": began,
        "commit": commit(),
        "machine": f"{machine()}, {memory_gib:.0f} GiB",
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "other processes at start": busy_processes(),
    }


def busy_processes(threshold: float = 20.0) -> str:
    """Other processes using the CPU (name and share only), to say what the figures shared the machine with."""
    try:
        text = subprocess.run(["ps", "-eo", "pcpu,pid,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    busy = []
    for line in text.splitlines()[1:]:
        parts = line.split(None, 2)
        if len(parts) == 3 and float(parts[0]) >= threshold and int(parts[1]) != os.getpid():
            busy.append(f"{parts[2]} {float(parts[0]):.0f}%")
    return ", ".join(busy[:6]) or "none over 20% CPU"


@dataclass(frozen=True)
class Scenario:
    stops: int
    couriers: int
    speedup: float
    position_every_min: float = 10.0
    delays: int = 5
    time_limit_s: float = 10.0
    max_events: int = 20_000
    max_seconds: float = 180.0
    seed: int = 11
    profile: Path | None = None
    replicas: int = 0
    """0: one server on a SQLite file; N: N servers on one PostgreSQL database."""


def run_scenario(scenario: Scenario, progress: bool = True, pg_url: str = DEFAULT_PG_ADMIN_URL) -> dict[str, Any]:
    day = generated_day(scenario.stops, scenario.couriers, scenario.seed)
    couriers = [c["id"] for c in day["couriers"]]
    if not scenario.replicas:
        with serve(couriers, profile=scenario.profile) as url:
            return play_day(scenario, day, [url], progress)
    with scratch_database(pg_url, "ontime_bench") as database:
        url = database.render_as_string(hide_password=False)
        with serve_replicas(couriers, scenario.replicas, url) as servers:
            groups = [server.process.pid for server in servers if server.process is not None]
            return play_day(scenario, day, [server.url for server in servers], progress, url, groups)


def play_day(
    scenario: Scenario,
    day: dict[str, Any],
    urls: list[str],
    progress: bool,
    database_url: str | None = None,
    groups: list[int] | None = None,
) -> dict[str, Any]:
    """Plan `day` on the first server, play it on all of them; the figures. With a PostgreSQL
    `database_url`, also what the played day wrote to it, and with the servers' process
    `groups` the CPU they spent on it (the day's solve not counted)."""
    url = urls[0]
    plan = solved_plan(url, day, scenario.time_limit_s)
    reports, fleet = day_reports(
        plan,
        day,
        position_every_min=scenario.position_every_min,
        delays=scenario.delays,
        seed=scenario.seed,
    )
    active = sum(1 for rs in reports.values() if rs)
    if progress:
        total = sum(len(rs) for rs in reports.values())
        print(f"load: {scenario.stops} stops, {active} couriers reporting, {total} reports", flush=True)
    before = database_counters(database_url) if database_url else {}
    cpu_before = sum(group_cpu_s(g) for g in groups or ())
    samples, wall = asyncio.run(
        play(
            urls,
            plan["id"],
            reports,
            fleet,
            speedup=scenario.speedup,
            max_events=scenario.max_events,
            max_seconds=scenario.max_seconds,
        )
    )
    final = wait_json("GET", f"{url}/v1/plans/{plan['id']}", KEYS["dispatcher"])
    after = database_counters(database_url) if database_url else {}
    cpu = sum(group_cpu_s(g) for g in groups or ()) - cpu_before
    return {
        "cpu_s": cpu if groups else float("nan"),
        "written": {k: after[k] - before[k] for k in ("commits", "rows", "wal")} if after else {},
        "state_bytes": after.get("state_bytes", 0.0),
        "scenario": scenario,
        "rows": summary(samples, wall, scenario.stops),
        "refused": Counter(f"{s.type}: {s.error}: {s.detail}" for s in samples if s.status != 200).most_common(5),
        "wall_s": wall,
        "couriers_reporting": active,
        "routes_used": sum(1 for r in plan["routes"] if r["visits"]),
        "late_stops_after": final["kpis"]["late_stops"],
        "plan_version_after": final["version"],
    }


LIBRARY_FRAMES = (
    "JSONDecoder.decode",
    "JSONEncoder.encode",
    "SessionTransaction.commit",
    "Condition.wait",
    "Future.result",
    "Lock.acquire",
)
"""Library frames worth naming among the project's own: JSON, commits, waits."""


SERVICE_ENTRY = "post_event (api/plans/service.py:"
"""The service's event entry in a py-spy frame (py-spy versions differ on naming the class)."""


def where_time_goes(profile: Path, top: int = 16) -> list[str]:
    """From py-spy's raw stacks (with idle samples): where event requests spend their wall time,
    inclusive, as a share of all samples inside `PlanService.post_event`; waiting shows as lock and
    future frames (the wait for a plan's turn at the router's gate is not in any thread's stack)."""
    counts: Counter[str] = Counter()
    total = 0
    for line in profile.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if SERVICE_ENTRY not in stack or not n.isdigit():
            continue
        frames = stack.split(";")
        start = max(i for i, f in enumerate(frames) if SERVICE_ENTRY in f)
        total += int(n)
        seen = set()
        for frame in frames[start:]:
            name, _, where = frame.partition(" (")
            module = where.split(":")[0].removesuffix(".py").replace("/", ".")
            for root in ("api.", "optimizer.", "sqlalchemy.", "json.", "threading", "concurrent."):
                if root in module:
                    module = module[module.index(root) :]
                    break
            key = f"{module}.{name}"
            if not key.startswith(("api.", "optimizer.")) and not key.endswith(LIBRARY_FRAMES):
                continue
            if key not in seen:
                seen.add(key)
                counts[key] += int(n)
    if not total:
        return []
    rows = ["| share of event time | where |", "| ---: | --- |"]
    rows += [f"| {100 * n / total:.1f}% | `{key}` |" for key, n in counts.most_common(top)]
    return rows


def markdown(results: list[dict[str, Any]], context: dict[str, str], note: str = "") -> str:
    lines = ["# Load: a simulated day through the HTTP API", ""]
    lines += [f"- {k}: {v}" for k, v in context.items()]
    if note:
        lines += [f"- note: {note}"]
    lines += [
        "",
        "Each courier sends its reports one at a time with its own key; latency is from send to answer;",
        "server p95 is the server's own time (`Server-Timing`), without HTTP and the wait for a worker thread.",
        "Goals (BENCHMARKS.md 2): zero errors; a position or completion that puts no window at risk p95 <= 50 ms;",
        "a delay p95 <= 1 s at 200 stops and <= 2 s at 1000, and so for a report that needed the same re-optimization.",
        "The server says which reports were re-timed only and which were re-optimized (`Server-Timing`).",
    ]
    if any(r["scenario"].replicas > 1 for r in results):
        lines += [
            "With replicas, each request goes to the next replica in turn (a round-robin load balancer) and all",
            "share one PostgreSQL database and this machine's cores: on two cores the point is that answers stay",
            "right and do not collapse, not that they get faster (one plan's reports take turns whatever serves them).",
        ]
    for result in results:
        sc: Scenario = result["scenario"]
        where = f", {sc.replicas} replica{'s' if sc.replicas > 1 else ''} on PostgreSQL" if sc.replicas else ""
        lines += [
            "",
            f"## {sc.stops} stops, {sc.couriers} couriers, x{sc.speedup:g}{where}",
            "",
            f"{result['couriers_reporting']} couriers reporting ({result['routes_used']} with stops), "
            f"simulated time x{sc.speedup:g}, a position every {sc.position_every_min:g} simulated min, "
            f"{sc.delays} delays; {result['wall_s']:.0f} s of wall time; after the day: plan version "
            f"{result['plan_version_after']}, {result['late_stops_after']} late stops.",
            "",
            "| event | count | errors | p50 ms | p95 ms | p99 ms | max ms | server p95 ms | ok/s "
            "| behind schedule p95 s | goal |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for row in result["rows"]:
            goal = row["goal_ms"]
            verdict = ""
            if goal is not None and row["events"]:
                met = row["p95_ms"] <= goal and row["errors"] == 0
                verdict = f"p95 <= {goal:g} ms: {'met' if met else 'MISSED'}"
            errors = f"{row['errors']} ({row['error_statuses']})" if row["errors"] else "0"
            lines.append(
                f"| {row['type']} | {row['events']} | {errors} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} "
                f"| {row['p99_ms']:.1f} | {row['max_ms']:.1f} | {row['server_p95_ms']:.1f} | {row['per_s']:.1f} "
                f"| {row['lag_p95_s']:.2f} "
                f"| {verdict} |"
            )
        if result.get("refused"):
            lines += ["", "Refused (most common): " + "; ".join(f"{n} x {why}" for why, n in result["refused"]) + "."]
        if result.get("written"):
            lines += ["", costs(result)]
        if sc.profile is not None and sc.profile.exists():
            lines += ["", f"Where the time goes (py-spy, {sc.profile.name}):", "", *where_time_goes(sc.profile)]
    return "\n".join(lines) + "\n"


def costs(result: dict[str, Any]) -> str:
    """What one acknowledged event cost, from the database's counters and the servers' CPU."""
    ok = sum(row["events"] - row["errors"] for row in result["rows"] if row["type"] == "all")
    if not ok:
        return "No event was acknowledged."
    written = result["written"]
    return (
        f"Per acknowledged event ({ok}): {written['commits'] / ok:.1f} database transactions, "
        f"{written['rows'] / ok:.1f} rows written, {written['wal'] / ok / 1024:.0f} KiB of WAL, "
        f"{result.get('cpu_s', float('nan')) / ok * 1000:.0f} ms of server CPU (all replicas and their "
        f"solver workers); the plan's state is {result['state_bytes'] / 1024:.0f} KiB."
    )


def main(
    scenarios: list[Scenario], out: Path | None, note: str, command: str, pg_url: str = DEFAULT_PG_ADMIN_URL
) -> list[dict[str, Any]]:
    began = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    context = run_context(command, began)
    results = [run_scenario(s, pg_url=pg_url) for s in scenarios]
    context["load average at end (1/5/15 min)"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    text = markdown(results, context, note)
    target = out or (RESULTS_REPLICAS if any(s.replicas for s in scenarios) else RESULTS)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(text)
    return results


def cli(
    stops: Annotated[int, typer.Option("--stops", min=1, max=5000, help="stops of the generated day")] = 200,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500)] = 100,
    speedup: Annotated[float, typer.Option("--speedup", min=1, help="simulated seconds per wall second")] = 150,
    position_every: Annotated[float, typer.Option("--position-every", min=0.5, help="simulated minutes")] = 15,
    delays: Annotated[int, typer.Option("--delays", min=0, help="couriers that report a delay")] = 5,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.5, help="seconds to plan the day")] = 10,
    max_events: Annotated[int, typer.Option("--max-events", min=1)] = 20_000,
    max_seconds: Annotated[float, typer.Option("--max-seconds", min=1, help="wall seconds of the day at most")] = 300,
    also: Annotated[
        str,
        typer.Option("--also", help=r"more days, STOPSxCOURIERS\[@SPEEDUP] comma-separated, e.g. 1000x100@60"),
    ] = "",
    seed: Annotated[int, typer.Option("--seed")] = 11,
    note: Annotated[str, typer.Option("--note", help="what else ran on the machine, for the results")] = "",
    profile: Annotated[
        Path | None, typer.Option("--profile", help="a folder: py-spy samples the server of each day there")
    ] = None,
    replicas: Annotated[
        int,
        typer.Option(
            "--replicas",
            min=0,
            max=16,
            help="N: play each day on PostgreSQL against one server, then against N replicas (round-robin)",
        ),
    ] = 0,
    pg_url: Annotated[
        str, typer.Option("--pg-url", help="PostgreSQL server (admin URL) for --replicas; a database is made there")
    ] = DEFAULT_PG_ADMIN_URL,
    out: Annotated[
        Path | None, typer.Option("--out", help="default benchmarks/results/load.md (load_replicas.md with --replicas)")
    ] = None,
) -> None:
    """A fleet reports through an accelerated day on a loopback server; latency per event type."""
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    days = [(stops, couriers, speedup)]
    for extra in (part for part in also.split(",") if part):
        size, _, pace = extra.partition("@")
        n, c = (int(x) for x in size.split("x"))
        days.append((n, c, float(pace) if pace else speedup))
    scenarios = [
        Scenario(
            n,
            c,
            pace,
            position_every,
            delays,
            time_limit,
            max_events,
            max_seconds,
            seed,
            profile / f"load-{n}x{c}-x{pace:g}.txt" if profile else None,
            servers,
        )
        for n, c, pace in days
        for servers in ((1, replicas) if replicas > 1 else (replicas,))
    ]
    main(scenarios, out, note, " ".join(["ontime bench load", *sys.argv[1:]]), pg_url)


if __name__ == "__main__":
    run(cli, "load")
