"""`pull` against a real FHIR server on 127.0.0.1 (tests/pull/fhir_server.py): paging,
`_lastUpdated` checkpoints, and the ledger it makes (issue 13.4)."""

from __future__ import annotations

import math

from adapter.fhir.source import read_paths
from adapter.services.ingest import ingest
from adapter.services.pull import PULLED_TYPES, pull
from tests.cli_helpers import DEMO
from tests.pull.conftest import Served
from tests.pull.helpers import client, ledger, options
from tests.storage import ACTOR, make_twin


def test_a_pull_pages_through_every_type_and_keeps_the_newest_change(fhir_server: Served) -> None:
    """Every resource of every type is read, page by page through `Bundle.link` next,
    and each type's checkpoint is its newest `meta.lastUpdated`."""
    store, _ = make_twin()
    source = client(fhir_server.base)
    result = pull(store, ACTOR, source, options(), page_size=50)
    state = fhir_server.state
    for pulled in result.types:
        held = state.resources.get(pulled.resource_type, {})
        assert pulled.resources == len(held)
        assert pulled.pages == max(1, math.ceil(len(held) / 50))
        newest = max((r["meta"]["lastUpdated"] for r in held.values()), default=None)
        assert pulled.checkpoint == newest
    assert [t.resource_type for t in result.types] == list(PULLED_TYPES)
    held = store.read(lambda space: space.pull.checkpoints(fhir_server.base))
    searched = {kind: value for kind, value in held.items() if "/" not in kind}
    assert searched == {t.resource_type: t.checkpoint for t in result.types if t.checkpoint}


def test_the_pulled_ledger_is_the_one_a_sync_of_the_same_files_makes(fhir_server: Served) -> None:
    """Page by page, in many syncs, the pull records what one `substreg sync` of the demo
    folder records."""
    pulled, ring = make_twin()
    pull(pulled, ACTOR, client(fhir_server.base), options(), page_size=50)
    synced, _ = make_twin(ring)
    ingest(synced, ACTOR, read_paths([DEMO]), options())
    assert ledger(pulled) == ledger(synced)
    assert ledger(pulled)


def test_the_next_pull_reads_only_what_changed_since_the_checkpoint(fhir_server: Served) -> None:
    """Nothing changed: one empty page per type. One resource changed: only it is read,
    searched `_lastUpdated=gt<checkpoint>`, and its type's checkpoint moves to it."""
    store, _ = make_twin()
    pull(store, ACTOR, client(fhir_server.base), options(), page_size=50)
    state = fhir_server.state
    state.requests.clear()
    again = pull(store, ACTOR, client(fhir_server.base), options(), page_size=50)
    assert again.resources == 0
    searches = [r for r in state.requests if "_history" not in r.path]
    assert len(searches) == len(PULLED_TYPES) + 1  # and the CapabilityStatement (D-180)
    searched = {r.path.rsplit("/", 1)[1] for r in state.requests if "_lastUpdated=gt" in r.query}
    assert searched == {kind for kind in PULLED_TYPES if state.resources.get(kind)}
    changed = dict(next(iter(state.resources["Patient"].values())))
    changed["gender"] = "female" if changed.get("gender") == "male" else "male"
    state.put(changed)
    third = pull(store, ACTOR, client(fhir_server.base), options(), page_size=50)
    assert third.resources == 1
    patients = next(t for t in third.types if t.resource_type == "Patient")
    assert patients.checkpoint == state.resources["Patient"][changed["id"]]["meta"]["lastUpdated"]


def test_a_pull_searches_every_type_the_reader_reads_but_compositions() -> None:
    """PULLED_TYPES is the collector's list less Composition (read inside KBV Bundles;
    searched alone it would bring every letter the EHR keeps)."""
    from adapter.fhir.collect import Collector
    from adapter.mappings import load_mappings

    read = set(Collector(load_mappings())._records_of)
    assert set(PULLED_TYPES) == read - {"Composition"}
