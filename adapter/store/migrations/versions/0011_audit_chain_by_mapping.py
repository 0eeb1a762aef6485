"""An index on the audit log's action and mapping: the chain records of some patients
are read alone.

An incremental sync checks the ledger rows of the patients it walks (and the notices)
against the audit log's last record of each, and looks for rows of theirs the log
recorded and the ledger lacks (D-44). It read every `ledger.row` record of the whole
ledger for that, so that each day's sync cost more the longer the ledger's history grew;
it now reads those of its patients only, by this index (D-199).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_action_mapping_id", "audit_log", ["action", "mapping_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_mapping_id", table_name="audit_log")
