"""The `ontime` command line (Typer). Solver output goes to stdout; progress to stderr."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from optimizer.errors import OnTimeError

app = typer.Typer(help="OnTime: courier routes that meet every booked window.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (BENCHMARKS.md); results go to benchmarks/results/.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
err = Console(stderr=True)
T = TypeVar("T")

EngineOption = Annotated[str, typer.Option("--engine", help="auto, ortools or pyvrp")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command("solve-instance")
def solve_instance(
    path: Annotated[Path, typer.Argument(help="Solomon-format VRPTW instance file")],
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, max=3600, help="seconds")],
    engine: EngineOption = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Solve a classic VRPTW instance; print one JSON object (CONTRACTS.md 2)."""
    began = time.perf_counter()
    from optimizer.engines import solve
    from optimizer.instances import read_instance
    from optimizer.params import SolveParams
    from optimizer.travel.euclidean import EuclideanSource

    if engine not in ("auto", "ortools", "pyvrp"):
        raise _fail(f"--engine must be auto, ortools or pyvrp, not {engine!r}")
    try:
        instance = read_instance(path)
        problem = instance.to_problem()
        matrix = EuclideanSource().matrix(problem)
        budget = max(time_limit - (time.perf_counter() - began) - 0.1, 0.1)
        solution = solve(problem, matrix, SolveParams(time_limit_s=budget, engine=engine, seed=seed))  # type: ignore[arg-type]
    except OnTimeError as exc:
        raise _fail(str(exc)) from None
    routes = [[int(s) for s in r.stop_ids] for r in solution.used_routes]
    print(
        json.dumps(
            {
                "instance": instance.name,
                "routes": routes,
                "vehicles": len(routes),
                "distance": round(instance.distance(routes), 6),
                "engine": solution.engine,
                "runtime_s": round(time.perf_counter() - began, 3),
            }
        )
    )
    problems = instance.violations(routes)
    if solution.unassigned or problems:
        err.print(f"[yellow]no feasible plan: {len(solution.unassigned)} customers unassigned[/yellow]")
        for problem_text in problems[:5]:
            err.print(f"  {problem_text}")
        raise typer.Exit(1)


@app.command()
def plan(
    problem_path: Annotated[Path, typer.Argument(help="problem JSON (CONTRACTS.md 3), or {'problem': ...}")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="write the plan JSON here (default stdout)")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, max=3600)] = 10.0,
    engine: EngineOption = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Plan a day from a problem in the wire format; write routes, ETAs and KPIs."""
    from pydantic import ValidationError

    from api.schemas import ProblemIn, kpis_out, route_out
    from optimizer.params import SolveParams
    from optimizer.plan import plan_day

    try:
        raw = json.loads(problem_path.read_text())
        wire = ProblemIn.model_validate(raw.get("problem", raw) if isinstance(raw, dict) else raw)
        problem = wire.to_domain()
    except (OSError, json.JSONDecodeError) as exc:
        raise _fail(f"{problem_path}: {exc}") from None
    except ValidationError as exc:
        raise _fail("\n".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    except OnTimeError as exc:
        raise _fail(str(exc)) from None
    params = SolveParams(time_limit_s=time_limit, engine=engine, seed=seed)  # type: ignore[arg-type]
    result = _with_progress(f"planning {len(problem.stops)} stops", time_limit, lambda: plan_day(problem, params))
    day = wire.day_start
    document = {
        "name": problem.name,
        "engine": result.solution.engine,
        "routes": [route_out(day, r).model_dump(mode="json") for r in result.schedule.routes],
        "unassigned": [{"stop_id": u.stop_id, "reason": u.reason} for u in result.solution.unassigned],
        "kpis": kpis_out(problem, result.schedule, result.solution).model_dump(mode="json"),
        "problem": wire.model_dump(mode="json"),  # so `ontime report PLAN.json` needs nothing else
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n")
        kpis = document["kpis"]
        err.print(f"wrote {out}: {kpis}")


def _with_progress(label: str, limit_s: float, work: Callable[[], T]) -> T:
    """Run `work` in a thread with a Rich progress bar over its time limit on a terminal."""
    if not err.is_terminal:
        return work()
    box: dict[str, T | BaseException] = {}

    def target() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(label, total=limit_s)
        began = time.perf_counter()
        thread.start()
        while thread.is_alive():
            thread.join(0.1)
            progress.update(task, completed=min(time.perf_counter() - began, limit_s))
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


@bench_app.command("vrptw")
def bench_vrptw(
    set_name: Annotated[str, typer.Option("--set", help="solomon or homberger_200")] = "solomon",
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1)] = 10.0,
    data: Annotated[Path | None, typer.Option("--data", envvar="ONTIME_VRPTW_DATA")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="solver processes in parallel, one core each")] = 2,
    solvers: Annotated[str, typer.Option("--solvers")] = "ontime,pyvrp,ortools,vroom",
    only: Annotated[str, typer.Option("--only", help="comma-separated instance names")] = "",
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Static plan quality on the classic instances, peers in the same run (BENCHMARKS.md 1)."""
    vrptw = _benchmarks().vrptw
    vrptw.main(set_name, time_limit, data, jobs, solvers.split(","), [o for o in only.split(",") if o], out)


