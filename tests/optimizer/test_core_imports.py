"""The core stays pure: importing `optimizer` and every submodule loads no web, schema,
database or HTTP library (ARCHITECTURE.md: never FastAPI, pydantic, SQL, HTTP)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BANNED = ("fastapi", "pydantic", "sqlalchemy", "starlette", "httpx")

PROBE = f"""
import importlib, importlib.util, json, pathlib, sys
root = pathlib.Path(importlib.util.find_spec("optimizer").origin).parent  # found, not imported
names = sorted(
    ".".join(("optimizer",) + path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
    for path in root.rglob("*.py")
)
culprits = {{}}
for name in names:
    before = set(sys.modules)
    importlib.import_module(name)
    pulled = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in {BANNED!r})
    if pulled:
        culprits[name] = pulled
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {BANNED!r})
print(json.dumps({{"modules": names, "culprits": culprits, "loaded": loaded}}))
"""


def test_importing_every_optimizer_module_pulls_in_no_web_schema_or_database_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {
        "optimizer",
        "optimizer.engines",
        "optimizer.model",
        "optimizer.schedule",
        "optimizer.plan",
        "optimizer.instances",
        "optimizer.engines.ortools_engine",
        "optimizer.engines.pyvrp_engine",
        "optimizer.travel.graph",
        "optimizer.travel.haversine",
    } <= set(report["modules"])
    assert report["loaded"] == [], f"first importers of {', '.join(BANNED)}: {report['culprits']}"
