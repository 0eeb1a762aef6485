"""What incremental sync keeps: patient state and archive, practice state, seen resources.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_MAPPING_FK = "patient_mapping.mapping_id"


def upgrade() -> None:
    op.create_table(
        "patient_state",
        sa.Column("mapping_id", sa.String(36), nullable=False),
        sa.Column("format", sa.Integer, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ct", sa.LargeBinary, nullable=False),
        sa.Column("walked_to", sa.Date, nullable=True),
        sa.Column("live", sa.Boolean, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("mapping_id", name="pk_patient_state"),
        sa.ForeignKeyConstraint(
            ["mapping_id"], [_MAPPING_FK], name="fk_patient_state_mapping_id_patient_mapping"
        ),
    )
    op.create_index("ix_patient_state_live", "patient_state", ["live"])
    op.create_table(
        "patient_archive",
        sa.Column("mapping_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("format", sa.Integer, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ct", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("mapping_id", "seq", name="pk_patient_archive"),
        sa.ForeignKeyConstraint(
            ["mapping_id"], [_MAPPING_FK], name="fk_patient_archive_mapping_id_patient_mapping"
        ),
    )
    op.create_table(
        "practice_state",
        sa.Column("state_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("dek_id", sa.String(36), nullable=False),
        sa.Column("format", sa.Integer, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ct", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("state_id", name="pk_practice_state"),
        sa.ForeignKeyConstraint(
            ["dek_id"], ["data_key.dek_id"], name="fk_practice_state_dek_id_data_key"
        ),
    )
    op.create_table(
        "resource_seen",
        sa.Column("resource_idx", sa.LargeBinary(32), nullable=False),
        sa.Column("idx_ver", sa.Integer, nullable=False),
        sa.Column("mapping_id", sa.String(36), nullable=True),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("resource_idx", "idx_ver", name="pk_resource_seen"),
    )


def downgrade() -> None:
    for table in ("resource_seen", "practice_state", "patient_archive", "patient_state"):
        op.drop_table(table)
