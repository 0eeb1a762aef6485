"""`/fhir` on the twin: versions, ETags, If-Match, conditional create, DELETE, and every
error as an OperationOutcome with its status (issue 13 item 2, D-127)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from adapter.fhir.r4b import model_class
from adapter.services.fhir_requests import SUPPORTED
from adapter.services.fhir_resources import Version, _history_entry
from tests.api.helpers import FHIR_JSON, caller_of, client_of, patient, post, put


@pytest.fixture
def client() -> TestClient:
    return client_of(caller_of())


def _outcome(response: object, status: int) -> list[dict[str, object]]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == FHIR_JSON  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["resourceType"] == "OperationOutcome"
    return list(body["issue"])


def test_the_capability_statement_names_only_what_is_implemented(client: TestClient) -> None:
    """Valid R4B; every type sync reads with read, vread, update, delete, create and its
    history; transaction and batch; no search and no patch anywhere."""
    response = client.get("/fhir/metadata")
    assert response.status_code == 200 and response.headers["content-type"] == FHIR_JSON
    statement = response.json()
    model_class("CapabilityStatement").model_validate(statement)
    rest = statement["rest"][0]
    assert {r["type"] for r in rest["resource"]} == SUPPORTED
    codes = {i["code"] for r in rest["resource"] for i in r["interaction"]}
    assert codes == {"read", "vread", "update", "delete", "history-instance", "create"}
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    assert all(r["searchParam"] == [] for r in rest["resource"])


def test_create_assigns_the_id_the_version_and_lastupdated(client: TestClient) -> None:
    """201 with Location, ETag W/"1" and meta set by us; the client's id and meta
    version are not taken; a read gives the same."""
    sent = patient(id="client-id", meta={"versionId": "7", "profile": ["http://x/p"]})
    response = post(client, "/fhir/Patient", sent)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != "client-id"
    assert created["meta"]["versionId"] == "1" and created["meta"]["profile"] == ["http://x/p"]
    assert created["meta"]["lastUpdated"] == "2026-12-01T09:00:00.000Z"  # the store's clock
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"].endswith(f"/fhir/Patient/{created['id']}/_history/1")
    read = client.get(f"/fhir/Patient/{created['id']}")
    assert read.status_code == 200 and read.json() == created and read.headers["etag"] == 'W/"1"'
    assert read.headers["content-type"] == FHIR_JSON


def test_update_makes_versions_and_if_match_refuses_a_stale_one(client: TestClient) -> None:
    """PUT creates with the client's id (201), updates (200, version 2); If-Match on
    version 1 then is 412, on version 2 it is done; vread and _history show each."""
    first = put(client, "/fhir/Patient/p-1", patient(id="p-1"))
    assert first.status_code == 201 and first.headers["etag"] == 'W/"1"'
    second = put(client, "/fhir/Patient/p-1", patient(id="p-1", family="Roth"))
    assert second.status_code == 200 and second.json()["meta"]["versionId"] == "2"
    stale = put(client, "/fhir/Patient/p-1", patient(id="p-1"), **{"If-Match": 'W/"1"'})
    (issue,) = _outcome(stale, 412)
    assert issue["code"] == "conflict"
    third = put(
        client, "/fhir/Patient/p-1", patient(id="p-1", family="Rau"), **{"If-Match": 'W/"2"'}
    )
    assert third.status_code == 200 and third.headers["etag"] == 'W/"3"'
    assert client.get("/fhir/Patient/p-1/_history/2").json()["name"][0]["family"] == "Roth"
    assert client.get("/fhir/Patient/p-1/_history/1").json()["name"][0]["family"] == "Reuter"
    history = client.get("/fhir/Patient/p-1/_history").json()
    assert history["type"] == "history" and history["total"] == 3
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["3", "2", "1"]
    assert [e["response"]["status"] for e in history["entry"]] == ["200", "200", "201"]
    _outcome(client.get("/fhir/Patient/p-1/_history/4"), 404)
    _outcome(put(client, "/fhir/Patient/new", patient(id="new"), **{"If-Match": 'W/"1"'}), 412)


def test_the_history_names_the_method_each_version_was_written_with(
    client: TestClient,
) -> None:
    """D-238: a resource created by POST, then updated by PUT, in a transaction and alone:
    `_history` says POST (to the type) for the first version and PUT for the next, not PUT
    for both."""
    created = post(client, "/fhir/Patient", patient("4711")).json()
    url = f"Patient/{created['id']}"
    assert put(client, f"/fhir/{url}", {**created, "gender": "female"}).status_code == 200
    in_bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:9a1c6f2e-0b8d-4c1e-9f3a-5d2b7e8c4a10",
                "resource": patient("4712"),
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    answer = post(client, "/fhir", in_bundle).json()
    bundled = answer["entry"][0]["response"]["location"].split("/_history")[0]
    history = client.get(f"/fhir/{url}/_history").json()
    assert [e["request"] for e in history["entry"]] == [
        {"method": "PUT", "url": url},
        {"method": "POST", "url": "Patient"},
    ]
    [entry] = client.get(f"/fhir/{bundled}/_history").json()["entry"]
    assert entry["request"] == {"method": "POST", "url": "Patient"}
    assert entry["response"]["status"] == "201"


@pytest.mark.parametrize(
    ("deleted", "method"), [(False, "PUT"), (True, "DELETE")], ids=["written", "deleted"]
)
def test_a_version_kept_before_its_method_was_is_shown_as_then(deleted: bool, method: str) -> None:
    """A version from before revision 0012 has no method kept: `_history` answers it as
    it always did (PUT, or DELETE for a deletion), never a guess of POST."""
    old = Version("Patient", "p-1", 1, datetime(2026, 1, 2, tzinfo=UTC), deleted, {}, None)
    entry = _history_entry(old, created=True)
    assert entry["request"] == {"method": method, "url": "Patient/p-1"}


def test_conditional_create_finds_one_and_refuses_many(client: TestClient) -> None:
    """If-None-Exist on the identifier: the second create answers the first (200, no new
    version); two resources of one identifier are 412; other conditions are 400."""
    condition = {"If-None-Exist": "identifier=https://pvs.example/sid/pid|4711"}
    first = post(client, "/fhir/Patient", patient("4711"), **condition)
    assert first.status_code == 201
    again = post(client, "/fhir/Patient", patient("4711", family="Other"), **condition)
    assert again.status_code == 200 and again.json() == first.json()
    assert client.get(f"/fhir/Patient/{first.json()['id']}/_history").json()["total"] == 1
    assert post(client, "/fhir/Patient", patient("4711")).status_code == 201  # unconditional
    (issue,) = _outcome(post(client, "/fhir/Patient", patient("4711"), **condition), 412)
    assert issue["code"] == "multiple-matches"
    _outcome(post(client, "/fhir/Patient", patient(), **{"If-None-Exist": "name=Reuter"}), 400)
    _outcome(post(client, "/fhir/Patient", patient(), **{"If-None-Exist": "identifier=4711"}), 400)


def test_delete_is_a_version_and_a_read_then_is_gone(client: TestClient) -> None:
    """DELETE: 204, a read 410, the history names the DELETE; deleting again adds nothing;
    a PUT brings the resource back as version 3 (201)."""
    put(client, "/fhir/Patient/p-1", patient(id="p-1"))
    assert client.delete("/fhir/Patient/p-1").status_code == 204
    (issue,) = _outcome(client.get("/fhir/Patient/p-1"), 410)
    assert issue["code"] == "deleted"
    assert client.delete("/fhir/Patient/p-1").status_code == 204
    history = client.get("/fhir/Patient/p-1/_history").json()
    assert history["total"] == 2 and history["entry"][0]["request"]["method"] == "DELETE"
    back = put(client, "/fhir/Patient/p-1", patient(id="p-1"))
    assert back.status_code == 201 and back.headers["etag"] == 'W/"3"'
    statuses = [
        e["response"]["status"] for e in client.get("/fhir/Patient/p-1/_history").json()["entry"]
    ]
    assert statuses == ["201", "204", "201"]  # as each was answered: back, gone, created
    _outcome(client.delete("/fhir/Patient/never"), 404)


def test_errors_are_operation_outcomes_with_their_status(client: TestClient) -> None:
    """400 unreadable, 422 invalid with the path of each issue, 404 unknown id or type,
    415 another content type, 400 an id in the body that is not the URL's."""
    unreadable = client.post(
        "/fhir/Patient", content=b"{not json", headers={"Content-Type": FHIR_JSON}
    )
    (issue,) = _outcome(unreadable, 400)
    assert issue["code"] == "structure"
    invalid = patient(id="p-1", active={"x": 1}, birthDate="12.04.1979", nickname="Tom")
    issues = _outcome(put(client, "/fhir/Patient/p-1", invalid), 422)
    paths = {p for i in issues for p in i.get("expression", [])}
    assert {"Patient.active", "Patient.birthDate", "Patient.nickname"} <= paths
    assert all("p-1" not in str(i["diagnostics"]) for i in issues)  # no id of the EHR
    _outcome(client.get("/fhir/Patient/unknown"), 404)
    _outcome(client.get("/fhir/Observation/x"), 404)
    _outcome(post(client, "/fhir/Observation", {"resourceType": "Observation"}), 404)
    wrong_type = client.post("/fhir/Patient", content=b"{}", headers={"Content-Type": "text/plain"})
    _outcome(wrong_type, 415)
    _outcome(put(client, "/fhir/Patient/p-1", patient(id="p-2")), 400)
    _outcome(post(client, "/fhir/Patient", {"resourceType": "Organization"}), 400)
    _outcome(put(client, "/fhir/Patient/p-1", patient(id="p-1"), **{"If-Match": "yesterday"}), 400)
    _outcome(post(client, "/fhir/Patient", [1, 2]), 400)  # type: ignore[arg-type]
    assert client.get("/fhir/Patient/p-1").status_code == 404  # nothing refused was kept


