"""The SQL database of an installation (SQLite or PostgreSQL) as the store's port.

`transaction()` is one database transaction with the writer's lock taken (BEGIN
IMMEDIATE on SQLite, an advisory lock on PostgreSQL) and the row stores bound to it.
A serialisation failure or a busy SQLite becomes a `ConcurrentUpdateError`, which the store runs
again from the start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from adapter.errors import ConcurrentUpdateError, DatabaseError
from adapter.settings.files import make_private_dirs
from adapter.store.database import (
    current_revision,
    head_revision,
    is_current,
    reading,
    require_current,
    sqlite_path,
    upgrade,
)
from adapter.store.sql.audit import SqlAuditRows
from adapter.store.sql.facts import SqlFactRows
from adapter.store.sql.handovers import SqlHandoverRows
from adapter.store.sql.keys import SqlKeyRows
from adapter.store.sql.ledger import SqlLedgerRows
from adapter.store.sql.mappings import SqlMappingRows
from adapter.store.sql.notice_letters import SqlNoticeLetterRows
from adapter.store.sql.outbox import SqlOutboxRows
from adapter.store.sql.pull import SqlPullRows
from adapter.store.sql.resources import SqlResourceRows
from adapter.store.sql.retention_mark import SqlMarkRows
from adapter.store.sql.runs import SqlRunRows

_WRITER_LOCK = 0x5B5EE6  # pg_advisory_xact_lock key: one writer at a time


@dataclass(slots=True)
class SqlBackend:
    """The row stores of one SQL transaction."""

    connection: Connection
    keys: SqlKeyRows = field(init=False)
    audit: SqlAuditRows = field(init=False)
    facts: SqlFactRows = field(init=False)
    ledger: SqlLedgerRows = field(init=False)
    mappings: SqlMappingRows = field(init=False)
    marks: SqlMarkRows = field(init=False)
    runs: SqlRunRows = field(init=False)
    outbox: SqlOutboxRows = field(init=False)
    pull: SqlPullRows = field(init=False)
    resources: SqlResourceRows = field(init=False)
    handovers: SqlHandoverRows = field(init=False)
    notice_letters: SqlNoticeLetterRows = field(init=False)

    def __post_init__(self) -> None:
        self.keys = SqlKeyRows(self.connection)
        self.audit = SqlAuditRows(self.connection)
        self.facts = SqlFactRows(self.connection)
        self.ledger = SqlLedgerRows(self.connection)
        self.mappings = SqlMappingRows(self.connection)
        self.marks = SqlMarkRows(self.connection)
        self.runs = SqlRunRows(self.connection)
        self.outbox = SqlOutboxRows(self.connection)
        self.pull = SqlPullRows(self.connection)
        self.resources = SqlResourceRows(self.connection)
        self.handovers = SqlHandoverRows(self.connection)
        self.notice_letters = SqlNoticeLetterRows(self.connection)


class SqlDatabase:
    """A SQLite file or a PostgreSQL database at the newest schema."""

    races: tuple[type[Exception], ...] = (IntegrityError,)
    # a UNIQUE slot taken by a parallel run

    def __init__(self, engine: Engine, *, serialize_writers: bool = True) -> None:
        self.engine = engine
        self.serialize_writers = serialize_writers

    def require_ready(self) -> None:
        """Refuse a database that is missing or not at the newest schema, before every unit
        of work: the cheap read first, Alembic's own (which names the problem) when that
        does not find the head (D-147)."""
        if not is_current(self.engine):
            require_current(self.engine)

    @staticmethod
    def refused(exc: Exception) -> DatabaseError:
        return refused(exc)

    def is_created(self) -> bool:
        """Whether the schema exists (at any revision)."""
        return current_revision(self.engine) is not None

    def create(self) -> None:
        """The schema, created or upgraded (Alembic); a SQLite file's folder is made first
        with mode 0700 (`init` is the one command that creates a database)."""
        path = self._sqlite_file()
        if path is not None:
            try:
                make_private_dirs(path.parent)
            except OSError as exc:
                msg = (
                    f"Cannot create the folder {path.parent} for the database "
                    f"({exc.strerror or type(exc).__name__}); create it, or choose another "
                    "SUBSTREG_DATABASE_URL"
                )
                raise DatabaseError(msg) from None
        upgrade(self.engine)

    def secure(self) -> None:
        """A SQLite file holds only ciphertexts and blind indexes, yet is nobody else's
        to read: the file and its WAL get mode 0600."""
        path = self._sqlite_file()
        if path is None:
            return
        for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            if candidate.exists():
                candidate.chmod(0o600)

    def schema_version(self) -> str:
        return head_revision()

    def _sqlite_file(self) -> Path | None:
        return sqlite_path(self.engine.url.render_as_string(hide_password=False))

    @contextmanager
    def transaction(self, *, write: bool = True, exclusive: bool = True) -> Iterator[SqlBackend]:
        """A transaction that commits when the block ends without an exception; a
        read-only one (`write=False`) is always rolled back. `exclusive=False`: without
        the writer's lock on PostgreSQL, for work that locks the rows it changes itself
        (an outbox claim: FOR UPDATE SKIP LOCKED) and appends nothing to the audit log."""
        try:
            if write:
                with self.engine.begin() as connection:
                    if exclusive:
                        self._lock(connection)
                    yield SqlBackend(connection)
            else:
                with reading(self.engine) as connection:
                    try:
                        yield SqlBackend(connection)
                    finally:
                        connection.rollback()
        except OperationalError as exc:
            if _is_serialization_failure(exc):
                raise ConcurrentUpdateError(str(exc.orig)) from exc
            raise refused(exc) from None
        except IntegrityError:
            raise  # a race: the store runs the work again (then `refused` if it persists)
        except DBAPIError as exc:
            raise refused(exc) from None

    def _lock(self, connection: Connection) -> None:
        if self.serialize_writers and connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITER_LOCK})


def _is_serialization_failure(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc.orig)


def refused(exc: Exception) -> DatabaseError:
    """What the database driver refused, as one line with the driver's own first line
    (the engine hides the statement's parameters: no value reaches the message)."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[:1]
    reason = first[0] if first else type(orig).__name__
    return DatabaseError(f"the database refused the work ({reason})")
