"""`ontime bench NAME [OPTIONS]`: run the benchmark module `benchmarks/<module>.py` with the
options given; its options, their help and its results are the benchmark's own
(`ontime bench NAME --help`, ../shared/docs/BENCHMARKS.md).

A benchmark runs as `python -m benchmarks.<module>` in a child process, not imported here:
`benchmarks/` is not installed (it runs from a source checkout), `api` must not import it
(benchmarks import the service, never the other way round), and finding it without editing
`sys.path` is what `python -m` with the checkout on PYTHONPATH does. The child keeps the
caller's working directory (relative `--out` or `--data` paths mean what they meant), shares
the terminal (progress and results print as they come) and owns its servers and solver pools.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import typer

from api.cli.common import fail

CHECKOUT = Path(__file__).resolve().parents[2]
"""The source checkout the installed `api` package lives in (an editable install)."""

BENCHMARKS: dict[str, tuple[str, str]] = {
    "vrptw": ("vrptw", "Static plan quality on the classic instances, peers in the same run (BENCHMARKS.md 1)."),
    "live": ("live", "Delay, stream and outage latency through a real server, and lateness vs a long re-solve."),
    "whatif": (
        "whatif",
        "What-if sweep: local process pool vs Ray, wall time and identical figures (BENCHMARKS.md 3).",
    ),
    "traffic": (
        "traffic_error",
        "Time-of-day traffic: the ETA error engines' time-independent stand-ins leave (exact vs implied).",
    ),
    "load": ("load", "A fleet reports through an accelerated day on a loopback server; latency per event type."),
    "fuzz": ("fuzz", "Schemathesis against a loopback server's own OpenAPI schema, as every role."),
    "calls": ("calls", "Right calls, early: the day simulator over many seeds, three policies (BENCHMARKS.md 6)."),
    "bigday": ("bigday", "City-size days: regions on both cores (local pool, Ray) vs PyVRP on one (BENCHMARKS.md 3)."),
    "roads": ("roads", "Road networks: preparing, loading and matrices on one core; straight-line ETAs against roads."),
}
"""`ontime bench` command -> (module in benchmarks/, one line of help)."""

bench_app = typer.Typer(
    help="Benchmarks (BENCHMARKS.md); results go to benchmarks/results/. `ontime bench NAME --help` for options.",
    no_args_is_help=True,
)


def run_benchmark(module: str, args: list[str]) -> int:
    """Run `benchmarks/<module>.py` with `args` in a child Python; its exit code."""
    if not (CHECKOUT / "benchmarks" / f"{module}.py").is_file():
        raise fail("benchmarks run from a source checkout of OnTime")
    path = os.pathsep.join(p for p in (str(CHECKOUT), os.environ.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen(
        [sys.executable, "-m", f"benchmarks.{module}", *args], env={**os.environ, "PYTHONPATH": path}
    )
    try:
        return child.wait()
    except KeyboardInterrupt:  # the benchmark got the same Ctrl-C: give it time to stop its servers
        try:
            child.wait(30)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            child.kill()
            child.wait()
        return 130


def _forward(module: str) -> Callable[[typer.Context], None]:
    def command(ctx: typer.Context) -> None:
        code = run_benchmark(module, ctx.args)
        if code:
            raise typer.Exit(code)

    return command


# Every option (and --help) goes to the benchmark untouched: it declares and checks its own.
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}

for _name, (_module, _help) in BENCHMARKS.items():
    bench_app.command(_name, help=_help, context_settings=_PASS_THROUGH, add_help_option=False)(_forward(_module))
