"""Test databases: the in-memory twin, a SQLite file and a PostgreSQL database of its own
per test (`db` is the twin unless a test asks for SQL_KINDS or EVERY_KIND, D-119).

PostgreSQL is the server at SUBSTREG_TEST_POSTGRESQL_URL (default: the local server;
each test gets a database of its own, copied from a template and emptied for the next
test, `_Copies`). It is not skipped when
it cannot be reached: such a test fails with the reason, unless
SUBSTREG_TEST_SKIP_POSTGRESQL=1 says this machine has none (a clone without the
service); CI never sets it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from adapter.crypto import Keyring, generate_keyring
from adapter.store.audit import Actor
from adapter.store.database import current_revision, head_revision, open_engine, upgrade
from adapter.store.memory.backend import MemoryDatabase
from adapter.store.sql.backend import SqlDatabase
from adapter.store.workspace import Store

PG_ENV = "SUBSTREG_TEST_POSTGRESQL_URL"
PG_SKIP_ENV = "SUBSTREG_TEST_SKIP_POSTGRESQL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
SQL_KINDS = BACKENDS
EVERY_KIND = ("memory", *SQL_KINDS)  # the in-memory twin and both databases
# A command's test whose subject is the command's own logic, not the SQL (a refusal, a
# question asked, a clock in doubt): the `cli` fixture on SQLite only; what the same
# commands write and destroy is tested on both databases (D-119).
ON_SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
ACTOR = Actor("tester", "operator")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def postgresql_base_url() -> str:
    return os.environ.get(PG_ENV) or PG_DEFAULT


@dataclass
class Database:
    """A fresh, empty database of one backend, and how to reach it."""

    backend: str
    url: str


def _admin() -> Engine:
    """The PostgreSQL server, for creating and dropping test databases; a server that
    cannot be reached fails the test with the reason (or skips it, PG_SKIP_ENV)."""
    base = postgresql_base_url()
    admin = create_engine(
        make_url(base).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get(PG_SKIP_ENV) == "1":
            pytest.skip(f"{PG_SKIP_ENV}=1: no PostgreSQL on this machine")
        pytest.fail(
            f"PostgreSQL at {base} cannot be reached ({exc.orig}); start it, set {PG_ENV}, "
            f"or set {PG_SKIP_ENV}=1 on a machine without it",
            pytrace=False,
        )
    return admin


def _url_of(name: str) -> str:
    url = make_url(postgresql_base_url()).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def _execute(admin: Engine, statement: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(statement))


# What a database at the newest schema is made of: a copy handed back by a test is used
# again only while this is what it was (a test that changed the schema gets a new copy).
_SHAPE = """
SELECT 'column', table_name, column_name || ' ' || data_type || ' ' || is_nullable
       || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'index', tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'constraint', conrelid::regclass::text, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT 'trigger', tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'version', 'alembic_version', version_num FROM alembic_version
