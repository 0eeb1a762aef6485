"""Deletions on the EHR reach the store through a pull (D-180): the type history
`[type]/_history?_since=` where the CapabilityStatement offers it, each deletion synced as
a DELETE pushed to /fhir is; a documented limitation where it is not offered (issue 13)."""

from __future__ import annotations

from typing import Any

from adapter.fhir.items import Deleted, Entry
from adapter.services.ingest import PUSHED, ingest
from adapter.services.pull import PULLED_TYPES, pull
from adapter.services.pull_deleted import checkpoint_key
from adapter.store.workspace import Store
from tests.pull.conftest import Served
from tests.pull.fhir_server import ServerState
from tests.pull.helpers import client, ledger, options
from tests.storage import ACTOR, make_twin

DELETED = ("MedicationRequest", "mr-1002-s")  # a prescription the ledger depends on


def _held(state: ServerState) -> list[dict[str, Any]]:
    return [r for kind in state.resources.values() for r in kind.values()]


def _pushed_then_deleted(resources: list[dict[str, Any]], ring: Any, ref: str) -> Store:
    """The same resources pushed and synced, then a DELETE of `ref` pushed and synced."""
    store, _ = make_twin(ring)
    ingest(store, ACTOR, [Entry(r, None, PUSHED) for r in resources], options())
    ingest(store, ACTOR, [Deleted(ref, PUSHED)], options())
    return store


def test_a_resource_deleted_on_the_server_is_synced_as_a_pushed_delete(
    fhir_server: Served,
) -> None:
    """Pull, delete a prescription on the server, pull again: the ledger is the one a
    DELETE pushed to /fhir makes, and not the one before; a third pull syncs nothing."""
    state = fhir_server.state
    store, ring = make_twin()
    pull(store, ACTOR, client(fhir_server.base), options(), page_size=100)
    before = ledger(store)
    resources = _held(state)
    state.delete(*DELETED)
    again = pull(store, ACTOR, client(fhir_server.base), options(), page_size=100)
    ref = "/".join(DELETED)
    assert again.deletions.refs == [ref]
    assert (again.resources, again.syncs) == (0, 1)
    assert ledger(store) == ledger(_pushed_then_deleted(resources, ring, ref))
    assert ledger(store) != before
    third = pull(store, ACTOR, client(fhir_server.base), options(), page_size=100)
    assert (third.deletions.refs, third.syncs) == ([], 0)


def test_a_first_pull_starts_each_deletion_checkpoint_at_the_newest_change(
    fhir_server: Served,
) -> None:
    """Nothing read before can have been deleted: a first pull asks each history for its
    newest change only (`_count=1`) and keeps that as the type's deletion checkpoint."""
    state = fhir_server.state
    store, _ = make_twin()
    result = pull(store, ACTOR, client(fhir_server.base), options())
    assert result.deletions.refs == []
    histories = [r for r in state.requests if r.path.endswith("/_history")]
    assert len(histories) == len(PULLED_TYPES)
    assert all(r.query == "_count=1" for r in histories)
    held = store.read(lambda space: space.pull.checkpoints(fhir_server.base))
    for kind in PULLED_TYPES:
        stamps = [r["meta"]["lastUpdated"] for r in state.resources.get(kind, {}).values()]
        assert held.get(checkpoint_key(kind)) == (max(stamps) if stamps else None)


def test_a_resource_deleted_and_created_again_is_not_deleted(fhir_server: Served) -> None:
    """The newest change decides: deleted, then put again, the prescription stays."""
    state = fhir_server.state
    store, _ = make_twin()
    pull(store, ACTOR, client(fhir_server.base), options(), page_size=100)
    before = ledger(store)
    kind, resource_id = DELETED
    resource = state.resources[kind][resource_id]
    state.delete(kind, resource_id)
    state.put(resource)
    again = pull(store, ACTOR, client(fhir_server.base), options(), page_size=100)
    assert again.deletions.refs == []
    assert ledger(store) == before


def test_without_history_in_the_capability_statement_deletions_are_a_noted_limit(
    fhir_server: Served,
) -> None:
    """A server that does not offer `history-type`: no history is asked for, an info
    finding names the types, and the deleted prescription stays (D-180)."""
    state = fhir_server.state
    state.offers_history = False
    store, _ = make_twin()
    pull(store, ACTOR, client(fhir_server.base), options(), page_size=100)
    before = ledger(store)
    state.delete(*DELETED)
    again = pull(store, ACTOR, client(fhir_server.base), options(), page_size=100)
    assert not [r for r in state.requests if "_history" in r.path]
    assert again.deletions.refs == [] and ledger(store) == before
    (note,) = [f for f in again.findings if "history" in f.message]
    assert note.severity == "info" and "MedicationRequest" in note.message
    assert "D-180" in note.message


def test_history_entries_are_read_in_the_forms_servers_write_them() -> None:
    """A DELETE named by a versioned URL, an update by its resource, a DELETE by an
    absolute fullUrl only; another type's entry and one naming nothing are skipped."""
    from adapter.connect.history import Change, changes, offered

    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            {"request": {"method": "DELETE", "url": "MedicationRequest/a/_history/3"}},
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "b",
                    "meta": {"lastUpdated": "2025-06-01T00:00:05Z"},
                },
                "request": {"method": "PUT", "url": "MedicationRequest/b"},
            },
            {
                "fullUrl": "https://ehr.example/fhir/MedicationRequest/c",
                "request": {"method": "DELETE"},
                "response": {"status": "204", "lastModified": "2025-06-01T00:00:07Z"},
            },
            {"request": {"method": "DELETE", "url": "Patient/p"}},
            {"request": {"method": "DELETE"}},
        ],
    }
    assert list(changes(bundle, "MedicationRequest")) == [
        Change("MedicationRequest/a", True, None),
        Change("MedicationRequest/b", False, "2025-06-01T00:00:05Z"),
        Change("MedicationRequest/c", True, "2025-06-01T00:00:07Z"),
    ]
    statement = {
        "resourceType": "CapabilityStatement",
        "rest": [
            {
                "mode": "client",
                "resource": [{"type": "Patient", "interaction": [{"code": "history-type"}]}],
            },
            {
                "mode": "server",
                "resource": [
                    {"type": "Encounter", "interaction": [{"code": "history-instance"}]},
                    {"type": "MedicationRequest", "interaction": [{"code": "history-type"}]},
                ],
            },
        ],
    }
    assert offered(statement) == frozenset({"MedicationRequest"})
