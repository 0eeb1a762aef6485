"""The test databases themselves."""

from __future__ import annotations

from sqlalchemy import text

from adapter.store.database import current_revision, head_revision, open_engine
from tests.storage import Database, make_store


def test_each_backend_starts_empty_and_upgrades_to_head(database: Database) -> None:
    """A fresh database has no schema; make_store brings it to the newest revision."""
    engine = open_engine(database.url)
    assert current_revision(engine) is None
    store, _ = make_store(database.url)
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM report")).scalar_one() == 0
