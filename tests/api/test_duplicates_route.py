"""`POST /duplicates` and `/duplicates/resolve` (issue 14 item 5, D-191): the CLI's
`duplicate import|resolve` use cases over the API, on the demo practice synced as of
2025-12-31 (Reuter's phase open with Falkner); errors as OperationOutcome."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapter.api import outcome
from adapter.api.duplicates import duplicates_router
from adapter.api.tenancy import Caller
from adapter.services.duplicate_letters import list_notices, notices_json
from adapter.settings.practice import load_config
from adapter.store.registry import Role
from adapter.store.workspace import Store, Workspace
from tests.api.duplicates import notice
from tests.api.helpers import caller_of
from tests.cli_helpers import CONFIG, DEMO, REUTER
from tests.storage import ACTOR, Database, make_store, make_twin
from tests.sync.helpers import ledger, run_sync

FALKNER = "3990101"  # the demo's doctor who registered Thomas Reuter (demo/README.md)


def _client(caller: Caller) -> TestClient:
    app = FastAPI()
    outcome.install(app)
    app.include_router(duplicates_router(lambda: caller))
    return TestClient(app, raise_server_exceptions=False)


def _synced(store: Store) -> Caller:
    config = load_config(CONFIG)
    run_sync(store, [DEMO], date(2025, 12, 31), config=config)
    return replace(caller_of(store, config), role=Role.DOCTOR)  # doctors resolve (D-191)


@pytest.fixture
def synced() -> Caller:
    return _synced(make_twin()[0])


def _audit(store: Store, action: str) -> list[dict[str, object]]:
    def read(space: Workspace) -> list[dict[str, object]]:
        return list(space.audit.rows.entries(action=action))

    return store.run(ACTOR, read)


def _import_and_resolve(caller: Caller) -> None:
    client = _client(caller)
    found = client.post("/duplicates", json=notice(REUTER, FALKNER))
    assert found.status_code == 200, found.text
    [patient] = found.json()["patients"]
    assert patient["patient"] == "Patient/1001"
    assert patient["registration"]["first_use"] == "2025-01-07"
    assert patient["registration"]["open"] is True
    assert found.json()["other_doctors"][0]["btm_number"] == "7654321"
    body = {"notice": notice(REUTER, FALKNER), "continues": "other", "last_use": "2025-12-20"}
    done = client.post("/duplicates/resolve", json=body)
    assert done.status_code == 200, done.text
    assert (done.json()["kind"], done.json()["date"]) == ("abmeldung", "2025-12-20")
    [row] = [h for h in ledger(caller.store) if h.ledger_id == done.json()["ledger_id"]]
    assert (row.state, row.report.patient_code) == ("pending", REUTER)
    again = client.post("/duplicates/resolve", json=body)
    assert again.status_code == 200 and again.json()["ledger_id"] is None
    assert REUTER not in found.text + done.text  # the code is never answered back
    _listed_answered(client, found.json(), done.json()["ledger_id"])


def _listed_answered(client: TestClient, found: dict[str, Any], ledger_id: str) -> None:
    """D-233: the notice kept at import, once; `GET /duplicates` lists it answered."""
    assert found["new"] is True
    second = client.post("/duplicates", json=notice(REUTER, FALKNER)).json()
    assert (second["notice_id"], second["new"]) == (found["notice_id"], False)
    listed = client.get("/duplicates")
    assert listed.status_code == 200, listed.text
    [kept] = listed.json()["notices"]
    assert (kept["notice_id"], kept["state"], kept["answer"]) == (
        found["notice_id"],
        "answered",
        "other",
    )
    assert (kept["ledger_id"], kept["report_state"]) == (ledger_id, "pending")
    assert REUTER not in listed.text


def test_import_shows_the_patient_and_resolve_records_the_abmeldung_once(synced: Caller) -> None:
    """What `duplicate import` shows, as JSON; the agreed Abmeldung pending, once."""
    _import_and_resolve(synced)
    assert len(_audit(synced.store, "duplicate.resolve")) == 1
    assert all(REUTER not in repr(e) for e in _audit(synced.store, "lookup"))


def test_import_and_resolve_on_sql(database: Database) -> None:
    """The same through the SQL rows, on SQLite and PostgreSQL."""
    _import_and_resolve(_synced(make_store(database.url)[0]))


@pytest.mark.parametrize(
    ("changed", "path"),
    [
        ({"patient_code": "THREM2"}, "patient_code"),
        ({"format": "other/1"}, "format"),
        ({"letter_date": "5.1.2026"}, "letter_date"),
        ({"letter_date": "2999-01-01"}, "letter_date"),  # after today (R-DATE-3)
        ({"other_doctors": []}, "other_doctors"),
        ({"other_doctors": [{"name": "x"}]}, "other_doctors[0]"),
        (
            {
                "other_doctors": [
                    {"name": "x", "btm_number": "12", "contact": "y", "first_use": "2025-01-01"}
                ]
            },
            "other_doctors[0].btm_number",
        ),
        (  # D-254: the other doctor is the doctor written to
            {
                "other_doctors": [
                    {"name": "x", "btm_number": FALKNER, "contact": "y", "first_use": "2025-01-01"}
                ]
            },
            "other_doctors[0].btm_number",
        ),
        ({"doctor_btm_number": "1111111"}, "doctor_btm_number"),  # D-254: not in the ledger
    ],
    ids=[
        "code",
        "format",
        "letter-date",
        "letter-to-come",
        "no-other",
        "other-fields",
        "other-btm",
        "other-is-the-doctor",
        "unknown-doctor",
    ],
)
def test_a_bad_notice_is_a_422_naming_the_field_and_nothing_is_looked_up(
    synced: Caller, changed: dict[str, Any], path: str
) -> None:
    """The field's path as the issue's expression; no lookup audited, nothing recorded."""
    client = _client(synced)
    before = len(ledger(synced.store))
    answer = client.post("/duplicates", json=notice(REUTER, FALKNER, **changed))
    assert answer.status_code == 422, answer.text
    assert answer.json()["issue"][0]["expression"] == [path]
    body = {"notice": notice(REUTER, FALKNER, **changed), "continues": "us"}
    answer = client.post("/duplicates/resolve", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["issue"][0]["expression"] == [f"notice.{path}"]
    assert _audit(synced.store, "lookup") == [] and len(ledger(synced.store)) == before


def test_no_local_patient_with_the_code_is_a_404(synced: Caller) -> None:
    """Import and resolve both: not-found, the lookup audited all the same (the second of
    the letter kept at import as a repeat, D-254)."""
    client = _client(synced)
    answer = client.post("/duplicates", json=notice("ABCDM123", FALKNER))
    assert answer.status_code == 404 and answer.json()["issue"][0]["code"] == "not-found"
    body = {"notice": notice("ABCDM123", FALKNER), "continues": "different-people"}
    assert client.post("/duplicates/resolve", json=body).status_code == 404
    assert len(_audit(synced.store, "lookup")) == 1
    assert len(_audit(synced.store, "lookup.repeat")) == 1


def test_an_answer_the_use_case_refuses_is_a_422_naming_the_field(synced: Caller) -> None:
    """`other` without `last_use`, and an unknown doctor who continues: what the CLI
    refuses with exit 2."""
    client = _client(synced)
    body: dict[str, Any] = {"notice": notice(REUTER, FALKNER), "continues": "other"}
    answer = client.post("/duplicates/resolve", json=body)
    assert (answer.status_code, answer.json()["issue"][0]["expression"]) == (422, ["last_use"])
    said = answer.json()["issue"][0]["diagnostics"]
    assert '"last_use" goes with "continues": "other"' in said
    assert "--" not in said  # worded by the JSON field, never a command-line flag (r1 11d)
    future = body | {"last_use": "2999-01-01"}
    said = client.post("/duplicates/resolve", json=future).json()["issue"][0]["diagnostics"]
    assert said.startswith('"last_use" lies in the future') and "--" not in said
    body |= {"last_use": "2025-12-20", "by": "1111111"}
    answer = client.post("/duplicates/resolve", json=body)
    assert (answer.status_code, answer.json()["issue"][0]["expression"]) == (422, ["by"])


def test_a_contradicting_answer_is_a_409_naming_the_first(synced: Caller) -> None:
    """D-204: after `other`, `us` is a conflict naming the first answer; nothing recorded."""
    client = _client(synced)
    body = {"notice": notice(REUTER, FALKNER), "continues": "other", "last_use": "2025-12-20"}
    first = client.post("/duplicates/resolve", json=body)
    assert first.status_code == 200, first.text
    before = len(ledger(synced.store))
    answer = client.post(
        "/duplicates/resolve", json={"notice": notice(REUTER, FALKNER), "continues": "us"}
    )
    assert answer.status_code == 409, answer.text
    assert first.json()["ledger_id"] in answer.json()["issue"][0]["diagnostics"]
    assert len(ledger(synced.store)) == before


def test_the_list_is_what_the_command_writes(synced: Caller) -> None:
    """`GET /duplicates` is `substreg duplicate list --format json`, field for field."""
    client = _client(synced)
    client.post("/duplicates", json=notice(REUTER, FALKNER))
    listed = client.get("/duplicates").json()
    assert listed == json.loads(orjson.dumps(notices_json(list_notices(synced.store))))
    assert [n["state"] for n in listed["notices"]] == ["open"]
