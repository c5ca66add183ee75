"""Repository functions. Each takes the `Session` of a `Store.transaction()` /
`Store.plan_transaction()` first, never commits (the context manager does), and returns frozen
records from `api.store.records`.

Inserts that may break a uniqueness rule run inside a SAVEPOINT, so a `Conflict` leaves the
surrounding transaction usable (e.g. to read the row that won).

Wall-clock times (`created_at`, `updated_at`, `received_at`, ...) default to now (UTC) and may be
passed explicitly; all datetimes must be timezone-aware.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import fields
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm import object_session as object_session_of

from api.store.columns import to_utc
from api.store.errors import Conflict, NotFound
from api.store.models import (
    CALL_KINDS,
    CALL_OUTCOMES,
    CALL_STATUSES,
    PLAN_STATUSES,
    SCENARIO_STATUSES,
    AuditRow,
    Base,
    CallRow,
    EventRow,
    OutboxRow,
    PlanRow,
    RouteVersionRow,
    ScenarioRow,
)
from api.store.records import (
    AuditRecord,
    CallRecord,
    EventRecord,
    OutboxRecord,
    PlanRecord,
    PlanSummary,
    RouteVersionRecord,
    ScenarioRecord,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "UNSET",
    "add_audit",
    "add_call",
    "add_event",
    "add_route_version",
    "claim_stale_plans",
    "create_plan",
    "create_scenario",
    "due_messages",
    "enqueue",
    "find_event",
    "get_call",
    "get_plan",
    "get_scenario",
    "latest_routes",
    "lease_due_messages",
    "list_audit",
    "list_calls",
    "list_events",
    "list_plan_summaries",
    "list_plans",
    "mark_delivered",
    "mark_failed",
    "new_id",
    "open_calls",
    "pending_count",
    "route_history",
    "unfinished_scenarios",
    "update_call",
    "update_plan",
    "update_scenario",
]


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Default of optional update arguments: "leave this column as it is" (None means SQL NULL)."""

_R = TypeVar("_R", bound="DataclassInstance")
_MAX_ERROR_LEN = 4000


def new_id() -> str:
    """A fresh id: uuid4 hex."""
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


def _record(cls: type[_R], row: Base) -> _R:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


class _Decoded:
    """Decoded JSON documents by key, the most recent `kept` of them (shared by threads)."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._docs: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The document, or `MISSING`."""
        with self._lock:
            doc = self._docs.get(key, MISSING)
            if doc is not MISSING:
                self._docs.move_to_end(key)
            return doc

    def put(self, key: Hashable, doc: Any) -> None:
        with self._lock:
            self._docs[key] = doc
            while len(self._docs) > self.kept:
                self._docs.popitem(last=False)


MISSING: Final = object()
_PROBLEMS = _Decoded(64)
_STATES = _Decoded(64)
_STATES_WRITTEN = "ontime.states_written"
"""Session info key: ids of the plans whose state this transaction wrote."""
_STATES_PENDING = "ontime.states_pending"
"""Session info key: the states this transaction wrote, with their revisions, by cache key:
kept once the transaction has committed, so the next read of the plan need not decode them."""


@event.listens_for(Session, "after_commit")
def _keep_committed_states(session: Session) -> None:
    for key, kept in session.info.pop(_STATES_PENDING, {}).items():
        _STATES.put(key, kept)
    session.info.pop(_STATES_WRITTEN, None)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back_states(session: Session) -> None:
    session.info.pop(_STATES_PENDING, None)


_COLUMNS_BUT_PROBLEM = [c.key for c in PlanRow.__mapper__.column_attrs if c.key not in ("problem",)]


