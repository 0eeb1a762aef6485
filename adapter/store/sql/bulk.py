"""Many rows in one statement on PostgreSQL: each column sent as one array in psycopg's
binary format and `unnest`ed by the server (D-186).

SQLAlchemy sends an `executemany` to psycopg as one statement per row (a pipeline), and an
INSERT … RETURNING of many rows as one VALUES list with a bound value per cell, which the
server parses and plans anew each time (1,330 values for 70 reports: 11–30 ms, against
2–3 ms for the same rows as arrays). SQLite keeps SQLAlchemy's statements: there a
statement is a function call in the same process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, TypeDecorator
from sqlalchemy.dialects import postgresql

from adapter.store.rows import Row

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_QUOTE = _DIALECT.identifier_preparer.quote  # quoted only where PostgreSQL needs it


def is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def insert_arrays(
    connection: Connection,
    table: Table,
    rows: Sequence[Row],
    *,
    skip_conflicts: bool = False,
    returning: str | None = None,
) -> list[Any]:
    """Insert `rows` (all with the same keys) into `table` in one statement.
    `skip_conflicts`: ON CONFLICT DO NOTHING (any unique key). `returning`: a column whose
    values come back, of the rows inserted."""
    if not rows:
        return []
    columns = list(rows[0])
    arrays = {f"c{i}": [row[name] for row in rows] for i, name in enumerate(columns)}
    names = ", ".join(_QUOTE(name) for name in columns)
    unnested = ", ".join(f"%(c{i})b::{_array_type(table, name)}" for i, name in enumerate(columns))
    sql = f"INSERT INTO {_QUOTE(table.name)} ({names}) SELECT * FROM unnest({unnested})"
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning is None:
        connection.exec_driver_sql(sql, arrays)
        return []
    sql += f" RETURNING {_QUOTE(returning)}"
    return [row[0] for row in connection.exec_driver_sql(sql, arrays)]


def _array_type(table: Table, name: str) -> str:
    """The PostgreSQL array type of a column (`BYTEA[]`, `VARCHAR(36)[]`, …)."""
    kind = table.c[name].type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    return f"{kind.compile(dialect=_DIALECT)}[]"
