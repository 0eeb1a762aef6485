"""The simulator's wire protocol and its judgement of each report (docs/SUBMISSION.md),
through FastAPI's TestClient."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from adapter.crypto.envelope import certificate_fingerprint, load_certificate
from adapter.crypto.envelope.receipt import verify_receipt
from adapter.domain.model import Report
from adapter.domain.receipt import Receipt
from adapter.registersim import create_app
from adapter.registersim.identity import KEY_FILE, SECRET_FILE
from tests.registersim.helpers import (
    NOW,
    OTHER_DOCTOR,
    Practice,
    batch,
    clock,
    headers,
    register_certificate,
    report,
    sealed,
)

JAN5, JAN10 = date(2026, 1, 5), date(2026, 1, 10)
CODE, CODE2 = "HAMÜF284", "MAMUM385"


def post(
    client: TestClient, state: Path, practice: Practice, batch_id: str, *reports: Report
) -> tuple[httpx.Response, bytes]:
    """Seal `reports` as batch `batch_id` by the practice and post it; the response."""
    envelope = sealed(batch(batch_id, *reports), state, practice.signer)
    return client.post("/submissions", content=envelope, headers=headers(batch_id)), envelope


def receipt_of(response: httpx.Response, state: Path, batch_id: str, envelope: bytes) -> Receipt:
    assert response.status_code == 200, response.content
    return verify_receipt(
        response.content, register_certificate(state), batch_id=batch_id, envelope=envelope
    )


def overview(client: TestClient) -> dict[str, Any]:
    seen: dict[str, Any] = client.get("/registrations").json()
    return seen


def test_a_batch_is_registered_and_answered_with_a_receipt_that_verifies(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """Each report accepted, the receipt signed by the simulator's key for this envelope."""
    reports = [
        report("anmeldung", CODE, JAN5, number=1),
        report("anmeldung", CODE2, JAN5, number=2),
    ]
    response, envelope = post(client, state, practice, "b-1", *reports)
    receipt = receipt_of(response, state, "b-1", envelope)
    assert [(r.report_id, r.status) for r in receipt.results] == [
        (reports[0].id, "accepted"),
        (reports[1].id, "accepted"),
    ]
    assert receipt.received_at == NOW
    assert receipt.notices == ()
    seen = overview(client)
    assert seen["counts"] == {
        "submissions": 1, "reports": 2, "accepted": 2, "rejected": 0, "open": 2, "closed": 0,
        "duplicates": 0,
    }  # fmt: skip
    assert CODE not in orjson.dumps(seen).decode()
    assert {len(r["code_cryptogram"]) for r in seen["registrations"]} == {64}


def test_the_same_key_and_envelope_give_the_same_receipt_and_register_nothing_twice(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """Idempotency: byte for byte the same receipt document, and still one registration."""
    response, envelope = post(client, state, practice, "b-1", report("anmeldung", CODE, JAN5))
    again = client.post("/submissions", content=envelope, headers=headers("b-1"))
    assert again.status_code == 200
    assert again.content == response.content
    assert overview(client)["counts"]["reports"] == 1
    assert overview(client)["counts"]["open"] == 1


def test_the_same_key_with_another_envelope_is_409(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """An envelope sealed again (other bytes) under a used key is refused, nothing taken."""
    post(client, state, practice, "b-1", report("anmeldung", CODE, JAN5))
    response, _ = post(client, state, practice, "b-1", report("anmeldung", CODE, JAN5))
    assert response.status_code == 409
    assert "was used for another envelope" in response.json()["reason"]
    assert overview(client)["counts"]["submissions"] == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Idempotency-Key": ""}, "Idempotency-Key"),
        ({"Idempotency-Key": "b 1/.."}, "Idempotency-Key"),
        ({"Content-Type": "application/json"}, "Content-Type"),
    ],
    ids=["no key", "key not a batch id", "content type"],
)
def test_a_request_without_key_or_of_another_type_is_400(
    client: TestClient, state: Path, practice: Practice, change: dict[str, str], reason: str
) -> None:
    """The headers of the protocol are required."""
    envelope = sealed(batch("b-1", report("anmeldung", CODE, JAN5)), state, practice.signer)
    response = client.post("/submissions", content=envelope, headers=headers("b-1") | change)
    assert response.status_code == 400
    assert reason in response.json()["reason"]


@pytest.mark.parametrize("where", [0, 200, -40, -1], ids=["first", "inside", "tag", "last"])
def test_an_envelope_that_does_not_open_is_400(
    client: TestClient, state: Path, practice: Practice, where: int
) -> None:
    """A changed byte anywhere: refused as an envelope, nothing registered."""
    envelope = bytearray(
        sealed(batch("b-1", report("anmeldung", CODE, JAN5)), state, practice.signer)
    )
    envelope[where] ^= 0x01
    response = client.post("/submissions", content=bytes(envelope), headers=headers("b-1"))
    assert response.status_code == 400
    assert response.json()["reason"].startswith("The envelope cannot be opened")
    assert overview(client)["counts"]["submissions"] == 0