def _database(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _plan_record(row: PlanRow, written: Any = MISSING) -> PlanRecord:
    """A plan's record, its two large JSON columns decoded once per process: the problem
    (written once, never changed) by plan id, the state by plan id at the last `state_rev` read
    or committed here (every write of the state bumps it). A state written in a transaction is
    kept only once it has committed (it may yet roll back). Callers must treat `problem` and
    `state` as read-only."""
    session = object_session_of(row)
    assert session is not None, "a plan row is read inside a transaction"
    database = _database(session)
    problem = _PROBLEMS.get((database, row.id))
    if problem is MISSING:
        problem = row.problem  # loads the deferred column
        _PROBLEMS.put((database, row.id), problem)
    if written is not MISSING:
        state = written
    elif row.id in session.info.get(_STATES_WRITTEN, ()):
        state = row.state
    else:
        kept = _STATES.get((database, row.id))  # one revision per plan: the last one read
        if kept is not MISSING and kept[0] == row.state_rev:
            state = kept[1]
        else:
            # state and its revision (and the rest of the row) in one statement, so they agree
            # even if another transaction committed since the row was read
            session.refresh(row, _COLUMNS_BUT_PROBLEM)
            state = row.state
            _STATES.put((database, row.id), (row.state_rev, state))
    values = {f.name: getattr(row, f.name) for f in fields(PlanRecord) if f.name not in ("problem", "state")}
    return PlanRecord(problem=problem, state=state, **values)


def _check(value: str, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _flush_savepoint(s: Session, row: Base) -> IntegrityError | None:
    """Insert `row` inside a SAVEPOINT. On an integrity error the savepoint is rolled back (the
    outer transaction stays usable) and the error is returned."""
    s.flush()  # anything pending goes out first, outside the savepoint
    try:
        with s.begin_nested():
            s.add(row)
    except IntegrityError as exc:
        return exc
    return None


def _require_plan(s: Session, plan_id: str) -> None:
    if s.scalar(select(PlanRow.id).where(PlanRow.id == plan_id)) is None:
        raise NotFound(f"plan {plan_id} not found")


def _plan_row(s: Session, plan_id: str) -> PlanRow:
    row = s.get(PlanRow, plan_id)
    if row is None:
        raise NotFound(f"plan {plan_id} not found")
    return row


# ---------------------------------------------------------------- plans


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
    at = created_at or _now()
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
    err = _flush_savepoint(s, row)
    if err is not None:
        if s.scalar(select(PlanRow.id).where(PlanRow.id == id)) is not None:
            raise Conflict(f"plan {id} already exists") from err
        raise err
    return _record(PlanRecord, row)


def get_plan(s: Session, id: str) -> PlanRecord:
    """The plan; NotFound if there is none."""
    return _plan_record(_plan_row(s, id))


def list_plans(s: Session, limit: int = 100) -> list[PlanRecord]:
    """The newest `limit` plans (by created_at), newest first, with all columns."""
    rows = s.scalars(select(PlanRow).order_by(PlanRow.created_at.desc(), PlanRow.id.desc()).limit(limit))
    return [_plan_record(row) for row in rows]


def list_plan_summaries(s: Session, limit: int = 100) -> list[PlanSummary]:
    """Like list_plans, without the heavy JSON columns (problem, params, state)."""
    cols = [getattr(PlanRow, f.name) for f in fields(PlanSummary)]
    result = s.execute(select(*cols).order_by(PlanRow.created_at.desc(), PlanRow.id.desc()).limit(limit))
    return [PlanSummary(*row) for row in result]


def update_plan(
    s: Session,
    id: str,
    *,
    status: str | Literal[_Unset.UNSET] = UNSET,
    error: str | Literal[_Unset.UNSET] | None = UNSET,
    version: int | Literal[_Unset.UNSET] = UNSET,
    state: dict[str, Any] | Literal[_Unset.UNSET] | None = UNSET,
    clock: datetime | Literal[_Unset.UNSET] | None = UNSET,
    name: str | Literal[_Unset.UNSET] = UNSET,
    updated_at: datetime | None = None,
) -> PlanRecord:
    """Set only the given columns and bump updated_at. NotFound if there is no such plan."""
    row = _plan_row(s, id)
    if status is not UNSET:
        row.status = _check(status, PLAN_STATUSES, "plan status")
    if error is not UNSET:
        row.error = None if error is None else error[:_MAX_ERROR_LEN]
    if version is not UNSET:
        row.version = version
    if state is not UNSET:
        row.state = state
        row.state_rev = PlanRow.state_rev + 1  # evaluated by the database: no lost bump
        s.info.setdefault(_STATES_WRITTEN, set()).add(id)
    if clock is not UNSET:
        row.clock = clock
    if name is not UNSET:
        row.name = name
    row.updated_at = updated_at or _now()
    s.flush()
    if state is not UNSET:  # (reading state_rev back loads the bumped value)
        s.info.setdefault(_STATES_PENDING, {})[(_database(s), id)] = (row.state_rev, state)
    return _plan_record(row, MISSING if state is UNSET else state)


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


# ---------------------------------------------------------------- route versions


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
        created_at=created_at or _now(),
    )
    err = _flush_savepoint(s, row)
    if err is not None:
        taken = select(RouteVersionRow.id).where(
            RouteVersionRow.plan_id == plan_id,
            RouteVersionRow.courier_id == courier_id,
            RouteVersionRow.version == version,
        )
        if s.scalar(taken) is not None:
            raise Conflict(f"route version {version} of courier {courier_id} in plan {plan_id} exists") from err
        _require_plan(s, plan_id)
        raise err
    return _record(RouteVersionRecord, row)


def route_history(s: Session, plan_id: str, courier_id: str) -> list[RouteVersionRecord]:
    """All versions of one courier's route, oldest first."""
    rows = s.scalars(
        select(RouteVersionRow)
        .where(RouteVersionRow.plan_id == plan_id, RouteVersionRow.courier_id == courier_id)
        .order_by(RouteVersionRow.version)
    )
    return [_record(RouteVersionRecord, row) for row in rows]


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
    return {row.courier_id: _record(RouteVersionRecord, row) for row in rows}


# ---------------------------------------------------------------- events


def find_event(s: Session, plan_id: str, event_id: str) -> EventRecord | None:
    """The event stored under this client event id, or None."""
    row = s.scalar(select(EventRow).where(EventRow.plan_id == plan_id, EventRow.event_id == event_id))
    return None if row is None else _record(EventRecord, row)


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
        received_at=received_at or _now(),
    )
    err = _flush_savepoint(s, row)
    if err is not None:
        if find_event(s, plan_id, event_id) is not None:
            raise Conflict(f"event {event_id} was already received for plan {plan_id}") from err
        _require_plan(s, plan_id)
        raise err
    return _record(EventRecord, row)


