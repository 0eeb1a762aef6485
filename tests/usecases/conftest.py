"""Use cases on the in-memory twin: the services as the CLI calls them, with the store's
rows in dicts instead of a database (milliseconds per test). tests/store/contract/ holds
the twin to the same contract as SQLite and PostgreSQL; a few end-to-end runs of each
use case stay on both databases (tests/test_cli_store.py, tests/sync/)."""

from __future__ import annotations

from datetime import datetime

import pytest

from adapter.crypto import generate_keyring
from adapter.store.memory.backend import MemoryDatabase
from adapter.store.workspace import Store
from tests.storage import ACTOR, NOW


class Clock:
    """The machine's clock, settable by a test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def twin(clock: Clock) -> Store:
    """An initialised store on the twin (keyring in memory, first audit entry written)."""
    return twin_store(clock)


def twin_store(clock: Clock) -> Store:
    """A new initialised store on the twin (for a property test: one per example)."""
    database = MemoryDatabase()
    database.create()
    ring = generate_keyring(NOW.isoformat())
    store = Store(database, lambda: ring, clock=clock)
    store.run(ACTOR, lambda space: space.audit.append(ACTOR, "init", details={}))
    return store
