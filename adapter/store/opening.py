"""Opening the store of an installation: its database and its keyring (the SQL database
of a URL; the in-memory twin is built by tests and demos as `Store(MemoryDatabase(), …)`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from adapter.crypto import Keyring, load_keyring
from adapter.store.database import open_engine
from adapter.store.sql.backend import SqlDatabase
from adapter.store.workspace import Store


def open_store(
    database_url: str,
    keyring_path: Path,
    *,
    clock: Callable[[], datetime] | None = None,
    keyring: Keyring | None = None,
) -> Store:
    """The database at `database_url`, and the keyring at `keyring_path`, read on each
    run: there is never a default key, and a keyring restored meanwhile is used.
    `keyring`: one held in memory instead (a backup being proven before it is put in
    place)."""
    ring = (lambda: keyring) if keyring is not None else (lambda: load_keyring(keyring_path))
    return Store(
        SqlDatabase(open_engine(database_url)),
        ring,
        clock=clock or (lambda: datetime.now(UTC)),
    )