def list_events(s: Session, plan_id: str) -> list[EventRecord]:
    """The plan's events in time order (at, then arrival)."""
    rows = s.scalars(select(EventRow).where(EventRow.plan_id == plan_id).order_by(EventRow.at, EventRow.id))
    return [_record(EventRecord, row) for row in rows]


# ---------------------------------------------------------------- calls

_CALL_UPDATABLE = frozenset(
    {
        "courier_id",
        "kind",
        "status",
        "window_start",
        "window_end",
        "eta",
        "notified_eta",
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


def _open_call_id(s: Session, plan_id: str, stop_id: str) -> str | None:
    return s.scalar(
        select(CallRow.id).where(CallRow.plan_id == plan_id, CallRow.stop_id == stop_id, CallRow.status == "open")
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
    notified_eta: datetime | Literal[_Unset.UNSET] | None = UNSET,
) -> CallRecord:
    """Open a call task (status `open`); the id is made here unless given. Conflict if the stop
    already has an open call in this plan; NotFound if the plan does not exist.
    `notified_eta`, the ETA the customer is told of, is `eta` unless given."""
    at = created_at or _now()
    row = CallRow(
        id=id or new_id(),
        plan_id=plan_id,
        stop_id=stop_id,
        courier_id=courier_id,
        kind=_check(kind, CALL_KINDS, "call kind"),
        status="open",
        window_start=window_start,
        window_end=window_end,
        eta=eta,
        notified_eta=eta if notified_eta is UNSET else notified_eta,
        late_min=float(late_min),
        reason=reason,
        urgent=bool(urgent),
        outcome=None,
        outcome_actor=None,
        new_window=None,
        created_at=at,
        updated_at=at,
        closed_at=None,
    )
    err = _flush_savepoint(s, row)
    if err is not None:
        existing = _open_call_id(s, plan_id, stop_id)
        if existing is not None:
            raise Conflict(f"stop {stop_id} already has an open call ({existing}) in plan {plan_id}") from err
        if s.get(CallRow, row.id) is not None:
            raise Conflict(f"call {row.id} already exists") from err
        _require_plan(s, plan_id)
        raise err
    return _record(CallRecord, row)


def get_call(s: Session, call_id: str) -> CallRecord:
    """The call; NotFound if there is none."""
    row = s.get(CallRow, call_id)
    if row is None:
        raise NotFound(f"call {call_id} not found")
    return _record(CallRecord, row)


def list_calls(s: Session, plan_id: str, status: str | None = None) -> list[CallRecord]:
    """The plan's calls (optionally only `open` or `done` ones), oldest first."""
    query = select(CallRow).where(CallRow.plan_id == plan_id)
    if status is not None:
        query = query.where(CallRow.status == _check(status, CALL_STATUSES, "call status"))
    rows = s.scalars(query.order_by(CallRow.created_at, CallRow.id))
    return [_record(CallRecord, row) for row in rows]


def open_calls(s: Session, plan_id: str) -> list[CallRecord]:
    """The plan's open calls, oldest first."""
    return list_calls(s, plan_id, status="open")


def update_call(s: Session, call_id: str, **changes: Any) -> CallRecord:
    """Set the given columns (see `_CALL_UPDATABLE`) and bump updated_at.

    Setting status `done` also sets closed_at (now, unless given); setting it back to `open`
    clears closed_at, and raises Conflict if the stop has another open call meanwhile.
    NotFound if there is no such call; TypeError on an unknown column.
    """
    unknown = set(changes) - _CALL_UPDATABLE
    if unknown:
        raise TypeError(f"update_call() cannot set {', '.join(sorted(unknown))}")
    row = s.get(CallRow, call_id)
    if row is None:
        raise NotFound(f"call {call_id} not found")
    now = changes.pop("updated_at", None) or _now()
    if "kind" in changes:
        _check(changes["kind"], CALL_KINDS, "call kind")
    if changes.get("outcome") is not None:
        _check(changes["outcome"], CALL_OUTCOMES, "call outcome")
    if "status" in changes:
        status = _check(changes["status"], CALL_STATUSES, "call status")
        if status == "done" and row.status != "done":
            changes.setdefault("closed_at", now)
        elif status == "open":
            changes.setdefault("closed_at", None)
    s.flush()  # anything pending goes out before the savepoint, so only our change is undone
    try:
        with s.begin_nested():
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now
    except IntegrityError as exc:  # the savepoint rollback expired `row`: it reloads as stored
        raise Conflict(f"stop {row.stop_id} already has an open call in plan {row.plan_id}") from exc
    return _record(CallRecord, row)


# ---------------------------------------------------------------- outbox


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
    existing = s.scalar(select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key))
    if existing is not None:
        return _record(OutboxRecord, existing)
    at = created_at or _now()
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
    err = _flush_savepoint(s, row)
    if err is not None:  # a concurrent transaction inserted the same key first
        existing = s.scalar(select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key))
        if existing is None:
            raise err
        return _record(OutboxRecord, existing)
    return _record(OutboxRecord, row)


