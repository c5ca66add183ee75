"""Courier events: idempotent by `event_id`; answered after re-timing and re-optimizing."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPrincipal, ServiceDep
from api.schemas import EventIn, EventOut

router = APIRouter(prefix="/v1/plans", tags=["events"])


@router.post("/{plan_id}/events", response_model=EventOut)
def post_event(plan_id: str, body: EventIn, service: ServiceDep, principal: CurrentPrincipal) -> EventOut:
    """Apply one courier report. A repeated `event_id` returns the first answer and changes nothing."""
    return service.post_event(plan_id, body, principal)
