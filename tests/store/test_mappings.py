"""The pseudonymised patient mapping: blind index, sealed fields, keys and rotation.

On the in-memory twin; on SQLite and PostgreSQL as well where the SQL is what is tested:
the index's key under two parallel creators, and the BLOB columns as stored (D-119).
"""

from __future__ import annotations

from datetime import date

import pytest

from adapter.crypto import Keyring, generate_keyring, index_key
from adapter.crypto import blind_index as hmac_index
from adapter.errors import (
    ConcurrentUpdateError,
    DecryptionError,
    KeyringError,
    ShreddedError,
    UnknownKeyError,
)
from adapter.store.mappings import MappingRow
from adapter.store.schema import data_key, key_registry, patient_index, patient_mapping, report
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, EVERY_KIND, NOW, SQL_KINDS, Database, open_store
from tests.store.helpers import (
    CODE,
    OTHER_CODE,
    change,
    holds,
    new_patient,
    planned,
    race,
    raw_rows,
    reference,
    unit_of_work,
)

LATER = "2027-01-01T00:00:00+00:00"
PATIENTS = ("p1", "p2", "p3")


def _same_store(store: Store, keyring: Keyring) -> Store:
    """Another Store on the same database, with `keyring` (as after editing the keyring file)."""
    return store.with_keyring(keyring)


def _versions(store: Store) -> list[int]:
    return sorted(row["idx_ver"] for row in raw_rows(store, patient_index))


# -- lookup ------------------------------------------------------------------------------


def test_find_or_create_makes_one_row_per_reference(db: Database) -> None:
    """The first call creates the row, a second one (also in a new transaction) finds it."""
    store, _ = open_store(db)

    def twice(space: Workspace) -> list[tuple[MappingRow, bool]]:
        return [space.mappings.find_or_create(reference()) for _ in range(2)]

    (first, created), (again, created_again) = store.run(ACTOR, twice)
    later, created_later = store.run(ACTOR, lambda s: s.mappings.find_or_create(reference()))
    assert (created, created_again, created_later) == (True, False, False)
    assert first == again == later
    assert len(raw_rows(store, patient_mapping)) == 1


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_two_parallel_runs_creating_one_patient_end_with_one_row(db: Database) -> None:
    """Two runs creating one patient at once: the index's key keeps one row, both return it."""
    # Both look the reference up and find nothing; the second's index insert waits for the
    # first to commit, does nothing, and the second drops its own row.
    parallel = db.backend == "postgresql"
    store, _ = open_store(db, serialize_writers=not parallel)
    store.run(ACTOR, lambda space: None)  # registers the keys: the race is about the patient

    results = race(
        store, lambda space: space.mappings.find_or_create(reference()), open_together=parallel
    )

    assert sorted(created for _, created in results) == [False, True]
    assert results[0][0].mapping_id == results[1][0].mapping_id
    (kept,) = raw_rows(store, patient_mapping)
    assert kept["mapping_id"] == results[0][0].mapping_id
    assert len(raw_rows(store, patient_index)) == 1


def test_find_many_finds_the_rows_that_find_finds(db: Database) -> None:
    """One batch lookup gives each known reference its row and leaves unknown ones out."""
    store, _ = open_store(db)
    for patient in PATIENTS:
        new_patient(store, patient)
    wanted = [reference(p) for p in (*PATIENTS, "unknown")]

    def look(space: Workspace) -> tuple[dict[str, MappingRow], dict[str, MappingRow | None]]:
        one_by_one = {ref: space.mappings.find(ref) for ref in wanted}
        return space.mappings.find_many(wanted), one_by_one

    many, one_by_one = store.run(ACTOR, look)
    assert many == {ref: row for ref, row in one_by_one.items() if row is not None}
    assert set(many) == {reference(p) for p in PATIENTS}


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_the_stored_index_is_the_hmac_of_the_reference(db: Database) -> None:
    """patient_index holds HMAC(K_idx[1], reference) under version 1, not the reference."""
    store, keyring = open_store(db)
    row = new_patient(store)
    expected = hmac_index(index_key(keyring.active("index")), reference())
    (stored,) = raw_rows(store, patient_index)
    assert (bytes(stored["subject_idx"]), stored["idx_ver"]) == (expected, 1)
    assert stored["mapping_id"] == row.mapping_id
    assert expected != reference().encode()


NEEDLES = {
    "reference": reference("pat-81723"),
    "patient id": "pat-81723",
    "EHR host": "ehr.example.org",
    "code": CODE,
    "older code": OTHER_CODE,
}


