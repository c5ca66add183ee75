"""calls.notified_eta: the ETA the customer was last told of.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A call's `eta` follows the plan on every change, but a `call_updated` goes out only when the
ETA moves by more than a threshold. Compared with the current ETA, small moves that add up
would never be notified; they are compared with this column instead, set when the call is
created and whenever a `call_updated` is queued. Calls stored before this migration keep it
NULL, and their `eta` stands in for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("notified_eta", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("notified_eta")
