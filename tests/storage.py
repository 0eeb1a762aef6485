"""Test databases: a SQLite file and a PostgreSQL schema of its own per test.

PostgreSQL is the server at SUBSTREG_TEST_POSTGRESQL_URL (default: the local server,
database `test`). It is not skipped when it cannot be reached: such a test fails with
the reason, unless SUBSTREG_TEST_SKIP_POSTGRESQL=1 says this machine has none (a clone
without the service); CI never sets it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from adapter.crypto import Keyring, generate_keyring
from adapter.store.audit import Actor
from adapter.store.database import open_engine, upgrade
from adapter.store.workspace import Store

PG_ENV = "SUBSTREG_TEST_POSTGRESQL_URL"
PG_SKIP_ENV = "SUBSTREG_TEST_SKIP_POSTGRESQL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
ACTOR = Actor("tester", "operator")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def postgresql_base_url() -> str:
    return os.environ.get(PG_ENV) or PG_DEFAULT


@dataclass
class Database:
    """A fresh, empty database of one backend, and how to reach it."""

    backend: str
    url: str


def _postgresql_schema() -> Iterator[str]:
    base = postgresql_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get(PG_SKIP_ENV) == "1":
            pytest.skip(f"{PG_SKIP_ENV}=1: no PostgreSQL on this machine")
        pytest.fail(
            f"PostgreSQL at {base} cannot be reached ({exc.orig}); start it, set {PG_ENV}, "
            f"or set {PG_SKIP_ENV}=1 on a machine without it",
            pytrace=False,
        )
    url = make_url(base).set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'substreg.db'}")
    else:
        yield from (Database("postgresql", url) for url in _postgresql_schema())


def make_store(
    url: str,
    keyring: Keyring | None = None,
    *,
    clock: Callable[[], datetime] = lambda: NOW,
    serialize_writers: bool = True,
    initialised: bool = True,
) -> tuple[Store, Keyring]:
    """A store at the newest schema with its keyring held in memory; `initialised`: with
    the audit log's first entry, as `substreg init` writes it (a store that holds data
    but no audit entry is one whose log was deleted, and refuses to run, D-44)."""
    ring = keyring or generate_keyring(NOW.isoformat())
    engine = open_engine(url)
    upgrade(engine)
    store = Store(engine, lambda: ring, clock=clock, serialize_writers=serialize_writers)
    if initialised:
        store.run(ACTOR, lambda space: space.audit.append(ACTOR, "init", details={}))
    return store, ring
