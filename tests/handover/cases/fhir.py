"""The FHIR data of the worked handover cases, in the shapes of the real German fixtures
the public cases use (tests/cases/54-…, 48-…: KBV-style Practitioner with BtM number and
LANR, Patient with KVNR, EpisodeOfCare with an onhold absence, MedicationRequest and daily
MedicationAdministrations by ATC). Each installation gets its own ids: the same person
is only the same patient code at the register."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

LEVOMETHADON = {
    "coding": [
        {
            "system": "http://fhir.de/CodeSystem/bfarm/atc",
            "code": "N07BC05",
            "version": "2025",
            "display": "Levomethadon",
        }
    ],
    "text": "L-Polamidon Lösung zur Substitution 5 mg/ml",
}
QUALIFIED = {
    "code": {
        "coding": [
            {
                "system": "https://fhir.substreg.dev/CodeSystem/qualification",
                "code": "suchtmedizin",
                "display": "Suchtmedizinische Grundversorgung",
            }
        ]
    }
}
SUBSTITUTION = {
    "coding": [
        {
            "system": "https://fhir.substreg.dev/CodeSystem/episode-type",
            "code": "substitution",
            "display": "Substitutionsbehandlung",
        }
    ]
}


@dataclass(frozen=True)
class Doctor:
    key: str
    btm: str
    lanr: str
    family: str
    given: str
    birth: str


@dataclass(frozen=True)
class Person:
    key: str
    family: str
    given: str
    birth: str
    gender: str
    kvnr: str


def practitioner(d: Doctor) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": d.key,
        "identifier": [
            {"system": "http://fhir.de/sid/bfarm/btmnr", "value": d.btm},
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "LANR"}
                    ]
                },
                "system": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR",
                "value": d.lanr,
            },
        ],
        "name": [{"use": "official", "family": d.family, "given": [d.given]}],
        "birthDate": d.birth,
        "address": [
            {"use": "work", "line": ["Hauptstraße 1"], "city": "Leipzig", "postalCode": "04109"}
        ],
        "qualification": [QUALIFIED],
    }


def patient(p: Person) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": p.key,
        "identifier": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://fhir.de/CodeSystem/identifier-type-de-basis",
                            "code": "KVZ10",
                        }
                    ]
                },
                "system": "http://fhir.de/sid/gkv/kvid-10",
                "value": p.kvnr,
            }
        ],
        "name": [{"use": "official", "family": p.family, "given": [p.given]}],
        "gender": p.gender,
        "birthDate": p.birth,
    }


def episode(
    key: str,
    p: Person,
    d: Doctor,
    start: date,
    *,
    end: date | None = None,
    onhold: tuple[date, date] | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": key,
        "status": "finished" if end else "active",
        "type": [SUBSTITUTION],
        "patient": {"reference": f"Patient/{p.key}"},
        "period": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
        "careManager": {"reference": f"Practitioner/{d.key}"},
    }
    if onhold:
        found["statusHistory"] = [
            {
                "status": "onhold",
                "period": {"start": onhold[0].isoformat(), "end": onhold[1].isoformat()},
                "extension": [
                    {
                        "url": "https://fhir.substreg.dev/StructureDefinition/absence-reason",
                        "valueCode": "hospital",
                    }
                ],
            }
        ]
    return found


def request(key: str, p: Person, d: Doctor, day: date) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": key,
        "status": "active",
        "intent": "order",
        "category": [
            {"coding": [{"system": "https://fhir.substreg.dev/CodeSystem/btm-marker", "code": "S"}]}
        ],
        "medicationCodeableConcept": LEVOMETHADON,
        "subject": {"reference": f"Patient/{p.key}"},
        "authoredOn": day.isoformat(),
        "requester": {"reference": f"Practitioner/{d.key}"},
        "dosageInstruction": [{"text": "1x täglich unter Sicht"}],
    }


def doses(
    prefix: str, p: Person, d: Doctor, *, links: tuple[str, str], days: tuple[date, date]
) -> list[dict[str, Any]]:
    """A daily administration under sight on `days` (first, last), tied to `links`
    (the EpisodeOfCare id, the MedicationRequest id)."""
    (episode_key, request_key), (first, last) = links, days
    every = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [
        {
            "resourceType": "MedicationAdministration",
            "id": f"{prefix}-{day.isoformat()}",
            "status": "completed",
            "medicationCodeableConcept": LEVOMETHADON,
            "subject": {"reference": f"Patient/{p.key}"},
            "context": {"reference": f"EpisodeOfCare/{episode_key}"},
            "effectiveDateTime": f"{day.isoformat()}T08:30:00+02:00",
            "performer": [{"actor": {"reference": f"Practitioner/{d.key}"}}],
            "request": {"reference": f"MedicationRequest/{request_key}"},
            "dosage": {"dose": {"value": 60, "unit": "mg"}},
        }
        for day in every
    ]


def write_export(folder: Path, resources: list[dict[str, Any]]) -> Path:
    """The installation's export: one collection Bundle, as the EHR writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"https://ehr.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }
    path = folder / "export.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder
