"""Call tasks: a customer to phone about a stop (late, failed, dropped). A stop has at most one
open call per plan; the database enforces it (a partial unique index)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.store.errors import Conflict
from api.store.models import CALL_KINDS, CALL_OUTCOMES, CALL_STATUSES, CallRow
from api.store.records import CallRecord
from api.store.repo.base import UNSET, Unset, check, get_row, insert, new_id, now_utc, record

__all__ = ["add_call", "get_call", "list_calls", "open_calls", "update_call"]

_UPDATABLE = frozenset(
    {
        "courier_id",
        "kind",
        "status",
        "window_start",
        "window_end",
        "eta",
        "notified_eta",
        "p_late",
        "eta_p90",
        "call_by",
        "late_min",
        "reason",
        "urgent",
        "outcome",
        "outcome_actor",
        "new_window",
        "closed_at",
        "updated_at",
    }
)


def add_call(
    s: Session,
    plan_id: str,
    stop_id: str,
    courier_id: str | None,
    kind: str,
    window_start: datetime,
    window_end: datetime,
    eta: datetime | None,
    late_min: float,
    reason: str,
    urgent: bool = False,
    *,
    id: str | None = None,
    created_at: datetime | None = None,
    notified_eta: datetime | Literal[Unset.UNSET] | None = UNSET,
    p_late: float = 0.0,
    eta_p90: datetime | None = None,
    call_by: datetime | None = None,
) -> CallRecord:
    """Open a call task (status `open`); the id is made here unless given. Conflict if the stop
    already has an open call in this plan; NotFound if the plan does not exist.
    `notified_eta`, the ETA the customer is told of, is `eta` unless given; `call_by`, the
    latest time the call is still useful, is the window's end unless given."""
    at = created_at or now_utc()
    row = CallRow(
        id=id or new_id(),
        plan_id=plan_id,
        stop_id=stop_id,
        courier_id=courier_id,
        kind=check(kind, CALL_KINDS, "call kind"),
        status="open",
        window_start=window_start,
        window_end=window_end,
        eta=eta,
        notified_eta=eta if notified_eta is UNSET else notified_eta,
        late_min=float(late_min),
        p_late=float(p_late),
        eta_p90=eta_p90,
        call_by=call_by or window_end,
        reason=reason,
        urgent=bool(urgent),
        outcome=None,
        outcome_actor=None,
        new_window=None,
        created_at=at,
        updated_at=at,
        closed_at=None,
    )

    def taken() -> str | None:
        open_call = s.scalar(
            select(CallRow.id).where(CallRow.plan_id == plan_id, CallRow.stop_id == stop_id, CallRow.status == "open")
        )
        if open_call is not None:
            return f"stop {stop_id} already has an open call ({open_call}) in plan {plan_id}"
        if s.get(CallRow, row.id) is not None:
            return f"call {row.id} already exists"
        return None

    return record(CallRecord, insert(s, row, taken, plan_id=plan_id))


def get_call(s: Session, call_id: str) -> CallRecord:
    """The call; NotFound if there is none."""
    return record(CallRecord, get_row(s, CallRow, call_id, "call"))


def list_calls(s: Session, plan_id: str, status: str | None = None) -> list[CallRecord]:
    """The plan's calls (optionally only `open` or `done` ones), oldest first."""
    query = select(CallRow).where(CallRow.plan_id == plan_id)
    if status is not None:
        query = query.where(CallRow.status == check(status, CALL_STATUSES, "call status"))
    rows = s.scalars(query.order_by(CallRow.created_at, CallRow.id))
    return [record(CallRecord, row) for row in rows]


def open_calls(s: Session, plan_id: str) -> list[CallRecord]:
    """The plan's open calls, oldest first."""
    return list_calls(s, plan_id, status="open")


def update_call(s: Session, call_id: str, **changes: Any) -> CallRecord:
    """Set the given columns (see `_UPDATABLE`) and bump updated_at.

    Setting status `done` also sets closed_at (now, unless given); setting it back to `open`
    clears closed_at, and raises Conflict if the stop has another open call meanwhile.
    NotFound if there is no such call; TypeError on an unknown column.
    """
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise TypeError(f"update_call() cannot set {', '.join(sorted(unknown))}")
    row = get_row(s, CallRow, call_id, "call")
    at = changes.pop("updated_at", None) or now_utc()
    if "kind" in changes:
        check(changes["kind"], CALL_KINDS, "call kind")
    if changes.get("outcome") is not None:
        check(changes["outcome"], CALL_OUTCOMES, "call outcome")
    if "status" in changes:
        status = check(changes["status"], CALL_STATUSES, "call status")
        if status == "done" and row.status != "done":
            changes.setdefault("closed_at", at)
        elif status == "open":
            changes.setdefault("closed_at", None)
    s.flush()  # anything pending goes out before the savepoint, so only our change is undone
    try:
        with s.begin_nested():
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = at
    except IntegrityError as exc:  # the savepoint rollback expired `row`: it reloads as stored
        raise Conflict(f"stop {row.stop_id} already has an open call in plan {row.plan_id}") from exc
    return record(CallRecord, row)
