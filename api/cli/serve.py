"""`ontime serve` (the HTTP API, CONTRACTS.md 2) and `ontime demo` (a generated day, planned
and printed, or served with demo keys: `make run`)."""

from __future__ import annotations

import os
import secrets
import threading
from typing import Annotated

import typer
from rich.console import Console

from api.cli.common import err, fail, with_progress


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


def demo(
    serve_: Annotated[bool, typer.Option("--serve", help="start the service with the demo day planned")] = False,
    stops: Annotated[int, typer.Option("--stops", min=1, max=5000)] = 200,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500)] = 16,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.5)] = 10.0,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    city: Annotated[
        str,
        typer.Option(
            "--city",
            help="where the day happens: xuzhou or porto put it on the real streets of an embedded "
            "OpenStreetMap extract and plan on its roads; shanghai (default), beijing, shenzhen, hangzhou "
            "use straight lines",
        ),
    ] = "shanghai",
) -> None:
    """Generate a realistic day and plan it: print its figures, or (--serve) serve it."""
    from scenarios.generate import CITIES, generate_day

    if city not in CITIES:
        raise fail(f"--city {city!r} is not one of {', '.join(sorted(CITIES))}")
    day = generate_day(stops, couriers, seed, city=city)
    source = None
    road_map = CITIES[city].road_map
    if road_map is not None:
        from api.roads import open_roads
        from api.settings import Settings
        from scenarios.maps import ATTRIBUTION, map_file, on_streets

        try:
            path = map_file(road_map)
        except FileNotFoundError as exc:
            raise fail(str(exc)) from None
        err.print(f"road map {path.name} ({ATTRIBUTION}); the first use prepares it, then it is cached")
        source = open_roads(road_map, Settings())
        day = on_streets(day, source) | {"road_map": road_map}
    if not serve_:
        from rich.table import Table

        from api.schemas import ProblemIn, kpis_out
        from optimizer.params import SolveParams
        from optimizer.plan import plan_day

        wire = ProblemIn.model_validate(day)
        problem = wire.to_domain()
        result = with_progress(
            f"planning {stops} stops",
            time_limit,
            lambda: plan_day(problem, SolveParams(time_limit_s=time_limit), source),
        )
        kpis = kpis_out(problem, result.schedule, result.solution, wire)
        table = Table(title=f"demo day: {stops} stops, {couriers} couriers (engine {result.solution.engine})")
        for name in ("figure", "value"):
            table.add_column(name)
        for name, value in kpis.model_dump().items():
            table.add_row(name, str(value))
        Console().print(table)
        return

    if road_map is not None:  # the service this process starts must know the demo's map
        if os.environ.get("ONTIME_ROAD_MAP", road_map) == road_map:
            os.environ["ONTIME_ROAD_MAP"] = road_map
        else:  # it has a map of its own: the demo's is one more it knows
            extra = os.environ.get("ONTIME_ROAD_MAPS", "")
            os.environ["ONTIME_ROAD_MAPS"] = ",".join(filter(None, (extra, f"{road_map}={road_map}")))
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

        from api.server_process import wait_healthy

        wait_healthy(base, timeout_s=60)
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
