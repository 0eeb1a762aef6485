"""The CapabilityStatement of `/fhir`: what is implemented, and nothing else (D-129).

Every type sync reads, each with read, vread, update (also creating, with the client's
id), create (conditional on an identifier), delete and its own history; the system's
transaction and batch. No search, no patch, no conditional update or delete, no
history of a type or of the system: a client that reads this statement never tries what
would fail.
"""

from __future__ import annotations

from datetime import datetime

from adapter.services.fhir_requests import SUPPORTED, JsonObject
from adapter.services.fhir_resources import instant

FHIR_JSON = "application/fhir+json"
_INTERACTIONS = ("read", "vread", "update", "delete", "history-instance", "create")


def capability_statement(base: str, now: datetime) -> JsonObject:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(now),
        "kind": "instance",
        "software": {"name": "substreg-adapter"},
        "implementation": {
            "description": "substreg-adapter: FHIR data in, Substitutionsregister reports out",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Pushed resources are kept with their versions and synced into pending "
                    "reports once the tenant has been quiet for a moment."
                ),
                "resource": [_resource(kind) for kind in sorted(SUPPORTED)],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }


def _resource(kind: str) -> JsonObject:
    return {
        "type": kind,
        "documentation": "A conditional create (If-None-Exist) on identifier=system|value only.",
        "interaction": [{"code": code} for code in _INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "not-supported",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "referencePolicy": ["literal", "local"],
        "searchParam": [],
    }