@pytest.mark.parametrize(
    ("kind", "needle"),
    [*(pytest.param("memory", n, id=name) for name, n in NEEDLES.items())]
    + [pytest.param(kind, NEEDLES["reference"], id=f"reference-{kind}") for kind in SQL_KINDS],
)
def test_no_column_holds_the_reference_or_a_code_in_clear(db: Database, needle: str) -> None:
    """A stolen database shows neither the EHR reference nor a code, in any table of a patient."""
    store, _ = open_store(db)
    new_patient(store, "pat-81723", OTHER_CODE, CODE)
    for table in (patient_mapping, patient_index, data_key, key_registry):
        assert not holds(raw_rows(store, table), needle), table.name


def test_reference_and_codes_come_back_as_written(db: Database) -> None:
    """reference_of opens the reference; codes_of gives every code once, latest last."""
    store, _ = open_store(db)
    row = new_patient(store, "p1", OTHER_CODE)

    def read(space: Workspace) -> tuple[str, list[str]]:
        updated = space.mappings.record_use(row, codes=(CODE, OTHER_CODE, CODE))
        return space.mappings.reference_of(updated), space.mappings.codes_of(updated)

    assert store.run(ACTOR, read) == (reference(), [OTHER_CODE, CODE])


@pytest.mark.parametrize(
    ("target", "column"),
    [("other row", "codes"), ("same row", "subject")],
    ids=["to another row under the same data key", "to another field of the row"],
)
def test_a_sealed_code_moved_elsewhere_does_not_open(
    db: Database, target: str, column: str
) -> None:
    """The associated data binds row id and field: a copied ciphertext fails to decrypt."""
    store, _ = open_store(db)
    source = new_patient(store, "p1", CODE)
    (sealed,) = [
        r for r in raw_rows(store, patient_mapping) if r["mapping_id"] == source.mapping_id
    ]
    victim = new_patient(store, "p2") if target == "other row" else source
    change(
        store,
        patient_mapping,
        {"mapping_id": victim.mapping_id},
        dek_id=source.dek_id,  # same key: only the associated data can tell them apart
        **{f"{column}_nonce": sealed["codes_nonce"], f"{column}_ct": sealed["codes_ct"]},
    )

    def read(space: Workspace) -> object:
        moved = space.mappings.get(victim.mapping_id)
        if column == "codes":
            return space.mappings.codes_of(moved)
        return space.mappings.reference_of(moved)

    with pytest.raises(DecryptionError):
        store.run(ACTOR, read)


# -- keys --------------------------------------------------------------------------------


def test_a_keyring_of_another_installation_is_refused_before_anything_is_read(
    db: Database,
) -> None:
    """KeyStore refuses a keyring lacking the database's keys; no work runs, nothing is written."""
    store, _ = open_store(db)
    new_patient(store)
    registry = raw_rows(store, key_registry)
    foreign = _same_store(store, generate_keyring(NOW.isoformat()))
    with pytest.raises(KeyringError, match="does not hold the key"):
        foreign.run(ACTOR, lambda _: pytest.fail("work ran with the wrong keyring"))
    assert raw_rows(store, key_registry) == registry


def _without_wrap_v1(keyring: Keyring, how: str) -> Keyring:
    if how == "destroyed":
        return keyring.with_state("wrap", 1, "destroyed")
    return Keyring(tuple(k for k in keyring.keys if (k.purpose, k.version) != ("wrap", 1)))


@pytest.mark.parametrize("how", ["dropped", "destroyed"])
def test_a_keyring_without_the_wrap_key_of_a_data_key_cannot_open_the_row(
    db: Database, how: str
) -> None:
    """A data key wrapped under a key the keyring no longer holds gives UnknownKeyError."""
    store, keyring = open_store(db)
    row = new_patient(store, "p1", CODE)
    # Rotated and retired without re-wrapping: the row's data key is still under wrap-v1.
    retired = keyring.rotated("wrap", LATER).with_state("wrap", 1, "retired")
    assert _same_store(store, retired).run(ACTOR, lambda s: s.mappings.codes_of(row)) == [CODE]
    missing = _same_store(store, _without_wrap_v1(retired, how))
    with pytest.raises(UnknownKeyError, match="no wrapping key wrap-v1-"):
        missing.run(ACTOR, lambda space: space.mappings.codes_of(row))


# -- index-key rotation ------------------------------------------------------------------


