"""References by identifier (INPUT.md edge case 16).

ePA and gematik dispenses name their patient by `subject.identifier` (the KVNR), ISiK
transactions by conditional references (`Patient?identifier=system|value`). Both become
a reference string of their own, `identifier:<system>|<digest>`, which resolves like an
alias to the Patient (or Practitioner) that carries that identifier in the input.

The value is hashed in that string, so that a KVNR never sits in a record, a finding or
a log line; findings about an identifier that resolves to nothing name its system only.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any
from urllib.parse import parse_qsl

PREFIX = "identifier:"

# The same identifier system under an older or another official URL.
_SAME_SYSTEM = {
    "http://fhir.de/NamingSystem/gkv/kvid-10": "http://fhir.de/sid/gkv/kvid-10",
    "http://fhir.de/NamingSystem/pkv/kvid-10": "http://fhir.de/sid/pkv/kvid-10",
    "https://fhir.kbv.de/sid/KBV_NS_Base_ANR": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR",
    "http://fhir.de/NamingSystem/kbv/lanr": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR",
}


def identifier_ref(system: str, value: str) -> str:
    """The reference string for 'the resource with this identifier'."""
    canonical = _SAME_SYSTEM.get(system.strip(), system.strip())
    digest = hashlib.sha256(f"{canonical}|{value.strip()}".encode()).hexdigest()[:32]
    return sys.intern(f"{PREFIX}{canonical}|{digest}")


def identifier_refs(resource: dict[str, Any]) -> list[str]:
    """The identifier reference strings a resource answers to."""
    found = []
    identifiers = resource.get("identifier")
    for identifier in identifiers if isinstance(identifiers, list) else ():
        if not isinstance(identifier, dict):
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if isinstance(system, str) and isinstance(value, str) and system and value.strip():
            found.append(identifier_ref(system, value))
    return found


def logical_reference(ref: dict[str, Any]) -> str | None:
    """A Reference that names its target only by `identifier`, as a reference string."""
    identifier = ref.get("identifier")
    if not isinstance(identifier, dict):
        return None
    system, value = identifier.get("system"), identifier.get("value")
    if isinstance(value, str) and value.strip():
        return identifier_ref(system if isinstance(system, str) else "", value)
    return None


def conditional_reference(ref: str) -> str | None:
    """`Patient?identifier=system|value` as a reference string; None for anything else."""
    if "?" not in ref:
        return None
    query = ref.split("?", 1)[1]
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "identifier" and value:
            system, _, code = value.rpartition("|")
            return identifier_ref(system, code)
    return None


def system_of(ref: str) -> str | None:
    """The identifier system an identifier reference names ('' when it names none)."""
    if not ref.startswith(PREFIX):
        return None
    return ref[len(PREFIX) :].rsplit("|", 1)[0]


# How an e-prescription's dispense names it when it has no authorizingPrescription
# reference: gematik's PrescriptionId (on the KBV Bundle and the dispense), ePA's
# prescription process identifier (on the request, and on the dispense as an extension).
PRESCRIPTION_ID = "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId"
EPA_PROCESS = "https://gematik.de/fhir/epa-medication/sid/rx-prescription-process-identifier"
EPA_PROCESS_EXTENSION = (
    "https://gematik.de/fhir/epa-medication/StructureDefinition/"
    "rx-prescription-process-identifier-extension"
)
_PRESCRIPTION_SYSTEMS = frozenset({PRESCRIPTION_ID, EPA_PROCESS})


def prescription_links(
    resource: dict[str, Any], bundle_identifier: tuple[str, str] | None
) -> list[str]:
    """The identifier references by which a dispense may name this MedicationRequest."""
    found = [r for r in _prescription_identifiers(resource)]
    if bundle_identifier is not None and bundle_identifier[0] == PRESCRIPTION_ID:
        found.append(identifier_ref(*bundle_identifier))
    return found


def dispensed_prescription(resource: dict[str, Any]) -> str | None:
    """The prescription a dispense names by identifier, when it names none by reference."""
    return next(iter(_prescription_identifiers(resource)), None)


def _prescription_identifiers(resource: dict[str, Any]) -> list[str]:
    found = []
    identifiers = resource.get("identifier")
    values = list(identifiers) if isinstance(identifiers, list) else []
    extensions = resource.get("extension")
    for extension in extensions if isinstance(extensions, list) else ():
        if isinstance(extension, dict) and extension.get("url") == EPA_PROCESS_EXTENSION:
            values.append(extension.get("valueIdentifier"))
    for identifier in values:
        if not isinstance(identifier, dict):
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if system in _PRESCRIPTION_SYSTEMS and isinstance(value, str) and value.strip():
            found.append(identifier_ref(str(system), value))
    return found
