"""`ontime solve-instance` on a 1000-customer file finishes within its limit plus 2 s (CONTRACTS.md 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from optimizer.instances import read_instance

pytestmark = pytest.mark.slow


def write_instance(path: Path, customers: int, seed: int) -> None:
    """A Gehring & Homberger-sized instance in Solomon text format (wide windows, feasible)."""
    rng = np.random.default_rng(seed)
    lines = [
        path.stem.upper(),
        "",
        "VEHICLE",
        "NUMBER     CAPACITY",
        "  250         200",
        "",
        "CUSTOMER",
        "CUST NO.   XCOORD.   YCOORD.    DEMAND   READY TIME   DUE DATE   SERVICE TIME",
        " ",
        f"{0:5d} {250:9d} {250:9d} {0:9d} {0:9d} {4000:9d} {0:9d}",
    ]
    for number in range(1, customers + 1):
        x, y = rng.integers(0, 500, size=2)
        ready = int(rng.integers(0, 2500))
        lines.append(f"{number:5d} {x:9d} {y:9d} {int(rng.integers(1, 30)):9d} {ready:9d} {ready + 600:9d} {10:9d}")
    path.write_text("\r\n".join(lines) + "\r\n")


def test_a_1000_customer_instance_is_solved_feasibly_within_the_limit_plus_two_seconds(tmp_path: Path) -> None:
    path = tmp_path / "synthetic_1000.txt"
    write_instance(path, 1000, seed=4)
    limit = 8.0
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "solve-instance", str(path), "--time-limit", str(limit)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    wall = time.perf_counter() - began
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads(proc.stdout)
    instance = read_instance(path)
    assert instance.violations(answer["routes"]) == []
    assert answer["vehicles"] == len(answer["routes"]) <= instance.vehicles
    # The contract is wall time on a core of its own; on an oversubscribed machine the
    # solver's wall-clock budget is shared, so only check the bound when there is room.
    if max(load_before, os.getloadavg()[0]) > 1.5 * (os.cpu_count() or 1):
        pytest.skip(f"machine oversubscribed (load {os.getloadavg()[0]:.1f}); took {wall:.1f} s for {limit} s")
    assert wall <= limit + 2.0, f"took {wall:.1f} s for a {limit} s limit"
