"""Open the database: a SQLite file by default, PostgreSQL for scale (one schema, both).

`SUBSTREG_DATABASE_URL` names it (default `sqlite:///./substreg.db`). The schema is
created and upgraded by Alembic (`upgrade`, called by `substreg init`); every other
command refuses to run on a database that is not at the newest revision, so that no
command ever writes into a schema it does not know.

Alembic is imported only where a migration runs (`upgrade`, `downgrade`): importing it
costs most of a second, which every command and every worker start would pay just to
compare two revision names. The revisions are read without it: the newest one the
package ships from the migration files' names (`0007_…py`), the database's from Alembic's
own table `alembic_version` (D-118).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from adapter.errors import DatabaseError
from adapter.settings.environment import DATABASE_URL_ENV

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = "adapter.store:migrations"
_VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


READ_ONLY = "substreg_read_only"  # the execution option of a reading connection


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
    # use_native_hstore=False: no column is an hstore, and looking its type up costs every
    # process a catalogue query on its first connection (D-139).
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True, use_native_hstore=False)


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


def reading(engine: Engine) -> Connection:
    """A connection that only reads: on SQLite its transaction begins DEFERRED, so it
    neither waits for the writer's lock nor holds it (D-176)."""
    return engine.connect().execution_options(**{READ_ONLY: True})


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
        # A reader (`transaction(write=False)`) begins DEFERRED: in WAL mode it reads the
        # last commit and neither waits for the writer nor holds it up (D-176).
        reader = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")


def _alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration: the packaged migrations, run on `connection` (env.py)."""
    from alembic.config import Config  # noqa: PLC0415 (only where a migration runs)

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema (Alembic), in one transaction."""
    from alembic import command  # noqa: PLC0415

    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    except DBAPIError as exc:  # not there, not a database, no right to create tables …
        msg = f"the database {_redacted(str(engine.url))} cannot be created ({_first_line(exc)})"
        raise DatabaseError(msg) from None


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back to `revision` (for an operator undoing an upgrade)."""
    from alembic import command  # noqa: PLC0415

    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), revision)


@cache
def head_revision() -> str:
    """The newest revision the package ships: the highest number of the migration files
    (`NNNN_what.py`, revision "NNNN", each revising the one before; a test holds this to
    Alembic's own reading of the scripts)."""
    numbers = [p.name.split("_", 1)[0] for p in _VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")]
    assert numbers  # the package ships its migrations
    return max(numbers)


def alembic_head_revision() -> str:
    """The newest revision as Alembic reads it from the scripts (slow: for the tests)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
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
        with reading(engine) as connection:
            if not inspect(connection).has_table(_VERSION_TABLE):
                return None
            versions = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}"))
            found = list(versions.scalars())
    except DBAPIError as exc:  # unreachable, not a database file, no right to read …
        msg = f"the database cannot be opened ({_first_line(exc)})"
        raise DatabaseError(msg) from None
    if len(found) > 1:  # Alembic's branches: this package's migrations have none
        msg = f"the database names {len(found)} schema revisions ({', '.join(found)})"
        raise DatabaseError(msg)
    return str(found[0]) if found else None


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
        with reading(engine) as connection:
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
