"""Sync runs and what each changed, so that a run whose reports were not sent can be undone.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_run",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("made_at", _TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("recorded", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("undone_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_sync_run"),
        sa.UniqueConstraint("seq", name="uq_sync_run_seq"),
    )
    op.create_table(
        "sync_run_change",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("row_id", sa.String(36), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("run_id", "item", name="pk_sync_run_change"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_run.run_id"], name="fk_sync_run_change_run_id_sync_run"
        ),
    )


def downgrade() -> None:
    op.drop_table("sync_run_change")
    op.drop_table("sync_run")
