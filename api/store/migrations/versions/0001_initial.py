"""Initial schema: plans, route versions, events, calls, outbox, scenarios, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written by hand (not imported from the models, so later model changes cannot alter it);
tests/api/store checks that the models and the migrated schema agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER = rowid alias on SQLite
TS = sa.DateTime(timezone=True)
OPEN = sa.text("status = 'open'")
UNDELIVERED = sa.text("delivered_at IS NULL")


def _json() -> sa.JSON:
    return sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("problem", _json(), nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("state", _json(), nullable=True),
        sa.Column("clock", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('queued', 'solving', 'solved', 'failed')", name="ck_plans_status"),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
    )
    op.create_index("ix_plans_status", "plans", ["status"])
    op.create_index("ix_plans_created_at", "plans", ["created_at"])

    op.create_table(
        "route_versions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("courier_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("stops", _json(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_route_versions_plan_id_plans", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_route_versions"),
        sa.UniqueConstraint("plan_id", "courier_id", "version", name="uq_route_versions_plan_id_courier_id_version"),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("courier_id", ID, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("response", _json(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_events_plan_id_plans", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("plan_id", "event_id", name="uq_events_plan_id_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_plan_id_at_id", "events", ["plan_id", "at", "id"])

    op.create_table(
        "calls",
        sa.Column("id", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("stop_id", ID, nullable=False),
        sa.Column("courier_id", ID, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("window_end", TS, nullable=False),
        sa.Column("eta", TS, nullable=True),
        sa.Column("late_min", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_actor", sa.String(200), nullable=True),
        sa.Column("new_window", _json(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.CheckConstraint("kind IN ('late', 'failed', 'dropped')", name="ck_calls_kind"),
        sa.CheckConstraint("status IN ('open', 'done')", name="ck_calls_status"),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('accepted_late', 'rebooked', 'unreachable', 'cancelled')",
            name="ck_calls_outcome",
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_calls_plan_id_plans", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_calls"),
    )
    op.create_index("ix_calls_plan_id_status", "calls", ["plan_id", "status"])
    # A stop has at most one open call per plan.
    op.create_index(
        "uq_calls_open_stop",
        "calls",
        ["plan_id", "stop_id"],
        unique=True,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )

    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("plan_id", ID, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["next_attempt_at", "id"],
        postgresql_where=UNDELIVERED,
        sqlite_where=UNDELIVERED,
    )
    op.create_index("ix_outbox_plan_id", "outbox", ["plan_id"])

    op.create_table(
        "scenarios",
        sa.Column("id", ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", _json(), nullable=False),
        sa.Column("results", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_scenarios_status"),
        sa.PrimaryKeyConstraint("id", name="pk_scenarios"),
    )

    op.create_table(
        "audit",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("plan_id", ID, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", _json(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_plan_id_id", "audit", ["plan_id", "id"])


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("scenarios")
    op.drop_table("outbox")
    op.drop_table("calls")
    op.drop_table("events")
    op.drop_table("route_versions")
    op.drop_table("plans")
