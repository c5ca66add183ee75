"""outbox.leased_by and each plan's queue: webhooks delivered in order per plan by one replica.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Several replicas deliver from one outbox. A message is now due only when no earlier message
of its plan is undelivered (an index on the undelivered messages' plan and id answers that),
and a lease names the replica holding it (`leased_by`), so that a replica that starts again
releases its own leases only, not those of replicas still delivering.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDELIVERED = sa.text("delivered_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(64), nullable=True))
    op.create_index(
        "ix_outbox_plan_pending",
        "outbox",
        ["plan_id", "id"],
        postgresql_where=UNDELIVERED,
        sqlite_where=UNDELIVERED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_plan_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("leased_by")
