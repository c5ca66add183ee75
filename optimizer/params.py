"""Solve parameters: one frozen group, with the time limit and the seed always explicit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from optimizer.solution import Route

EngineName = Literal["auto", "ortools", "pyvrp", "regions"]


@dataclass(frozen=True, slots=True)
class SolveParams:
    """How to solve.

    `lateness_cost_per_s` None keeps window ends hard; a number makes them soft, each
    second late costing that much (used when a disrupted day cannot be met). `move_cost`
    is charged for each group of a courier's warm-start stops that ends up split across
    couriers, so replans prefer to keep stops with their courier. Costs are in the
    objective's units (what driving and time cost is the couriers': `Courier.cost_per_m`...).

    `iterations` replaces the wall-time stop by a fixed amount of work (PyVRP: iterations;
    OR-Tools: solutions found), so one seed gives the same plan on any machine, in any process
    and under any load (what comparing what-if variants and tests need); `time_limit_s` stays
    a safety bound.
    """

    time_limit_s: float
    seed: int = 0
    engine: EngineName = "auto"
    lateness_cost_per_s: int | None = None
    move_cost: int = 0
    warm_start: tuple[Route, ...] = ()
    iterations: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.time_limit_s <= 3600:
            raise ValueError("time_limit_s must be in (0, 3600]")
        if self.engine not in ("auto", "ortools", "pyvrp", "regions"):
            raise ValueError(f"unknown engine {self.engine!r}")
        if self.move_cost < 0:
            raise ValueError("move_cost must not be negative")
        if self.lateness_cost_per_s is not None and self.lateness_cost_per_s <= 0:
            raise ValueError("lateness_cost_per_s must be positive")
        if self.iterations is not None and self.iterations < 1:
            raise ValueError("iterations must be at least 1")

    @property
    def soft_windows(self) -> bool:
        return self.lateness_cost_per_s is not None
