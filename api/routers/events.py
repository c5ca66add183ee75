"""Courier events: idempotent by `event_id`; answered after re-timing and re-optimizing."""

from __future__ import annotations

import asyncio
from weakref import WeakValueDictionary

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentPrincipal, ServiceDep
from api.schemas import EventIn, EventOut, mask_phone

router = APIRouter(prefix="/v1/plans", tags=["events"])


@router.post("/{plan_id}/events", response_model=EventOut)
async def post_event(
    plan_id: str, body: EventIn, request: Request, service: ServiceDep, principal: CurrentPrincipal
) -> EventOut:
    """Apply one courier report. A repeated `event_id` returns the first answer and changes nothing.
    A courier's answer holds only their own route and calls, phones masked."""
    async with _gate(request, plan_id):
        answer = await run_in_threadpool(service.post_event, plan_id, body, principal)
    return answer if principal.role != "courier" else _for_courier(answer, principal.courier_id)


def _gate(request: Request, plan_id: str) -> asyncio.Lock:
    """Events of one plan wait their turn here, in the event loop, rather than as threads that all
    hold the GIL for their reads while the service's plan lock lets one of them work: under a
    fleet's load that convoy cut throughput by more than half (benchmarks/results/load.md)."""
    gates: WeakValueDictionary[str, asyncio.Lock] | None = getattr(request.app.state, "event_gates", None)
    if gates is None:
        gates = request.app.state.event_gates = WeakValueDictionary()
    gate = gates.get(plan_id)
    if gate is None:
        gate = gates[plan_id] = asyncio.Lock()
    return gate


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
