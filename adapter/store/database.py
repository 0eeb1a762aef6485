"""Open the database: a SQLite file by default, PostgreSQL for scale (one schema, both).

`SUBSTREG_DATABASE_URL` names it (default `sqlite:///./substreg.db`). The schema is
created and upgraded by Alembic (`upgrade`, called by `substreg init`); every other
command refuses to run on a database that is not at the newest revision, so that no
command ever writes into a schema it does not know.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from adapter.errors import DatabaseError
from adapter.settings.environment import DATABASE_URL_ENV

_MIGRATIONS = "adapter.store:migrations"


def open_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and write transactions that
    take the lock at BEGIN (two syncs then queue instead of failing half-way)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        msg = f"{DATABASE_URL_ENV}: '{_redacted(url)}' is not a database URL"
        raise DatabaseError(msg) from None
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30}, hide_parameters=True)
        _sqlite_pragmas(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        msg = f"{DATABASE_URL_ENV}: only sqlite:/// and postgresql:// are supported"
        raise DatabaseError(msg)
    # hide_parameters: a refused statement's error never shows the values it carried.
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


def schema_url(url: str, schema: str) -> str:
    """`url` (PostgreSQL) with `schema` first on its search path: every table, and
    Alembic's version table, lives in that schema, so the practice's migrations and stores
    work unchanged for each tenant of the service (D-120)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        msg = f"{DATABASE_URL_ENV}: a schema per tenant needs postgresql://"
        raise DatabaseError(msg)
    with_path = parsed.update_query_dict({"options": f"-csearch_path={schema}"})
    return with_path.render_as_string(hide_password=False)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would BEGIN lazily (DEFERRED); take over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration: the packaged migrations, run on `connection` (env.py)."""
    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema (Alembic), in one transaction."""
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    except DBAPIError as exc:  # not there, not a database, no right to create tables …
        msg = f"the database {_redacted(str(engine.url))} cannot be created ({_first_line(exc)})"
        raise DatabaseError(msg) from None


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back to `revision` (for an operator undoing an upgrade)."""
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), revision)


@cache
def head_revision() -> str:
    """The newest revision the package ships (read once: parsing the scripts costs)."""
    script = ScriptDirectory.from_config(_alembic_config())
    head = script.get_current_head()
    assert head is not None  # the package ships its migrations
    return head


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and in-memory databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def current_revision(engine: Engine) -> str | None:
    """The schema revision, or None; a SQLite file that is not there is not made by asking."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None and not path.exists():
        return None
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as exc:  # unreachable, not a database file, no right to read …
        msg = f"the database cannot be opened ({_first_line(exc)})"
        raise DatabaseError(msg) from None


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest schema, asked the cheap way: one plain read of
    Alembic's version table on a pooled connection (≈ 0.1 ms on SQLite, where Alembic's own
    `MigrationContext` costs ≈ 1 ms and more under load). False for anything else — no
    table, another revision, a database that cannot be read: `require_current` then says
    which, so every unit of work still fails closed (D-147)."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None and not path.exists():
        return False
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError:
        return False
    return [row[0] for row in rows] == [head_revision()]


def require_current(engine: Engine) -> None:
    """Refuse a database that is missing or not at the newest schema."""
    current, head = current_revision(engine), head_revision()
    if current is None:
        msg = (
            f"the database {_redacted(str(engine.url))} has no substreg schema: "
            "run `substreg init` first"
        )
        raise DatabaseError(msg)
    if current != head:
        msg = (
            f"the database is at schema revision {current}, this program needs {head}: "
            "run `substreg init` to upgrade it"
        )
        raise DatabaseError(msg)


def _first_line(exc: DBAPIError) -> str:
    """The driver's own reason, first line only (the engine hides parameters)."""
    first = str(exc.orig).strip().splitlines()[:1]
    return first[0] if first else type(exc.orig).__name__


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def insert_unless_present(connection: Connection, table: Table, **values: object) -> bool:
    """Insert a row unless its key exists already; True when it was inserted.

    ON CONFLICT DO NOTHING on both databases: a parallel sync that recorded the same
    report first wins, and this one adds nothing (the constraint decides, not timing).
    """
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    # SQLAlchemy keeps an INSERT's rowcount only when asked (psycopg gives -1 otherwise).
    result = connection.execute(statement.execution_options(preserve_rowcount=True))
    return result.rowcount == 1
