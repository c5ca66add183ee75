"""plans.state_rev: a revision number the store bumps on every write of `plans.state`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

The plan-state document of a 1000-stop day is a few hundred kilobytes of JSON. With the
revision beside it, a process decodes each revision once and serves later reads of the same
revision from memory (`api.store.repo`), reading only the small columns from the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("state_rev", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("state_rev")
