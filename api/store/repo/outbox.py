"""The outbox: messages (webhooks) committed with the change they report and delivered after it,
with retries. Idempotent by key.

Each plan's messages form a queue delivered in order: only its oldest undelivered message (its
head) is ever due, so a message waits while an earlier one of its plan is in flight or
waiting for a retry. A worker (one per replica) leases due heads, `FOR UPDATE SKIP LOCKED` on
PostgreSQL, by moving their next attempt to the end of the lease and writing its replica's
name on them; another worker skips them until the lease runs out. A replica that restarts
releases the leases under its own name at once (`release_leases`): those messages were in
flight when it died, and only they may reach a receiver twice. Messages of no plan are
independent of each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

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
    earlier = aliased(OutboxRow)
    query = (
        select(OutboxRow)
        .where(
            OutboxRow.delivered_at.is_(None),
            OutboxRow.next_attempt_at <= to_utc(at),
            ~exists().where(
                earlier.plan_id == OutboxRow.plan_id, earlier.delivered_at.is_(None), earlier.id < OutboxRow.id
            ),
        )
        .order_by(OutboxRow.id)
        .limit(limit)
        # PostgreSQL: rows another worker holds are skipped; SQLite ignores this (its writers
        # are serialised by BEGIN IMMEDIATE anyway).
        .with_for_update(skip_locked=True, of=OutboxRow)
    )
    return list(s.scalars(query))


def due_messages(s: Session, now: datetime, limit: int = 50) -> list[OutboxRecord]:
    """The messages to deliver now, in id order: each plan's oldest undelivered one if its next
    attempt is due (and every due message of no plan). On PostgreSQL they stay locked (FOR
    UPDATE SKIP LOCKED) until the transaction ends."""
    return [record(OutboxRecord, row) for row in _due_rows(s, now, limit)]


def lease_due_messages(
    s: Session, now: datetime, lease_until: datetime, replica: str = "", limit: int = 50
) -> list[OutboxRecord]:
    """Like due_messages, but also moves their next_attempt_at to `lease_until` and marks them
    leased by `replica`, so they can be delivered after this (short) transaction commits
    without another worker taking them; a worker that dies mid-delivery leaves them due again
    at lease_until, or as soon as its replica starts again. The records show the lease."""
    rows = _due_rows(s, now, limit)
    for row in rows:
        row.next_attempt_at = lease_until
        row.leased_by = replica
    s.flush()
    return [record(OutboxRecord, row) for row in rows]


def mark_delivered(s: Session, id: int, at: datetime) -> OutboxRecord:
    """The message was delivered at `at` (counts as an attempt); a message already marked
    delivered (another replica sent it too, its lease having run out) stays as it was."""
    row = get_row(s, OutboxRow, id, "outbox message")
    if row.delivered_at is not None:
        return record(OutboxRecord, row)
    row.attempts += 1
    row.delivered_at = at
    row.last_error = None
    row.leased_by = None
    s.flush()
    return record(OutboxRecord, row)


def mark_failed(s: Session, id: int, error: str, next_attempt_at: datetime, replica: str | None = None) -> OutboxRecord:
    """A delivery attempt failed: count it, keep the error, retry at next_attempt_at. With
    `replica`: only while that replica still holds the message's lease (once it ran out,
    another may be sending it, and the retry is that one's to schedule)."""
    row = get_row(s, OutboxRow, id, "outbox message")
    if row.delivered_at is not None or (replica is not None and row.leased_by != replica):
        return record(OutboxRecord, row)
    row.attempts += 1
    row.last_error = stored_error(error)
    row.next_attempt_at = next_attempt_at
    row.leased_by = None
    s.flush()
    return record(OutboxRecord, row)


def release_leases(s: Session, now: datetime, replica: str) -> int:
    """Make the undelivered messages leased by `replica` due now: called as it starts, they
    are the ones it was delivering when it stopped (the receiver may have them already and
    drops the repeat by its idempotency key). Other replicas' leases are theirs."""
    rows = s.scalars(
        select(OutboxRow).where(
            OutboxRow.delivered_at.is_(None), OutboxRow.leased_by == replica, OutboxRow.next_attempt_at > to_utc(now)
        )
    ).all()
    for row in rows:
        row.next_attempt_at = now
        row.leased_by = None
    s.flush()
    return len(rows)


def pending_count(s: Session) -> int:
    """How many messages are not delivered yet (due or not)."""
    return int(s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.delivered_at.is_(None))) or 0)
