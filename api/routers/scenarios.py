"""What-if scenarios: queue a comparison of variants of a day, read its table (CONTRACTS.md 3)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Planner, ScenariosDep
from api.scenario_schemas import ScenarioCreateIn, ScenarioOut
from api.schemas import Accepted

router = APIRouter(prefix="/v1/scenarios", tags=["scenarios"])


@router.post("", status_code=202, response_model=Accepted)
def create_scenario(body: ScenarioCreateIn, scenarios: ScenariosDep, principal: Planner) -> Accepted:
    """Queue the base day and its variants for solving alike (dispatcher, planner); poll
    `GET /v1/scenarios/{id}`. A change that does not fit the day is 422, naming
    `variants[i].changes[j].<key>`."""
    return scenarios.create(body, principal)


@router.get("/{scenario_id}", response_model=ScenarioOut)
def get_scenario(scenario_id: str, scenarios: ScenariosDep, principal: Planner) -> ScenarioOut:
    """Status and, when done, one result per scenario: the base first, each variant with its
    figures and their difference to the base."""
    return scenarios.get(scenario_id)