def test_a_payload_that_is_not_a_batch_is_422(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """The envelope opens and verifies, but what it holds is no batch."""
    from adapter.crypto.envelope import check_recipient, seal

    cert = register_certificate(state)
    recipient = check_recipient(cert, now=NOW, pinned_sha256=certificate_fingerprint(cert))
    envelope = seal(b'{"hello": 1}', signer=practice.signer, recipient=recipient, signing_time=NOW)
    response = client.post("/submissions", content=envelope, headers=headers("b-1"))
    assert response.status_code == 422
    assert response.json()["reason"].startswith("Not a valid batch")


def test_a_key_that_is_not_the_batch_id_is_422(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """The idempotency key is the batch id (docs/SUBMISSION.md)."""
    envelope = sealed(batch("b-1", report("anmeldung", CODE, JAN5)), state, practice.signer)
    response = client.post("/submissions", content=envelope, headers=headers("b-2"))
    assert response.status_code == 422
    assert "not the id of the batch" in response.json()["reason"]


def test_a_sender_is_held_to_the_certificate_first_seen_for_its_number(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """Trust on first use: another certificate for the same BtM number is refused (400);
    another number may come with its own."""
    post(client, state, practice, "b-1", report("anmeldung", CODE, JAN5))
    items = batch("b-2", report("anmeldung", CODE2, JAN5))
    response = client.post(
        "/submissions", content=sealed(items, state, practice.stranger), headers=headers("b-2")
    )
    assert response.status_code == 400
    assert "first seen for BtM number 3990101" in response.json()["reason"]
    other = batch("b-3", report("anmeldung", CODE2, JAN5, doctor=OTHER_DOCTOR))
    response = client.post(
        "/submissions", content=sealed(other, state, practice.stranger), headers=headers("b-3")
    )
    assert response.status_code == 200
    assert overview(client)["counts"]["submissions"] == 2


@pytest.mark.parametrize(
    ("first", "then", "reason"),
    [
        ([], report("anmeldung", "HAMUF28", JAN5), "nicht die Form"),
        ([], report("anmeldung", "hamüf284", JAN5), "nicht die Form"),
        ([], report("anmeldung", "HAMÜX284", JAN5), "nicht die Form"),
        ([], report("anmeldung", None, JAN5), "Patientencode fehlt"),
        ([], report("anmeldung", CODE, date(2026, 1, 16)), "Zukunft"),
        ([], report("anmeldung", CODE, JAN5, made_on=date(2026, 1, 16)), "Zukunft"),
        ([], report("anmeldung", CODE, JAN5, substance="Subutex"), "R-SUB-1"),
        ([], report("anmeldung", CODE, JAN5, substance=None), "R-SUB-1"),
        ([], report("abmeldung", CODE, JAN5), "ohne offene Anmeldung"),
        ([report("anmeldung", CODE, JAN5)], report("anmeldung", CODE, JAN10, number=1), "R-EP-4"),
        ([report("anmeldung", CODE, JAN10)], report("abmeldung", CODE, JAN5), "vor dem der ersten"),
        (
            [report("anmeldung", CODE, JAN5, doctor=OTHER_DOCTOR)],
            report("abmeldung", CODE, JAN10),
            "ohne offene Anmeldung",
        ),
    ],
    ids=[
        "code too short", "lower case", "no sex letter", "no code", "date in the future",
        "made in the future", "brand not substance", "no substance", "Abmeldung alone",
        "second Anmeldung", "Abmeldung before first use", "Abmeldung of another doctor's",
    ],
)  # fmt: skip
def test_a_report_the_register_cannot_take_is_rejected_with_its_reason(
    client: TestClient,
    state: Path,
    practice: Practice,
    *,
    first: list[Report],
    then: Report,
    reason: str,
) -> None:
    """Each report is judged alone: the rejected one carries the reason, never the code."""
    for n, earlier in enumerate(first):
        signer = practice.stranger if earlier.doctor == OTHER_DOCTOR else practice.signer
        items = batch(f"b-0-{n}", earlier)
        client.post(
            "/submissions", content=sealed(items, state, signer), headers=headers(f"b-0-{n}")
        )
    response, envelope = post(client, state, practice, "b-1", then)
    [result] = receipt_of(response, state, "b-1", envelope).results
    assert result.status == "rejected"
    assert reason in (result.reason or "")
    assert then.patient_code is None or then.patient_code not in (result.reason or "")


def test_an_anmeldung_and_its_abmeldung_in_one_batch_open_and_close_one_registration(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """The register's order: by date, on one day the Anmeldung first (D-42), whatever the
    batch's order; a new Anmeldung after the Abmeldung is taken again."""
    one_day = [report("abmeldung", CODE, JAN5, number=1), report("anmeldung", CODE, JAN5)]
    response, envelope = post(client, state, practice, "b-1", *one_day)
    receipt = receipt_of(response, state, "b-1", envelope)
    assert [r.status for r in receipt.results] == ["accepted", "accepted"]
    assert (overview(client)["counts"]["open"], overview(client)["counts"]["closed"]) == (0, 1)
    response, envelope = post(
        client, state, practice, "b-2", report("anmeldung", CODE, JAN10, number=2)
    )
    assert receipt_of(response, state, "b-2", envelope).results[0].status == "accepted"
    assert overview(client)["counts"]["open"] == 1


def test_one_code_registered_by_two_doctors_gives_a_duplicate_notice(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """004 §10: the second Anmeldung is taken, with a notice naming the first doctor's BtM
    number, contact and the date of first use, and the report; not the code."""
    post(client, state, practice, "b-1", report("anmeldung", CODE, JAN5))
    second = report("anmeldung", CODE, JAN10, doctor=OTHER_DOCTOR)
    envelope = sealed(batch("b-2", second), state, practice.stranger)
    response = client.post("/submissions", content=envelope, headers=headers("b-2"))
    receipt = receipt_of(response, state, "b-2", envelope)
    assert receipt.results[0].status == "accepted"
    [notice] = receipt.notices
    assert (notice.kind, notice.report_id) == ("duplicate", second.id)
    assert "3990101" in notice.text
    assert "2026-01-05" in notice.text
    assert "Miriam Falkner" in notice.text
    assert CODE not in notice.text
    seen = overview(client)
    assert seen["counts"]["duplicates"] == 1
    assert seen["duplicates"][0]["doctors"] == ["3990101", "3990202"]


def test_a_report_received_before_is_kept_once_when_it_comes_in_a_new_batch(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """`outbox resend` of a batch that did arrive: accepted, not registered again."""
    anmeldung = report("anmeldung", CODE, JAN5)
    post(client, state, practice, "b-1", anmeldung)
    response, envelope = post(client, state, practice, "b-2", anmeldung)
    [result] = receipt_of(response, state, "b-2", envelope).results
    assert result.status == "accepted"
    assert "Bereits mit Sendung b-1 erhalten" in (result.reason or "")
    assert overview(client)["counts"]["reports"] == 1
    assert overview(client)["counts"]["open"] == 1


def test_a_rejected_report_sent_again_later_is_judged_afresh_and_kept_once(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """An Abmeldung rejected for want of an Anmeldung is taken once the Anmeldung came."""
    abmeldung = report("abmeldung", CODE, JAN10)
    response, envelope = post(client, state, practice, "b-1", abmeldung)
    assert receipt_of(response, state, "b-1", envelope).results[0].status == "rejected"
    post(client, state, practice, "b-2", report("anmeldung", CODE, JAN5))
    response, envelope = post(client, state, practice, "b-3", abmeldung)
    assert receipt_of(response, state, "b-3", envelope).results[0].status == "accepted"
    seen = overview(client)
    assert [r["status"] for r in seen["reports"] if r["report_id"] == abmeldung.id] == ["accepted"]
    assert seen["counts"]["closed"] == 1


def test_the_certificate_is_served_as_pem_and_named_by_health(client: TestClient) -> None:
    """GET /certificate and GET /health agree on the fingerprint a practice pins."""
    pem = client.get("/certificate")
    assert pem.status_code == 200
    certificate = load_certificate(pem.content)
    assert client.get("/health").json() == {
        "status": "ok",
        "certificate_sha256": certificate_fingerprint(certificate),
    }


def test_the_first_start_makes_a_key_and_certificate_and_later_starts_keep_them(
    tmp_path: Path,
) -> None:
    """RSA 3072, digitalSignature and keyEncipherment; key and secret mode 0600; the same
    certificate on the next start."""
    from cryptography import x509

    state = tmp_path / "sim"
    first = TestClient(create_app(state, clock=clock)).get("/certificate").content
    certificate = x509.load_pem_x509_certificate(first)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment
    assert certificate.public_key().key_size == 3072  # type: ignore[union-attr]
    assert (state / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert (state / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert state.stat().st_mode & 0o777 == 0o700
    assert TestClient(create_app(state, clock=clock)).get("/certificate").content == first
    assert first == certificate.public_bytes(serialization.Encoding.PEM)


def test_a_certificate_without_its_key_is_refused(state: Path) -> None:
    """What was sealed to that certificate could never be opened: no silent new key."""
    from adapter.errors import KeyMaterialError

    (state / KEY_FILE).unlink()
    with pytest.raises(KeyMaterialError, match="has no key beside it"):
        create_app(state, clock=clock)
