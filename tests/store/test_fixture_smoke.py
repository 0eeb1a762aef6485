"""The test databases themselves."""

from __future__ import annotations

from sqlalchemy import text

from adapter.store.database import current_revision, head_revision, open_engine
from tests.storage import Database, make_store


def test_an_empty_database_has_no_schema_and_upgrades_to_head(empty_database: Database) -> None:
    """`empty_database` has no schema; make_store brings it to the newest revision."""
    engine = open_engine(empty_database.url)
    assert current_revision(engine) is None
    store, _ = make_store(empty_database.url)
    assert current_revision(store.engine) == head_revision()


def test_each_test_database_is_at_head_and_holds_nothing(database: Database) -> None:
    """`database` is a copy of the session's template: at the newest revision, no rows,
    and a test's rows never reach the next test's copy."""
    engine = open_engine(database.url)
    assert current_revision(engine) == head_revision()
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM key_registry")).scalar_one() == 0
        connection.execute(
            text(
                "INSERT INTO key_registry VALUES ('k', 'wrap', 1, 'x', 'active', NULL, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()


def test_the_next_copy_is_empty_again(database: Database) -> None:
    engine = open_engine(database.url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM key_registry")).scalar_one() == 0
    engine.dispose()
