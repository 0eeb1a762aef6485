"""The method each version of a pushed resource was written with (POST, PUT, DELETE), so
that `_history` says it rather than guessing PUT for a resource created by POST (D-238).

Versions written before are NULL: how they were written was not kept, and `_history`
answers them as before (PUT, or DELETE for a deletion).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fhir_resource_version") as table:
        table.add_column(sa.Column("method", sa.String(6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fhir_resource_version") as table:
        table.drop_column("method")
