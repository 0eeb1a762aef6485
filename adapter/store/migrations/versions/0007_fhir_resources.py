"""The resources pushed to `/fhir`: every version sealed, blind indexes of ids and
identifiers, which versions sync has not read yet, and whose they are (issue 13).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fhir_resource",
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("id_idx", sa.LargeBinary(32), nullable=False),
        sa.Column("idx_ver", sa.Integer, nullable=False),
        sa.Column("dek_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("last_updated", _TS, nullable=False),
        sa.Column("owner", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("resource_id", name="pk_fhir_resource"),
        sa.ForeignKeyConstraint(
            ["dek_id"], ["data_key.dek_id"], name="fk_fhir_resource_dek_id_data_key"
        ),
        sa.UniqueConstraint("id_idx", "idx_ver", name="uq_fhir_resource_id_idx"),
    )
    op.create_index("ix_fhir_resource_owner", "fhir_resource", ["owner"])
    op.create_table(
        "fhir_resource_version",
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_updated", _TS, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ct", sa.LargeBinary, nullable=False),
        sa.Column("ingested_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("resource_id", "version", name="pk_fhir_resource_version"),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["fhir_resource.resource_id"],
            name="fk_fhir_resource_version_resource_id_fhir_resource",
        ),
    )
    op.create_index(
        "ix_fhir_resource_version_ingested_at", "fhir_resource_version", ["ingested_at"]
    )
    op.create_table(
        "fhir_identifier_index",
        sa.Column("identifier_idx", sa.LargeBinary(32), nullable=False),
        sa.Column("idx_ver", sa.Integer, nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint(
            "identifier_idx", "idx_ver", "resource_id", name="pk_fhir_identifier_index"
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["fhir_resource.resource_id"],
            name="fk_fhir_identifier_index_resource_id_fhir_resource",
        ),
    )
    op.create_index(
        "ix_fhir_identifier_index_resource_id", "fhir_identifier_index", ["resource_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_fhir_identifier_index_resource_id", table_name="fhir_identifier_index")
    op.drop_table("fhir_identifier_index")
    op.drop_index("ix_fhir_resource_version_ingested_at", table_name="fhir_resource_version")
    op.drop_table("fhir_resource_version")
    op.drop_index("ix_fhir_resource_owner", table_name="fhir_resource")
    op.drop_table("fhir_resource")
