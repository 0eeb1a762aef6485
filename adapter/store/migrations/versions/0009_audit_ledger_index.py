"""An index on the audit log's ledger ids: a row's last chained record is read alone.

Before a ledger row is changed, the audit log's last record of it is compared with it
(D-44). Without this index every such read scanned the whole log, so that recording a
delivered batch cost more the longer the ledger's history grew (D-118).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_ledger_id", "audit_log", ["ledger_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_ledger_id", table_name="audit_log")
