"""Alembic environment: runs on the connection that `adapter.store.database` hands in.

The CLI never goes through `alembic.ini`: `substreg init` (and the tests) call
`adapter.store.database.upgrade`, which passes an open connection in
`config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context

from adapter.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
