"""Wire models of planning ahead (CONTRACTS.md 3): what-if scenarios and a plan's quality figures.

A variant's `changes` stay plain objects here: `scenarios.variants.parse_changes` reads them
and names every mistake `variants[i].changes[j].<key>` (422 `invalid_input`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas import Id, KpisOut, ProblemIn, Wire
from optimizer.kpi import DEFAULT_COST, CostModel

Rate = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False, strict=True)]


class ScenarioBaseIn(Wire):
    """The day the variants change: a stored plan's day, or a problem given here."""

    plan_id: Id | None = None
    problem: ProblemIn | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ScenarioBaseIn:
        if (self.plan_id is None) == (self.problem is None):
            raise ValueError("give either plan_id or problem")
        return self


class VariantIn(Wire):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    changes: list[dict[str, Any]] = Field(max_length=20)


class CostIn(Wire):
    """What a day costs (defaults: `optimizer.kpi.CostModel`)."""

    per_km: Rate = DEFAULT_COST.per_km
    per_hour: Rate = DEFAULT_COST.per_hour
    per_courier: Rate = DEFAULT_COST.per_courier

    def to_domain(self) -> CostModel:
        return CostModel(self.per_km, self.per_hour, self.per_courier)


class ScenarioCreateIn(Wire):
    base: ScenarioBaseIn
    variants: list[VariantIn] = Field(min_length=1, max_length=50)
    time_limit_s: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False, strict=True)] = 10.0
    seed: Annotated[int, Field(ge=0, le=2**31 - 1, strict=True)] = 0
    iterations: Annotated[int, Field(ge=1, le=1_000_000, strict=True)] | None = Field(
        None, description="PyVRP iterations per scenario; default derived from time_limit_s and the day's size"
    )
    cost: CostIn = Field(default_factory=CostIn)


Figure = float | int | None


class ScenarioResultOut(BaseModel):
    name: str
    kpis: dict[str, Figure] | None
    delta: dict[str, float | int] | None = None
    changes: list[dict[str, Any]] = Field(default_factory=list)
    engine: str = ""
    runtime_s: float = 0.0
    error: str | None = None


class ScenarioOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    results: list[ScenarioResultOut] = Field(default_factory=list)
    error: str | None = None
    seed: int = 0
    iterations: int | None = None
    created_at: datetime
    updated_at: datetime


class CourierKpisOut(BaseModel):
    courier_id: str
    stops: int
    late_stops: int
    on_time_rate: float
    distance_km: float
    working_hours: float
    overtime_hours: float
    actual_on_time_rate: float | None = None
    failed: int | None = None
    uncalled_late: int | None = None
    grade: Literal["A", "B", "C"] | None = None


class PlanKpisOut(KpisOut):
    """`KpisOut` and the service-quality figures of `optimizer.kpi` for the plan as it stands
    and the day's records (stop outcomes from courier events, calls from the call list)."""

    served: int = 0
    late_p50_min: float = 0.0
    late_p90_min: float = 0.0
    late_max_min: float = 0.0
    driving_hours: float = 0.0
    overtime_hours: float = 0.0
    recorded: int = 0
    done: int = 0
    failed: int = 0
    actual_on_time_rate: float | None = None
    actual_late_stops: int = 0
    called_late: int = 0
    uncalled_late: int = 0
    call_coverage: float | None = None
    couriers: list[CourierKpisOut] = Field(default_factory=list)
