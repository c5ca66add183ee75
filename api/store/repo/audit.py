"""The audit log: who did what, to which plan (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.models import AuditRow
from api.store.records import AuditRecord
from api.store.repo.base import now_utc, record

__all__ = ["add_audit", "list_audit"]


def add_audit(
    s: Session,
    plan_id: str | None,
    actor: str,
    action: str,
    detail: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> AuditRecord:
    """Append an audit entry (who did what, to which plan)."""
    row = AuditRow(plan_id=plan_id, actor=actor, action=action, detail=detail, at=at or now_utc())
    s.add(row)
    s.flush()
    return record(AuditRecord, row)


def list_audit(s: Session, plan_id: str | None, limit: int | None = None) -> list[AuditRecord]:
    """The plan's audit entries in the order they were written (all entries if plan_id is None)."""
    query = select(AuditRow)
    if plan_id is not None:
        query = query.where(AuditRow.plan_id == plan_id)
    query = query.order_by(AuditRow.id)
    if limit is not None:
        query = query.limit(limit)
    return [record(AuditRecord, row) for row in s.scalars(query)]
