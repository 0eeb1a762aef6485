"""The pull connector's checkpoints and the EHR's subscriptions last seen (issue 13).

Revision ID: 0008
Revises: 0006 (the lead rechains it onto 0007 at the merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pull_checkpoint",
        sa.Column("server", sa.String(500), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("last_updated", sa.String(40), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("server", "resource_type", name="pk_pull_checkpoint"),
    )
    op.create_table(
        "subscription_seen",
        sa.Column("subscription", sa.String(500), nullable=False),
        sa.Column("topic", sa.String(500), nullable=True),
        sa.Column("last_type", sa.String(32), nullable=False),
        sa.Column("events_since_start", sa.Integer, nullable=True),
        sa.Column("notifications", sa.Integer, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("subscription", name="pk_subscription_seen"),
    )


def downgrade() -> None:
    op.drop_table("subscription_seen")
    op.drop_table("pull_checkpoint")
