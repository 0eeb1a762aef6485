"""The register's duplicate notices as received: the letter sealed, its state in clear
(004 §10, D-233).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duplicate_notice",
        sa.Column("notice_id", sa.String(36), nullable=False),
        sa.Column("dek_id", sa.String(36), nullable=False),
        sa.Column("doctor_btm", sa.String(7), nullable=False),
        sa.Column("letter_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answer", sa.String(24), nullable=True),
        sa.Column("ledger_id", sa.String(36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ct", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["dek_id"], ["data_key.dek_id"], name="fk_duplicate_notice_dek_id_data_key"
        ),
        sa.PrimaryKeyConstraint("notice_id", name="pk_duplicate_notice"),
    )


def downgrade() -> None:
    op.drop_table("duplicate_notice")
