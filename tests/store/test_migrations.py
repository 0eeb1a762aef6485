"""The Alembic migrations and schema.py describe one schema, and upgrades keep the data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Connection,
    ForeignKeyConstraint,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    inspect,
    select,
    text,
)

from adapter.crypto import generate_keyring
from adapter.errors import DatabaseError
from adapter.store.audit import AuditLog, verify, wiped_log
from adapter.store.database import (
    current_revision,
    head_revision,
    is_current,
    open_engine,
    require_current,
    upgrade,
)
from adapter.store.keys import KeyStore
from adapter.store.ledger import Ledger
from adapter.store.ledger_seal import check_ledger
from adapter.store.mappings import PatientMappings
from adapter.store.schema import (
    audit_checkpoint,
    audit_log,
    data_key,
    key_registry,
    metadata,
    patient_index,
    patient_mapping,
    report,
)
from adapter.store.sql.audit import SqlAuditRows
from adapter.store.sql.backend import SqlDatabase
from adapter.store.sql.keys import SqlKeyRows
from adapter.store.sql.ledger import SqlLedgerRows
from adapter.store.sql.mappings import SqlMappingRows
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, NOW, Database, make_store
from tests.store.helpers import CODE, make_report, planned, reference

PREVIOUS = "0001"
TABLES_OF_0001 = (
    key_registry,
    data_key,
    patient_mapping,
    patient_index,
    report,
    audit_log,
    audit_checkpoint,
)


def _differences(url: str, target: MetaData) -> list[object]:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, target))
    finally:
        engine.dispose()


def _copy() -> MetaData:
    copied = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(copied)
    return copied


def _longer_kind(m: MetaData) -> None:
    m.tables["report"].c.kind.type = String(99)


def _nullable_kind(m: MetaData) -> None:
    m.tables["report"].c.kind.nullable = True


def _index_on_kind(m: MetaData) -> None:
    Index("ix_report_kind", m.tables["report"].c.kind)


def _unique_digest(m: MetaData) -> None:
    m.tables["report"].append_constraint(UniqueConstraint("payload_digest"))


def _audit_foreign_key(m: MetaData) -> None:
    m.tables["audit_log"].append_constraint(
        ForeignKeyConstraint(["mapping_id"], ["patient_mapping.mapping_id"])
    )


@pytest.fixture
def database(empty_database: Database) -> Database:
    """Here every database starts without schema: these tests run the migrations."""
    return empty_database


# -- from empty to head ------------------------------------------------------------------


def test_upgrade_from_empty_creates_exactly_the_tables_of_the_schema(database: Database) -> None:
    """An empty database upgraded to head has the tables of schema.py and Alembic's own."""
    store, _ = make_store(database.url)
    tables = set(inspect(store.engine).get_table_names())
    assert tables == {*metadata.tables, "alembic_version"}
    assert current_revision(store.engine) == head_revision()


def test_migrations_at_head_match_the_schema_exactly(database: Database) -> None:
    """Autogenerate finds no difference of types, nullability, indexes, uniques or keys."""
    make_store(database.url)
    assert _differences(database.url, metadata) == []


@pytest.mark.parametrize(
    "alter",
    [_longer_kind, _nullable_kind, _index_on_kind, _unique_digest, _audit_foreign_key],
    ids=["type", "nullability", "index", "unique constraint", "foreign key"],
)
def test_the_comparison_notices_a_schema_that_differs_from_the_migrations(
    database: Database, alter: Callable[[MetaData], None]
) -> None:
    """The check above can fail: each kind of difference is reported on this backend."""
    make_store(database.url)
    changed = _copy()
    alter(changed)
    assert len(_differences(database.url, changed)) == 1


# -- from the previous revisions --------------------------------------------------------

ADDED_SINCE = {"report": {"row_mac", "mac_key"}}  # columns later revisions add to old tables


def _old_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.c if c.name not in ADDED_SINCE.get(table.name, set())]


def _unsealed_row(connection: Connection, keys: KeyStore, subject: str, dek_id: str) -> str:
    """A ledger row as revisions before 0004 wrote it: no seal."""
    row = Ledger(SqlLedgerRows(connection), keys, NOW)._row(planned(subject), dek_id)
    old = {k: v for k, v in row.items() if k not in ADDED_SINCE["report"]}
    connection.execute(report.insert().values(**old))
    return str(row["ledger_id"])