def _due_rows(s: Session, now: datetime, limit: int) -> list[OutboxRow]:
    query = (
        select(OutboxRow)
        .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= to_utc(now))
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
    return [_record(OutboxRecord, row) for row in _due_rows(s, now, limit)]


def lease_due_messages(s: Session, now: datetime, lease_until: datetime, limit: int = 50) -> list[OutboxRecord]:
    """Like due_messages, but also moves their next_attempt_at to `lease_until`, so they can be
    delivered after this (short) transaction commits without another worker taking them; a
    worker that dies mid-delivery leaves them due again at lease_until. The records show the
    leased next_attempt_at."""
    rows = _due_rows(s, now, limit)
    for row in rows:
        row.next_attempt_at = lease_until
    s.flush()
    return [_record(OutboxRecord, row) for row in rows]


def _outbox_row(s: Session, id: int) -> OutboxRow:
    row = s.get(OutboxRow, id)
    if row is None:
        raise NotFound(f"outbox message {id} not found")
    return row


def mark_delivered(s: Session, id: int, at: datetime) -> OutboxRecord:
    """The message was delivered at `at` (counts as an attempt)."""
    row = _outbox_row(s, id)
    row.attempts += 1
    row.delivered_at = at
    row.last_error = None
    s.flush()
    return _record(OutboxRecord, row)


