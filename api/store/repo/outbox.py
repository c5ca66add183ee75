"""The outbox: messages (webhooks) committed with the change they report and delivered after it,
with retries. Idempotent by key; workers lease due messages so each is delivered once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.store.columns import to_utc
from api.store.models import OutboxRow
from api.store.records import OutboxRecord
from api.store.repo.base import get_row, insert_or_error, now_utc, record, stored_error

__all__ = [
    "due_messages",
    "enqueue",
    "lease_due_messages",
    "mark_delivered",
    "mark_failed",
    "pending_count",
    "release_leases",
]


def _by_key(s: Session, idempotency_key: str) -> OutboxRow | None:
    return s.scalar(select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key))


def enqueue(
    s: Session,
    plan_id: str | None,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    next_attempt_at: datetime | None = None,
    created_at: datetime | None = None,
) -> OutboxRecord:
    """Queue a message for delivery (due now unless next_attempt_at is given).

    Idempotent: if a message with this idempotency_key exists, nothing is added and the
    existing message is returned.
    """
    existing = _by_key(s, idempotency_key)
    if existing is not None:
        return record(OutboxRecord, existing)
    at = created_at or now_utc()
    row = OutboxRow(
        plan_id=plan_id,
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        attempts=0,
        next_attempt_at=next_attempt_at or at,
        delivered_at=None,
        last_error=None,
        created_at=at,
    )
    error = insert_or_error(s, row)
    if error is not None:  # a concurrent transaction inserted the same key first
        existing = _by_key(s, idempotency_key)
        if existing is None:
            raise error
        return record(OutboxRecord, existing)
    return record(OutboxRecord, row)


def _due_rows(s: Session, at: datetime, limit: int) -> list[OutboxRow]:
    query = (
        select(OutboxRow)
        .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= to_utc(at))
        .order_by(OutboxRow.id)
        .limit(limit)
        # PostgreSQL: rows another worker holds are skipped; SQLite ignores this (its writers
        # are serialised by BEGIN IMMEDIATE anyway).
        .with_for_update(skip_locked=True)
    )
    return list(s.scalars(query))


def due_messages(s: Session, now: datetime, limit: int = 50) -> list[OutboxRecord]:
    """Undelivered messages with next_attempt_at <= now, in id order. On PostgreSQL they stay
    locked (FOR UPDATE SKIP LOCKED) until the transaction ends."""
    return [record(OutboxRecord, row) for row in _due_rows(s, now, limit)]


def lease_due_messages(s: Session, now: datetime, lease_until: datetime, limit: int = 50) -> list[OutboxRecord]:
    """Like due_messages, but also moves their next_attempt_at to `lease_until`, so they can be
    delivered after this (short) transaction commits without another worker taking them; a
    worker that dies mid-delivery leaves them due again at lease_until. The records show the
    leased next_attempt_at."""
    rows = _due_rows(s, now, limit)
    for row in rows:
        row.next_attempt_at = lease_until
    s.flush()
    return [record(OutboxRecord, row) for row in rows]


def mark_delivered(s: Session, id: int, at: datetime) -> OutboxRecord:
    """The message was delivered at `at` (counts as an attempt)."""
    row = get_row(s, OutboxRow, id, "outbox message")
    row.attempts += 1
    row.delivered_at = at
    row.last_error = None
    s.flush()
    return record(OutboxRecord, row)


def mark_failed(s: Session, id: int, error: str, next_attempt_at: datetime) -> OutboxRecord:
    """A delivery attempt failed: count it, keep the error, retry at next_attempt_at."""
    row = get_row(s, OutboxRow, id, "outbox message")
    row.attempts += 1
    row.last_error = stored_error(error)
    row.next_attempt_at = next_attempt_at
    s.flush()
    return record(OutboxRecord, row)


def release_leases(s: Session, now: datetime) -> int:
    """Make every undelivered message due now (after a restart, leases of a dead worker
    need not be waited out; receivers drop repeats by idempotency key)."""
    rows = s.scalars(select(OutboxRow).where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at > now)).all()
    for row in rows:
        row.next_attempt_at = now
    s.flush()
    return len(rows)


def pending_count(s: Session) -> int:
    """How many messages are not delivered yet (due or not)."""
    return int(s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.delivered_at.is_(None))) or 0)
