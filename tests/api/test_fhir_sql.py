"""`/fhir` through the real SQL rows, on SQLite and PostgreSQL: the interactions and the
push-to-ledger path once each, and the stolen-database test (PRIVACY.md T1, T2) for what
is pushed: no table and no log line holds a name, a birth date, an EHR id or a code."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from adapter.services.ingest import ingest_pushed
from adapter.services.sync_plan import SyncOptions
from adapter.store.workspace import Store
from tests.api.helpers import (
    MAPPINGS,
    as_of_of,
    caller_of,
    client_of,
    patient,
    post,
    put,
    transactions,
)
from tests.storage import ACTOR, Database, make_store, make_twin
from tests.sync.helpers import ledger, run_sync
from tests.sync.test_sync_privacy import _dump, _leaks, _secrets
from tests.test_scenarios import OWN_CASES, SHARED_CASES


def test_the_interactions_and_the_push_to_the_ledger_on_sql(database: Database) -> None:
    """Create, conditional create, update with If-Match, a transaction of a scenario,
    its ingestion: as on the twin."""
    store, _ = make_store(database.url)
    caller = caller_of(store)
    client = client_of(caller)
    condition = {"If-None-Exist": "identifier=https://pvs.example/sid/pid|4711"}
    created = post(client, "/fhir/Patient", patient("4711"), **condition)
    assert created.status_code == 201
    assert post(client, "/fhir/Patient", patient("4711"), **condition).json() == created.json()
    url = f"/fhir/Patient/{created.json()['id']}"
    body = {**created.json(), "gender": "female"}
    assert put(client, url, body, **{"If-Match": 'W/"1"'}).headers["etag"] == 'W/"2"'
    assert put(client, url, body, **{"If-Match": 'W/"1"'}).status_code == 412
    assert client.get(f"{url}/_history/1").json()["gender"] == "male"
    assert client.delete(url).status_code == 204 and client.get(url).status_code == 410
    requests = [e["request"] for e in client.get(f"{url}/_history").json()["entry"]]
    assert (
        requests
        == [  # D-238: each version as it was written, kept in the row
            {"method": "DELETE", "url": url[6:]},
            {"method": "PUT", "url": url[6:]},
            {"method": "POST", "url": "Patient"},
        ]
    )

    cases = SHARED_CASES or OWN_CASES
    case = cases[0]
    (bundle,) = transactions([case / "input.json"], size=10_000)
    assert post(client, "/fhir", bundle).status_code == 200
    as_of = date.fromisoformat(as_of_of(case))
    options = SyncOptions(as_of=as_of, config=caller.config, mappings=MAPPINGS)
    results = ingest_pushed(store, ACTOR, options)
    assert len(results) == 1 and results[0].recorded
    reference, _ = make_twin()
    run_sync(reference, [case / "input.json"], as_of)
    assert _reports(store) == _reports(reference)
    assert store.read(lambda space: space.resources.count_pending()) == 0


def test_a_stolen_database_of_pushed_resources_names_nobody(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Every public scenario pushed as a transaction (SQL statements logged with their
    parameters): no table and no log line holds a name, a birth date, a Patient id or a
    code in clear."""
    cases: list[Path] = SHARED_CASES or OWN_CASES
    secrets = _secrets(cases)
    store, _ = make_store(database.url)
    client = client_of(caller_of(store))
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        for case in cases:
            for bundle in transactions([case / "input.json"], size=10_000):
                response = post(client, "/fhir", bundle)
                assert response.status_code == 200, (case.name, response.text)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert "INSERT INTO fhir_resource_version" in log_text  # statements, parameters too
    rows = _dump(database.url, store)
    assert any(table == "fhir_resource_version" for table, _, _ in rows)
    assert _leaks(rows, log_text, secrets) == []


def _reports(store: Store) -> list[object]:
    """The ledger's reports by report id (reports of one day and kind are in no order)."""
    return [h.report for h in sorted(ledger(store), key=lambda h: h.report.id)]
