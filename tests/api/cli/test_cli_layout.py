"""The `ontime` command line as a package: every command listed however it is started, each
`ontime bench NAME` handing its options to `benchmarks/<module>.py`, and imports one way only
(the app imports the command modules; `api` never imports `benchmarks` or `tests`)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli.bench import BENCHMARKS

REPO_ROOT = Path(__file__).resolve().parents[3]
API = REPO_ROOT / "api"
COMMANDS = ("solve-instance", "plan", "serve", "demo", "whatif", "report", "bench")

BENCH_OPTIONS = {
    "bigday": (
        "--sizes",
        "--seed",
        "--pickups",
        "--trips",
        "--reload-min",
        "--executors",
        "--strategies",
        "--iterations",
        "--region-stops",
        "--out",
    ),
    "roads": (
        "--maps",
        "--sizes",
        "--repeats",
        "--stops",
        "--couriers",
        "--seed",
        "--time-limit",
        "--iterations",
        "--parts",
        "--cache-dir",
        "--out",
    ),
    "vrptw": ("--set", "--time-limit", "--data", "--jobs", "--solvers", "--only", "--out"),
    "live": ("--sizes", "--replan-budget", "--reference", "--out"),
    "whatif": ("--stops", "--couriers", "--variants", "--time-limit", "--workers", "--rounds", "--out"),
    "traffic": ("--stops", "--couriers", "--seeds", "--time-limit", "--out"),
    "load": (
        "--stops",
        "--couriers",
        "--speedup",
        "--position-every",
        "--delays",
        "--time-limit",
        "--max-events",
        "--max-seconds",
        "--also",
        "--seed",
        "--note",
        "--profile",
        "--out",
    ),
    "fuzz": ("--max-examples", "--max-seconds", "--seed", "--out"),
    "calls": ("--sizes", "--seeds", "--calm-seeds", "--thresholds", "--sweep-seeds", "--jobs", "--no-lade", "--out"),
}
"""Every `ontime bench` option as README.md and docs/reliability.md name them."""


def ontime(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m api.cli ARGS` from outside the checkout, on a wide plain terminal."""
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def imports_of(path: Path) -> set[str]:
    """The modules a source file imports, at any depth (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def touches_sys_path(path: Path) -> bool:
    """Whether the code (not its prose) uses `sys.path`."""
    nodes = ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    named = [(n.value.id, n.attr) for n in nodes if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)]
    return ("sys", "path") in named


def test_python_m_api_cli_lists_every_command_the_entry_point_does() -> None:
    answer = ontime("--help")
    assert answer.returncode == 0, answer.stderr
    listed = [c for c in COMMANDS if f" {c} " in answer.stdout]
    assert listed == list(COMMANDS), answer.stdout


def test_bench_lists_every_benchmark_and_each_is_a_module_in_benchmarks() -> None:
    answer = ontime("bench", "--help")
    assert answer.returncode == 0, answer.stderr
    for name, (module, _) in BENCHMARKS.items():
        assert f" {name} " in answer.stdout, name
        assert (REPO_ROOT / "benchmarks" / f"{module}.py").is_file(), module
    assert set(BENCHMARKS) == set(BENCH_OPTIONS)


@pytest.mark.parametrize("name", sorted(BENCH_OPTIONS))
def test_bench_help_is_the_benchmarks_own_with_every_documented_option(name: str) -> None:
    answer = ontime("bench", name, "--help")
    assert answer.returncode == 0, answer.stderr
    assert f"Usage: ontime bench {name} [OPTIONS]" in answer.stdout, answer.stdout
    missing = [option for option in BENCH_OPTIONS[name] if option not in answer.stdout]
    assert not missing, f"ontime bench {name} lost {missing}"


def test_a_wrong_bench_option_is_refused_by_the_benchmark_with_its_usage() -> None:
    answer = ontime("bench", "live", "--no-such-option")
    assert answer.returncode == 2
    assert "ontime bench live" in answer.stderr and "--no-such-option" in answer.stderr


def test_api_never_imports_benchmarks_or_tests_nor_uses_sys_path() -> None:
    for path in sorted(API.rglob("*.py")):
        outside = {m for m in imports_of(path) if m.split(".")[0] in ("benchmarks", "tests")}
        assert not outside, f"{path.relative_to(REPO_ROOT)} imports {outside}"
        assert not touches_sys_path(path), f"{path.relative_to(REPO_ROOT)} uses sys.path"


def test_command_modules_import_the_shared_helpers_never_the_app() -> None:
    for path in sorted((API / "cli").glob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        from_cli = {m for m in imports_of(path) if m == "api.cli" or m.startswith("api.cli.")}
        assert from_cli <= {"api.cli.common", "api.cli.variants_file"}, f"{path.name} imports {from_cli}"
