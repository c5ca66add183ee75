"""What-if comparison: a base day and its variants, solved alike, side by side (MISSION flow 4).

`compare(base, variants, params, executor)` applies every variant's changes to the base day
(`scenarios.variants`), solves the base and each variant with identical parameters and seed
as one work item each on an `Executor` (a local process pool or Ray), and returns one
`Comparison`: per variant the day's figures (`optimizer.kpi.DayKpis.figures`: couriers used,
distance, driving and working hours, overtime, on-time rate, late stops and minutes,
unassigned, cost under a configurable `CostModel`) and the difference to the base.

**Same inputs, same figures, wherever they run.** The solver's usual stop is wall time, which
depends on the machine and its load, so two runs of one request would differ. Here the
search stops after a fixed number of PyVRP iterations instead (`SolveParams.iterations`):
given explicitly, or derived from the time limit and the day's size by a fixed rate
(`budget_iterations`, calibrated so a solve takes about the time limit on the reference
machine: 2 shared cores). The seed is the request's. A work item is a top-level function of
picklable values, so the local pool and Ray run the very same computation and give
identical figures (tested, and measured by `benchmarks/whatif.py`).

Engine: PyVRP for every problem it can model; a day with breaks is planned as the auto
engine's first stage does (PyVRP without the breaks, then `schedule()` places each break in
waiting time or where it must go, and the figures count any lateness that causes). The auto
engine's OR-Tools repair stops on wall time only, so it is left out to keep the figures
reproducible; a problem PyVRP cannot model otherwise goes to the auto engine with the time
limit (then figures are not guaranteed identical across runs, and `deterministic` is False).

A time-of-day traffic variant plans with per-leg stand-ins and is timed exactly
(`optimizer.travel.speed`); its figures are those of the exact timing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field, replace
from typing import Any

from optimizer.engines import ENGINES, solve
from optimizer.engines.auto import without_breaks
from optimizer.engines.base import required_features
from optimizer.engines.reasons import with_reasons
from optimizer.errors import ProblemIssue
from optimizer.kpi import DEFAULT_COST, CostModel, day_kpis
from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.schedule import schedule
from optimizer.solution import Solution
from optimizer.travel.haversine import HaversineSource
from optimizer.travel.matrix import TravelMatrix, TravelSource
from scenarios.executors import Executor
from scenarios.variants import InvalidChange, Scenario, Variant, apply_changes, parse_changes

BASE_NAME = "base"
KPI_FIELDS: tuple[str, ...] = (
    "couriers_used",
    "distance_km",
    "driving_hours",
    "working_hours",
    "overtime_hours",
    "on_time_rate",
    "late_stops",
    "late_minutes",
    "unassigned",
    "cost",
)
"""The figures compared, in table order; each has a delta to the base."""
_DIGITS = {
    "distance_km": 3,
    "driving_hours": 2,
    "working_hours": 2,
    "overtime_hours": 2,
    "on_time_rate": 4,
    "late_minutes": 1,
    "cost": 2,
}
ITERATION_RATE = 4000.0
"""PyVRP iterations per second at 1 stop, divided by the square root of the stop count:
about what one core of the reference machine does under a shared load."""
MIN_ITERATIONS = 100
MAX_VARIANTS = 50
MAX_STOPS = 5000
"""The most stops a scenario may have after its changes: the wire's limit for a day."""

Changes = Sequence[Mapping[str, Any]] | Sequence[Variant]


