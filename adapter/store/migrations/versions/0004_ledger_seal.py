"""Ledger rows sealed with a keyed MAC; sealed audit tickets of any length.

Revision ID: 0004
Revises: 0003

`report.row_mac` and `report.mac_key` (D-44) start empty: `substreg init`, which every
upgrade is followed by, seals the rows written before and chains them into the audit
log. `audit_log.ticket` was 64 characters, but a ticket is kept sealed (D-31, about 95
characters), which PostgreSQL refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report") as table:
        table.add_column(sa.Column("row_mac", sa.LargeBinary(32), nullable=True))
        table.add_column(sa.Column("mac_key", sa.String(64), nullable=True))
    with op.batch_alter_table("audit_log") as table:
        table.alter_column("ticket", type_=sa.Text, existing_type=sa.String(64))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as table:
        table.alter_column("ticket", type_=sa.String(64), existing_type=sa.Text)
    with op.batch_alter_table("report") as table:
        table.drop_column("mac_key")
        table.drop_column("row_mac")