def mark_failed(s: Session, id: int, error: str, next_attempt_at: datetime) -> OutboxRecord:
    """A delivery attempt failed: count it, keep the error, retry at next_attempt_at."""
    row = _outbox_row(s, id)
    row.attempts += 1
    row.last_error = error[:_MAX_ERROR_LEN]
    row.next_attempt_at = next_attempt_at
    s.flush()
    return _record(OutboxRecord, row)


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


# ---------------------------------------------------------------- scenarios


def create_scenario(
    s: Session, id: str, request: dict[str, Any], *, created_at: datetime | None = None
) -> ScenarioRecord:
    """Insert a scenario run with status `queued`. Conflict if the id is taken."""
    at = created_at or _now()
    row = ScenarioRow(id=id, status="queued", request=request, results=None, error=None, created_at=at, updated_at=at)
    err = _flush_savepoint(s, row)
    if err is not None:
        if s.get(ScenarioRow, id) is not None:
            raise Conflict(f"scenario {id} already exists") from err
        raise err
    return _record(ScenarioRecord, row)


def get_scenario(s: Session, id: str) -> ScenarioRecord:
    """The scenario run; NotFound if there is none."""
    row = s.get(ScenarioRow, id)
    if row is None:
        raise NotFound(f"scenario {id} not found")
    return _record(ScenarioRecord, row)


def update_scenario(
    s: Session,
    id: str,
    *,
    status: str | Literal[_Unset.UNSET] = UNSET,
    results: Any = UNSET,
    error: str | Literal[_Unset.UNSET] | None = UNSET,
    updated_at: datetime | None = None,
) -> ScenarioRecord:
    """Set only the given columns and bump updated_at. NotFound if there is no such run."""
    row = s.get(ScenarioRow, id)
    if row is None:
        raise NotFound(f"scenario {id} not found")
    if status is not UNSET:
        row.status = _check(status, SCENARIO_STATUSES, "scenario status")
    if results is not UNSET:
        row.results = results
    if error is not UNSET:
        row.error = None if error is None else error[:_MAX_ERROR_LEN]
    row.updated_at = updated_at or _now()
    s.flush()
    return _record(ScenarioRecord, row)


def unfinished_scenarios(s: Session) -> list[str]:
    """Ids of scenario runs left `queued` or `running` (e.g. after a restart), oldest first."""
    query = select(ScenarioRow.id).where(ScenarioRow.status.in_(("queued", "running")))
    return list(s.scalars(query.order_by(ScenarioRow.created_at, ScenarioRow.id)))


# ---------------------------------------------------------------- audit


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
    row = AuditRow(plan_id=plan_id, actor=actor, action=action, detail=detail, at=at or _now())
    s.add(row)
    s.flush()
    return _record(AuditRecord, row)


def list_audit(s: Session, plan_id: str | None, limit: int | None = None) -> list[AuditRecord]:
    """The plan's audit entries in the order they were written (all entries if plan_id is None)."""
    query = select(AuditRow)
    if plan_id is not None:
        query = query.where(AuditRow.plan_id == plan_id)
    query = query.order_by(AuditRow.id)
    if limit is not None:
        query = query.limit(limit)
    return [_record(AuditRecord, row) for row in s.scalars(query)]
