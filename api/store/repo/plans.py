"""Plans: one row per planned day, with its problem, solve parameters and current state.

The two large JSON columns (problem and state) are decoded through the process-wide cache in
`api.store.repo.cache`; every write of the state bumps `state_rev`.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.columns import to_utc
from api.store.models import PLAN_STATUSES, PlanRow
from api.store.records import PlanRecord, PlanSummary
from api.store.repo import cache
from api.store.repo.base import UNSET, Unset, check, get_row, insert, now_utc, record, stored_error

__all__ = [
    "claim_stale_plans",
    "create_plan",
    "get_plan",
    "list_plan_summaries",
    "list_plans",
    "update_plan",
]

_SMALL_COLUMNS = [f.name for f in fields(PlanRecord) if f.name not in ("problem", "state")]


def _plan_record(s: Session, row: PlanRow, state: dict[str, Any] | Literal[Unset.UNSET] | None = UNSET) -> PlanRecord:
    """The plan's record; its problem and (unless just written, `state`) its state come through
    the cache."""
    problem = cache.kept_problem(s, row)
    if state is UNSET:
        state = cache.kept_state(s, row)  # may reload the small columns too: read them after it
    small = {name: getattr(row, name) for name in _SMALL_COLUMNS}
    return PlanRecord(problem=problem, state=state, **small)


def create_plan(
    s: Session,
    id: str,
    name: str,
    problem: dict[str, Any],
    params: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> PlanRecord:
    """Insert a plan with status `queued`, version 1. Conflict if the id is taken."""
    at = created_at or now_utc()
    row = PlanRow(
        id=id,
        name=name,
        status="queued",
        error=None,
        version=1,
        problem=problem,
        params=params,
        state=state,
        clock=None,
        created_at=at,
        updated_at=at,
    )

    def taken() -> str | None:
        exists = s.scalar(select(PlanRow.id).where(PlanRow.id == id)) is not None
        return f"plan {id} already exists" if exists else None

    insert(s, row, taken)
    return record(PlanRecord, row)


def get_plan(s: Session, id: str) -> PlanRecord:
    """The plan; NotFound if there is none."""
    return _plan_record(s, get_row(s, PlanRow, id, "plan"))


def list_plans(s: Session, limit: int = 100) -> list[PlanRecord]:
    """The newest `limit` plans (by created_at), newest first, with all columns."""
    rows = s.scalars(select(PlanRow).order_by(PlanRow.created_at.desc(), PlanRow.id.desc()).limit(limit))
    return [_plan_record(s, row) for row in rows]


def list_plan_summaries(s: Session, limit: int = 100) -> list[PlanSummary]:
    """Like list_plans, without the heavy JSON columns (problem, params, state)."""
    cols = [getattr(PlanRow, f.name) for f in fields(PlanSummary)]
    result = s.execute(select(*cols).order_by(PlanRow.created_at.desc(), PlanRow.id.desc()).limit(limit))
    return [PlanSummary(*row) for row in result]


def update_plan(
    s: Session,
    id: str,
    *,
    status: str | Literal[Unset.UNSET] = UNSET,
    error: str | Literal[Unset.UNSET] | None = UNSET,
    version: int | Literal[Unset.UNSET] = UNSET,
    state: dict[str, Any] | Literal[Unset.UNSET] | None = UNSET,
    clock: datetime | Literal[Unset.UNSET] | None = UNSET,
    name: str | Literal[Unset.UNSET] = UNSET,
    updated_at: datetime | None = None,
) -> PlanRecord:
    """Set only the given columns and bump updated_at. NotFound if there is no such plan."""
    row = get_row(s, PlanRow, id, "plan")
    if status is not UNSET:
        row.status = check(status, PLAN_STATUSES, "plan status")
    if error is not UNSET:
        row.error = stored_error(error)
    if version is not UNSET:
        row.version = version
    if state is not UNSET:
        row.state = state
        row.state_rev = PlanRow.state_rev + 1  # evaluated by the database: no lost bump
        cache.writing_state(s, id)
    if clock is not UNSET:
        row.clock = clock
    if name is not UNSET:
        row.name = name
    row.updated_at = updated_at or now_utc()
    s.flush()
    if state is not UNSET:
        cache.state_written(s, id, row.state_rev, state)  # (reading state_rev loads the bumped value)
    return _plan_record(s, row, state)


def claim_stale_plans(s: Session, *, updated_before: datetime | None = None) -> list[str]:
    """Ids of plans left in `queued` or `solving` (e.g. after a crash), oldest first.

    Changes nothing; the caller re-queues or fails them in the same transaction. On PostgreSQL
    the rows are locked FOR UPDATE SKIP LOCKED, so plans another transaction is working on right
    now are skipped. `updated_before` limits the answer to plans untouched since that time.
    """
    query = select(PlanRow.id).where(PlanRow.status.in_(("queued", "solving")))
    if updated_before is not None:
        query = query.where(PlanRow.updated_at < to_utc(updated_before))
    query = query.order_by(PlanRow.created_at, PlanRow.id).with_for_update(skip_locked=True)
    return list(s.scalars(query))
