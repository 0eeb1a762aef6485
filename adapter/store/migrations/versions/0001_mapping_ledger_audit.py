"""Pseudonymised mapping, data keys, key registry, report ledger, audit chain.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "key_registry",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("changed_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_key_registry"),
    )
    op.create_table(
        "data_key",
        sa.Column("dek_id", sa.String(36), nullable=False),
        sa.Column("kek_id", sa.String(64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=True),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("destroyed_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("dek_id", name="pk_data_key"),
        sa.ForeignKeyConstraint(
            ["kek_id"], ["key_registry.key_id"], name="fk_data_key_kek_id_key_registry"
        ),
    )
    op.create_index("ix_data_key_kek_id", "data_key", ["kek_id"])
    op.create_table(
        "patient_mapping",
        sa.Column("mapping_id", sa.String(36), nullable=False),
        sa.Column("dek_id", sa.String(36), nullable=False),
        sa.Column("subject_nonce", sa.LargeBinary, nullable=True),
        sa.Column("subject_ct", sa.LargeBinary, nullable=True),
        sa.Column("codes_nonce", sa.LargeBinary, nullable=True),
        sa.Column("codes_ct", sa.LargeBinary, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_use", sa.Date, nullable=True),
        sa.Column("last_use", sa.Date, nullable=True),
        sa.Column("closed_on", sa.Date, nullable=True),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("mapping_id", name="pk_patient_mapping"),
        sa.ForeignKeyConstraint(
            ["dek_id"], ["data_key.dek_id"], name="fk_patient_mapping_dek_id_data_key"
        ),
    )
    op.create_table(
        "patient_index",
        sa.Column("subject_idx", sa.LargeBinary(32), nullable=False),
        sa.Column("idx_ver", sa.Integer, nullable=False),
        sa.Column("mapping_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("subject_idx", "idx_ver", name="pk_patient_index"),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["patient_mapping.mapping_id"],
            name="fk_patient_index_mapping_id_patient_mapping",
        ),
    )
    op.create_index("ix_patient_index_mapping_id", "patient_index", ["mapping_id"])
    op.create_table(
        "report",
        sa.Column("ledger_id", sa.String(36), nullable=False),
        sa.Column("slot_key", sa.String(160), nullable=False),
        sa.Column("mapping_id", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("doctor_btm", sa.String(7), nullable=False),
        sa.Column("report_date", sa.Date, nullable=False),
        sa.Column("made_on", sa.Date, nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("superseded", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("dek_id", sa.String(36), nullable=False),
        sa.Column("payload_nonce", sa.LargeBinary, nullable=False),
        sa.Column("payload_ct", sa.LargeBinary, nullable=False),
        sa.Column("payload_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("note_nonce", sa.LargeBinary, nullable=True),
        sa.Column("note_ct", sa.LargeBinary, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("ledger_id", name="pk_report"),
        sa.UniqueConstraint("slot_key", name="uq_report_slot_key"),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["patient_mapping.mapping_id"],
            name="fk_report_mapping_id_patient_mapping",
        ),
        sa.ForeignKeyConstraint(["dek_id"], ["data_key.dek_id"], name="fk_report_dek_id_data_key"),
    )
    op.create_index("ix_report_mapping_id", "report", ["mapping_id"])
    op.create_index("ix_report_state", "report", ["state"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("mapping_id", sa.String(36), nullable=True),
        sa.Column("ledger_id", sa.String(36), nullable=True),
        sa.Column("purpose", sa.Text, nullable=True),
        sa.Column("ticket", sa.String(64), nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("entry_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("entry_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_checkpoint"),
        sa.ForeignKeyConstraint(
            ["key_id"], ["key_registry.key_id"], name="fk_audit_checkpoint_key_id_key_registry"
        ),
    )


def downgrade() -> None:
    for table in (
        "audit_checkpoint",
        "audit_log",
        "report",
        "patient_index",
        "patient_mapping",
        "data_key",
        "key_registry",
    ):
        op.drop_table(table)
