"""The mapping rows' contract (`MappingRows`), and the patient mappings on them, on every
backend."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from adapter.crypto import generate_keyring
from adapter.errors import ConcurrentUpdateError, DamagedRowError
from adapter.store.keys import KeyStore
from adapter.store.mapping_index import LOST, index_problem, lost_index
from adapter.store.mappings import PatientMappings
from adapter.store.memory.backend import MemoryBackend
from adapter.store.rows import RETIRED_DIGEST, RegisteredKey, Row
from adapter.store.schema import (
    patient_archive,
    patient_index,
    patient_mapping,
    patient_state,
    resource_seen,
)
from adapter.store.workspace import Database
from tests.storage import NOW
from tests.store.helpers import CODE, OTHER_CODE, reference

LATER = NOW + timedelta(hours=1)
A, B, C = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))
IDX = [bytes([n]) * 32 for n in range(6)]


def _mapping(mapping_id: str, **values: Any) -> Row:
    return {
        "mapping_id": mapping_id,
        "dek_id": "dek-1",
        "subject_nonce": b"n" * 12,
        "subject_ct": b"sealed reference",
        "status": "active",
        "row_version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        **values,
    }


def _patients(database: Database, *mapping_ids: str) -> None:
    """A data key and a mapping row of each id (the rows the index points to)."""
    with database.transaction() as rows:
        rows.keys.register(RegisteredKey("wrap-v1-aa", "wrap", 1, "active", None), "AES-KW", NOW)
        rows.keys.add_data_key("dek-1", "wrap-v1-aa", b"wrapped", "patient", NOW)
        for mapping_id in mapping_ids:
            rows.mappings.add(_mapping(mapping_id))


def _put(rows: Any, table: Table, key: tuple[Any, ...], row: Row) -> None:
    """A row of another part's table (sync's facts), written as that part writes it."""
    if isinstance(rows, MemoryBackend):
        rows.tables[table.name][key] = row
    else:
        rows.connection.execute(table.insert().values(**row))


def _held(rows: Any, table: Table, mapping_id: str) -> int:
    if isinstance(rows, MemoryBackend):
        return sum(1 for r in rows.tables[table.name].values() if r["mapping_id"] == mapping_id)
    query = select(func.count()).select_from(table).where(table.c.mapping_id == mapping_id)
    return int(rows.connection.execute(query).scalar_one())


# -- patient_mapping ---------------------------------------------------------------------


def test_rows_come_back_as_added_with_every_column(backend_db: Database) -> None:
    """A row comes back with all columns of the schema (the ones not given NULL); an id
    without a row is left out."""
    _patients(backend_db, A)
    with backend_db.transaction(write=False) as rows:
        got = rows.mappings.rows([A, B])
    assert list(got) == [A]
    assert set(got[A]) == set(patient_mapping.c.keys())
    assert {k: got[A][k] for k in ("mapping_id", "dek_id", "status", "row_version")} == {
        "mapping_id": A,
        "dek_id": "dek-1",
        "status": "active",
        "row_version": 1,
    }
    assert (got[A]["subject_nonce"], got[A]["subject_ct"]) == (b"n" * 12, b"sealed reference")
    assert [got[A][c] for c in ("codes_ct", "first_use", "last_use", "closed_on")] == [None] * 4


def test_many_rows_are_read_at_once(backend_db: Database) -> None:
    """More ids than one IN list holds all come back."""
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1203)]
    _patients(backend_db, *ids)
    with backend_db.transaction(write=False) as rows:
        assert sorted(rows.mappings.rows(ids)) == ids


def test_a_mapping_id_is_added_once(backend_db: Database) -> None:
    """A second row of the same id is refused as a race (the work would run again)."""
    _patients(backend_db, A)
    with (
        pytest.raises((ConcurrentUpdateError, *backend_db.races)),
        backend_db.transaction() as rows,
    ):
        rows.mappings.add(_mapping(A, status="closed"))
    with backend_db.transaction(write=False) as rows:
        assert rows.mappings.rows([A])[A]["status"] == "active"


def test_a_row_needs_its_data_key(backend_db: Database) -> None:
    """The foreign key to `data_key`: a row under an unknown data key is refused."""
    _patients(backend_db)
    with pytest.raises(Exception), backend_db.transaction() as rows:  # noqa: B017
        rows.mappings.add(_mapping(A, dek_id="no-such-key"))
    with backend_db.transaction(write=False) as rows:
        assert rows.mappings.rows([A]) == {}


def test_remove_deletes_the_row_unless_index_rows_point_to_it(backend_db: Database) -> None:
    """A row without index rows goes; one the index points to is refused (foreign key)."""
    _patients(backend_db, A, B)
    with backend_db.transaction() as rows:
        assert rows.mappings.add_index(IDX[0], 1, B)
        rows.mappings.remove(A)
    with pytest.raises(Exception), backend_db.transaction() as rows:  # noqa: B017
        rows.mappings.remove(B)
    with backend_db.transaction(write=False) as rows:
        assert list(rows.mappings.rows([A, B])) == [B]


def test_update_guarded_applies_only_rows_at_the_expected_version(backend_db: Database) -> None:
    """Each change is guarded by its row version; the count says how many landed."""
    _patients(backend_db, A, B, C)
    changes: list[tuple[str, int, Row]] = [
        (A, 1, {"last_use": date(2026, 11, 2)}),
        (B, 1, {"status": "closed", "closed_on": date(2026, 11, 3)}),
        (C, 7, {"last_use": date(2026, 11, 4)}),  # stale: the row is at version 1
    ]
    with backend_db.transaction() as rows:
        assert rows.mappings.update_guarded(changes, LATER) == 2
        assert rows.mappings.update_guarded([(A, 1, {"first_use": date(2026, 1, 1)})], LATER) == 0
    with backend_db.transaction(write=False) as rows:
        got = rows.mappings.rows([A, B, C])
    assert [got[i]["row_version"] for i in (A, B, C)] == [2, 2, 1]
    assert (got[A]["last_use"], got[A]["first_use"]) == (date(2026, 11, 2), None)
    assert (got[B]["status"], got[B]["closed_on"]) == ("closed", date(2026, 11, 3))
    assert got[C]["last_use"] is None


def test_rows_are_selected_by_status(backend_db: Database) -> None:
    """Closed before a day, not shredded, shredded among ids, and the sealed references."""
    _patients(backend_db, A, B, C)
    with backend_db.transaction() as rows:
        rows.mappings.update_guarded(
            [
                (A, 1, {"status": "closed", "closed_on": date(2026, 1, 31)}),
                (B, 1, {"status": "closed", "closed_on": date(2026, 2, 1)}),
                (C, 1, {"status": "shredded", "subject_ct": None, "subject_nonce": None}),
            ],
            NOW,
        )
    with backend_db.transaction(write=False) as rows:
        assert rows.mappings.closed_before(date(2026, 2, 1)) == [A]
        assert sorted(rows.mappings.not_shredded()) == [A, B]
        assert sorted(r["mapping_id"] for r in rows.mappings.with_sealed_reference()) == [A, B]
    with backend_db.transaction() as rows:  # a row whose reference is gone is not opened
        rows.mappings.update_guarded([(B, 2, {"subject_ct": None, "subject_nonce": None})], NOW)
    with backend_db.transaction(write=False) as rows:
        assert [r["mapping_id"] for r in rows.mappings.with_sealed_reference()] == [A]


# -- patient_index -----------------------------------------------------------------------


def test_an_index_slot_is_taken_once(backend_db: Database) -> None:
    """(index, version) points to one row: a second insert is refused with False, not an
    error (a parallel run created the patient first)."""
    _patients(backend_db, A, B)
    with backend_db.transaction() as rows:
        assert rows.mappings.add_index(IDX[0], 1, A) is True
        assert rows.mappings.add_index(IDX[0], 1, B) is False
        assert rows.mappings.add_index(IDX[0], 2, B) is True  # another version: another slot
    with backend_db.transaction(write=False) as rows:
        assert rows.mappings.index_of(A) == [(1, IDX[0])]
        assert rows.mappings.index_of(B) == [(2, IDX[0])]


def test_an_index_row_needs_its_mapping_row(backend_db: Database) -> None:
    """The foreign key to `patient_mapping`."""
    _patients(backend_db)
    with pytest.raises(Exception), backend_db.transaction() as rows:  # noqa: B017
        rows.mappings.add_index(IDX[0], 1, A)
    with backend_db.transaction(write=False) as rows:
        assert rows.mappings.index_of(A) == []


def test_index_hits_match_index_and_version_together(backend_db: Database) -> None:
    """A stored index under another version than asked is no hit."""
    _patients(backend_db, A, B)
    with backend_db.transaction() as rows:
        rows.mappings.add_index(IDX[0], 1, A)
        rows.mappings.add_index(IDX[1], 2, A)
        rows.mappings.add_index(IDX[2], 1, B)
    with backend_db.transaction(write=False) as rows:
        hits = rows.mappings.index_hits([(1, IDX[0]), (1, IDX[1]), (2, IDX[2]), (1, IDX[3])])
        assert hits == [(A, 1, IDX[0])]
        both = rows.mappings.index_hits([(2, IDX[1]), (1, IDX[2])])
        assert sorted(both) == [(A, 2, IDX[1]), (B, 1, IDX[2])]
        assert rows.mappings.index_hits([]) == []


def test_index_hits_of_many_pairs_are_all_found(backend_db: Database) -> None:
    """More pairs than one IN list holds (a large sync) are all looked up."""
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(700)]
    _patients(backend_db, *ids)
    pairs = [(1, n.to_bytes(32, "big")) for n in range(700)]
    with backend_db.transaction() as rows:
        for (version, idx), mapping_id in zip(pairs, ids, strict=True):
            rows.mappings.add_index(idx, version, mapping_id)
    with backend_db.transaction(write=False) as rows:
        hits = rows.mappings.index_hits(pairs)
    assert sorted(hits) == sorted((i, 1, idx) for (_, idx), i in zip(pairs, ids, strict=True))


def test_versions_are_counted_and_old_ones_listed(backend_db: Database) -> None:
    """Rows under a version are counted; rows with any other version are named once."""
    _patients(backend_db, A, B, C)
    with backend_db.transaction() as rows:
        rows.mappings.add_index(IDX[0], 1, A)
        rows.mappings.add_index(IDX[1], 1, A)
        rows.mappings.add_index(IDX[2], 2, B)
        rows.mappings.add_index(IDX[3], 3, C)
    with backend_db.transaction(write=False) as rows:
        assert [rows.mappings.count_index(v) for v in (1, 2, 3, 4)] == [2, 1, 1, 0]
        assert sorted(rows.mappings.mapped_under_other_versions(3)) == [A, B]
        assert sorted(rows.mappings.mapped_under_other_versions(9)) == [A, B, C]


def test_drop_index_drops_only_the_rows_own_pairs(backend_db: Database) -> None:
    """Of the pairs given, only those pointing to the row go."""
    _patients(backend_db, A, B)
    with backend_db.transaction() as rows:
        rows.mappings.add_index(IDX[0], 1, A)
        rows.mappings.add_index(IDX[1], 1, A)
        rows.mappings.add_index(IDX[2], 1, B)
        rows.mappings.drop_index(A, [(1, IDX[0]), (1, IDX[2]), (2, IDX[1])])
        rows.mappings.drop_index(A, [])
    with backend_db.transaction(write=False) as rows:
        assert rows.mappings.index_of(A) == [(1, IDX[1])]
        assert rows.mappings.index_of(B) == [(1, IDX[2])]


def test_forget_patient_deletes_its_rows_everywhere_and_no_one_elses(
    backend_db: Database,
) -> None:
    """Shredding deletes the patient's index rows, state and archive; its resources seen
    keep their blind index and owner, without their digest (D-81)."""
    _patients(backend_db, A, B)
    with backend_db.transaction() as rows:
        for n, mapping_id in enumerate((A, B)):
            rows.mappings.add_index(IDX[n], 1, mapping_id)
            state = {"format": 1, "nonce": b"n", "ct": b"c", "walked_to": None, "live": True}
            _put(
                rows,
                patient_state,
                (mapping_id,),
                state | {"mapping_id": mapping_id, "updated_at": NOW},
            )
            for seq in (1, 2):
                batch = {"mapping_id": mapping_id, "seq": seq, "format": 1, "nonce": b"n"}
                _put(
                    rows,
                    patient_archive,
                    (mapping_id, seq),
                    batch | {"ct": b"c", "created_at": NOW},
                )
            seen = {"resource_idx": IDX[n + 2], "idx_ver": 1, "mapping_id": mapping_id}
            _put(rows, resource_seen, (IDX[n + 2], 1), seen | {"digest": b"d" * 32})
        rows.mappings.forget_patient(A)
    with backend_db.transaction(write=False) as rows:
        tables = (patient_index, patient_state, patient_archive, resource_seen)
        assert [_held(rows, t, A) for t in tables] == [0, 0, 0, 1]
        assert [_held(rows, t, B) for t in tables] == [1, 1, 2, 1]
        assert rows.facts.seen([IDX[2], IDX[3]], 1) == {
            IDX[2]: (A, RETIRED_DIGEST),
            IDX[3]: (B, b"d" * 32),
        }
        assert list(rows.mappings.rows([A, B])) == [A, B]  # the mapping row stays


def test_a_failed_transaction_leaves_nothing(backend_db: Database) -> None:
    """A unit of work that fails adds no mapping row and no index row."""
    _patients(backend_db)
    with pytest.raises(RuntimeError), backend_db.transaction() as rows:
        rows.mappings.add(_mapping(A))
        rows.mappings.add_index(IDX[0], 1, A)
        raise RuntimeError("the work failed")
    with backend_db.transaction(write=False) as rows:
        assert (rows.mappings.rows([A]), rows.mappings.count_index(1)) == ({}, 0)


# -- the patient mappings over the rows --------------------------------------------------


def test_patient_mappings_create_find_and_seal_on_every_backend(backend_db: Database) -> None:
    """find_or_create once, found again in a new transaction, codes and reference sealed."""
    ring = generate_keyring(NOW.isoformat())
    with backend_db.transaction() as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, ring, NOW), NOW)
        row, created = mappings.find_or_create(reference("p1"))
        row = mappings.record_use(row, codes=(OTHER_CODE, CODE), last=date(2026, 11, 2))
    with backend_db.transaction(write=False) as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, ring, LATER), LATER)
        found = mappings.find(reference("p1"))
        assert created and found == row
        assert mappings.find(reference("p2")) is None
        assert mappings.find_many([reference("p1"), reference("p2")]) == {reference("p1"): row}
        assert mappings.codes_of(row) == [OTHER_CODE, CODE]
        assert mappings.reference_of(row) == reference("p1")
        assert (row.row_version, row.last_use) == (2, date(2026, 11, 2))


def test_codes_of_many_reads_every_row_at_once_and_names_a_damaged_one(
    backend_db: Database,
) -> None:
    """codes_of_many gives what codes_of gives of each row (no codes: an empty list); a
    row whose sealed codes were changed gives its error in their place, and the others
    are still read (sync_damage leaves only that patient alone)."""
    ring = generate_keyring(NOW.isoformat())
    with backend_db.transaction() as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, ring, NOW), NOW)
        coded, _ = mappings.find_or_create(reference("p1"))
        coded = mappings.record_use(coded, codes=(OTHER_CODE, CODE))
        fresh, _ = mappings.find_or_create(reference("p2"))
        damaged, _ = mappings.find_or_create(reference("p3"))
        damaged = mappings.record_use(damaged, codes=(CODE,))
        changed = {"codes_ct": b"changed outside substreg"}
        assert rows.mappings.update_guarded([(damaged.mapping_id, 2, changed)], NOW) in (1, None)
        damaged = mappings.get(damaged.mapping_id)
    with backend_db.transaction(write=False) as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, ring, LATER), LATER)
        found = mappings.codes_of_many([coded, fresh, damaged])
        assert found[coded.mapping_id] == mappings.codes_of(coded) == [OTHER_CODE, CODE]
        assert found[fresh.mapping_id] == mappings.codes_of(fresh) == []
        assert isinstance(found[damaged.mapping_id], DamagedRowError)
        assert str(found[damaged.mapping_id]).startswith("The codes of mapping")
        assert mappings.codes_of_many([]) == {}


def test_a_taken_index_slot_makes_the_creator_use_the_other_row(backend_db: Database) -> None:
    """A run that looked and found nothing, then loses the index slot to a parallel run,
    drops its own row and data key and returns the other run's row."""
    ring = generate_keyring(NOW.isoformat())
    with backend_db.transaction() as rows:
        keys = KeyStore(rows.keys, ring, NOW)
        mappings = PatientMappings(rows.mappings, keys, NOW)
        theirs, _ = mappings.find_or_create(reference())
        mine, created = mappings.find_or_create(reference(), known=None, looked_up=True)
        assert (mine, created) == (theirs, False)
        assert sorted(rows.mappings.not_shredded()) == [theirs.mapping_id]
        (wrap,) = [k.key_id for k in rows.keys.registered() if k.purpose == "wrap"]
        assert rows.keys.count_wrapped_under(wrap) == 1  # the loser's data key is destroyed
        assert rows.mappings.count_index(1) == 1


