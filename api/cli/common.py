"""What every `ontime` command shares: the stderr console, one way to fail, a progress bar
over a time limit, the `--engine` option, and reading a day in the wire format.

Command modules import this; it imports none of them (and not the `app`), so the package
reads one way: `api.cli` (the app) -> command modules -> `api.cli.common`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from optimizer.errors import OnTimeError

if TYPE_CHECKING:
    from api.schemas import ProblemIn
    from optimizer.model import Problem
    from optimizer.travel.matrix import TravelSource

err = Console(stderr=True)
"""Progress, messages and errors; stdout holds only a command's result."""

T = TypeVar("T")

EngineOption = Annotated[str, typer.Option("--engine", help="auto, ortools, pyvrp or regions")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `error: message` on stderr and give the exit to raise (`raise fail(...)`).
    The message is plain text: anything in it that looks like Rich markup is printed as is."""
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def read_problem(path: Path, *, name_file: bool = True) -> tuple[ProblemIn, Problem]:
    """A wire problem file (or `{"problem": ...}`) as (ProblemIn, domain Problem); exits on errors.

    Every error names the field; with `name_file` it is also prefixed by the file (`whatif`,
    `report`), as `plan` does only for errors of reading the file."""
    from pydantic import ValidationError

    from api.schemas import ProblemIn

    prefix = f"{path}: " if name_file else ""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        wire = ProblemIn.model_validate(raw.get("problem", raw) if isinstance(raw, dict) else raw)
        return wire, wire.to_domain()
    except (OSError, json.JSONDecodeError) as exc:
        raise fail(f"{path}: {exc}") from None
    except ValidationError as exc:
        raise fail("\n".join(f"{prefix}{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    except OnTimeError as exc:
        raise fail(f"{prefix}{exc}") from None


def figure_text(name: str, value: float) -> str:
    """A plan figure as a table shows it: the on-time rate in per cent, counts whole."""
    if name == "on_time_rate":
        return f"{value * 100:.1f}%"
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"


def with_progress(label: str, limit_s: float, work: Callable[[], T]) -> T:
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


def road_source(name: str | None) -> tuple[TravelSource | None, str | None]:
    """The road source of a map file or embedded map, opened from the cache (`ONTIME_ROAD_CACHE`)."""
    if name is None or name == "straight":
        return None, None
    from api.roads import open_roads
    from api.settings import Settings
    from scenarios.maps import map_file, map_name

    try:
        path = map_file(name)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    settings = Settings()
    err.print(f"road map {path.name} (prepared once, then read from {settings.road_cache})")
    return open_roads(name, settings), map_name(name)
