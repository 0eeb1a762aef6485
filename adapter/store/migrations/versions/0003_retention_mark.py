"""The retention mark: the latest cutoff up to which patients were crypto-shredded.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_mark",
        sa.Column("mark_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("cutoff", sa.Date, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mark_id", name="pk_retention_mark"),
    )


def downgrade() -> None:
    op.drop_table("retention_mark")