@dataclass(frozen=True, slots=True)
class CompareParams:
    """How every scenario of one comparison is solved: the same for all of them.

    `iterations` None derives the PyVRP budget from `time_limit_s` (`budget_iterations`).
    """

    time_limit_s: float
    seed: int = 0
    iterations: int | None = None
    detour_factor: float = 1.3
    cost_model: CostModel = field(default=DEFAULT_COST)
    source: TravelSource | None = None
    """Base travel (a road map, a service's `MapSource`); None: straight lines x `detour_factor`."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_limit_s) and 0 < self.time_limit_s <= 3600):
            raise ValueError("time_limit_s must be in (0, 3600]")
        if self.iterations is not None and self.iterations < 1:
            raise ValueError("iterations must be at least 1")
        if not 1.0 <= self.detour_factor <= 3.0:
            raise ValueError("detour_factor must be between 1 and 3")

    def solve_params(self, problem: Problem) -> SolveParams:
        iterations = self.iterations or budget_iterations(self.time_limit_s, len(problem.stops))
        return SolveParams(time_limit_s=self.time_limit_s, seed=self.seed, iterations=iterations)


def budget_iterations(time_limit_s: float, stops: int) -> int:
    """The PyVRP iteration budget standing in for `time_limit_s` on a day of `stops` stops."""
    return max(MIN_ITERATIONS, round(time_limit_s * ITERATION_RATE / math.sqrt(max(stops, 25))))


@dataclass(frozen=True, slots=True)
class PreparedVariant:
    """A named variant, its changes in the wire form, and the day they make."""

    name: str
    changes: tuple[dict[str, Any], ...]
    scenario: Scenario


@dataclass(frozen=True, slots=True)
class SolvedScenario:
    """What one work item returns: figures and how they were obtained."""

    name: str
    kpis: dict[str, float | int | None]
    engine: str
    iterations: int | None
    deterministic: bool
    runtime_s: float


@dataclass(frozen=True, slots=True)
class VariantResult:
    """One row of the comparison; `delta` is None for the base (and when a solve failed)."""

    name: str
    changes: tuple[dict[str, Any], ...]
    kpis: dict[str, float | int | None] | None
    delta: dict[str, float | int] | None
    engine: str = ""
    runtime_s: float = 0.0
    deterministic: bool = True
    error: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """`{"name", "kpis", "delta"?}` as CONTRACTS.md 3, plus changes and provenance."""
        out: dict[str, Any] = {"name": self.name, "kpis": self.kpis}
        if self.name != BASE_NAME or self.delta is not None:
            out["delta"] = self.delta
        out["changes"] = list(self.changes)
        out["engine"] = self.engine
        out["runtime_s"] = round(self.runtime_s, 3)
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class Comparison:
    """The base first, then the variants in the order given."""

    results: tuple[VariantResult, ...]
    iterations: int | None
    seed: int

    @property
    def base(self) -> VariantResult:
        return self.results[0]

    def result(self, name: str) -> VariantResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per scenario: name, each figure, each figure's delta (`d_<figure>`)."""
        rows = []
        for result in self.results:
            row: dict[str, Any] = {"name": result.name}
            for name in KPI_FIELDS:
                row[name] = None if result.kpis is None else result.kpis.get(name)
            for name in KPI_FIELDS:
                row[f"d_{name}"] = None if result.delta is None else result.delta.get(name)
            row["error"] = result.error or ""
            rows.append(row)
        return rows

    def to_wire(self) -> list[dict[str, Any]]:
        return [r.to_wire() for r in self.results]


# --- preparing -------------------------------------------------------------------------


def prepare(
    base: Problem, variants: Sequence[tuple[str, Changes]], where: str = "variants"
) -> tuple[PreparedVariant, ...]:
    """The base (named `base`, no changes) and every variant applied to it. Raises one
    `InvalidChange` listing every mistake, named `<where>[i].name` or
    `<where>[i].changes[j].<key>`, before anything is solved."""
    issues: list[ProblemIssue] = []
    if len(variants) > MAX_VARIANTS:
        issues.append(ProblemIssue(where, "", f"at most {MAX_VARIANTS} variants, got {len(variants)}"))
    prepared = [PreparedVariant(BASE_NAME, (), Scenario(base))]
    seen = {BASE_NAME}
    for position, (name, changes) in enumerate(variants):
        at = f"{where}[{position}]"
        if not isinstance(name, str) or not name.strip():
            issues.append(ProblemIssue(f"{at}.name", str(name or ""), "a variant needs a name"))
        elif name in seen:
            issues.append(ProblemIssue(f"{at}.name", name, f"the name {name!r} is taken (the base is {BASE_NAME!r})"))
        seen.add(name)
        try:
            parsed = _parsed(changes, f"{at}.changes")
            scenario = apply_changes(base, parsed, f"{at}.changes")
        except InvalidChange as exc:
            issues.extend(exc.issues)
            continue
        if len(scenario.problem.stops) > MAX_STOPS:
            count = len(scenario.problem.stops)
            issues.append(ProblemIssue(f"{at}.changes", "", f"the changed day has {count} stops, over {MAX_STOPS}"))
            continue
        prepared.append(PreparedVariant(name, tuple(v.to_wire() for v in parsed), scenario))
    if issues:
        raise InvalidChange(issues)
    return tuple(prepared)


