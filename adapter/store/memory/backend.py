"""The in-memory twin of the store's database: the same row stores, on dicts.

Use-case tests run on it in milliseconds; tests/store/contract/ holds it to the same
contract as SQLite and PostgreSQL. One writer at a time (a lock, as the SQL store's
writer lock); a transaction works on a copy of the tables and replaces them only when
it succeeds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from adapter.errors import DatabaseError
from adapter.store.memory.audit import MemoryAuditRows
from adapter.store.memory.facts import MemoryFactRows
from adapter.store.memory.handovers import MemoryHandoverRows
from adapter.store.memory.keys import MemoryKeyRows
from adapter.store.memory.ledger import MemoryLedgerRows
from adapter.store.memory.mappings import MemoryMappingRows
from adapter.store.memory.notice_letters import MemoryNoticeLetterRows
from adapter.store.memory.outbox import MemoryOutboxRows
from adapter.store.memory.pull import MemoryPullRows
from adapter.store.memory.resources import MemoryResourceRows
from adapter.store.memory.retention_mark import MemoryMarkRows
from adapter.store.memory.runs import MemoryRunRows
from adapter.store.memory.tables import Tables


@dataclass(slots=True)
class MemoryBackend:
    """The row stores of one transaction on the twin."""

    tables: Tables
    keys: MemoryKeyRows = field(init=False)
    audit: MemoryAuditRows = field(init=False)
    facts: MemoryFactRows = field(init=False)
    ledger: MemoryLedgerRows = field(init=False)
    mappings: MemoryMappingRows = field(init=False)
    marks: MemoryMarkRows = field(init=False)
    runs: MemoryRunRows = field(init=False)
    outbox: MemoryOutboxRows = field(init=False)
    pull: MemoryPullRows = field(init=False)
    resources: MemoryResourceRows = field(init=False)
    handovers: MemoryHandoverRows = field(init=False)
    notice_letters: MemoryNoticeLetterRows = field(init=False)

    def __post_init__(self) -> None:
        self.keys = MemoryKeyRows(self.tables)
        self.audit = MemoryAuditRows(self.tables)
        self.facts = MemoryFactRows(self.tables)
        self.ledger = MemoryLedgerRows(self.tables)
        self.mappings = MemoryMappingRows(self.tables)
        self.marks = MemoryMarkRows(self.tables)
        self.runs = MemoryRunRows(self.tables)
        self.outbox = MemoryOutboxRows(self.tables)
        self.pull = MemoryPullRows(self.tables)
        self.resources = MemoryResourceRows(self.tables)
        self.handovers = MemoryHandoverRows(self.tables)
        self.notice_letters = MemoryNoticeLetterRows(self.tables)


class MemoryDatabase:
    """Tables held in this process; gone when it ends."""

    races: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self.tables = Tables()
        self._writer = threading.Lock()
        self._inside = threading.local()
        self.created = False

    def require_ready(self) -> None:
        if not self.created:
            raise DatabaseError("the in-memory database has no substreg schema: run init first")

    def create(self) -> None:
        self.created = True

    def is_created(self) -> bool:
        return self.created

    def secure(self) -> None:
        """Nothing to protect on disk: the twin holds its rows in this process only."""

    @staticmethod
    def schema_version() -> str:
        return "memory"

    @staticmethod
    def refused(exc: Exception) -> DatabaseError:
        return DatabaseError(f"the database refused the work ({exc})")

    @contextmanager
    def transaction(self, *, write: bool = True, exclusive: bool = True) -> Iterator[MemoryBackend]:
        """One writer at a time, always (`exclusive` is for the SQL store's PostgreSQL). A
        unit of work opened inside another on the same thread is refused: on SQL it would
        wait for its own lock for ever, and here the outer one's commit would silently
        drop the inner one's writes."""
        if getattr(self._inside, "active", False):
            raise RuntimeError("a unit of work was opened inside another on the same thread")
        if not write:  # a reader copies the last committed tables: no writer's lock (D-176)
            self._inside.active = True
            try:
                yield MemoryBackend(self.tables.copy())
            finally:
                self._inside.active = False
            return
        with self._writer:
            self._inside.active = True
            try:
                work = self.tables.copy()
                yield MemoryBackend(work)
                if write:
                    self.tables = work
            finally:
                self._inside.active = False
