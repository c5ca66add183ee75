"""The proactive call list and its outcomes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import CallDesk, ServiceDep
from api.schemas import CallOut, OutcomeIn

router = APIRouter(prefix="/v1", tags=["calls"])


@router.get("/plans/{plan_id}/calls", response_model=list[CallOut])
def list_calls(
    plan_id: str,
    service: ServiceDep,
    principal: CallDesk,
    status: Annotated[Literal["open", "done"] | None, Query()] = None,
) -> list[CallOut]:
    """Call tasks, most urgent first (customer service, dispatcher)."""
    return service.list_calls(plan_id, principal, status)


@router.post("/calls/{call_id}/outcome", response_model=CallOut)
def record_outcome(call_id: str, body: OutcomeIn, service: ServiceDep, principal: CallDesk) -> CallOut:
    """What the customer said. `rebooked` puts the new window into the plan and re-optimizes."""
    return service.record_outcome(call_id, body, principal)
