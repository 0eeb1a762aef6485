"""`/handover` (R-HO-1, D-193): the document exported by one tenant and imported by
another with its own keyring, as JSON and as PDF; refusals as OperationOutcome."""

from __future__ import annotations

import copy

from adapter.store.registry import Role
from tests.api.handover_data import export_body, signer, synced
from tests.api.service import Service

DOCTOR, ADMIN, STAFF = Role.DOCTOR, Role.ADMIN, Role.STAFF


def _export(service: Service) -> tuple[dict[str, object], str]:
    synced(service.tenants["alpha"].store)
    answer = service.client().post(
        "/handover/export", json=export_body(), headers=service.auth("alpha", DOCTOR)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    return answer.json(), answer.headers["substreg-signer"]


def test_export_answers_the_signed_document_and_the_signer(service: Service) -> None:
    """A FHIR document Bundle with its signature; the header names alpha's key."""
    document, fingerprint = _export(service)
    assert (document["resourceType"], document["type"]) == ("Bundle", "document")
    assert document["signature"]["sigFormat"] == "application/jose"  # type: ignore[index]
    assert fingerprint == signer(service.tenants["alpha"].store)


def test_export_as_pdf_for_a_person(service: Service) -> None:
    """`Accept: application/pdf`: the readable copy, never cached."""
    synced(service.tenants["alpha"].store)
    headers = service.auth("alpha", DOCTOR) | {"Accept": "application/pdf"}
    answer = service.client().post("/handover/export", json=export_body(), headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    assert answer.headers["cache-control"] == "no-store"


def test_an_unknown_patient_is_404_without_echoing_it(service: Service) -> None:
    """No patient of that reference: not-found, and the reference is not repeated."""
    synced(service.tenants["alpha"].store)
    body = export_body() | {"patient": "Patient/nobody-here"}
    answer = service.client().post(
        "/handover/export", json=body, headers=service.auth("alpha", DOCTOR)
    )
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["code"] == "not-found"
    assert "nobody-here" not in answer.text


def test_another_tenant_imports_with_the_fingerprint_and_then_releases(service: Service) -> None:
    """Beta (its own keyring) imports alpha's document: what follows, listed open; the
    release ends it, and asked again answers the same day."""
    document, fingerprint = _export(service)
    client, beta = service.client(), service.auth("beta", ADMIN)
    answer = client.post(
        "/handover/import", json={"document": document, "trust": [fingerprint]}, headers=beta
    )
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert done["recorded"] is True and done["signer"] == fingerprint
    assert [s["rule"] for s in done["steps"]] == ["R-ABS-1", "R-ABS-2", "R-EP-2"]
    assert done["steps"][0]["due"] == "2026-01-29"  # day 30 from the handover day
    assert "Reuter" not in answer.text  # no name in the answer
    listed = client.get("/handover", headers=service.auth("beta", STAFF)).json()["handovers"]
    mine = [h for h in listed if h["handover_id"] == done["handover_id"]]
    assert [h["state"] for h in mine] == ["open"]
    path = f"/handover/{done['handover_id']}/release"
    first = client.post(path, json={"on": "2026-01-05"}, headers=beta)
    again = client.post(path, headers=service.auth("beta", DOCTOR))
    assert (
        first.json()
        == again.json()
        == {
            "handover_id": done["handover_id"],
            "state": "released",
            "on": "2026-01-05",
        }
    )
    refused = client.post(f"/handover/{done['handover_id']}/return", headers=beta)
    assert refused.status_code == 404


def test_an_untrusted_signer_is_422_and_nothing_is_stored(service: Service) -> None:
    """Without the sender's fingerprint: code security, the fingerprint to confirm named."""
    document, fingerprint = _export(service)
    client, beta = service.client(), service.auth("beta", DOCTOR)
    before = client.get("/handover", headers=beta).json()
    answer = client.post(
        "/handover/import", json={"document": document, "trust": ["00" * 32]}, headers=beta
    )
    assert answer.status_code == 422
    issue = answer.json()["issue"][0]
    assert issue["code"] == "security" and fingerprint in issue["diagnostics"]
    assert client.get("/handover", headers=beta).json() == before


def test_a_changed_document_is_422_invalid(service: Service) -> None:
    """One changed value after signing: the signature does not verify."""
    document, fingerprint = _export(service)
    changed = copy.deepcopy(document)
    changed["timestamp"] = "2020-01-01T00:00:00+00:00"
    answer = service.client().post(
        "/handover/import",
        json={"document": changed, "trust": [fingerprint]},
        headers=service.auth("beta", DOCTOR),
    )
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["code"] == "invalid"


def test_a_file_that_is_no_document_is_422_invalid(service: Service) -> None:
    """Any JSON object that is not a signed handover document."""
    answer = service.client().post(
        "/handover/import",
        json={"document": {"resourceType": "Patient"}, "trust": []},
        headers=service.auth("beta", DOCTOR),
    )
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["code"] == "invalid"


def test_a_number_beyond_json_of_fhir_is_422_invalid(service: Service) -> None:
    """An integer beyond 64 bits (schemathesis found it): refused, never a 500."""
    answer = service.client().post(
        "/handover/import",
        content=b'{"document": {"": -9223372036854775809}, "trust": []}',
        headers=service.auth("beta", DOCTOR) | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["code"] == "invalid"
