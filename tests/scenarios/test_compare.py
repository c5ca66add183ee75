"""`scenarios.compare`: the base and its variants solved alike, side by side, reproducibly.

Most tests run the work items in this process through a tiny inline executor; one runs them
in a spawned process pool, which must give the very same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from api.schemas import ProblemIn
from optimizer.kpi import CostModel, day_kpis
from optimizer.params import SolveParams
from optimizer.schedule import schedule
from optimizer.travel.haversine import HaversineSource
from scenarios.compare import (
    BASE_NAME,
    KPI_FIELDS,
    CompareParams,
    VariantResult,
    budget_iterations,
    compare,
    deltas,
    plan_reproducibly,
    prepare,
)
from scenarios.executors import LocalExecutor
from scenarios.generate import generate_day
from scenarios.variants import InvalidChange, RemoveCouriers, apply_changes

T = TypeVar("T")
DAY = ProblemIn.model_validate(generate_day(30, 4, seed=2)).to_domain()
FAST = CompareParams(time_limit_s=1, seed=5, iterations=80)
SWEEP: list[tuple[str, Any]] = [
    ("one courier off", [{"kind": "remove_couriers", "count": 1}]),
    ("busy", [{"kind": "demand_scale", "factor": 1.3}, {"kind": "traffic", "factor": 1.2}]),
    ("rush", [{"kind": "traffic", "profile": [["07:30", "09:30", 1.4], ["17:00", "19:30", 1.4]]}]),
]


class InlineExecutor:
    """Runs each work item at once, in this process; `fail` names scenarios whose item raises."""

    name = "inline"

    def __init__(self, fail: frozenset[str] = frozenset()) -> None:
        self.fail = fail
        self.submitted: list[str] = []

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self.submitted.append(args[0])
        try:
            if args[0] in self.fail:
                raise RuntimeError(f"solver crashed on {args[0]}")
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def shutdown(self) -> None:
        pass


def test_the_base_comes_first_and_each_delta_is_the_variant_minus_the_base() -> None:
    comparison = compare(DAY, SWEEP, FAST, InlineExecutor())
    assert [r.name for r in comparison.results] == [BASE_NAME, "one courier off", "busy", "rush"]
    base = comparison.base
    assert base.delta is None and base.kpis is not None
    assert base.kpis["stops"] == 30
    for result in comparison.results[1:]:
        assert result.kpis is not None and result.delta is not None
        for name in KPI_FIELDS:
            assert result.delta[name] == pytest.approx(result.kpis[name] - base.kpis[name], abs=1e-9)  # type: ignore[operator]
    assert comparison.result("busy").kpis["stops"] == 39  # type: ignore[index]
    assert comparison.result("busy").changes[0] == {"kind": "demand_scale", "factor": 1.3, "seed": 0, "jitter_m": 150.0}


def test_the_wire_table_has_the_contracts_figures() -> None:
    wire = compare(DAY, SWEEP[:1], FAST, InlineExecutor()).to_wire()
    assert [r["name"] for r in wire] == ["base", "one courier off"]
    needed = {"couriers_used", "distance_km", "working_hours", "late_stops", "late_minutes", "on_time_rate"}
    assert needed | {"unassigned", "cost"} <= set(wire[0]["kpis"])
    assert "delta" not in wire[0] and set(wire[1]["delta"]) == set(KPI_FIELDS)


def test_the_same_inputs_give_the_same_figures() -> None:
    first = compare(DAY, SWEEP, FAST, InlineExecutor())
    second = compare(DAY, SWEEP, FAST, InlineExecutor())
    assert [r.kpis for r in first.results] == [r.kpis for r in second.results]


def test_a_process_pool_gives_the_figures_of_this_process() -> None:
    here = compare(DAY, SWEEP, FAST, InlineExecutor())
    pool = LocalExecutor(2)
    try:
        there = compare(DAY, SWEEP, FAST, pool)
    finally:
        pool.shutdown()
    assert [r.kpis for r in there.results] == [r.kpis for r in here.results]


def test_the_cost_model_prices_the_figures() -> None:
    cheap = compare(DAY, (), replace(FAST, cost_model=CostModel(0, 0, 0)), InlineExecutor()).base
    dear = compare(DAY, (), replace(FAST, cost_model=CostModel(1, 10, 100)), InlineExecutor()).base
    assert cheap.kpis is not None and dear.kpis is not None
    assert cheap.kpis["cost"] == 0
    expected = dear.kpis["distance_km"] + 10 * dear.kpis["working_hours"] + 100 * dear.kpis["couriers_used"]  # type: ignore[operator]
    assert dear.kpis["cost"] == pytest.approx(expected, abs=0.05)


def test_a_failed_solve_is_reported_on_its_row_and_the_rest_stands() -> None:
    heard: list[VariantResult] = []
    comparison = compare(DAY, SWEEP, FAST, InlineExecutor(fail=frozenset({"busy"})), on_done=heard.append)
    busy = comparison.result("busy")
    assert busy.kpis is None and busy.delta is None and "solver crashed on busy" in (busy.error or "")
    assert comparison.result("rush").delta is not None
    assert sorted(r.name for r in heard) == sorted(r.name for r in comparison.results)
    row = next(r for r in comparison.rows() if r["name"] == "busy")
    assert row["distance_km"] is None and "crashed" in row["error"]


def test_bad_variants_are_refused_before_anything_is_solved() -> None:
    executor = InlineExecutor()
    variants: list[tuple[str, Any]] = [
        ("fine", [{"kind": "slot_width", "minutes": 60}]),
        ("too few", [{"kind": "remove_couriers", "count": 4}]),
        ("", [{"kind": "traffic", "factor": 1.1}]),
        ("fine", [{"kind": "traffic", "factor": "x"}]),
    ]
    with pytest.raises(InvalidChange) as caught:
        compare(DAY, variants, FAST, executor)
    fields = {i.field for i in caught.value.issues}
    assert fields == {
        "variants[1].changes[0].count",
        "variants[2].name",
        "variants[3].name",
        "variants[3].changes[0].factor",
    }
    assert executor.submitted == []


def test_variants_may_be_given_as_values() -> None:
    (base, fewer) = prepare(DAY, [("fewer", [RemoveCouriers(count=1)])])
    assert base.name == BASE_NAME and base.scenario.problem is DAY
    assert fewer.changes == ({"kind": "remove_couriers", "count": 1},)
    assert len(fewer.scenario.problem.couriers) == 3


def test_the_iteration_budget_grows_with_time_and_shrinks_with_size() -> None:
    assert budget_iterations(10, 100) == 2 * budget_iterations(5, 100)
    assert budget_iterations(10, 400) < budget_iterations(10, 100)
    assert budget_iterations(0.01, 1000) == 100
    assert FAST.solve_params(DAY).iterations == 80
    assert CompareParams(time_limit_s=2).solve_params(DAY).iterations == budget_iterations(2, 30)


def test_deltas_round_like_the_figures() -> None:
    assert deltas({"distance_km": 1.0001, "late_stops": 2}, {"distance_km": 1.3004, "late_stops": 5}) == {
        "distance_km": 0.3,
        "late_stops": 3,
    }


def test_a_day_with_breaks_is_planned_reproducibly_by_pyvrp() -> None:
    matrix = HaversineSource().matrix(DAY)
    params = SolveParams(time_limit_s=1, seed=1, iterations=60)
    first, deterministic = plan_reproducibly(DAY, matrix, params)
    again, _ = plan_reproducibly(DAY, matrix, params)
    assert deterministic and first.engine == "pyvrp"
    assert first.routes == again.routes
    assert set(first.assigned_stop_ids) | {u.stop_id for u in first.unassigned} == {s.id for s in DAY.stops}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_removing_couriers_never_lowers_late_or_unassigned_stops_unless_the_base_plan_was_beaten(seed: int) -> None:
    """With fewer couriers the day can only get harder. When the smaller fleet's plan is
    nevertheless better, it must be one the full fleet could have had too (the removed
    couriers staying home): timed on the base day it gives the same figures, so the engine
    found a better plan for the smaller fleet than for the full one, not a better day."""
    day = ProblemIn.model_validate(generate_day(60, 5, seed=seed)).to_domain()
    matrix = HaversineSource().matrix(day)
    params = SolveParams(time_limit_s=1, seed=seed, iterations=150)

    def figures(problem: Any, routes: Any, solution: Any) -> tuple[int, int]:
        kpis = day_kpis(problem, schedule(problem, matrix, routes), solution)
        return kpis.late_stops, kpis.unassigned

    solution, _ = plan_reproducibly(day, matrix, params)
    larger, bigger = day, figures(day, solution.routes, solution)
    for count in (1, 2, 3):  # each step against the one before: 5, 4, 3, 2 couriers
        fewer = apply_changes(day, [RemoveCouriers(count=count)]).problem
        solution, _ = plan_reproducibly(fewer, matrix, params)
        smaller = figures(fewer, solution.routes, solution)
        if smaller[0] < bigger[0] or smaller[1] < bigger[1]:
            # Better with fewer couriers: the same routes, on the larger fleet, are just as good.
            assert {r.courier_id for r in solution.routes} <= {c.id for c in larger.couriers}
            assert fewer.locations == larger.locations  # so one matrix times both
            assert figures(larger, solution.routes, solution) == smaller
        larger, bigger = fewer, smaller


def test_a_number_beyond_any_float_and_an_oversized_day_are_named() -> None:
    with pytest.raises(InvalidChange) as caught:
        prepare(DAY, [("huge", [{"kind": "traffic", "factor": 10**400}])])
    assert [i.field for i in caught.value.issues] == ["variants[0].changes[0].factor"]
    big = ProblemIn.model_validate(generate_day(600, 3, seed=1)).to_domain()
    with pytest.raises(InvalidChange, match="5400 stops, over 5000") as caught:
        prepare(big, [("fine", []), ("ninefold", [{"kind": "demand_scale", "factor": 9}])])
    assert [i.field for i in caught.value.issues] == ["variants[1].changes"]