def test_index_rotation_reindexes_on_lookup_and_in_batch(backend_db: Database) -> None:
    """After the index key rotates, a lookup moves its row to v2; the batch moves the rest."""
    ring = generate_keyring(NOW.isoformat())
    with backend_db.transaction() as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, ring, NOW), NOW)
        made = [mappings.find_or_create(reference(p))[0] for p in ("p1", "p2", "p3")]
    rotated = ring.rotated("index", LATER.isoformat())
    with backend_db.transaction() as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, rotated, LATER), LATER)
        assert mappings.find(reference("p1")) == made[0]
        assert (mappings.rows_indexed_under(1), mappings.rows_indexed_under(2)) == (2, 1)
        assert mappings.migrate_index() == 2
        assert (mappings.rows_indexed_under(1), mappings.rows_indexed_under(2)) == (0, 3)
        assert [mappings.find(reference(p)) for p in ("p1", "p2", "p3")] == made
        assert [mappings.index_rows_of(m.mapping_id) for m in made] == [1, 1, 1]


def test_shredding_forgets_the_patient_on_every_backend(backend_db: Database) -> None:
    """The row stays, shredded and unfindable; the same reference then makes a new row."""
    ring = generate_keyring(NOW.isoformat())
    with backend_db.transaction() as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, ring, NOW), NOW)
        old, _ = mappings.find_or_create(reference())
        mappings.shred(old)
        assert mappings.find(reference()) is None
        assert mappings.readable() == []
        new, created = mappings.find_or_create(reference())
        assert created and new.mapping_id != old.mapping_id
        assert mappings.get(old.mapping_id).status == "shredded"


