"""Subscription notification Bundles for the tests, in the shapes of the Subscriptions R5
Backport IG's R4B examples (HL7/fhir-subscription-backport-ig,
input/fsh/BackportNotificationR4B.fsh: r4b-notification-handshake, -heartbeat,
-id-only, -full-resource; Bundle.type `history`) and of R5 (`subscription-notification`),
carrying the demo practice's resources instead of the IG's Encounter."""

from __future__ import annotations

import uuid
from typing import Any

SUBSCRIPTION = "https://ehr.example/fhir/Subscription/substreg-medications"
TOPIC = "http://ehr.example/SubscriptionTopic/medication-change"
PRACTICE_TYPES = ("Organization", "Practitioner", "PractitionerRole", "Medication")


def notification(
    kind: str,
    *,
    events: int = 0,
    focus: list[str] | None = None,
    resources: list[dict[str, Any]] | None = None,
    r5: bool = False,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "resourceType": "SubscriptionStatus",
        "id": str(uuid.uuid4()),
        "status": "requested" if kind == "handshake" else "active",
        "type": kind,
        "eventsSinceSubscriptionStart": str(events),
        "subscription": {"reference": SUBSCRIPTION},
        "topic": TOPIC,
    }
    if focus is not None:
        status["notificationEvent"] = [
            {
                "eventNumber": str(events - len(focus) + n),
                "timestamp": "2025-12-30T11:44:13.1882432+01:00",
                "focus": {"reference": reference},
            }
            for n, reference in enumerate(focus, start=1)
        ]
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{status['id']}",
            "resource": status,
            "request": {"method": "GET", "url": f"{SUBSCRIPTION}/$status"},
            "response": {"status": "200"},
        }
    ]
    for resource in resources or []:
        url = f"https://ehr.example/fhir/{resource['resourceType']}/{resource['id']}"
        entries.append(
            {
                "fullUrl": url,
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
                "response": {"status": "200"},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "subscription-notification" if r5 else "history",
        "timestamp": "2025-12-30T11:44:13.1882432+01:00",
        "entry": entries,
    }


def of_patient(resources: list[dict[str, Any]], patient_id: str) -> list[dict[str, Any]]:
    """The patient, what names them, and the practice's resources (all of them)."""
    reference = f"Patient/{patient_id}"

    def names(resource: dict[str, Any]) -> bool:
        for key in ("subject", "patient"):
            value = resource.get(key)
            if isinstance(value, dict) and value.get("reference") == reference:
                return True
        return resource["resourceType"] == "Patient" and resource["id"] == patient_id

    return [r for r in resources if r["resourceType"] in PRACTICE_TYPES or names(r)]