def test_the_types_kept_are_the_types_sync_reads() -> None:
    """`READ_TYPES` (what /fhir keeps and its CapabilityStatement lists) is the collector's
    readers: a type sync learns to read is kept from then on."""
    from adapter.fhir.collect import Collector
    from tests.api.helpers import MAPPINGS

    assert set(Collector(MAPPINGS)._readers) == SUPPORTED


def test_writes_that_lose_every_retry_are_a_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    """When parallel writes win every retry of the unit of work: 409, nothing kept."""
    from adapter.errors import ConcurrentUpdateError

    caller = caller_of()
    client = client_of(caller)

    def lost(*_: object, **__: object) -> None:
        raise ConcurrentUpdateError("other runs changed the same rows again and again")

    monkeypatch.setattr(caller.store, "run", lost)
    (issue,) = _outcome(put(client, "/fhir/Patient/p-1", patient(id="p-1")), 409)
    assert issue["code"] == "conflict"


def test_the_openapi_schema_names_every_route_with_its_fhir_body(client: TestClient) -> None:
    """The schema the service's schemathesis run reads: each route, the bodies as
    application/fhir+json objects."""
    schema = client.app.openapi()  # type: ignore[attr-defined]
    paths = schema["paths"]
    assert set(paths) == {
        "/fhir/metadata",
        "/fhir",
        "/fhir/{kind}",
        "/fhir/{kind}/{logical_id}",
        "/fhir/{kind}/{logical_id}/_history",
        "/fhir/{kind}/{logical_id}/_history/{vid}",
    }
    body = paths["/fhir"]["post"]["requestBody"]["content"]
    assert body == {FHIR_JSON: {"schema": {"type": "object"}}}
    assert set(paths["/fhir/{kind}/{logical_id}"]) == {"get", "put", "delete"}