def test_a_stale_row_is_refused_on_every_backend(backend_db: Database) -> None:
    """Optimistic locking: a MappingRow behind the table raises ConcurrentUpdateError,
    alone or in a batch."""
    ring = generate_keyring(NOW.isoformat())
    with backend_db.transaction() as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, ring, NOW), NOW)
        stale, _ = mappings.find_or_create(reference("p1"))
        other, _ = mappings.find_or_create(reference("p2"))
        mappings.record_use(stale, last=date(2026, 11, 2))
        with pytest.raises(ConcurrentUpdateError):
            mappings.record_use(stale, first=date(2026, 10, 1))
        with pytest.raises(ConcurrentUpdateError):
            mappings.update_many(
                [(other, {"last_use": date(2026, 12, 1)}), (stale, {"last_use": date(2026, 12, 1)})]
            )


def test_a_damaged_index_is_told_on_every_backend(backend_db: Database) -> None:
    """A row no index row finds any more is named by `index_problem` and `lost_index`."""
    ring = generate_keyring(NOW.isoformat())
    with backend_db.transaction() as rows:
        mappings = PatientMappings(rows.mappings, KeyStore(rows.keys, ring, NOW), NOW)
        kept, _ = mappings.find_or_create(reference("p1"))
        lost, _ = mappings.find_or_create(reference("p2"))
        assert index_problem(mappings, lost) is None
        rows.mappings.drop_index(lost.mapping_id, rows.mappings.index_of(lost.mapping_id))
        assert index_problem(mappings, lost) == LOST
        assert index_problem(mappings, kept) is None
        assert lost_index(mappings, [reference("p2"), reference("p3")]) == {reference("p2"): lost}