@pytest.mark.parametrize("lookup", ["find", "find_many"])
def test_after_index_rotation_an_old_row_is_found_and_reindexed_on_lookup(
    db: Database, lookup: str
) -> None:
    """Dual lookup finds a row indexed under v1, and moves just that row to v2 (lazy)."""
    store, keyring = open_store(db)
    rows = [new_patient(store, p) for p in PATIENTS]
    rotated = _same_store(store, keyring.rotated("index", LATER))

    def look(space: Workspace) -> MappingRow | None:
        if lookup == "find":
            return space.mappings.find(reference("p1"))
        return space.mappings.find_many([reference("p1")]).get(reference("p1"))

    assert rotated.run(ACTOR, look) == rows[0]
    assert _versions(store) == [1, 1, 2]
    by_mapping = {r["mapping_id"]: r["idx_ver"] for r in raw_rows(store, patient_index)}
    assert by_mapping[rows[0].mapping_id] == 2


def test_migrate_index_reindexes_every_remaining_row(db: Database) -> None:
    """The batch half re-indexes the rest: no index row of v1 is left, every row is found."""
    store, keyring = open_store(db)
    rows = [new_patient(store, p) for p in PATIENTS]
    rotated = _same_store(store, keyring.rotated("index", LATER))
    rotated.run(ACTOR, lambda space: space.mappings.find(reference("p1")))

    migrated = rotated.run(ACTOR, lambda space: space.mappings.migrate_index())

    assert migrated == 2
    assert _versions(store) == [2, 2, 2]
    assert rotated.run(ACTOR, lambda space: space.mappings.rows_indexed_under(1)) == 0
    found = rotated.run(ACTOR, lambda s: [s.mappings.find(reference(p)) for p in PATIENTS])
    assert found == rows


def test_a_row_written_after_index_rotation_is_found(db: Database) -> None:
    """A new patient is indexed under v2 only, and found again."""
    store, keyring = open_store(db)
    new_patient(store, "p1")
    rotated = _same_store(store, keyring.rotated("index", LATER))
    row = new_patient(rotated, "p2")
    assert rotated.run(ACTOR, lambda space: space.mappings.find(reference("p2"))) == row
    indexed = {r["mapping_id"]: r["idx_ver"] for r in raw_rows(store, patient_index)}
    assert indexed[row.mapping_id] == 2


def test_an_alias_survives_the_reindexing_of_the_main_reference(db: Database) -> None:
    """Re-indexing a row's main reference keeps its alias (a merge) findable under v1."""
    # Only the main reference is sealed, so the batch cannot re-index the alias; its own
    # lookup does (lazy), and until then v1 stays in use and is not retired.
    store, keyring = open_store(db)
    row = new_patient(store, "p1")
    store.run(ACTOR, lambda space: space.mappings.add_alias(row, reference("p1-merged")))
    rotated = _same_store(store, keyring.rotated("index", LATER))
    rotated.run(ACTOR, lambda space: space.mappings.migrate_index())
    assert _versions(store) == [1, 2]  # v1 stays in use, so it is not retired

    def both(space: Workspace) -> list[MappingRow | None]:
        return [space.mappings.find(reference(p)) for p in ("p1-merged", "p1")]

    assert rotated.run(ACTOR, both) == [row, row]
    assert _versions(store) == [2, 2]


# -- wrap-key rotation -------------------------------------------------------------------


def _ciphertexts(store: Store) -> dict[tuple[str, str], bytes]:
    """Every sealed field as stored, by (row id, column)."""
    sealed = {
        (r["mapping_id"], c): bytes(r[c])
        for r in raw_rows(store, patient_mapping)
        for c in ("subject_ct", "codes_ct")
    }
    return sealed | {
        (r["ledger_id"], "payload_ct"): bytes(r["payload_ct"]) for r in raw_rows(store, report)
    }


def _read_everything(space: Workspace) -> list[object]:
    rows = space.mappings.readable()
    codes = [space.mappings.codes_of(row) for row in rows]
    references = [space.mappings.reference_of(row) for row in rows]
    payloads = [space.ledger.payload(entry).patient_code for entry in space.ledger.entries()]
    return sorted(map(str, codes)) + sorted(references) + sorted(map(str, payloads))