@pytest.mark.parametrize("previous", [PREVIOUS, "0003"])
def test_rows_written_at_a_previous_revision_survive_the_upgrade(
    database: Database, previous: str
) -> None:
    """Upgrading 0001 or 0003 to head keeps every row of the 0001 tables, all stay
    readable, and `init` seals the old ledger rows so that the ledger checks out."""
    keyring = generate_keyring(NOW.isoformat())
    engine = open_engine(database.url)
    upgrade(engine, previous)
    assert {t.name for t in TABLES_OF_0001} <= set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        keys = KeyStore(SqlKeyRows(connection), keyring, NOW)
        mappings = PatientMappings(SqlMappingRows(connection), keys, NOW)
        row, _ = mappings.find_or_create(reference())
        row = mappings.record_use(row, codes=(CODE,))
        ledger_id = _unsealed_row(connection, keys, row.mapping_id, row.dek_id)
        audit = AuditLog(SqlAuditRows(connection), NOW)
        audit.append(ACTOR, "sync", details={"patients": 1})
        audit.checkpoint(keys)
    with engine.connect() as connection:
        before = {
            t.name: connection.execute(select(*_old_columns(t))).all() for t in TABLES_OF_0001
        }

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        after = {t.name: connection.execute(select(*_old_columns(t))).all() for t in TABLES_OF_0001}
    assert after == before
    assert all(before.values())
    store = Store(SqlDatabase(engine), lambda: keyring, clock=lambda: NOW)

    def unsealed(space: Workspace) -> str | None:
        return space.ledger.problem(space.ledger.entry(ledger_id))

    assert "carries no seal" in str(store.run(ACTOR, unsealed))
    sealed = store.run(ACTOR, lambda space: space.ledger.seal_unsealed())  # as init does
    assert sealed == (1, ())

    def read(space: Workspace) -> None:
        found = space.mappings.find(reference())
        assert found == row
        assert space.mappings.codes_of(found) == [CODE]
        assert space.mappings.reference_of(found) == reference()
        assert space.ledger.payload(space.ledger.entry(ledger_id)) == make_report()
        assert verify(space.audit.rows, space.keys.public_keys()).ok
        wiped = wiped_log(space.audit.rows)
        assert check_ledger(space.ledger.rows, space.keys, wiped=wiped).problems == ()

    store.run(ACTOR, read)


def test_a_sealed_ticket_longer_than_64_characters_is_kept(database: Database) -> None:
    """A lookup's ticket is sealed (about 95 characters): revision 0004 made room for it
    (PostgreSQL refused it in a 64-character column)."""
    store, _ = make_store(database.url)
    seq = store.run(
        ACTOR, lambda space: space.audit.append(ACTOR, "lookup", ticket="T-2026-0042", purpose="p")
    )
    with store.engine.connect() as connection:
        ticket = connection.execute(select(audit_log.c.ticket).where(audit_log.c.seq == seq))
        assert len(ticket.scalar_one()) > 64


# -- refusing a database -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("revision", "reason"),
    [(None, "has no substreg schema"), (PREVIOUS, f"is at schema revision {PREVIOUS}")],
    ids=["no schema", "previous revision"],
)
def test_a_database_not_at_head_is_refused_with_the_fix(
    database: Database, revision: str | None, reason: str
) -> None:
    """Without schema or at 0001 the program refuses to run, says why and names `substreg init`."""
    engine = open_engine(database.url)
    if revision is not None:
        upgrade(engine, revision)
    with pytest.raises(DatabaseError, match=reason) as refused:
        require_current(engine)
    assert "run `substreg init`" in str(refused.value)
    with pytest.raises(DatabaseError, match="substreg init"):
        Store(SqlDatabase(engine), lambda: pytest.fail("the keyring was read")).run(
            ACTOR, lambda _: None
        )


def test_a_database_at_head_is_accepted(database: Database) -> None:
    """After the upgrade require_current lets the program run and a unit of work commits."""
    engine = open_engine(database.url)
    upgrade(engine)
    require_current(engine)
    keyring = generate_keyring(NOW.isoformat())
    Store(SqlDatabase(engine), lambda: keyring).run(
        ACTOR, lambda space: space.audit.append(ACTOR, "init")
    )
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(audit_checkpoint)).scalar() == 1


@pytest.mark.parametrize(
    ("garble", "message"),
    [
        (lambda url: url.split("://", 1)[1], "is not a database URL"),
        (lambda url: "mysql://" + url.split("://", 1)[1], "only sqlite:/// and postgresql://"),
    ],
    ids=["no scheme", "unsupported backend"],
)
def test_open_engine_refuses_what_is_not_a_supported_database(
    database: Database, garble: Callable[[str], str], message: str
) -> None:
    """A URL without a scheme, or of another database, is a DatabaseError naming the setting."""
    with pytest.raises(DatabaseError, match=message) as refused:
        open_engine(garble(database.url))
    assert "SUBSTREG_DATABASE_URL" in str(refused.value)


def test_a_store_that_ran_refuses_once_the_schema_is_not_at_head_any_more(
    database: Database,
) -> None:
    """The schema is read before every unit of work, not once (D-147): a running store
    whose database was taken to another revision meanwhile (here: stamped back to the
    previous one, as a newer program's upgrade would move it on) refuses its next run with
    the fix, and runs again once the database is at head."""
    engine = open_engine(database.url)
    upgrade(engine)
    keyring = generate_keyring(NOW.isoformat())
    store = Store(SqlDatabase(engine), lambda: keyring)
    store.run(ACTOR, lambda space: space.audit.append(ACTOR, "init"))
    assert is_current(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": PREVIOUS})
    assert not is_current(engine)
    with pytest.raises(DatabaseError, match=f"is at schema revision {PREVIOUS}"):
        store.run(ACTOR, lambda _: None)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()}
        )
    store.run(ACTOR, lambda _: None)
