"""Where the store's tests run (D-119): on the in-memory twin, unless a test asks for
real databases by parametrising `kind` (SQL_KINDS, EVERY_KIND) because the SQL itself is
what it tests: constraints, locking, time zones and BLOB columns as stored. What the
contract tests (tests/store/contract/) prove on all three backends runs there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.storage import Database, _Templates

SQL_KINDS = ("sqlite", "postgresql")
EVERY_KIND = ("memory", *SQL_KINDS)


@pytest.fixture
def kind() -> str:
    """The twin; a test that parametrises `kind` runs on the databases it names."""
    return "memory"


@pytest.fixture
def db(kind: str, tmp_path: Path, _templates: _Templates) -> Iterator[Database]:
    """The database of `kind`, at the newest schema and empty (open it with `open_store`)."""
    if kind == "memory":
        yield Database("memory", "")
    elif kind == "sqlite":
        yield Database("sqlite", _templates.sqlite(tmp_path / "substreg.db"))
    else:
        yield from (Database("postgresql", url) for url in _templates.postgresql())
