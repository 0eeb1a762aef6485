"""Opening the store of an installation: its database and its keyring."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from adapter.crypto import load_keyring
from adapter.store.database import open_engine
from adapter.store.workspace import Store


def open_store(
    database_url: str, keyring_path: Path, *, clock: Callable[[], datetime] | None = None
) -> Store:
    """The database at `database_url`, and the keyring at `keyring_path`, read on each
    run: there is never a default key, and a keyring restored meanwhile is used."""
    return Store(
        open_engine(database_url),
        lambda: load_keyring(keyring_path),
        clock=clock or (lambda: datetime.now(UTC)),
    )
