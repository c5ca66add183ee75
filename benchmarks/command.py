"""How a benchmark module runs as `ontime bench NAME`: the CLI starts `python -m
benchmarks.<module> ARGS` (api/cli/bench.py), and the module's `__main__` block hands its
Typer command to `run`, which parses ARGS under the name the user typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer


def run(command: Callable[..., Any], name: str) -> None:
    """Parse `sys.argv` for `command` and call it, as `ontime bench NAME`."""
    app = typer.Typer(add_completion=False)
    app.command(name)(command)
    app(prog_name=f"ontime bench {name}")
