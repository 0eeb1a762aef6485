"""The store's contract: every row store passes the same tests on the in-memory twin,
on SQLite and on PostgreSQL (`backend_db` runs each test three times)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter.store.database import open_engine
from adapter.store.memory.backend import MemoryDatabase
from adapter.store.sql.backend import SqlDatabase
from adapter.store.workspace import Database
from tests.storage import _Templates

KINDS = ("memory", "sqlite", "postgresql")


@pytest.fixture(params=KINDS)
def backend_db(
    request: pytest.FixtureRequest, tmp_path: Path, _templates: _Templates
) -> Iterator[Database]:
    """An empty database at the newest schema, of each kind."""
    if request.param == "memory":
        memory = MemoryDatabase()
        memory.create()
        yield memory
        return
    if request.param == "sqlite":
        database = SqlDatabase(open_engine(_templates.sqlite(tmp_path / "contract.db")))
        yield database
        database.engine.dispose()
        return
    for url in _templates.postgresql():
        database = SqlDatabase(open_engine(url))
        yield database
        database.engine.dispose()
