"""What the repository returns: frozen, plain dataclasses (never ORM objects).

Datetimes are timezone-aware (UTC). JSON fields hold plain dicts/lists as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """A plan without its heavy JSON columns (problem, params, state)."""

    id: str
    name: str
    status: str
    error: str | None
    version: int
    clock: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PlanRecord:
    id: str
    name: str
    status: str  # queued | solving | solved | failed
    error: str | None
    version: int
    problem: dict[str, Any]
    params: dict[str, Any]
    state: dict[str, Any] | None
    clock: datetime | None  # latest event time seen for this plan
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RouteVersionRecord:
    id: int
    plan_id: str
    courier_id: str
    version: int
    plan_version: int
    stops: list[Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int  # arrival order
    plan_id: str
    event_id: str
    courier_id: str
    type: str
    at: datetime
    payload: dict[str, Any]
    response: dict[str, Any] | None
    actor: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class CallRecord:
    id: str
    plan_id: str
    stop_id: str
    courier_id: str | None
    kind: str  # late | failed | dropped
    status: str  # open | done
    window_start: datetime
    window_end: datetime
    eta: datetime | None
    late_min: float
    reason: str
    urgent: bool
    outcome: str | None  # accepted_late | rebooked | unreachable | cancelled
    outcome_actor: str | None
    new_window: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    notified_eta: datetime | None = None  # the ETA last notified (call_created / call_updated)
    p_late: float = 0.0  # the chance of a late start (0-1)
    eta_p90: datetime | None = None
    call_by: datetime | None = None  # the latest time the call is still useful


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    plan_id: str | None
    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime
    leased_by: str | None = None


@dataclass(frozen=True, slots=True)
class ScenarioRecord:
    id: str
    status: str  # queued | running | done | failed
    request: dict[str, Any]
    results: Any  # JSON value or None
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    plan_id: str | None
    actor: str
    action: str
    detail: dict[str, Any] | None
    at: datetime