ORDER BY 1, 2, 3
"""


class _Copies:
    """PostgreSQL databases copied from the template, used again after a test: emptied
    (every table but alembic_version, every sequence restarted) rather than dropped and
    copied anew, which costs a second or more per test on a busy machine (D-119). A copy
    whose schema is no longer the template's is dropped; so is one that cannot be emptied."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.shape: list[tuple[str, ...]] | None = None
        self.free: list[str] = []
        self.made: set[str] = set()

    def take(self, admin: Engine) -> str:
        if self.free:
            return self.free.pop()
        name = f"t_{uuid.uuid4().hex[:12]}"
        _execute(admin, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.add(name)
        if self.shape is None:
            self.shape = self._emptied(name)
        return name

    def give_back(self, admin: Engine, name: str) -> None:
        _execute(  # connections a test left open would hold locks on the rows
            admin,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        )
        try:
            shape = self._emptied(name)
        except (OperationalError, ProgrammingError):
            shape = None
        if shape is not None and shape == self.shape:
            self.free.append(name)
        else:
            self.drop(admin, name)

    def drop(self, admin: Engine, name: str) -> None:
        _execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.discard(name)

    @staticmethod
    def _emptied(name: str) -> list[tuple[str, ...]]:
        """Delete every row but the schema version's, restart the sequences; the shape."""
        engine = create_engine(_url_of(name), poolclass=NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                tables = connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                ).scalars()
                for table in [t for t in tables if t != "alembic_version"]:
                    connection.execute(text(f'DELETE FROM "{table}"'))
                sequences = connection.execute(
                    text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
                ).scalars()
                for sequence in list(sequences):
                    connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
                return [tuple(row) for row in connection.execute(text(_SHAPE))]
        finally:
            engine.dispose()


class _Templates:
    """Databases at the newest schema, migrated once per test session and copied for
    each test (a SQLite file copy; PostgreSQL's CREATE DATABASE … TEMPLATE, emptied and
    used again by the next test, `_Copies`): Alembic's migrations run once, not once per
    test. tests/store/test_migrations.py runs them on empty databases (`empty_database`)
    and checks that they make exactly the schema."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._copies: _Copies | None = None

    def sqlite(self, target: Path) -> str:
        if self._sqlite is None:
            template = self.folder / "template.db"
            engine = open_engine(f"sqlite:///{template}")
            upgrade(engine)
            engine.dispose()  # the last connection closes: the WAL is folded into the file
            self._sqlite = template
        shutil.copyfile(self._sqlite, target)
        return f"sqlite:///{target}"

    def postgresql(self) -> Iterator[str]:
        admin = _admin()
        try:
            if self._copies is None:
                name = f"substreg_template_{uuid.uuid4().hex[:12]}"
                _execute(admin, f'CREATE DATABASE "{name}"')
                engine = open_engine(_url_of(name))
                upgrade(engine)
                engine.dispose()  # CREATE … TEMPLATE needs the template without sessions
                self._copies = _Copies(name)
            copy = self._copies.take(admin)
            try:
                yield _url_of(copy)
            finally:
                self._copies.give_back(admin, copy)
        finally:
            admin.dispose()

    def drop(self) -> None:
        if self._copies is not None:
            admin = _admin()
            for name in [*self._copies.made, self._copies.template]:
                _execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.drop()


def empty_postgresql() -> Iterator[str]:
    """A new PostgreSQL database without any table (dropped afterwards)."""
    admin = _admin()
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        _execute(admin, f'CREATE DATABASE "{name}"')
        try:
            yield _url_of(name)
        finally:
            _execute(admin, f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, _templates: _Templates
) -> Iterator[Database]:
    """A database at the newest schema without data (what `substreg init` starts from):
    each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield Database("sqlite", _templates.sqlite(tmp_path / "substreg.db"))
    else:
        yield from (Database("postgresql", url) for url in _templates.postgresql())


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database without any schema: for the migrations themselves, and for commands
    on a database that was never set up."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'substreg.db'}")
    else:
        yield from (Database("postgresql", url) for url in empty_postgresql())


@pytest.fixture
def kind() -> str:
    """Where `db` puts a test: the in-memory twin, unless the test parametrises `kind`
    (SQL_KINDS, EVERY_KIND) because the SQL itself is what it tests (D-119)."""
    return "memory"


@pytest.fixture
def db(kind: str, tmp_path: Path, _templates: _Templates) -> Iterator[Database]:
    """The database of `kind`, at the newest schema and empty: open it with `open_store`.
    The twin by default; SQLite and PostgreSQL for the tests that ask for them."""
    if kind == "memory":
        yield Database("memory", "")
    elif kind == "sqlite":
        yield Database("sqlite", _templates.sqlite(tmp_path / "substreg.db"))
    else:
        yield from (Database("postgresql", url) for url in _templates.postgresql())


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
    if current_revision(engine) != head_revision():  # the fixtures give databases at head
        upgrade(engine)
    store = Store(
        SqlDatabase(engine, serialize_writers=serialize_writers), lambda: ring, clock=clock
    )
    if initialised:
        store.run(ACTOR, lambda space: space.audit.append(ACTOR, "init", details={}))
    return store, ring


def make_twin(
    keyring: Keyring | None = None,
    *,
    clock: Callable[[], datetime] = lambda: NOW,
    initialised: bool = True,
) -> tuple[Store, Keyring]:
    """A store on the in-memory twin, initialised as `make_store` does: for use-case
    tests that need no SQL (the twin passes the SQL stores' contract, tests/store/contract)."""
    ring = keyring or generate_keyring(NOW.isoformat())
    database = MemoryDatabase()
    database.create()
    store = Store(database, lambda: ring, clock=clock)
    if initialised:
        store.run(ACTOR, lambda space: space.audit.append(ACTOR, "init", details={}))
    return store, ring


def open_store(
    db: Database,
    keyring: Keyring | None = None,
    *,
    clock: Callable[[], datetime] = lambda: NOW,
    serialize_writers: bool = True,
    initialised: bool = True,
) -> tuple[Store, Keyring]:
    """A store on `db` (the `db` fixture): the twin (make_twin) or a SQL database
    (make_store), with the keyring held in memory."""
    if db.backend == "memory":
        return make_twin(keyring, clock=clock, initialised=initialised)
    return make_store(
        db.url, keyring, clock=clock, serialize_writers=serialize_writers, initialised=initialised
    )
