"""How events find their prescription, patient and doctor, and what is said when they do
not (INPUT.md 15, 16, 21, 22; never silent)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from adapter.services import derive
from tests.test_fhir_input import (
    BTM,
    abmeldung,
    anmeldung,
    category,
    daily,
    doctor,
    keys,
    patient,
    practice,
    request,
    run,
)

Json = dict[str, Any]


def _dispense(did: str, handed: str, prescription: str, subject: str = "Patient/p1") -> Json:
    return {
        "resourceType": "MedicationDispense",
        "id": did,
        "status": "completed",
        "medicationCodeableConcept": request()["medicationCodeableConcept"],
        "subject": {"reference": subject},
        "authorizingPrescription": [{"reference": prescription}],
        "whenHandedOver": handed,
    }


def _errors(document: Json, source: str) -> list[str]:
    return [
        f["message"]
        for f in document["findings"]
        if f["severity"] == "error" and source in f["sources"]
    ]


def test_a_dispense_of_another_patients_prescription_lends_it_nothing(tmp_path: Path) -> None:
    """A dispense whose subject is not its prescription's patient is not registered under
    that prescription's marker and reach: an error names it, nobody is registered falsely."""
    st = request("mr-st", "2025-03-03", marker=category("ST"), supply=("2025-03-03", 14, "d"))
    other = {**patient("p2"), "name": [{"use": "official", "family": "Kunz", "given": ["Otto"]}]}
    dispense = _dispense("md1", "2025-03-03", "MedicationRequest/mr-st", "Patient/p2")
    resources = [patient(), other, doctor(), st, dispense]
    document = run(tmp_path, resources, "2025-03-31")
    assert [r for r in document["reports"] if r["patient_code"] != "ANBEF530"] == []
    assert any("another patient" in m for m in _errors(document, "MedicationDispense/md1"))


def test_a_dispense_whose_prescription_is_missing_is_an_error(tmp_path: Path) -> None:
    """Its marker, reach and doctor are unknown: an error names the dispense and the gap."""
    resources = [patient(), doctor(), _dispense("md1", "2025-03-03", "MedicationRequest/gone")]
    document = run(tmp_path, resources, "2025-03-31")
    [message] = _errors(document, "MedicationDispense/md1")
    assert "MedicationRequest/gone" in message
    assert "not in the input" in message


def test_a_delete_in_a_history_bundle_removes_the_prescription(tmp_path: Path) -> None:
    """INPUT.md 21: the newest entry of a history Bundle is a DELETE: the event is gone."""
    st = request("mr-st", "2025-03-03", marker=category("ST"), supply=("2025-03-03", 14, "d"))
    history = {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [  # newest first
            {"request": {"method": "DELETE", "url": "MedicationRequest/mr-st"}},
            {"resource": st, "request": {"method": "POST", "url": "MedicationRequest"}},
        ],
    }
    people = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient()}, {"resource": doctor()}],
    }
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "history.json").write_text(json.dumps(history), encoding="utf-8")
    (folder / "people.json").write_text(json.dumps(people), encoding="utf-8")
    assert derive([folder], as_of=date(2025, 3, 31)).reports == []


def test_a_missing_practitioner_is_named_as_missing(tmp_path: Path) -> None:
    """The requester names a Practitioner the input does not hold: the finding says so,
    instead of asking for a requester the prescription has."""
    resources = [r for r in practice() if r["resourceType"] != "Practitioner"]
    document = run(tmp_path, resources, "2025-03-31")
    assert document["reports"] == []
    messages = [f["message"] for f in document["findings"] if f["rule"] == "R-EP-1"]
    assert messages
    assert all("Practitioner/d1" in m and "is not in the input" in m for m in messages)


def test_a_doctor_without_phone_and_birth_date_is_reported_with_a_warning(
    tmp_path: Path,
) -> None:
    """The report is made; a warning names the doctor and the fields the register needs."""
    bare = doctor(birthDate=None, telecom=None)
    resources = [patient(), bare, request(), *daily("2025-03-03", "2025-03-07")]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    [warning] = [f for f in document["findings"] if f["sources"] == ["Practitioner/d1"]]
    assert warning["severity"] == "warning"
    assert "birth date, phone" in warning["message"]
    assert BTM not in warning["sources"]
