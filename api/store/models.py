"""ORM models (SQLAlchemy 2 typed declarative). Internal to the store: the repository turns
rows into frozen records, so no ORM object leaves `api.store`.

The schema itself is created by the Alembic migrations in `migrations/versions/`; a test checks
that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from api.store.columns import UTCDateTime, to_utc

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PLAN_STATUSES = ("queued", "solving", "solved", "failed")
CALL_KINDS = ("late", "failed", "dropped")
CALL_STATUSES = ("open", "done")
CALL_OUTCOMES = ("accepted_late", "rebooked", "unreachable", "cancelled")
SCENARIO_STATUSES = ("queued", "running", "done", "failed")

# 64-bit on PostgreSQL; on SQLite the key must be spelled INTEGER to be the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON(none_as_null=True)
ID_LEN = 64


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: Json, list[Any]: Json}


class PlanRow(Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(_one_of("status", PLAN_STATUSES), name="status"),
        Index(None, "status"),
        Index(None, "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    # Never changes after insert; deferred so a plan read decodes it only on a cache miss (repo.cache).
    problem: Mapped[dict[str, Any]] = mapped_column(Json, deferred=True)
    params: Mapped[dict[str, Any]] = mapped_column(Json)
    # Deferred like `problem`: decoded once per revision per process (see api.store.repo.cache).
    state: Mapped[dict[str, Any] | None] = mapped_column(Json, deferred=True)
    state_rev: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    clock: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RouteVersionRow(Base):
    __tablename__ = "route_versions"
    __table_args__ = (
        UniqueConstraint("plan_id", "courier_id", "version"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("plans.id", ondelete="CASCADE"))
    courier_id: Mapped[str] = mapped_column(String(ID_LEN))
    version: Mapped[int] = mapped_column(Integer)
    plan_version: Mapped[int] = mapped_column(Integer)
    stops: Mapped[list[Any]] = mapped_column(Json)
    created_at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("plan_id", "event_id"),
        Index(None, "plan_id", "at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("plans.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(200))
    courier_id: Mapped[str] = mapped_column(String(ID_LEN))
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    response: Mapped[dict[str, Any] | None] = mapped_column(Json)
    actor: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime]


class CallRow(Base):
    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CALL_KINDS), name="kind"),
        CheckConstraint(_one_of("status", CALL_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_one_of('outcome', CALL_OUTCOMES)}", name="outcome"),
        Index(None, "plan_id", "status"),
        # A stop has at most one open call per plan.
        Index(
            "uq_calls_open_stop",
            "plan_id",
            "stop_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("plans.id", ondelete="CASCADE"))
    stop_id: Mapped[str] = mapped_column(String(ID_LEN))
    courier_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    eta: Mapped[datetime | None]
    # The ETA the customer was last told of (call_created / call_updated); NULL on calls
    # stored before migration 0003 (their `eta` stands in for it).
    notified_eta: Mapped[datetime | None]
    # Risk (migration 0004): the chance of a late start, the 90th-percentile ETA, and the
    # latest time the call is still useful; the call list is ranked by `call_by`.
    p_late: Mapped[float] = mapped_column(Float, server_default="0")
    eta_p90: Mapped[datetime | None]
    call_by: Mapped[datetime | None]
    late_min: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_actor: Mapped[str | None] = mapped_column(String(200))
    new_window: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        # The delivery worker's query: undelivered, due, in id order.
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
        Index(None, "plan_id"),
        # Whether a message has an earlier undelivered one of its plan (each plan's queue).
        Index(
            "ix_outbox_plan_pending",
            "plan_id",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    leased_by: Mapped[str | None] = mapped_column(String(ID_LEN))
    """The replica delivering it now (until next_attempt_at), if any."""


class ScenarioRow(Base):
    __tablename__ = "scenarios"
    __table_args__ = (CheckConstraint(_one_of("status", SCENARIO_STATUSES), name="status"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(Json)
    results: Mapped[Any] = mapped_column(Json, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditRow(Base):
    __tablename__ = "audit"
    __table_args__ = (Index(None, "plan_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[str | None] = mapped_column(String(ID_LEN))  # no FK: the log outlives its subject
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(Json)
    at: Mapped[datetime]


def _datetime_to_utc(_target: object, value: datetime | None, _old: object, _initiator: object) -> datetime | None:
    return None if value is None else to_utc(value)


def _guard_datetimes() -> None:
    """Every datetime column rejects naive values when assigned (ValueError at the call site,
    not a wrapped error at flush) and holds UTC from then on, like a row read back."""
    for mapper in Base.registry.mappers:
        for prop in mapper.column_attrs:
            if any(isinstance(col.type, UTCDateTime) for col in prop.columns):
                event.listen(prop.class_attribute, "set", _datetime_to_utc, retval=True)


_guard_datetimes()
