"""The `ontime` command line (Typer). Solver output goes to stdout; progress to stderr.

This module is the command list: the app and which function answers which command. The
commands live one group per module and import only `api.cli.common`, never this module:

    solve_instance.py  `ontime solve-instance` (CONTRACTS.md 2)
    plan.py            `ontime plan`
    serve.py           `ontime serve`, `ontime demo`
    whatif.py          `ontime whatif` (variants files: variants_file.py)
    report.py          `ontime report`
    simulate.py        `ontime simulate` (the day simulator: api/simulation.py)
    bench.py           `ontime bench NAME`: runs benchmarks/NAME.py
"""

from __future__ import annotations

import typer

from api.cli.bench import bench_app
from api.cli.plan import plan
from api.cli.report import report
from api.cli.serve import demo, serve
from api.cli.simulate import simulate
from api.cli.solve_instance import solve_instance
from api.cli.whatif import whatif

app = typer.Typer(help="OnTime: courier routes that meet every booked window.", no_args_is_help=True)
app.command("solve-instance")(solve_instance)
app.command()(plan)
app.command()(serve)
app.command()(demo)
app.command()(whatif)
app.command()(report)
app.command()(simulate)
app.add_typer(bench_app, name="bench")

__all__ = ["app"]
