"""Contract fuzzing of a live server with schemathesis: no 5xx, every answer as its schema says.

For every operation of the server's own OpenAPI schema, every role's API key and both
generation modes (schema-valid and schema-violating data), schemathesis draws requests;
operations with path parameters are run twice, once with drawn values and once with real
ids (a solved plan, a courier, an open call) so the requests reach past the 404. Every
answer is checked for: no server error, a documented status code, content type and headers,
the response body against its schema, schema-violating data refused with 4xx, and (with a
key) an operation that ignores a missing or wrong key.

`ontime bench fuzz` starts its own server on a temporary SQLite database (loopback only),
plans a small generated day, fuzzes it and writes `benchmarks/results/fuzz.md`.
Bounded: `--max-examples` per (operation, role, mode, ids) and `--max-seconds` in all.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import requests
import typer

from benchmarks.command import run

RESULTS = Path(__file__).resolve().parent / "results" / "fuzz.md"

ROLES = ("dispatcher", "planner", "service", "courier")

PLAN_TIME_LIMIT_CAP_S = 1.0
"""Schema-valid plans may ask for 600 s of solving; capped so the fuzz run stays bounded."""


CHECKED = (
    "no 5xx; documented status, content type, headers; body matches its schema; schema-violating data "
    "refused with 4xx; no operation ignores a missing or wrong key (each request sent twice more); "
    "positive and negative generation, drawn and real path ids"
)


@dataclass(frozen=True)
class Finding:
    operation: str
    role: str
    mode: str
    status: int
    check: str
    detail: str
    curl: str


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped_early: bool = False
    nothing_to_draw: list[str] = field(default_factory=list)

    def unique_findings(self) -> list[Finding]:
        seen: dict[tuple[str, str, int], Finding] = {}
        for f in self.findings:
            seen.setdefault((f.operation, f.check, f.status), f)
        return list(seen.values())


def fuzz(
    base_url: str,
    keys: dict[str, str],
    real_ids: dict[str, str],
    *,
    max_examples: int = 10,
    max_seconds: float = 600,
    seed: int = 0,
    modes: tuple[str, ...] = ("positive", "negative"),
    auth_probes: bool = True,
    progress: Callable[[str], None] | None = None,
) -> FuzzReport:
    """Fuzz every operation at `base_url` for every role in `keys` (role -> API key).

    `real_ids` fills path parameters by name (`plan_id`, `courier_id`, `call_id`) in a second
    pass over each operation that has them. `auth_probes` adds schemathesis' `ignored_auth` check,
    which sends each request twice more, without a key and with a wrong one."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.core.result import Ok
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        ignored_auth,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        negative_data_rejection,
        *([ignored_auth] if auth_probes else []),
    ]
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    report = FuzzReport()
    began = time.monotonic()
    session = requests.Session()

    def make_run(op: str, role: str, key: str, mode: str) -> Callable[[Any], None]:
        def run(case: Any) -> None:
            if op == "POST /v1/plans" and isinstance(case.body, dict):
                limit = case.body.get("time_limit_s")
                if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > 1:
                    case.body["time_limit_s"] = PLAN_TIME_LIMIT_CAP_S
            # keep a key schemathesis left out on purpose (negative mode): the answer must be 401
            headers = {} if schema.is_security_param_negated(case) else {"X-API-Key": key}
            try:
                response = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
            except requests.RequestException as exc:
                report.findings.append(Finding(op, role, mode, 0, "transport", type(exc).__name__, ""))
                return
            report.requests += 1
            report.statuses[response.status_code] += 1
            report.per_operation[op] += 1
            try:
                case.validate_response(
                    response,
                    checks=checks,
                    headers=headers,
                    transport_kwargs={"base_url": base_url, "headers": headers, "session": session},
                )
            except FailureGroup as group:
                for failure in group.exceptions:
                    report.findings.append(
                        Finding(
                            op,
                            role,
                            mode,
                            response.status_code,
                            getattr(failure, "title", type(failure).__name__),
                            str(getattr(failure, "message", failure))[:400],
                            case.as_curl_command(headers={"X-API-Key": "KEY"}),
                        )
                    )

        return run

    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        fills: list[dict[str, str] | None] = [None]
        if names and all(n in real_ids for n in names):
            fills.append({n: real_ids[n] for n in names})
        for role, key in keys.items():
            for mode in modes:
                for fill in fills:
                    if time.monotonic() - began > max_seconds:
                        report.stopped_early = True
                        report.elapsed_s = time.monotonic() - began
                        return report
                    label = f"{operation.label} as {role}, {mode}{', real ids' if fill else ''}"
                    if progress:
                        progress(label)
                    strategy = operation.as_strategy(
                        generation_mode=GenerationMode(mode), path_parameters=fill if fill else None
                    )

                    test = settings(
                        max_examples=max_examples,
                        deadline=None,
                        database=None,
                        phases=[Phase.explicit, Phase.generate],
                        suppress_health_check=list(HealthCheck),
                    )(given(case=strategy)(make_run(operation.label, role, key, mode)))
                    try:
                        hypothesis_seed(seed)(test)()
                    except Unsatisfiable:  # nothing to draw, e.g. no input to violate for GET /v1/health
                        report.nothing_to_draw.append(label)
    report.elapsed_s = time.monotonic() - began
    return report


