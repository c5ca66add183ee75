"""`ontime bench load` and `ontime bench fuzz`: the reliability benchmarks (benchmarks/load.py,
benchmarks/fuzz.py). Imported once at the end of `api.cli`, which it adds these commands to."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer


def _benchmark(name: str) -> ModuleType:
    """`benchmarks/` is not installed; it runs from a source checkout."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks").is_dir():
        raise typer.BadParameter("benchmarks run from a source checkout of OnTime")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import importlib

    return importlib.import_module(f"benchmarks.{name}")


def bench_load(
    stops: Annotated[int, typer.Option("--stops", min=1, max=5000, help="stops of the generated day")] = 200,
    couriers: Annotated[int, typer.Option("--couriers", min=1, max=500)] = 100,
    speedup: Annotated[float, typer.Option("--speedup", min=1, help="simulated seconds per wall second")] = 150,
    position_every: Annotated[float, typer.Option("--position-every", min=0.5, help="simulated minutes")] = 15,
    delays: Annotated[int, typer.Option("--delays", min=0, help="couriers that report a delay")] = 5,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.5, help="seconds to plan the day")] = 10,
    max_events: Annotated[int, typer.Option("--max-events", min=1)] = 20_000,
    max_seconds: Annotated[float, typer.Option("--max-seconds", min=1, help="wall seconds of the day at most")] = 300,
    also: Annotated[
        str, typer.Option("--also", help="more days, STOPSxCOURIERS[@SPEEDUP] comma-separated, e.g. 1000x100@60")
    ] = "",
    seed: Annotated[int, typer.Option("--seed")] = 11,
    note: Annotated[str, typer.Option("--note", help="what else ran on the machine, for the results")] = "",
    profile: Annotated[
        Path | None, typer.Option("--profile", help="a folder: py-spy samples the server of each day there")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="default benchmarks/results/load.md")] = None,
) -> None:
    """A fleet reports through an accelerated day on a loopback server; latency per event type."""
    load = _benchmark("load")
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    days = [(stops, couriers, speedup)]
    for extra in (part for part in also.split(",") if part):
        size, _, pace = extra.partition("@")
        n, c = (int(x) for x in size.split("x"))
        days.append((n, c, float(pace) if pace else speedup))
    scenarios = [
        load.Scenario(
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
        )
        for n, c, pace in days
    ]
    command = (
        "ontime bench load " + " ".join(sys.argv[3:]) if sys.argv[1:3] == ["bench", "load"] else "ontime bench load"
    )
    load.main(scenarios, out, note, command.strip())


def bench_fuzz(
    max_examples: Annotated[int, typer.Option("--max-examples", min=1, help="per operation, role, mode, ids")] = 50,
    max_seconds: Annotated[float, typer.Option("--max-seconds", min=1)] = 1200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="default benchmarks/results/fuzz.md")] = None,
) -> None:
    """Schemathesis against a loopback server's own OpenAPI schema, as every role."""
    report = _benchmark("fuzz").main(max_examples, max_seconds, seed, out)
    if report.findings:
        raise typer.Exit(1)


def _bench_apps() -> list[typer.Typer]:
    """`api.cli`'s bench group (and `__main__`'s, under `python -m api.cli`), whichever imported us."""
    found: list[typer.Typer] = []
    for name in ("api.cli", "__main__"):
        candidate = getattr(sys.modules.get(name), "bench_app", None)
        if isinstance(candidate, typer.Typer) and all(candidate is not f for f in found):
            found.append(candidate)
    return found


for _bench_app in _bench_apps():
    _bench_app.command("load")(bench_load)
    _bench_app.command("fuzz")(bench_fuzz)
