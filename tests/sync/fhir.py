"""Small FHIR R4 resources for sync tests: a practice, a patient, daily intake."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SR = "https://fhir.substreg.dev"
LEVOMETHADON = {
    "coding": [{"system": "http://fhir.de/CodeSystem/bfarm/atc", "code": "N07BC05"}],
    "text": "L-Polaflux 5 mg/ml",
}
DOCTOR_BTM = "3711025"


def doctor(
    doctor_id: str = "doc", *, btm: str = DOCTOR_BTM, phone: str = "0231 123456"
) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": doctor_id,
        "identifier": [{"system": "http://fhir.de/sid/bfarm/btmnr", "value": btm}],
        "name": [{"use": "official", "family": "Berger", "given": ["Anna"]}],
        "birthDate": "1971-04-02",
        "qualification": [
            {
                "code": {
                    "coding": [{"system": f"{SR}/CodeSystem/qualification", "code": "suchtmedizin"}]
                }
            }
        ],
        "telecom": [{"system": "phone", "value": phone, "use": "work"}],
        "address": [
            {"use": "work", "line": ["Westhoffstraße 8"], "postalCode": "44145", "city": "Dortmund"}
        ],
    }


def patient(
    patient_id: str = "p1",
    *,
    given: str = "Silvia",
    family: str = "Hartmann",
    gender: str = "female",
    birth_date: str = "1980-05-14",
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": gender,
        "birthDate": birth_date,
    }


def request(request_id: str, patient_id: str, day: date, doctor_id: str = "doc") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": request_id,
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": f"{SR}/CodeSystem/btm-marker", "code": "S"}]}],
        "medicationCodeableConcept": LEVOMETHADON,
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": day.isoformat(),
        "requester": {"reference": f"Practitioner/{doctor_id}"},
    }


def administration(
    admin_id: str, patient_id: str, day: date, request_id: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": admin_id,
        "status": status,
        "medicationCodeableConcept": LEVOMETHADON,
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": f"{day.isoformat()}T08:30:00+01:00",
        "request": {"reference": f"MedicationRequest/{request_id}"},
    }


def daily(patient_id: str, first: date, last: date, *, prefix: str = "") -> list[dict[str, Any]]:
    """One S request and one supervised administration per day from `first` to `last`."""
    resources = []
    day = first
    while day <= last:
        tag = f"{prefix}{patient_id}-{day.isoformat()}"
        resources.append(request(f"r-{tag}", patient_id, day))
        resources.append(administration(f"a-{tag}", patient_id, day, f"r-{tag}"))
        day += timedelta(days=1)
    return resources


def write_bundle(path: Path, resources: list[dict[str, Any]]) -> Path:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def two_patients(path: Path, start: date, p1_last: date, p2_last: date) -> Path:
    """The practice with p1 (Silvia Hartmann) and p2 (Paul Meier) taking their drug daily
    from `start` to their last days, as one Bundle at `path`."""
    return write_bundle(
        path,
        [
            doctor(),
            patient("p1"),
            patient("p2", given="Paul", family="Meier", gender="male"),
            *daily("p1", start, p1_last),
            *daily("p2", start, p2_last),
        ],
    )