def markdown(report: FuzzReport, context: dict[str, str]) -> str:
    lines = ["# Contract fuzzing (schemathesis)", ""]
    lines += [f"- {k}: {v}" for k, v in context.items()]
    lines += [
        "",
        f"**{report.requests} requests, {len(report.unique_findings())} distinct findings, "
        f"{sum(n for s, n in report.statuses.items() if s >= 500)} server errors** in {report.elapsed_s:.0f} s"
        + (" (stopped at the time bound)" if report.stopped_early else ""),
        "",
        "| status | answers |",
        "| --- | ---: |",
    ]
    lines += [f"| {status} | {n} |" for status, n in sorted(report.statuses.items())]
    lines += ["", "| operation | requests |", "| --- | ---: |"]
    lines += [f"| `{op}` | {n} |" for op, n in sorted(report.per_operation.items())]
    lines += ["", "## Findings", ""]
    if not report.findings:
        lines.append("None: no 5xx, and every answer matched its schema.")
    for f in report.unique_findings():
        lines += [f"- `{f.operation}` as {f.role} ({f.mode}): {f.check}, HTTP {f.status}", "", "  ```"]
        lines += [f"  {line}" for line in (f.detail + "\n" + f.curl).splitlines()]
        lines += ["  ```"]
    return "\n".join(lines) + "\n"


def main(max_examples: int, max_seconds: float, seed: int, out: Path | None) -> FuzzReport:
    """Start a server on loopback, plan a day, fuzz it as every role, write the results."""
    from benchmarks.load import KEYS, courier_key, generated_day, run_context, serve, solved_plan, wait_json

    day = generated_day(40, 2)
    with serve([c["id"] for c in day["couriers"]]) as server:
        day_plan = solved_plan(server, day, time_limit_s=2)
        plan_id = day_plan["id"]
        delay = {"event_id": "fuzz-delay", "courier_id": "c01", "type": "delay", "delay_min": 240}
        delay["at"] = day_plan["routes"][0]["start"]
        wait_json("POST", f"{server}/v1/plans/{plan_id}/events", KEYS["dispatcher"], delay)
        calls = wait_json("GET", f"{server}/v1/plans/{plan_id}/calls", KEYS["dispatcher"])
        real = {"plan_id": plan_id, "courier_id": "c01", "call_id": calls[0]["id"] if calls else "none"}
        keys = {role: courier_key("c01") if role == "courier" else KEYS[role] for role in ROLES}
        began = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        report = fuzz(
            server,
            keys,
            real,
            max_examples=max_examples,
            max_seconds=max_seconds,
            seed=seed,
            progress=lambda label: print(f"fuzz: {label}", flush=True),
        )
    context = run_context(f"ontime bench fuzz --max-examples {max_examples} --seed {seed}", began)
    context["server"] = "ontime serve on 127.0.0.1, SQLite, a solved 40-stop day with a 4 h delay (open calls)"
    context["roles"] = ", ".join(ROLES) + " (courier c01)"
    context["checks"] = CHECKED
    text = markdown(report, context)
    target = out or RESULTS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(text)
    return report


def cli(
    max_examples: Annotated[int, typer.Option("--max-examples", min=1, help="per operation, role, mode, ids")] = 50,
    max_seconds: Annotated[float, typer.Option("--max-seconds", min=1)] = 1200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="default benchmarks/results/fuzz.md")] = None,
) -> None:
    """Schemathesis against a loopback server's own OpenAPI schema, as every role."""
    if main(max_examples, max_seconds, seed, out).findings:
        raise typer.Exit(1)


if __name__ == "__main__":
    run(cli, "fuzz")
