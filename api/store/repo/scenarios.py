"""Scenario runs: a what-if request, its status and, once done, its results."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.models import SCENARIO_STATUSES, ScenarioRow
from api.store.records import ScenarioRecord
from api.store.repo.base import UNSET, Unset, check, get_row, insert, now_utc, record, stored_error

__all__ = ["create_scenario", "get_scenario", "unfinished_scenarios", "update_scenario"]


def create_scenario(
    s: Session, id: str, request: dict[str, Any], *, created_at: datetime | None = None
) -> ScenarioRecord:
    """Insert a scenario run with status `queued`. Conflict if the id is taken."""
    at = created_at or now_utc()
    row = ScenarioRow(id=id, status="queued", request=request, results=None, error=None, created_at=at, updated_at=at)

    def taken() -> str | None:
        return f"scenario {id} already exists" if s.get(ScenarioRow, id) is not None else None

    return record(ScenarioRecord, insert(s, row, taken))


def get_scenario(s: Session, id: str) -> ScenarioRecord:
    """The scenario run; NotFound if there is none."""
    return record(ScenarioRecord, get_row(s, ScenarioRow, id, "scenario"))


def update_scenario(
    s: Session,
    id: str,
    *,
    status: str | Literal[Unset.UNSET] = UNSET,
    results: Any = UNSET,
    error: str | Literal[Unset.UNSET] | None = UNSET,
    updated_at: datetime | None = None,
) -> ScenarioRecord:
    """Set only the given columns and bump updated_at. NotFound if there is no such run."""
    row = get_row(s, ScenarioRow, id, "scenario")
    if results is not UNSET:
        row.results = results
    if status is not UNSET:
        row.status = check(status, SCENARIO_STATUSES, "scenario status")
    if error is not UNSET:
        row.error = stored_error(error)
    row.updated_at = updated_at or now_utc()
    s.flush()
    return record(ScenarioRecord, row)


def unfinished_scenarios(s: Session) -> list[str]:
    """Ids of scenario runs left `queued` or `running` (e.g. after a restart), oldest first."""
    query = select(ScenarioRow.id).where(ScenarioRow.status.in_(("queued", "running")))
    return list(s.scalars(query.order_by(ScenarioRow.created_at, ScenarioRow.id)))
