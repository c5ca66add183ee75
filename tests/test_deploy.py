"""compose.yaml and deploy/ as people who deploy will run them: what they name exists. (Docker
is not run here: no image registry is reachable from the test machine.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_starts_postgres_replicas_a_load_balancer_and_a_ray_head() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "ontime", "nginx", "ray-head"}
    ontime = services["ontime"]
    assert ontime["deploy"]["replicas"] >= 2
    env = ontime["environment"]
    assert env["ONTIME_EXECUTOR"] == "ray" and env["RAY_ADDRESS"].startswith("ray-head:")
    assert (
        env["ONTIME_DATABASE_URL"].startswith("postgresql+psycopg://")
        and "@postgres:5432/" in env["ONTIME_DATABASE_URL"]
    )
    fields = set(Settings.model_fields)
    for name in env:
        if name.startswith("ONTIME_"):
            assert name.removeprefix("ONTIME_").lower() in fields, f"compose.yaml sets {name}, which is no setting"
    assert services["ray-head"]["image"] == ontime["image"]  # Ray's workers run OnTime's code


def test_the_image_serves_on_the_port_nginx_balances_over() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+)", dockerfile, flags=re.MULTILINE):
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is not in the project"
    assert '"--port", "8000"' in dockerfile and '"0.0.0.0"' in dockerfile
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"server ontime:8000 resolve;", nginx)
    mounted = compose()["services"]["nginx"]["volumes"][0].split(":")[0]
    assert (ROOT / mounted).resolve() == (ROOT / "deploy" / "nginx.conf").resolve()
