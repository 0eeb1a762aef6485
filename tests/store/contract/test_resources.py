"""The pushed resources' rows (`ResourceRows`) and `PushedResources` over them, on the
twin, SQLite and PostgreSQL: versions kept sealed, found by blind indexes, a logical id
taken once, a stale version refused, and the marker of what sync has not read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapter.crypto import generate_keyring
from adapter.errors import ConcurrentUpdateError
from adapter.store.keys import KeyStore
from adapter.store.resources import PushedResources
from adapter.store.workspace import Database
from tests.storage import NOW

LATER = NOW + timedelta(hours=1)
RING = generate_keyring(NOW.isoformat())
ID = "ehr-patient-4711"  # an EHR's own id: kept only as a blind index
IDENTIFIER = ("http://fhir.de/sid/gkv/kvid-10", "A123456789")


def _resources(rows: Any, now: Any = NOW) -> PushedResources:
    return PushedResources(rows.resources, KeyStore(rows.keys, RING, now), now)


def _races(database: Database) -> tuple[type[Exception], ...]:
    return (ConcurrentUpdateError, *database.races)


def test_versions_are_kept_sealed_and_open_again(backend_db: Database) -> None:
    """Two versions and a DELETE: each opens as written with the method that wrote it
    (D-238), the history is newest first, and no row holds the id, the identifier or the
    body in clear."""
    with backend_db.transaction() as rows:
        pushed = _resources(rows)
        first = pushed.write(
            "Patient", ID, None, b'{"v":1,"id":"' + ID.encode() + b'"}', [], method="POST"
        )
        second = pushed.write("Patient", ID, first, b'{"v":2}', [IDENTIFIER], method="PUT")
    with backend_db.transaction() as rows:
        pushed = _resources(rows, LATER)
        found = pushed.locate("Patient", ID)
        assert found is not None and found.version == 2 and not found.deleted
        assert found.resource_id == first.resource_id == second.resource_id
        gone = pushed.write("Patient", ID, found, b"{}", [], method="DELETE", deleted=True)
        assert gone.deleted and gone.version == 3
    with backend_db.transaction(write=False) as rows:
        pushed = _resources(rows, LATER)
        located = pushed.locate("Patient", ID)
        assert located is not None and located.deleted and located.last_updated == LATER
        assert [(k.version, k.body, k.deleted, k.method) for k in pushed.history(located)] == [
            (3, b"{}", True, "DELETE"),
            (2, b'{"v":2}', False, "PUT"),
            (1, b'{"v":1,"id":"' + ID.encode() + b'"}', False, "POST"),
        ]
        kept = pushed.version(located, 2)
        assert kept is not None and kept.body == b'{"v":2}'
        assert pushed.version(located, 4) is None
        assert pushed.locate("Patient", "other") is None
        assert pushed.locate("Practitioner", ID) is None  # the type is part of the id
        stored = [
            rows.resources.get(located.resource_id),
            *rows.resources.versions(located.resource_id),
        ]
        text = repr(stored).encode()
        assert ID.encode() not in text and IDENTIFIER[1].encode() not in text
        assert b'"v":2' not in text


def test_identifiers_find_the_current_version_only(backend_db: Database) -> None:
    """A conditional create looks up identifiers: those of the current version, by type;
    two resources with one identifier are both found."""
    with backend_db.transaction() as rows:
        pushed = _resources(rows)
        one = pushed.write("Patient", "a", None, b"{}", [IDENTIFIER], method="PUT")
        pushed.write("Patient", "b", None, b"{}", [IDENTIFIER, ("s", "v")], method="PUT")
        pushed.write(
            "Patient", "a", one, b"{}", [("s", "w")], method="PUT"
        )  # a's identifier changed
    with backend_db.transaction(write=False) as rows:
        pushed = _resources(rows)
        assert [r.version for r in pushed.identified("Patient", *IDENTIFIER)] == [1]
        assert len(pushed.identified("Patient", "s", "v")) == 1
        assert len(pushed.identified("Patient", "s", "w")) == 1
        assert pushed.identified("Organization", *IDENTIFIER) == []


def test_a_logical_id_is_created_once_and_a_stale_version_refused(backend_db: Database) -> None:
    """A second create of one id, or a write on a version not current, is refused as a race
    (the unit of work runs again and sees the resource)."""
    with backend_db.transaction() as rows:
        first = _resources(rows).write("Patient", ID, None, b"{}", [], method="PUT")
    with pytest.raises(_races(backend_db)), backend_db.transaction() as rows:
        _resources(rows).write("Patient", ID, None, b"{}", [], method="PUT")
    with backend_db.transaction() as rows:
        _resources(rows).write("Patient", ID, first, b"{}", [], method="PUT")
    with pytest.raises(_races(backend_db)), backend_db.transaction() as rows:
        _resources(rows).write("Patient", ID, first, b"{}", [], method="PUT")  # version 1 is stale
    with backend_db.transaction(write=False) as rows:
        located = _resources(rows).locate("Patient", ID)
        assert located is not None and located.version == 2


def test_pending_versions_until_sync_has_read_them(backend_db: Database) -> None:
    """Pending: the current version of each resource with an unread version, oldest first;
    marking a version read marks those before it, not a newer one written meanwhile."""
    with backend_db.transaction() as rows:
        pushed = _resources(rows)
        a = pushed.write("Patient", "a", None, b"a1", [], method="PUT")
        pushed.write("Organization", "o", None, b"o1", [], method="PUT")
    with backend_db.transaction() as rows:
        pushed = _resources(rows, LATER)
        pushed.write("Patient", "a", a, b"a2", [], method="PUT")
        assert pushed.count_pending() == 2
        waiting = pushed.pending(10)
        assert [(kind, kept.body) for kind, kept in waiting] == [
            ("Organization", b"o1"),
            ("Patient", b"a2"),
        ]
        assert pushed.pending(1)[0][0] == "Organization"
        pushed.mark_ingested([(kept.resource_id, kept.version) for _, kept in waiting])
        assert pushed.count_pending() == 0 and pushed.pending(10) == []
    with backend_db.transaction() as rows:
        pushed = _resources(rows, LATER)
        located = pushed.locate("Patient", "a")
        assert located is not None
        pushed.write("Patient", "a", located, b"a3", [], method="PUT")
        pushed.mark_ingested([(located.resource_id, 2)])  # read before version 3 came
        assert [kept.body for _, kept in pushed.pending(10)] == [b"a3"]


def test_a_failed_transaction_keeps_no_version(backend_db: Database) -> None:
    with pytest.raises(RuntimeError), backend_db.transaction() as rows:
        _resources(rows).write("Patient", ID, None, b"{}", [IDENTIFIER], method="PUT")
        raise RuntimeError("the work failed")
    with backend_db.transaction(write=False) as rows:
        pushed = _resources(rows)
        assert pushed.locate("Patient", ID) is None and pushed.count_pending() == 0
        assert pushed.identified("Patient", *IDENTIFIER) == []


def test_owners_are_noted_and_a_patients_resources_forgotten(backend_db: Database) -> None:
    """Owners set in one statement; forgetting a patient's resources destroys their data
    keys and deletes their rows, versions and identifiers; the others stay."""
    with backend_db.transaction() as rows:
        pushed = _resources(rows)
        one = pushed.write("Patient", "a", None, b"a1", [IDENTIFIER], method="PUT")
        pushed.write("Patient", "a", one, b"a2", [IDENTIFIER], method="PUT")
        two = pushed.write("MedicationAdministration", "m", None, b"m1", [], method="PUT")
        other = pushed.write("Patient", "b", None, b"b1", [], method="PUT")
        pushed.set_owners(
            {one.resource_id: "map-1", two.resource_id: "map-1", other.resource_id: None}
        )
        assert [r["resource_id"] for r in rows.resources.owned_by("map-1")] == sorted(
            [one.resource_id, two.resource_id]
        )
        assert pushed.forget_owned("map-1") == 2
    with backend_db.transaction(write=False) as rows:
        pushed = _resources(rows)
        assert pushed.locate("Patient", "a") is None
        assert pushed.locate("MedicationAdministration", "m") is None
        assert pushed.identified("Patient", *IDENTIFIER) == []
        assert rows.resources.versions(one.resource_id) == []
        assert rows.keys.data_keys([one.dek_id])[one.dek_id].wrapped is None  # destroyed
        kept = pushed.locate("Patient", "b")
        assert kept is not None and kept.version == 1
        assert [k.body for _, k in pushed.pending(10)] == [b"b1"]
        assert rows.resources.owned_by("map-1") == []


def test_an_index_key_rotation_finds_and_reindexes_what_the_old_key_indexes(
    backend_db: Database,
) -> None:
    """After a rotation the resources under the old index key (their id, or only one of
    their identifiers) are listed and counted; re-indexed, they are found under the new key
    alone, by id and by identifier, with their version unchanged."""
    rotated = RING.rotated("index", LATER.isoformat())
    with backend_db.transaction() as rows:
        pushed = _resources(rows)
        a = pushed.write("Patient", "a", None, b"{}", [IDENTIFIER], method="PUT")
        b = pushed.write("Patient", "b", None, b"{}", [], method="PUT")
    with backend_db.transaction() as rows:
        after = PushedResources(rows.resources, KeyStore(rows.keys, rotated, LATER), LATER)
        c = after.write(
            "Patient", "c", None, b"{}", [IDENTIFIER], method="PUT"
        )  # under the new key
        assert after.rows_indexed_under(1) == 3 and after.rows_indexed_under(2) == 2
        stale = after.indexed_under_old_keys()
        assert sorted(s.resource_id for s in stale) == sorted([a.resource_id, b.resource_id])
        for located, logical_id, identifiers in ((a, "a", [IDENTIFIER]), (b, "b", [])):
            after.reindex(located, logical_id, identifiers)
        assert after.rows_indexed_under(1) == 0 and after.rows_indexed_under(2) == 5
        assert after.indexed_under_old_keys() == []
    newest_only = rotated.with_state("index", 1, "retired")
    with backend_db.transaction(write=False) as rows:
        alone = PushedResources(rows.resources, KeyStore(rows.keys, newest_only, LATER), LATER)
        found = alone.locate("Patient", "a")
        assert found is not None and found.version == 1
        assert alone.locate("Patient", "b") is not None
        assert sorted(r.resource_id for r in alone.identified("Patient", *IDENTIFIER)) == sorted(
            [a.resource_id, c.resource_id]
        )
