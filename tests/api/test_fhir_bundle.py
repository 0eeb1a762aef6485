"""`POST /fhir` with transaction and batch Bundles (issue 13 item 2, D-128): a batch keeps
every valid entry whatever the others are, a transaction is all or nothing and turns its
`urn:uuid:` fullUrls into the ids it assigns."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import FHIR_JSON, caller_of, client_of, patient, post, put

UUID_P = "urn:uuid:8b6f0a3e-2f0e-4c1e-9d7a-5f2a1c3b4d5e"
UUID_M = "urn:uuid:1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


@pytest.fixture
def client() -> TestClient:
    return client_of(caller_of())


def _bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def _post(resource: dict[str, Any], full_url: str | None = None, **request: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _put(resource: dict[str, Any], **request: str) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url, **request}}


def _administration(subject: str, medication: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationReference": {"reference": medication},
        "subject": {"reference": subject},
        "effectiveDateTime": "2025-01-07T08:30:00+01:00",
    }


def _medication() -> dict[str, Any]:
    return {"resourceType": "Medication", "code": {"text": "Methaddict 10 mg"}}


def test_a_transaction_resolves_its_urn_uuids_into_the_ids_it_assigns(client: TestClient) -> None:
    """Entries answered in the request's order, each 201 with location and etag; the
    administration refers to the ids given to the patient and the medication."""
    bundle = _bundle(
        "transaction",
        _post(_administration(UUID_P, UUID_M)),
        _post(patient("4711"), UUID_P),
        _post(_medication(), UUID_M),
    )
    response = post(client, "/fhir", bundle)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    answer = response.json()
    assert answer["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in answer["entry"]]
    assert statuses == ["201 Created"] * 3
    locations = [e["response"]["location"] for e in answer["entry"]]
    assert [loc.split("/")[0] for loc in locations] == [
        "MedicationAdministration",
        "Patient",
        "Medication",
    ]
    assert all(e["response"]["etag"] == 'W/"1"' for e in answer["entry"])
    given = client.get("/fhir/" + locations[0].split("/_history")[0]).json()
    assert given["subject"]["reference"] == locations[1].split("/_history")[0]
    assert given["medicationReference"]["reference"] == locations[2].split("/_history")[0]


def test_a_transaction_with_an_invalid_entry_keeps_nothing(client: TestClient) -> None:
    """422 with the entry's path for each issue; the valid entries are not kept either."""
    bundle = _bundle(
        "transaction",
        _put(patient(id="p-1")),
        _put(patient(id="p-2", birthDate="12.04.1979")),
    )
    response = post(client, "/fhir", bundle)
    assert response.status_code == 422
    issues = response.json()["issue"]
    assert [i["expression"] for i in issues] == [["Bundle.entry[1].resource.birthDate"]]
    assert client.get("/fhir/Patient/p-1").status_code == 404


def test_a_transaction_refused_midway_is_rolled_back(client: TestClient) -> None:
    """A stale If-Match on the last entry: 412 naming the entry, and the create and the
    update before it are undone."""
    put(client, "/fhir/Patient/p-1", patient(id="p-1"))
    put(client, "/fhir/Patient/p-1", patient(id="p-1", family="Roth"))
    bundle = _bundle(
        "transaction",
        _post(_medication()),
        _put(patient(id="p-2", family="Rau")),
        _put(patient(id="p-1", family="Rau"), ifMatch='W/"1"'),
    )
    response = post(client, "/fhir", bundle)
    assert response.status_code == 412
    assert response.json()["issue"][0]["diagnostics"].startswith("entry 2: ")
    assert client.get("/fhir/Patient/p-2").status_code == 404
    kept = client.get("/fhir/Patient/p-1")
    assert kept.headers["etag"] == 'W/"2"' and kept.json()["name"][0]["family"] == "Roth"


@pytest.mark.parametrize(
    "second",
    [
        {"request": {"method": "PUT", "url": "Patient/p-1"}, "resource": patient(id="p-1")},
        {"request": {"method": "DELETE", "url": "Patient/p-1"}},
    ],
    ids=["put-twice", "put-and-delete"],
)
def test_a_transaction_that_names_one_resource_twice_fails(
    client: TestClient, second: dict[str, Any]
) -> None:
    """FHIR R4: overlapping resource identities fail the transaction (400, naming both
    entries), and nothing of it is kept (D-213); a batch may name one twice."""
    bundle = _bundle("transaction", _post(_medication()), _put(patient(id="p-1")), second)
    response = post(client, "/fhir", bundle)
    assert response.status_code == 400
    (issue,) = response.json()["issue"]
    assert "entries 1 and 2 both change Patient/p-1" in issue["diagnostics"]
    assert issue["expression"] == ["Bundle.entry[2].request"]
    assert client.get("/fhir/Patient/p-1").status_code == 404


