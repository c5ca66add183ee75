"""Route versions: every courier's route in a plan, one row per version (never changed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.store.models import RouteVersionRow
from api.store.records import RouteVersionRecord
from api.store.repo.base import insert, now_utc, record

__all__ = ["add_route_version", "latest_routes", "route_history"]


def add_route_version(
    s: Session,
    plan_id: str,
    courier_id: str,
    version: int,
    plan_version: int,
    stops: list[Any],
    *,
    created_at: datetime | None = None,
) -> RouteVersionRecord:
    """Record a courier's route version. Conflict if (plan, courier, version) exists; NotFound if
    the plan does not."""
    row = RouteVersionRow(
        plan_id=plan_id,
        courier_id=courier_id,
        version=version,
        plan_version=plan_version,
        stops=list(stops),
        created_at=created_at or now_utc(),
    )

    def taken() -> str | None:
        existing = select(RouteVersionRow.id).where(
            RouteVersionRow.plan_id == plan_id,
            RouteVersionRow.courier_id == courier_id,
            RouteVersionRow.version == version,
        )
        if s.scalar(existing) is None:
            return None
        return f"route version {version} of courier {courier_id} in plan {plan_id} exists"

    return record(RouteVersionRecord, insert(s, row, taken, plan_id=plan_id))


def route_history(s: Session, plan_id: str, courier_id: str) -> list[RouteVersionRecord]:
    """All versions of one courier's route, oldest first."""
    rows = s.scalars(
        select(RouteVersionRow)
        .where(RouteVersionRow.plan_id == plan_id, RouteVersionRow.courier_id == courier_id)
        .order_by(RouteVersionRow.version)
    )
    return [record(RouteVersionRecord, row) for row in rows]


def latest_routes(s: Session, plan_id: str) -> dict[str, RouteVersionRecord]:
    """The newest route version of every courier of the plan, by courier id."""
    newest = (
        select(RouteVersionRow.courier_id, func.max(RouteVersionRow.version).label("version"))
        .where(RouteVersionRow.plan_id == plan_id)
        .group_by(RouteVersionRow.courier_id)
        .subquery()
    )
    rows = s.scalars(
        select(RouteVersionRow)
        .join(
            newest,
            (RouteVersionRow.courier_id == newest.c.courier_id) & (RouteVersionRow.version == newest.c.version),
        )
        .where(RouteVersionRow.plan_id == plan_id)
        .order_by(RouteVersionRow.courier_id)
    )
    return {row.courier_id: record(RouteVersionRecord, row) for row in rows}
