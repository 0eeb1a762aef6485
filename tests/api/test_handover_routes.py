"""`/handover` (R-HO-1, D-193): the document exported by one tenant and imported by
another with its own keyring, as JSON and as PDF; refusals as OperationOutcome."""

from __future__ import annotations

import copy

import pytest
from httpx import Response

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
    assert "--trust '" not in issue["diagnostics"]
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


def test_a_second_copy_of_a_registration_replaces_the_open_one(service: Service) -> None:
    """Two exports of one registration imported: the second answers the first as
    replaced, and only the second stands open (one hold, R-EP-5, D-201)."""
    first, fingerprint = _export(service)
    second, _ = _export(service)
    client, beta = service.client(), service.auth("beta", ADMIN)
    ids = []
    for document in (first, second):
        answer = client.post(
            "/handover/import", json={"document": document, "trust": [fingerprint]}, headers=beta
        )
        assert answer.status_code == 200, answer.text
        ids.append((answer.json()["handover_id"], answer.json()["replaced"]))
    assert ids[0][1] is None and ids[1][1] == ids[0][0]
    listed = client.get("/handover", headers=beta).json()["handovers"]
    states = {h["handover_id"]: h["state"] for h in listed}
    assert (states[ids[0][0]], states[ids[1][0]]) == ("replaced", "open")


def _exported_on(service: Service, day: str) -> Response:
    """Alpha's export of the synced patient with the handover day `day`."""
    synced(service.tenants["alpha"].store)
    body = export_body() | {"on": day}
    return service.client().post(
        "/handover/export", json=body, headers=service.auth("alpha", DOCTOR)
    )


def _refused_day(answer: Response, says: str) -> None:
    """A day the handover cannot be told on: 422 invalid naming `on` (D-244), like the
    other date refusals of the service (a notice's future letter day)."""
    assert answer.status_code == 422, answer.text
    issue = answer.json()["issue"][0]
    assert (issue["code"], issue["expression"]) == ("invalid", ["on"])
    assert says in issue["diagnostics"]


def test_a_handover_day_still_to_come_is_refused(service: Service) -> None:
    """`on` after today by the service's clock: 422 invalid, nothing exported."""
    answer = _exported_on(service, "2031-01-01")
    _refused_day(answer, "lies after today")


def test_an_export_before_the_synced_day_is_refused(service: Service) -> None:
    """D-245: synced to 2025-12-31, a handover day before it is refused."""
    answer = _exported_on(service, "2025-12-30")
    _refused_day(answer, "last synced to (2025-12-31)")


def test_an_export_long_after_the_synced_day_warns_in_headers(service: Service) -> None:
    """D-245: the document is answered, and each warning is a `Substreg-Warning` header:
    synced 59 days before the handover day, and the last dose long before it."""
    answer = _exported_on(service, "2026-02-28")
    assert answer.status_code == 200
    warnings = answer.headers.get_list("substreg-warning")
    assert len(warnings) == 2
    assert "synced to 2025-12-31, 59 day(s) before the handover day 2026-02-28" in warnings[0]
    assert "looks stale" in warnings[1]
    on_the_day = service.client().post(
        "/handover/export", json=export_body(), headers=service.auth("alpha", DOCTOR)
    )
    assert "substreg-warning" not in on_the_day.headers


def _received(service: Service) -> str:
    """Alpha's document (handover day 2025-12-31) imported by beta: its id."""
    document, fingerprint = _export(service)
    answer = service.client().post(
        "/handover/import",
        json={"document": document, "trust": [fingerprint]},
        headers=service.auth("beta", ADMIN),
    )
    assert answer.status_code == 200, answer.text
    handover_id: str = answer.json()["handover_id"]
    return handover_id


@pytest.mark.parametrize("how", ["release", "return"])
def test_an_end_before_the_handover_day_or_still_to_come_is_422(service: Service, how: str) -> None:
    """R-ABS-1, D-244: before the handover day, or after today: 422, still open."""
    handover_id = _received(service)
    client, beta = service.client(), service.auth("beta", DOCTOR)
    path = f"/handover/{handover_id}/{how}"
    _refused_day(client.post(path, json={"on": "2025-12-30"}, headers=beta), "before the handover")
    _refused_day(client.post(path, json={"on": "2031-01-01"}, headers=beta), "after today")
    listed = client.get("/handover", headers=beta).json()["handovers"]
    assert [h["state"] for h in listed if h["handover_id"] == handover_id] == ["open"]


def test_a_return_after_day_30_is_422_and_release_takes_that_day(service: Service) -> None:
    """R-ABS-3: back on day 31 (2026-01-30) is no substitution: refused, pointing to
    release; day 30 would be taken, and the release is."""
    handover_id = _received(service)
    client, beta = service.client(), service.auth("beta", DOCTOR)
    late = client.post(f"/handover/{handover_id}/return", json={"on": "2026-01-30"}, headers=beta)
    _refused_day(late, "after day 30 of the handover (2026-01-29)")
    assert "release" in late.json()["issue"][0]["diagnostics"]
    released = client.post(
        f"/handover/{handover_id}/release", json={"on": "2026-01-30"}, headers=beta
    )
    assert released.json()["on"] == "2026-01-30"


def test_a_tenant_importing_its_own_document_is_refused(service: Service) -> None:
    """Alpha imports what alpha exported: 409 business-rule, nothing stored (D-202)."""
    document, fingerprint = _export(service)
    client, alpha = service.client(), service.auth("alpha", ADMIN)
    before = client.get("/handover", headers=alpha).json()
    answer = client.post(
        "/handover/import", json={"document": document, "trust": [fingerprint]}, headers=alpha
    )
    assert answer.status_code == 409
    assert "this installation itself" in answer.json()["issue"][0]["diagnostics"]
    assert client.get("/handover", headers=alpha).json() == before


def test_the_list_names_the_day_and_sender_and_a_replaced_copy_again_has_no_steps(
    service: Service,
) -> None:
    """D-247: each handover listed with its handover day and sending facility; the first
    copy imported again after a newer one replaced it answers `ended: replaced` and no
    steps, which would contradict the open handover's."""
    first, fingerprint = _export(service)
    second, _ = _export(service)
    client, beta = service.client(), service.auth("beta", ADMIN)
    answers = [
        client.post(
            "/handover/import", json={"document": document, "trust": [fingerprint]}, headers=beta
        ).json()
        for document in (first, second, first)
    ]
    assert answers[1]["ended"] is None and answers[1]["steps"]
    assert (answers[2]["ended"], answers[2]["steps"], answers[2]["recorded"]) == (
        "replaced",
        [],
        False,
    )
    ids = {a["handover_id"] for a in answers}
    listed = client.get("/handover", headers=service.auth("beta", STAFF)).json()["handovers"]
    mine = [h for h in listed if h["handover_id"] in ids]
    assert [h["day"] for h in mine] == ["2025-12-31"] * 2
    assert {h["sender"] for h in mine} == {"Praxis/Einrichtung von Miriam Falkner, BtM 3990101"}
