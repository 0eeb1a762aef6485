"""The outbox: sealed batches for the register, their reports, and what came back (issue 12).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_batch",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("doctor_btm", sa.String(7), nullable=False),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("envelope_sha256", sa.String(64), nullable=False),
        sa.Column("report_count", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("proof", sa.Text, nullable=True),
        sa.Column("dek_id", sa.String(36), nullable=True),
        sa.Column("receipt_nonce", sa.LargeBinary, nullable=True),
        sa.Column("receipt_ct", sa.LargeBinary, nullable=True),
        sa.Column("receipt_sha256", sa.String(64), nullable=True),
        sa.Column("received_at", _TS, nullable=True),
        sa.Column("reason_nonce", sa.LargeBinary, nullable=True),
        sa.Column("reason_ct", sa.LargeBinary, nullable=True),
        sa.Column("replaces", sa.String(64), nullable=True),
        sa.Column("replaced_by", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("acknowledged_at", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_outbox_batch"),
        sa.ForeignKeyConstraint(
            ["dek_id"], ["data_key.dek_id"], name="fk_outbox_batch_dek_id_data_key"
        ),
    )
    op.create_index("ix_outbox_batch_state", "outbox_batch", ["state", "next_attempt_at"])
    op.create_table(
        "outbox_report",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("ledger_id", sa.String(36), nullable=False),
        sa.Column("report_id", sa.String(64), nullable=False),
        sa.Column("result", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "position", name="pk_outbox_report"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["outbox_batch.batch_id"], name="fk_outbox_report_batch_id_outbox_batch"
        ),
        sa.ForeignKeyConstraint(
            ["ledger_id"], ["report.ledger_id"], name="fk_outbox_report_ledger_id_report"
        ),
    )
    op.create_index("ix_outbox_report_ledger_id", "outbox_report", ["ledger_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_report_ledger_id", table_name="outbox_report")
    op.drop_table("outbox_report")
    op.drop_index("ix_outbox_batch_state", table_name="outbox_batch")
    op.drop_table("outbox_batch")
