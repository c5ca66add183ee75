"""Where a benchmark result comes from: the commit measured and the machine it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commit() -> str:
    """Short HEAD, marked when the measured code had uncommitted changes."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "optimizer", "api", "scenarios"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    dirty = [line[3:] for line in status.splitlines() if line.strip()]
    return (head.stdout.strip() or "unknown") + (f" (uncommitted: {', '.join(dirty)})" if dirty else "")


def machine() -> str:
    """Cores, CPU model, Python and OS."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {platform.system()}"