@bench_app.command("live")
def bench_live(
    sizes: Annotated[str, typer.Option("--sizes", help="stops x couriers, comma-separated")] = "200x16,1000x60",
    replan_budget: Annotated[float, typer.Option("--replan-budget", help="answer budget of a delay, s")] = 1.0,
    reference: Annotated[float, typer.Option("--reference", help="budget of the reference re-solve, s")] = 30.0,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Delay, stream and outage latency through a real server, and lateness vs a long re-solve."""
    _benchmarks()
    import benchmarks.live

    parsed = [(int(a), int(b)) for a, b in (part.split("x") for part in sizes.split(",") if part)]
    benchmarks.live.main(parsed, replan_budget, reference, out)


def _benchmarks() -> ModuleType:
    """`benchmarks/` is not installed; it runs from a source checkout."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks").is_dir():
        raise _fail("benchmarks run from a source checkout of OnTime")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import benchmarks
    import benchmarks.vrptw

    return benchmarks


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
) -> None:
    """Start the HTTP API (settings from ONTIME_* variables); stops cleanly on SIGTERM/SIGINT."""
    import uvicorn

    from api.settings import get_settings

    keep_alive = get_settings().keep_alive_s
    uvicorn.run(
        "api.main:create_app", factory=True, host=host, port=port, log_level="info", timeout_keep_alive=keep_alive
    )


@app.command()
def demo(
    serve_: Annotated[bool, typer.Option("--serve", help="start the service with the demo day planned")] = False,
    stops: Annotated[int, typer.Option("--stops", min=1, max=5000)] = 200,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500)] = 16,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.5)] = 10.0,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Generate a realistic day and plan it: print its figures, or (--serve) serve it."""
    import os
    import secrets

    from scenarios.generate import generate_day

    day = generate_day(stops, couriers, seed)
    if not serve_:
        from api.schemas import ProblemIn, kpis_out
        from optimizer.params import SolveParams
        from optimizer.plan import plan_day

        problem = ProblemIn.model_validate(day).to_domain()
        result = _with_progress(
            f"planning {stops} stops", time_limit, lambda: plan_day(problem, SolveParams(time_limit_s=time_limit))
        )
        kpis = kpis_out(problem, result.schedule, result.solution)
        from rich.table import Table

        table = Table(title=f"demo day: {stops} stops, {couriers} couriers (engine {result.solution.engine})")
        for name in ("figure", "value"):
            table.add_column(name)
        for name, value in kpis.model_dump().items():
            table.add_row(name, str(value))
        Console().print(table)
        return

    keys = os.environ.get("ONTIME_API_KEYS", "")
    if not keys:
        first = day["couriers"][0]["id"]
        made = {role: secrets.token_urlsafe(12) for role in ("dispatcher", "planner", "service")}
        made[f"courier:{first}"] = secrets.token_urlsafe(12)
        keys = ",".join(f"{role}:{key}" for role, key in made.items())
        os.environ["ONTIME_API_KEYS"] = keys
    dispatcher = next(part.split(":", 1)[1] for part in keys.split(",") if part.startswith("dispatcher:"))
    base = f"http://{host}:{port}"

    def load_demo() -> None:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        answer = httpx.post(
            f"{base}/v1/plans",
            json={"problem": day, "time_limit_s": time_limit},
            headers={"X-API-Key": dispatcher},
            timeout=30,
        )
        plan_id = answer.json().get("id")
        err.print(f"\n[bold]OnTime demo[/bold] at {base}  console {base}/console  API docs {base}/docs")
        err.print(f"demo plan {plan_id} ({stops} stops, {couriers} couriers) is being solved")
        err.print("API keys (X-API-Key):")
        for part in keys.split(","):
            role, _, key = part.rpartition(":")
            err.print(f"  {role:<14} {key}")

    threading.Thread(target=load_demo, daemon=True).start()
    serve(host, port)


import api.cli_plan_ahead  # noqa: E402, F401  (registers whatif, report, bench whatif, bench traffic)
from api import cli_reliability  # noqa: E402, F401  (registers bench load, bench fuzz)

if __name__ == "__main__":
    app()