def test_rewrap_changes_every_wrapped_key_and_no_ciphertext(db: Database) -> None:
    """rewrap_all moves each data key to wrap-v2; the sealed fields stay byte for byte."""
    store, keyring = open_store(db)
    for patient, code in zip(PATIENTS, (CODE, OTHER_CODE, "ANBEM071"), strict=True):
        row = new_patient(store, patient, code)
        item = (planned(row.mapping_id, code), row.dek_id)
        store.run(ACTOR, lambda space, i=item: space.ledger.record(*i))
    before_keys = {r["dek_id"]: r for r in raw_rows(store, data_key)}
    before_ct, readable = _ciphertexts(store), store.run(ACTOR, _read_everything)
    rotated_ring = keyring.rotated("wrap", LATER)
    rotated = _same_store(store, rotated_ring)

    assert rotated.run(ACTOR, lambda space: space.keys.rewrap_all()) == len(PATIENTS)

    after_keys = {r["dek_id"]: r for r in raw_rows(store, data_key)}
    assert after_keys.keys() == before_keys.keys()
    for dek_id, after in after_keys.items():
        assert after["kek_id"] != before_keys[dek_id]["kek_id"]
        assert after["kek_id"].startswith("wrap-v2-")
        assert bytes(after["wrapped"]) != bytes(before_keys[dek_id]["wrapped"])
    assert _ciphertexts(store) == before_ct
    assert rotated.run(ACTOR, _read_everything) == readable
    retired_ring = rotated_ring.with_state("wrap", 1, "retired")
    assert _same_store(store, retired_ring).run(ACTOR, _read_everything) == readable
    # Proof that no data key needs wrap-v1 any more: its secret is wiped, all still opens.
    for how in ("destroyed", "dropped"):
        without = _same_store(store, _without_wrap_v1(retired_ring, how))
        assert without.run(ACTOR, _read_everything) == readable


# -- crypto-shredding --------------------------------------------------------------------


def test_shredding_makes_the_row_unreadable_and_unfindable(db: Database) -> None:
    """The data key goes: codes and reference are ShreddedError, the index rows are deleted."""
    store, _ = open_store(db)
    row = new_patient(store, "p1", CODE)
    store.run(ACTOR, lambda space: space.mappings.shred(row))

    for read in (
        lambda space: space.keys.data_key(row.dek_id),
        lambda space: space.mappings.reference_of(row),
        lambda space: space.mappings.codes_of(row),
    ):
        with pytest.raises(ShreddedError, match="destroyed"):
            store.run(ACTOR, read)
    assert raw_rows(store, patient_index) == []
    (shredded,) = raw_rows(store, patient_mapping)
    assert shredded["status"] == "shredded"
    assert shredded["subject_ct"] is None
    assert shredded["codes_ct"] is None


def test_after_shredding_the_same_reference_gets_a_new_row(db: Database) -> None:
    """A patient who comes back after retention is a new row with a new id and data key."""
    store, _ = open_store(db)
    old = new_patient(store, "p1", CODE)
    store.run(ACTOR, lambda space: space.mappings.shred(old))
    new, created = store.run(ACTOR, lambda space: space.mappings.find_or_create(reference()))
    assert created
    assert (new.mapping_id, new.dek_id) != (old.mapping_id, old.dek_id)
    assert store.run(ACTOR, lambda space: space.mappings.codes_of(new)) == []


# -- optimistic locking ------------------------------------------------------------------


def test_record_use_with_a_stale_row_is_refused(db: Database) -> None:
    """A MappingRow whose row_version is behind the table's raises ConcurrentUpdateError."""
    store, keyring = open_store(db)
    stale = new_patient(store)
    store.run(ACTOR, lambda space: space.mappings.record_use(stale, last=date(2026, 11, 2)))

    with unit_of_work(store, keyring) as space, pytest.raises(ConcurrentUpdateError):
        space.mappings.record_use(stale, first=date(2026, 10, 1))


def test_update_many_applies_every_change_and_refuses_a_stale_row(db: Database) -> None:
    """Changes of many rows land together; one stale row makes the batch fail."""
    store, keyring = open_store(db)
    rows = [new_patient(store, p) for p in PATIENTS]

    def apply(space: Workspace) -> list[MappingRow]:
        changes = [
            (row, space.mappings.use_values(row, codes=(CODE,), last=date(2026, 11, i + 1)))
            for i, row in enumerate(rows)
        ]
        space.mappings.update_many(changes)
        return [space.mappings.get(row.mapping_id) for row in rows]

    updated = store.run(ACTOR, apply)
    assert [row.last_use for row in updated] == [date(2026, 11, d) for d in (1, 2, 3)]
    assert {row.row_version for row in updated} == {2}
    assert store.run(ACTOR, lambda s: [s.mappings.codes_of(r) for r in updated]) == [[CODE]] * 3

    fresh = [(row, {"last_use": date(2026, 12, 1)}) for row in updated[:2]]
    with unit_of_work(store, keyring) as space, pytest.raises(ConcurrentUpdateError):
        space.mappings.update_many([*fresh, (rows[2], {"last_use": date(2026, 12, 1)})])