def test_two_conditional_creates_of_one_identifier_fail_without_naming_it(
    client: TestClient,
) -> None:
    """Two ifNoneExist of the same identifier in one transaction: 400, and the identifier's
    value (a KVNR, say) is not repeated in the answer."""
    condition = "identifier=http://fhir.de/sid/gkv/kvid-10|A123456789"
    bundle = _bundle(
        "transaction",
        _post(patient(), ifNoneExist=condition),
        _post(patient(), ifNoneExist=condition),
    )
    response = post(client, "/fhir", bundle)
    assert response.status_code == 400
    assert "A123456789" not in response.text
    assert "entries 0 and 1 both change the Patient of one ifNoneExist" in response.text


def test_a_batch_keeps_every_valid_entry(client: TestClient) -> None:
    """An invalid entry, one of a type that is not FHIR, a stale If-Match and a read of
    nothing are answered in their own response with an outcome; one of a type sync does
    not read is answered 200 and not kept (D-129); the valid entries are kept."""
    bundle = _bundle(
        "batch",
        _put(patient(id="p-1")),
        _put(patient(id="p-2", birthDate="12.04.1979")),
        {
            "resource": {"resourceType": "Observation"},
            "request": {"method": "POST", "url": "Observation"},
        },
        {"resource": {"resourceType": "Foo"}, "request": {"method": "POST", "url": "Foo"}},
        _put(patient(id="p-3"), ifMatch='W/"4"'),
        {"request": {"method": "GET", "url": "Patient/p-9"}},
        {"request": {"method": "PATCH", "url": "Patient/p-1"}},
        _post(patient("4711")),
        {"request": {"method": "GET", "url": "Patient/p-1/_history/1"}},
    )
    response = post(client, "/fhir", bundle)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "batch-response"
    statuses = [e["response"]["status"].split()[0] for e in answer["entry"]]
    assert statuses == ["201", "422", "200", "404", "412", "404", "400", "201", "200"]
    invalid = answer["entry"][1]["response"]["outcome"]["issue"]
    assert invalid[0]["expression"] == ["Bundle.entry[1].resource.birthDate"]
    (not_kept,) = answer["entry"][2]["response"]["outcome"]["issue"]
    assert not_kept["severity"] == "information" and "not kept" in not_kept["diagnostics"]
    assert "location" not in answer["entry"][2]["response"]
    assert answer["entry"][8]["resource"]["id"] == "p-1"
    assert client.get("/fhir/Patient/p-1").status_code == 200
    assert client.get("/fhir/Patient/p-2").status_code == 404


def test_post_takes_transactions_and_batches_only(client: TestClient) -> None:
    for body in (
        _bundle("collection"),
        patient(),
        {"resourceType": "Bundle", "type": "batch", "entry": 3},
    ):
        response = post(client, "/fhir", body)
        assert response.status_code == 400
        assert response.json()["resourceType"] == "OperationOutcome"


def test_a_conditional_create_in_a_transaction_refers_to_the_one_found(client: TestClient) -> None:
    """The urn:uuid of a conditional create that finds a patient becomes that patient."""
    first = post(client, "/fhir/Patient", patient("4711")).json()
    condition = "identifier=https://pvs.example/sid/pid|4711"
    bundle = _bundle(
        "transaction",
        _post(patient("4711"), UUID_P, ifNoneExist=condition),
        _post(_administration(UUID_P, "Medication/m")),
    )
    answer = post(client, "/fhir", bundle).json()
    assert answer["entry"][0]["response"]["status"] == "200 OK"
    location = answer["entry"][1]["response"]["location"].split("/_history")[0]
    assert (
        client.get(f"/fhir/{location}").json()["subject"]["reference"] == f"Patient/{first['id']}"
    )


def test_transactions_sent_together_are_each_answered_on_their_own() -> None:
    """Eight transactions queued while the writer is held commit as one group (D-175): the
    seven good ones are answered 201 and kept, the one with a stale If-Match is answered
    412 alone and leaves nothing behind."""
    caller = caller_of()
    client = client_of(caller)
    assert put(client, "/fhir/Patient/p-0", patient(id="p-0")).status_code == 201
    bundles = [_bundle("transaction", _put(patient(id=f"p-{n}"))) for n in range(1, 8)]
    bundles.insert(3, _bundle("transaction", _put(patient(id="p-0"), ifMatch='W/"7"')))
    group = caller.store.group
    before = group.groups
    # The group's lock held (released first on leaving): every request queues behind it.
    with ThreadPoolExecutor(max_workers=len(bundles)) as pool, group._leader:
        answers = [pool.submit(post, client, "/fhir", bundle) for bundle in bundles]
        while len(group._queue) < len(bundles):
            threading.Event().wait(0.01)
    statuses = [answer.result().status_code for answer in answers]
    assert statuses == [200, 200, 200, 412, 200, 200, 200, 200]
    assert group.groups - before == 2  # the eight together, then the seven without the 412
    for n in range(8):
        read = client.get(f"/fhir/Patient/p-{n}")
        assert read.status_code == 200 and read.json()["meta"]["versionId"] == "1"
