"""The day simulator (`scenarios.simulate`) driven through the service: in this process or
against a real `ontime serve`.

The morning plan is solved once per problem (with a fixed amount of search work, so the same
plan in either mode) in a database of its own; every simulated day then starts from a copy of
that database under its policy's settings, so the policies and the seeds all begin from the
same plan. Re-optimizations stop after a fixed amount of work (`ONTIME_REPLAN_ITERATIONS`) and
background improvement is off: the same seed gives the same figures in process and through
HTTP, however busy the machine is.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from api.main import create_app
from api.schemas import ProblemIn
from api.server_process import running_server, server_env
from api.settings import Settings
from scenarios.simulate import Day, PolicyName, RunFigures, World

Mode = Literal["in-process", "server"]
KEYS = {"dispatcher": "sim-dispatcher-key"}
KEY_SPEC = ",".join(f"{role}:{key}" for role, key in KEYS.items())
DEFAULT_RISK = 0.5
"""The risk threshold `live+risk` runs at unless told (the service's default, `ONTIME_CALL_RISK`)."""


@dataclass(frozen=True, slots=True)
class SimSettings:
    """How the service is run for the simulator."""

    risk: float = DEFAULT_RISK
    plan_iterations: int = 2000
    plan_time_limit_s: float = 120.0
    replan_iterations: int = 200
    extra: tuple[tuple[str, str], ...] = ()
    """More `Settings` fields (name, value) for every run, e.g. the noise model's sigmas."""

    def fields_for(self, policy: PolicyName) -> dict[str, str]:
        """The service's settings (field names) for a policy."""
        return {
            "polish_time_limit_s": "0",
            "replan_iterations": str(self.replan_iterations),
            "replan_time_limit_s": "30",
            "call_risk": str(self.risk if policy == "live+risk" else 0.0),
            **dict(self.extra),
        }


class HttpService:
    """`scenarios.simulate.Service` over an httpx client (a TestClient is one too)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def request(
        self, method: str, path: str, role: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, Any, str | None]:
        answer = self.client.request(method, path, json=body, headers={"X-API-Key": KEYS[role]})
        timing = answer.headers.get("Server-Timing")
        return answer.status_code, answer.json() if answer.content else None, timing.split(";")[0] if timing else None


@contextmanager
def service_on(database: Path, fields: Mapping[str, str], mode: Mode, log: Path | None = None) -> Iterator[HttpService]:
    """The service on the SQLite file `database` with these settings, in `mode`."""
    url = f"sqlite:///{database}"
    if mode == "in-process":
        with warnings.catch_warnings():  # Starlette asks TestClient users to move to httpx2; not for a replay
            warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
            from fastapi.testclient import TestClient

        settings = Settings(database_url=url, api_keys=KEY_SPEC, executor="local", **fields)  # type: ignore[arg-type]
        with TestClient(create_app(settings), raise_server_exceptions=True) as client:
            yield HttpService(client)
        return
    env = server_env(url, KEY_SPEC, **{f"ONTIME_{name.upper()}": value for name, value in fields.items()})
    with (
        running_server(env, log or database.with_suffix(".log")) as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        yield HttpService(client)


def plan_morning(problem: Mapping[str, Any], database: Path, settings: SimSettings, mode: Mode, seed: int = 0) -> str:
    """Solve the day into `database`; the plan's id."""
    with service_on(database, settings.fields_for("live"), mode) as service:
        status, body, _ = service.request(
            "POST",
            "/v1/plans",
            "dispatcher",
            {
                "problem": problem,
                "time_limit_s": settings.plan_time_limit_s,
                "iterations": settings.plan_iterations,
                "seed": seed,
            },
        )
        if status != 202:
            raise RuntimeError(f"the plan was refused ({status}): {body}")
        plan_id = str(body["id"])
        deadline = time.monotonic() + settings.plan_time_limit_s * 2 + 120
        while time.monotonic() < deadline:
            _, plan, _ = service.request("GET", f"/v1/plans/{plan_id}", "dispatcher")
            if plan["status"] == "solved":
                return plan_id
            if plan["status"] == "failed":
                raise RuntimeError(f"the plan failed: {plan.get('error')}")
            time.sleep(0.2)
    raise RuntimeError("the plan was not solved in time")


def simulate(
    problem: Mapping[str, Any],
    policies: Sequence[PolicyName],
    seeds: Sequence[int],
    world: World | None = None,
    *,
    mode: Mode = "in-process",
    settings: SimSettings | None = None,
    keep_timeline: bool = False,
    progress: Callable[[RunFigures], None] | None = None,
) -> list[RunFigures]:
    """Every (seed, policy) day from one morning plan, each on a copy of its database."""
    world = world or World()
    settings = settings or SimSettings()
    domain = ProblemIn.model_validate(problem).to_domain()
    runs: list[RunFigures] = []
    with tempfile.TemporaryDirectory(prefix="ontime-sim-") as folder:
        morning = Path(folder) / "morning.sqlite"
        plan_id = plan_morning(problem, morning, settings, mode)
        for seed in seeds:
            for policy in policies:
                copy = Path(folder) / f"{policy.replace('+', '-')}-{seed}.sqlite"
                shutil.copyfile(morning, copy)
                with service_on(copy, settings.fields_for(policy), mode) as service:
                    risk = settings.risk if policy == "live+risk" else 1.0
                    day = Day(domain, plan_id, service, policy, world, seed, keep_timeline=keep_timeline, risk=risk)
                    figures = day.run()
                copy.unlink()
                runs.append(figures)
                if progress is not None:
                    progress(figures)
    return runs
