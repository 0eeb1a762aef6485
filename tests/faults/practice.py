"""A small practice whose every date and quantity field the readers use can be set to
anything: the place where the fault-injection tests plant extreme values."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from tests.sync import fhir

SR = "https://fhir.substreg.dev"
ATC = "http://fhir.de/CodeSystem/bfarm/atc"
LEVOMETHADON = fhir.LEVOMETHADON
SIXMO = {"coding": [{"system": ATC, "code": "N07BC01"}], "text": "Sixmo 74,2 mg Implantat"}
PATIENT = {"reference": "Patient/p1"}
DOCTOR = {"reference": "Practitioner/doc"}
EPISODE = {"reference": "EpisodeOfCare/e1"}


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _resources() -> list[dict[str, Any]]:
    doctor = fhir.doctor()
    doctor["name"][0]["period"] = {"start": "2000-01-01", "end": "2040-12-31"}
    doctor["address"][0]["period"] = {"start": "2000-01-01", "end": "2040-12-31"}
    doctor["telecom"][0]["period"] = {"start": "2000-01-01", "end": "2040-12-31"}
    doctor["qualification"][0]["period"] = {"start": "2000-01-01", "end": "2040-12-31"}
    patient = fhir.patient()
    patient["name"][0]["period"] = {"start": "1990-01-01", "end": "2040-12-31"}
    return [
        doctor,
        patient,
        {
            "resourceType": "PractitionerRole",
            "id": "role1",
            "practitioner": DOCTOR,
            "period": {"start": "2000-01-01", "end": "2040-12-31"},
        },
        {
            "resourceType": "EpisodeOfCare",
            "id": "e1",
            "status": "active",
            "type": [_coding(f"{SR}/CodeSystem/episode-type", "substitution")],
            "patient": PATIENT,
            "careManager": DOCTOR,
            "period": {"start": "2026-01-05", "end": "2040-12-31"},
            "statusHistory": [
                {"status": "onhold", "period": {"start": "2026-02-20", "end": "2026-02-25"}}
            ],
        },
        {
            "resourceType": "CareTeam",
            "id": "ct1",
            "subject": PATIENT,
            "participant": [
                {
                    "role": [_coding(f"{SR}/CodeSystem/care-team-role", "konsiliararzt")],
                    "member": DOCTOR,
                    "period": {"start": "2026-01-01", "end": "2040-12-31"},
                }
            ],
        },
        {
            **fhir.request("r1", "p1", date(2026, 1, 5)),
            "dispenseRequest": {
                "validityPeriod": {"start": "2026-01-05", "end": "2026-01-11"},
                "expectedSupplyDuration": {"value": 7, "unit": "d"},
            },
        },
        fhir.administration("a1", "p1", date(2026, 1, 12), "r1"),
        {
            **fhir.administration("a2", "p1", date(2026, 1, 13), "r1"),
            "effectivePeriod": {"start": "2026-01-13T08:00:00+01:00", "end": "2026-01-13"},
            "effectiveDateTime": None,
            "extension": [
                {
                    "url": f"{SR}/StructureDefinition/duration-of-effect",
                    "valueDuration": {"value": 7, "unit": "d"},
                }
            ],
        },
        {
            **fhir.administration("a3", "p1", date(2026, 1, 20), "r1"),
            "medicationCodeableConcept": SIXMO,
            "context": EPISODE,
        },
        {
            "resourceType": "MedicationDispense",
            "id": "d1",
            "status": "completed",
            "medicationCodeableConcept": LEVOMETHADON,
            "subject": PATIENT,
            "authorizingPrescription": [{"reference": "MedicationRequest/r1"}],
            "whenHandedOver": "2026-01-14",
            "daysSupply": {"value": 3, "unit": "d"},
        },
        {
            "resourceType": "Encounter",
            "id": "enc1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": PATIENT,
            "participant": [{"individual": DOCTOR}],
            "period": {"start": "2026-01-21T09:00:00+01:00", "end": "2026-01-21T09:30:00+01:00"},
        },
    ]


Kind = Literal["day", "end", "duration"]


@dataclass(frozen=True)
class Slot:
    """One field the readers use: the resource, the path to it, and what it holds."""

    resource: str  # Type/id
    path: tuple[str | int, ...]
    kind: Kind

    @property
    def name(self) -> str:
        return f"{self.resource}:" + ".".join(str(p) for p in self.path)


def _periods(resource: str, *prefix: str | int) -> list[Slot]:
    return [
        Slot(resource, (*prefix, "period", "start"), "day"),
        Slot(resource, (*prefix, "period", "end"), "end"),
    ]


SLOTS: tuple[Slot, ...] = (
    *_periods("Practitioner/doc", "name", 0),
    *_periods("Practitioner/doc", "address", 0),
    *_periods("Practitioner/doc", "telecom", 0),
    *_periods("Practitioner/doc", "qualification", 0),
    *_periods("Patient/p1", "name", 0),
    *_periods("PractitionerRole/role1"),
    *_periods("EpisodeOfCare/e1"),
    *_periods("EpisodeOfCare/e1", "statusHistory", 0),
    *_periods("CareTeam/ct1", "participant", 0),
    Slot("MedicationRequest/r1", ("authoredOn",), "day"),
    Slot("MedicationRequest/r1", ("dispenseRequest", "validityPeriod", "start"), "day"),
    Slot("MedicationRequest/r1", ("dispenseRequest", "validityPeriod", "end"), "end"),
    Slot(
        "MedicationRequest/r1", ("dispenseRequest", "expectedSupplyDuration", "value"), "duration"
    ),
    Slot("MedicationAdministration/a1", ("effectiveDateTime",), "day"),
    Slot("MedicationAdministration/a2", ("effectivePeriod", "start"), "day"),
    Slot("MedicationAdministration/a2", ("effectivePeriod", "end"), "end"),
    Slot("MedicationAdministration/a2", ("extension", 0, "valueDuration", "value"), "duration"),
    Slot("MedicationAdministration/a3", ("effectiveDateTime",), "day"),  # Sixmo: six months
    Slot("MedicationDispense/d1", ("whenHandedOver",), "day"),
    Slot("MedicationDispense/d1", ("daysSupply", "value"), "duration"),
    *_periods("Encounter/enc1"),
)


def practice(planted: dict[Slot, object] | None = None) -> list[dict[str, Any]]:
    """The practice's resources with `planted` values put in their slots."""
    resources = copy.deepcopy(_resources())
    by_key = {f"{r['resourceType']}/{r['id']}": r for r in resources}
    for resource in resources:
        for key in [k for k, v in resource.items() if v is None]:
            del resource[key]
    for slot, value in (planted or {}).items():
        node: Any = by_key[slot.resource]
        for step in slot.path[:-1]:
            node = node[step]
        node[slot.path[-1]] = value
    return resources


def write(path: Path, resources: list[dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": r} for r in resources],
            }
        ),
        encoding="utf-8",
    )
    return path
