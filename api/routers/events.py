"""Courier events: idempotent by `event_id`; answered after re-timing and re-optimizing."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Reporter, ServiceDep
from api.schemas import EventIn, EventOut, mask_phone

router = APIRouter(prefix="/v1/plans", tags=["events"])


@router.post("/{plan_id}/events", response_model=EventOut)
async def post_event(
    plan_id: str, body: EventIn, service: ServiceDep, principal: Reporter, response: Response
) -> EventOut:
    """Apply one courier report. A repeated `event_id` returns the first answer and changes nothing.
    A courier's answer holds only their own route and calls, phones masked.

    The `Server-Timing` header says how the answer was reached, in server milliseconds:
    `retimed` (no window newly at risk), `reoptimized` (a search ran) or `repeated`."""
    answer = await run_in_threadpool(service.post_event, plan_id, body, principal)
    response.headers["Server-Timing"] = f"{answer.path};dur={answer.seconds * 1000:.1f}"
    return answer.out if principal.role != "courier" else _for_courier(answer.out, principal.courier_id)


def _for_courier(answer: EventOut, courier_id: str | None) -> EventOut:
    calls = [
        c.model_copy(update={"customer": c.customer.model_copy(update={"phone": mask_phone(c.customer.phone)})})
        if c.customer
        else c
        for c in answer.calls
        if c.courier_id == courier_id
    ]
    changed = [c for c in answer.changed_routes if c == courier_id]
    return answer.model_copy(update={"calls": calls, "changed_routes": changed})
