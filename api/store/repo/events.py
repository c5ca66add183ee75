"""Courier events: stored once per client event id, so a repeated report gets the first answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.models import EventRow
from api.store.records import EventRecord
from api.store.repo.base import insert, now_utc, record

__all__ = ["add_event", "find_event", "list_events"]


def find_event(s: Session, plan_id: str, event_id: str) -> EventRecord | None:
    """The event stored under this client event id, or None."""
    row = s.scalar(select(EventRow).where(EventRow.plan_id == plan_id, EventRow.event_id == event_id))
    return None if row is None else record(EventRecord, row)


def add_event(
    s: Session,
    plan_id: str,
    event_id: str,
    courier_id: str,
    type: str,
    at: datetime,
    payload: dict[str, Any],
    response: dict[str, Any] | None,
    actor: str | None,
    *,
    received_at: datetime | None = None,
) -> EventRecord:
    """Store a courier event. Conflict if the plan already has this event_id (use find_event to
    get the first answer); NotFound if the plan does not exist."""
    row = EventRow(
        plan_id=plan_id,
        event_id=event_id,
        courier_id=courier_id,
        type=type,
        at=at,
        payload=payload,
        response=response,
        actor=actor,
        received_at=received_at or now_utc(),
    )

    def taken() -> str | None:
        if find_event(s, plan_id, event_id) is None:
            return None
        return f"event {event_id} was already received for plan {plan_id}"

    return record(EventRecord, insert(s, row, taken, plan_id=plan_id))


def list_events(s: Session, plan_id: str) -> list[EventRecord]:
    """The plan's events in time order (at, then arrival)."""
    rows = s.scalars(select(EventRow).where(EventRow.plan_id == plan_id).order_by(EventRow.at, EventRow.id))
    return [record(EventRecord, row) for row in rows]
