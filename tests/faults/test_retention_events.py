"""What retention ended stays ended, and it hides nobody else's events (D-81, issue 9 review).

Retention kept one day, the retention mark, and sync ignored every event before it, of
every patient: after a retention run under a wrong clock (its mark repaired back to
today, D-46) a new patient whose events lay before the mark was never reported, and no
finding said so. Now shredding keeps the blind index of each resource sync read of the
treatment, without its digest; sync ignores exactly those treatments' events, and a mark
an earlier version kept names every new patient it hides. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from adapter.crypto.keyring import Keyring, load_keyring, save_keyring
from adapter.crypto.master_keys import generate_keyring
from adapter.services import derive, setup
from adapter.services.retention import apply_retention
from adapter.settings.environment import Settings
from adapter.store.rows import RETIRED_DIGEST
from adapter.store.schema import patient_index, patient_mapping, resource_seen, retention_mark
from adapter.store.workspace import Store
from tests.storage import ACTOR, EVERY_KIND, Database, open_store
from tests.store.helpers import delete, insert, raw_rows
from tests.sync import fhir
from tests.sync.helpers import keys_of, run_sync

D = date
A_YEAR_ON = D(2025, 6, 1)
CLOCK = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
OLD = fhir.daily("p1", D(2024, 3, 1), D(2024, 3, 10))  # p1's treatment, shredded
BEFORE_THE_CUTOFF = fhir.daily("p2", D(2024, 4, 1), D(2024, 4, 10))  # a new patient
RECENT = fhir.daily("p3", D(2025, 5, 20), A_YEAR_ON)


def _people() -> list[dict[str, Any]]:
    return [
        fhir.doctor(),
        fhir.patient("p1"),
        fhir.patient("p2", given="Paul", family="Meier", gender="male"),
        fhir.patient("p3", given="Olga", family="Brandt"),
    ]


def _shredded_p1(db: Database, tmp_path: Path, keyring: Keyring | None = None) -> tuple[Any, str]:
    """p1 treated in March 2024 and synced; a year on, retention (one year) shreds it."""
    store, _ = open_store(db, keyring, clock=lambda: CLOCK)
    first = fhir.write_bundle(tmp_path / "first.json", [fhir.doctor(), fhir.patient("p1"), *OLD])
    run_sync(store, [first], D(2024, 3, 25))  # Anmeldung, and Abmeldung by R-EP-3
    run_sync(store, [first], A_YEAR_ON)  # nothing new, nobody walked (D-47 lets it)
    result = apply_retention(store, ACTOR, years=1, clock_checked=True)
    [shredded] = result.shredded
    assert result.cutoff == D(2024, 6, 1)
    return store, shredded


def test_a_new_patient_whose_events_lie_before_the_cutoff_is_reported(
    db: Database, tmp_path: Path
) -> None:
    """The export holds the shredded p1's events, a new p2 treated before the cutoff (which
    the mark hid) and a current p3: p2 and p3 are reported as derive reports them, p1 not,
    and no mapping is made for p1 again (R-EP-1, D-21, D-81)."""
    store, _ = _shredded_p1(db, tmp_path)
    export = fhir.write_bundle(
        tmp_path / "export.json", [*_people(), *OLD, *BEFORE_THE_CUTOFF, *RECENT]
    )
    result = run_sync(store, [export], A_YEAR_ON)
    others = fhir.write_bundle(
        tmp_path / "others.json", [*_people()[:1], *_people()[2:], *BEFORE_THE_CUTOFF, *RECENT]
    )
    expected = derive([others], as_of=A_YEAR_ON).reports
    assert keys_of(r.report for r in result.recorded) == keys_of(expected)
    assert [(r.kind, r.date) for r in expected] == [
        ("anmeldung", D(2024, 4, 1)),
        ("abmeldung", D(2024, 4, 10)),
        ("anmeldung", D(2025, 5, 20)),
    ]
    assert not [f for f in result.findings if "retention" in f.message]
    statuses = sorted(r["status"] for r in raw_rows(store, patient_mapping))
    assert statuses == ["active", "closed", "shredded"]


def test_the_shredded_patients_events_changed_in_the_ehr_stay_ignored(
    db: Database, tmp_path: Path
) -> None:
    """An old administration of p1 marked entered-in-error later is still p1's shredded
    past: the resource is known by its blind index, not by its content."""
    store, _ = _shredded_p1(db, tmp_path)
    changed = [
        {**r, "status": "entered-in-error"} if r["id"] == "a-p1-2024-03-05" else r for r in OLD
    ]
    export = fhir.write_bundle(tmp_path / "export.json", [*_people(), *changed, *RECENT])
    result = run_sync(store, [export], A_YEAR_ON)
    assert [(r.report.kind, r.report.date) for r in result.recorded] == [
        ("anmeldung", D(2025, 5, 20))
    ]


def test_a_shredded_patient_who_comes_back_registers_with_the_new_treatment(
    db: Database, tmp_path: Path
) -> None:
    """p1 returns a year later: the Anmeldung is dated with the new treatment's first day,
    under a new mapping; the shredded past is not read again."""
    store, shredded = _shredded_p1(db, tmp_path)
    back = fhir.daily("p1", D(2025, 5, 25), A_YEAR_ON, prefix="back-")
    export = fhir.write_bundle(tmp_path / "export.json", [*_people()[:2], *OLD, *back])
    result = run_sync(store, [export], A_YEAR_ON)
    assert [(r.report.kind, r.report.date) for r in result.recorded] == [
        ("anmeldung", D(2025, 5, 25))
    ]
    assert result.recorded[0].subject != shredded
    assert result.recorded[0].report.patient_code  # the Patient resource was read again


def test_shredding_keeps_the_resources_blind_index_and_owner_without_their_digest(
    db: Database, tmp_path: Path
) -> None:
    """What is kept of p1: a keyed index per resource read and the shredded mapping's id
    (no digest of what they held, no patient index row, PRIVACY.md T1)."""
    store, shredded = _shredded_p1(db, tmp_path)
    kept = [r for r in raw_rows(store, resource_seen) if r["mapping_id"] == shredded]
    assert len(kept) == len(OLD) + 1  # the Patient and its events
    assert {bytes(r["digest"]) for r in kept} == {RETIRED_DIGEST}
    assert not [r for r in raw_rows(store, patient_index) if r["mapping_id"] == shredded]
    assert raw_rows(store, retention_mark) == []  # retention keeps no day that hides events


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_mark_an_earlier_version_kept_names_every_new_patient_it_hides(
    db: Database, tmp_path: Path
) -> None:
    """An earlier version shredded p1 without keeping its resources and kept the mark
    2024-06-01: patients sync does not know lose their events before it, each with a
    warning naming it and its resources; a patient sync knows loses none (D-81)."""
    store, shredded = _shredded_p1(db, tmp_path)
    # what the earlier version left
    delete(store, resource_seen, mapping_id=shredded)
    insert(store, retention_mark, mark_id=1, cutoff=D(2024, 6, 1), applied_at=CLOCK)
    export = fhir.write_bundle(
        tmp_path / "export.json", [*_people(), *OLD, *BEFORE_THE_CUTOFF, *RECENT]
    )
    result = run_sync(store, [export], A_YEAR_ON)
    assert [(r.report.kind, r.report.date) for r in result.recorded] == [
        ("anmeldung", D(2025, 5, 20))
    ]
    hidden = [f for f in result.findings if "retention mark 2024-06-01" in f.message]
    assert [(f.severity, f.sources[0]) for f in hidden] == [
        ("warning", "Patient/p1"),
        ("warning", "Patient/p2"),
    ]
    assert "MedicationAdministration/a-p2-2024-04-01" in hidden[1].sources
    assert "20 resource(s) of Patient/p2" in hidden[1].message


@pytest.mark.parametrize("kind", EVERY_KIND)
@pytest.mark.parametrize("migrate", [False, True], ids=["lazy", "migrate"])
def test_the_marks_hold_the_old_index_key_until_sync_re_keys_them(
    db: Database, tmp_path: Path, migrate: bool
) -> None:
    """The marks of p1's shredded treatment are blind indexes under index-v1 that no
    rotation can re-key (the resource ids are not kept): `keys rotate index` (lazy or with
    the migration) and `keys migrate-index` keep index-v1 decrypt-only for them, `keys
    status` counts them, and the old export sent again makes no report for p1 (D-150).
    That sync keeps each mark it met again under index-v2 (D-182): index-v1 is retired
    then, and the export sent once more still makes no report for p1."""
    path = tmp_path / "keyring.json"
    save_keyring(generate_keyring(CLOCK.isoformat()), path)
    store, shredded = _shredded_p1(db, tmp_path, load_keyring(path))
    filed = Store(store.database, lambda: load_keyring(path), clock=lambda: CLOCK)
    settings = Settings(db.url, tmp_path, path, keyring_from_env=False, actor="tester")
    marks = len(OLD) + 1  # the Patient and its events

    rotated = setup.rotate(filed, settings, ACTOR, CLOCK, "index", migrate=migrate)
    assert rotated.retired == ()
    assert setup.migrate_index(filed, settings, ACTOR).retired == ()
    old = {(k.purpose, k.version): k for k in setup.status(filed, ACTOR)}[("index", 1)]
    assert (old.state, old.rows, old.index_rows) == ("decrypt-only", marks, (0, 0, marks))

    again = fhir.write_bundle(tmp_path / "again.json", [*_people(), *OLD, *RECENT])
    result = run_sync(filed, [again], A_YEAR_ON)
    assert [(r.report.kind, r.report.date) for r in result.recorded] == [
        ("anmeldung", D(2025, 5, 20))  # p3's, none of p1
    ]
    statuses = sorted(r["status"] for r in raw_rows(filed, patient_mapping))
    assert statuses == ["active", "shredded"]
    kept = [r for r in raw_rows(filed, resource_seen) if r["mapping_id"] == shredded]
    assert {bytes(r["digest"]) for r in kept} == {RETIRED_DIGEST}
    # Read again, every mark is kept under the active key and none under the old one
    assert len(kept) == marks and {r["idx_ver"] for r in kept} == {2}
    old = {(k.purpose, k.version): k for k in setup.status(filed, ACTOR)}[("index", 1)]
    assert (old.rows, old.index_rows) == (0, (0, 0, 0))
    assert setup.migrate_index(filed, settings, ACTOR).retired == ("index-v1",)
    retired = Store(store.database, lambda: load_keyring(path), clock=lambda: CLOCK)
    once_more = run_sync(retired, [again], A_YEAR_ON)
    assert once_more.recorded == []
    assert sorted(r["status"] for r in raw_rows(retired, patient_mapping)) == statuses
