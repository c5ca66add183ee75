"""calls.p_late, calls.eta_p90, calls.call_by: risk-aware calls.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A call may open on risk, before the median ETA is late: it keeps the chance of a late start
(`p_late`, 0-1), the 90th-percentile ETA, and the latest time the call is still useful
(`call_by`), by which the call list is ranked. Calls stored before this migration have
`p_late` 0 and no `eta_p90`; their `call_by` is their window's end.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("p_late", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("eta_p90", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("call_by", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("call_by")
        batch.drop_column("eta_p90")
        batch.drop_column("p_late")