def _parsed(changes: Changes, where: str) -> tuple[Variant, ...]:
    if (
        isinstance(changes, Sequence)
        and not isinstance(changes, (str, bytes))
        and all(hasattr(c, "apply") and hasattr(c, "kind") for c in changes)
    ):
        return tuple(changes)  # type: ignore[arg-type]  # already variants
    return parse_changes(changes, where)  # type: ignore[arg-type]  # the wire form


# --- solving (runs in a worker) ------------------------------------------------------


def solve_scenario(name: str, scenario: Scenario, params: CompareParams) -> SolvedScenario:
    """Plan one scenario and measure it: the work item, top-level and picklable."""
    began = time.perf_counter()
    problem = scenario.problem
    matrix = scenario.source(params.source or HaversineSource(params.detour_factor)).matrix(problem)
    solve_params = params.solve_params(problem)
    solution, deterministic = plan_reproducibly(problem, matrix, solve_params)
    timed = schedule(problem, matrix, solution.routes)
    kpis = day_kpis(problem, timed, solution, cost_model=params.cost_model)
    return SolvedScenario(
        name,
        {k: v for k, v in kpis.figures().items() if v is not None},  # no records in a what-if
        solution.engine,
        solve_params.iterations if deterministic else None,
        deterministic,
        time.perf_counter() - began,
    )


def plan_reproducibly(problem: Problem, matrix: TravelMatrix, params: SolveParams) -> tuple[Solution, bool]:
    """PyVRP on its iteration budget (breaks left to `schedule()`); True when that was possible."""
    relaxed = without_breaks(problem)
    pyvrp_params = replace(params, engine="pyvrp")
    if required_features(relaxed, pyvrp_params) <= ENGINES["pyvrp"].features:
        solution = solve(relaxed, matrix, pyvrp_params)
        return with_reasons(problem, matrix, replace(solution, unassigned=())), True
    return solve(problem, matrix, replace(params, engine="auto", iterations=None)), False


# --- comparing -----------------------------------------------------------------------


def compare(
    base: Problem,
    variants: Sequence[tuple[str, Changes]],
    params: CompareParams,
    executor: Executor,
    *,
    on_done: Callable[[VariantResult], None] | None = None,
    prepared: Sequence[PreparedVariant] | None = None,
) -> Comparison:
    """Solve the base and every variant on `executor` and put them side by side.

    Raises `InvalidChange` (naming `variants[i]...`) before submitting anything when a
    variant does not fit the base. `on_done` hears of each scenario as it finishes (base
    included, delta not yet known). A scenario whose solve raised gets its `error` set.
    """
    runs = tuple(prepared) if prepared is not None else prepare(base, variants)
    futures: dict[Future[SolvedScenario], PreparedVariant] = {
        executor.submit(solve_scenario, run.name, run.scenario, params): run for run in runs
    }
    solved: dict[str, SolvedScenario | BaseException] = {}
    for future in as_completed(futures):
        run = futures[future]
        try:
            outcome: SolvedScenario | BaseException = future.result()
        except Exception as exc:
            outcome = exc
        solved[run.name] = outcome
        if on_done is not None:
            on_done(_result(run, outcome, None))
    base_kpis = _kpis(solved[BASE_NAME])
    results = tuple(_result(run, solved[run.name], base_kpis) for run in runs)
    return Comparison(
        results, params.iterations or budget_iterations(params.time_limit_s, len(base.stops)), params.seed
    )


def _kpis(outcome: SolvedScenario | BaseException) -> dict[str, float | int | None] | None:
    return outcome.kpis if isinstance(outcome, SolvedScenario) else None


def _result(
    run: PreparedVariant, outcome: SolvedScenario | BaseException, base: dict[str, float | int | None] | None
) -> VariantResult:
    if not isinstance(outcome, SolvedScenario):
        message = f"{type(outcome).__name__}: {str(outcome)[:300]}"
        return VariantResult(run.name, run.changes, None, None, error=message)
    delta = None
    if base is not None and run.name != BASE_NAME:
        delta = deltas(base, outcome.kpis)
    return VariantResult(
        run.name, run.changes, outcome.kpis, delta, outcome.engine, outcome.runtime_s, outcome.deterministic
    )


def deltas(base: Mapping[str, float | int | None], other: Mapping[str, float | int | None]) -> dict[str, float | int]:
    """`other - base` for every compared figure, rounded as the figure is."""
    out: dict[str, float | int] = {}
    for name in KPI_FIELDS:
        a, b = base.get(name), other.get(name)
        if a is None or b is None:
            continue
        digits = _DIGITS.get(name)
        out[name] = int(b - a) if digits is None else round(b - a, digits)
    return out
