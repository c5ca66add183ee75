"""`ontime plan`: plan a day given in the wire format; the plan file `ontime report` reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import EngineOption, err, read_problem, with_progress


def plan(
    problem_path: Annotated[Path, typer.Argument(help="problem JSON (CONTRACTS.md 3), or {'problem': ...}")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="write the plan JSON here (default stdout)")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, max=3600)] = 10.0,
    engine: EngineOption = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Plan a day from a problem in the wire format; write routes, ETAs and KPIs."""
    from api.schemas import kpis_out, route_out
    from optimizer.params import SolveParams
    from optimizer.plan import plan_day

    wire, problem = read_problem(problem_path, name_file=False)
    params = SolveParams(time_limit_s=time_limit, engine=engine, seed=seed)  # type: ignore[arg-type]
    result = with_progress(f"planning {len(problem.stops)} stops", time_limit, lambda: plan_day(problem, params))
    day = wire.day_start
    document = {
        "name": problem.name,
        "engine": result.solution.engine,
        "routes": [route_out(day, r).model_dump(mode="json") for r in result.schedule.routes],
        "unassigned": [{"stop_id": u.stop_id, "reason": u.reason} for u in result.solution.unassigned],
        "kpis": kpis_out(problem, result.schedule, result.solution).model_dump(mode="json"),
        "problem": wire.model_dump(mode="json"),  # so `ontime report PLAN.json` needs nothing else
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n")
        kpis = document["kpis"]
        err.print(f"wrote {out}: {kpis}")
