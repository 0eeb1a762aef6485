"""Handover documents received: the registration they state, sealed (R-HO-1, D-162).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handover_in",
        sa.Column("handover_id", sa.String(36), nullable=False),
        sa.Column("dek_id", sa.String(36), nullable=False),
        sa.Column("signer", sa.String(80), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_on", sa.Date, nullable=True),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ct", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["dek_id"], ["data_key.dek_id"], name="fk_handover_in_dek_id_data_key"
        ),
        sa.PrimaryKeyConstraint("handover_id", name="pk_handover_in"),
    )


def downgrade() -> None:
    op.drop_table("handover_in")
