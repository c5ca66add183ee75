"""Where the shared data sets live: `$ONTIME_DATA_DIR`, else `../shared/data` beside the project.

Tests, benchmarks and the embedded maps read them there; nothing is copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The data folder: `$ONTIME_DATA_DIR`, else `../shared/data` next to the project's root."""
    configured = os.environ.get("ONTIME_DATA_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[1].parent / "shared" / "data"
