"""Fixtures of the optimizer tests: where the classic VRPTW instances live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def vrptw_data_dir() -> Path:
    """`$ONTIME_VRPTW_DATA`, else `<repo root>/../shared/data/vrptw` (see its README)."""
    configured = os.environ.get("ONTIME_VRPTW_DATA")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "vrptw"


@pytest.fixture(scope="session")
def vrptw_data() -> Path:
    """The classic VRPTW data folder; tests that need it skip, saying why, when it is absent."""
    path = vrptw_data_dir()
    if not (path / "solomon").is_dir():
        pytest.skip(f"no Solomon instances under {path}; set ONTIME_VRPTW_DATA")
    return path
