"""Sync across key rotations: nothing is lost, nothing is re-derived for nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from adapter.store.database import current_revision, downgrade, head_revision, open_engine, upgrade
from adapter.store.sql.backend import SqlDatabase
from adapter.store.workspace import Store
from tests.storage import ACTOR, NOW, Database, make_store
from tests.sync import fhir
from tests.sync.helpers import ledger, run_sync

D = date


def _data(tmp_path: Path) -> Path:
    return fhir.write_bundle(
        tmp_path / "a.json",
        [fhir.doctor(), fhir.patient(), *fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 20))],
    )


def test_after_an_index_key_rotation_unchanged_data_is_still_known(
    database: Database, tmp_path: Path
) -> None:
    """Lazy index rotation: the same export again is 0 changed, 0 derived afresh, 0 recorded."""
    store, keyring = make_store(database.url)
    data = _data(tmp_path)
    run_sync(store, [data], D(2025, 3, 21))
    rotated = keyring.rotated("index", NOW.isoformat())
    after = Store(SqlDatabase(open_engine(database.url)), lambda: rotated, clock=lambda: NOW)
    again = run_sync(after, [data], D(2025, 3, 21))
    assert (again.changed, again.rebuilt, again.recorded) == (0, 0, [])
    closing = run_sync(after, [data], D(2025, 4, 5))
    assert [r.report.kind for r in closing.recorded] == ["abmeldung"]
    held = ledger(after)
    assert held[0].report.patient_code == held[1].report.patient_code


def test_after_a_wrap_key_rotation_the_abmeldung_still_carries_the_stored_code(
    database: Database, tmp_path: Path
) -> None:
    """Data written before the re-wrap and after it both read under the new key."""
    store, keyring = make_store(database.url)
    data = _data(tmp_path)
    run_sync(store, [data], D(2025, 3, 21))
    rotated = keyring.rotated("wrap", NOW.isoformat())
    after = Store(SqlDatabase(open_engine(database.url)), lambda: rotated, clock=lambda: NOW)
    assert after.run(ACTOR, lambda space: space.keys.rewrap_all()) > 0
    retired = rotated.with_state("wrap", 1, "retired")
    final = Store(SqlDatabase(open_engine(database.url)), lambda: retired, clock=lambda: NOW)
    closing = run_sync(final, [data], D(2025, 4, 5))
    assert [r.report.kind for r in closing.recorded] == ["abmeldung"]
    codes = {h.report.patient_code for h in ledger(final)}
    assert len(codes) == 1


def test_a_synced_database_upgraded_from_the_previous_revision_syncs_on(
    database: Database, tmp_path: Path
) -> None:
    """Data synced, the schema taken back one revision and upgraded again: nothing is lost,
    and the next sync still closes the phase under the stored code."""
    store, keyring = make_store(database.url)
    data = _data(tmp_path)
    run_sync(store, [data], D(2025, 3, 21))
    before = ledger(store)
    engine = open_engine(database.url)
    previous = ScriptDirectory.from_config(_script_config()).get_revision(head_revision())
    downgrade(engine, previous.down_revision)
    assert current_revision(engine) == previous.down_revision
    upgrade(engine)
    again = Store(SqlDatabase(engine), lambda: keyring, clock=lambda: NOW)
    again.run(ACTOR, lambda space: space.ledger.seal_unsealed())  # as `substreg init` does
    assert ledger(again) == before
    closing = run_sync(again, [data], D(2025, 4, 5))
    assert [(r.report.kind, r.report.patient_code) for r in closing.recorded] == [
        ("abmeldung", before[0].report.patient_code)
    ]


def _script_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "adapter.store:migrations")
    return config