_XML, _JSON = 406, 200


@pytest.mark.parametrize(
    ("accept", "params", "status"),
    [
        ({"Accept": "application/fhir+xml"}, {}, _XML),
        ({"Accept": "text/html, application/xml;q=0.9"}, {}, _XML),
        ({"Accept": "application/fhir+json;q=0, application/fhir+xml"}, {}, _XML),
        ({}, {"_format": "xml"}, _XML),
        ({"Accept": FHIR_JSON}, {"_format": "application/fhir+xml"}, _XML),  # _format decides
        ({"Accept": "application/fhir+xml, application/fhir+json;q=0.5"}, {}, _JSON),
        ({"Accept": "*/*"}, {}, _JSON),
        ({"Accept": "application/json"}, {}, _JSON),
        ({}, {"_format": "json"}, _JSON),
        ({"Accept": "application/fhir+xml"}, {"_format": "application/fhir+json"}, _JSON),
    ],
)
def test_only_json_is_answered_and_another_format_is_406(
    client: TestClient, accept: dict[str, str], params: dict[str, str], status: int
) -> None:
    """XML (or HTML) asked for by Accept or `_format` is 406 not-supported, never JSON
    with 200; an Accept that takes JSON among others, `*/*`, or `_format=json` is 200."""
    put(client, "/fhir/Patient/p-1", patient(id="p-1"))
    read = client.get("/fhir/Patient/p-1", headers=accept, params=params)
    assert read.headers["content-type"] == FHIR_JSON
    if status == _XML:
        (issue,) = _outcome(read, 406)
        assert issue["code"] == "not-supported"
    else:
        assert read.status_code == 200 and read.json()["id"] == "p-1"


def test_a_write_that_asks_for_xml_is_406_and_writes_nothing(client: TestClient) -> None:
    """A PUT with Accept application/fhir+xml is refused before it is done."""
    put(client, "/fhir/Patient/p-1", patient(id="p-1"))
    xml = {"Accept": "application/fhir+xml"}
    _outcome(put(client, "/fhir/Patient/p-1", patient(id="p-1", family="Roth"), **xml), 406)
    assert client.get("/fhir/Patient/p-1/_history").json()["total"] == 1
