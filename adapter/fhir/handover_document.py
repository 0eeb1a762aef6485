"""The handover document as FHIR R4: a document Bundle with the Composition
"Übergabe Substitutionsbehandlung" (R-HO-1; fhir_profiles/handover-document.md).

`handover_bundle` builds it from the domain's `Handover`; `canonical_bytes` is what the
signature covers (the Bundle without `signature`, keys sorted, no whitespace: RFC 8785
for documents without decimals, which this one has none of); `signed_bundle` adds
`Bundle.signature` with the detached JWS. Reading it back is `handover_reading`.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any, Final

import orjson

from adapter.domain.handover import Handover
from adapter.domain.model import RegisterDoctor
from adapter.fhir.people import BTM_SYSTEM

TITLE: Final = "Übergabe Substitutionsbehandlung"
CODES: Final = "https://fhir.substreg.dev/CodeSystem/handover"
LOINC: Final = "http://loinc.org"
TRANSFER_NOTE: Final = "18761-7"  # LOINC "Transfer summary note"
SIGNATURE_TYPE: Final = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.1",
    "display": "Author's Signature",
}
SIG_FORMAT: Final = "application/jose"
_GENDER: Final = {"F": "female", "M": "male"}
JSON = dict[str, Any]


def entry_url(document_id: str, part: str) -> str:
    """The stable `urn:uuid:` of one entry of the document."""
    return f"urn:uuid:{uuid.uuid5(uuid.UUID(document_id), part)}"


def handover_bundle(handover: Handover, timestamp: str) -> JSON:
    """The unsigned document Bundle of `handover` (`timestamp`: an instant, ISO 8601)."""
    url = _urls(handover.document_id)
    entries: list[tuple[str, JSON]] = [
        ("composition", _composition(handover, url)),
        ("patient", _patient(handover)),
        ("sender", {"resourceType": "Organization", "name": handover.sender}),
        ("receiver", {"resourceType": "Organization", "name": handover.receiver}),
        ("substitution", _substitution(handover, url)),
    ]
    if handover.consultant is not None:
        entries.append(("consultant", _practitioner(handover.consultant)))
    if handover.registration is not None:
        entries.append(("registered-by", _practitioner(handover.registration.doctor)))
    entries.append(("register-status", _register_status(handover, url)))
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{handover.document_id}"},
        "type": "document",
        "timestamp": timestamp,
        "entry": [
            {"fullUrl": url(part), "resource": {**res, "id": url(part).rsplit(":", 1)[1]}}
            for part, res in entries
        ],
    }


def canonical_bytes(bundle: JSON) -> bytes:
    """What the signature covers: the Bundle without `signature`, canonical JSON."""
    unsigned = {k: v for k, v in bundle.items() if k != "signature"}
    return orjson.dumps(unsigned, option=orjson.OPT_SORT_KEYS)


def signed_bundle(bundle: JSON, token: str, when: str) -> JSON:
    """`bundle` with `Bundle.signature`: the detached JWS, base64 as FHIR wants it."""
    signature = {
        "type": [SIGNATURE_TYPE],
        "when": when,
        "who": {"reference": entry_url(_document_id(bundle), "sender")},
        "sigFormat": SIG_FORMAT,
        "data": base64.b64encode(token.encode()).decode(),
    }
    return {**bundle, "signature": signature}


def document_json(bundle: JSON) -> bytes:
    """The file's bytes: indented for a person, UTF-8."""
    return orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n"


def _document_id(bundle: JSON) -> str:
    return str(bundle["identifier"]["value"]).removeprefix("urn:uuid:")


def _urls(document_id: str) -> Any:
    return lambda part: entry_url(document_id, part)


def _ref(url: Any, part: str) -> JSON:
    return {"reference": url(part)}


def _code(code: str, display: str) -> JSON:
    return {"coding": [{"system": CODES, "code": code, "display": display}], "text": display}


def _composition(h: Handover, url: Any) -> JSON:
    sections = [
        _section("Aktuelle Substitution", "substitution", [url("substitution")]),
        _section("Meldestatus im Substitutionsregister", "register-status", _status_refs(h, url)),
        _section("Übergabe an", "receiver", [url("receiver")]),
    ]
    if h.consultant is not None:
        sections.insert(1, _section("Konsiliararzt", "consultant", [url("consultant")]))
    return {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": TRANSFER_NOTE}], "text": TITLE},
        "subject": _ref(url, "patient"),
        "date": h.day.isoformat(),
        "author": [_ref(url, "sender")],
        "custodian": _ref(url, "sender"),
        "title": TITLE,
        "section": sections,
    }


def _status_refs(h: Handover, url: Any) -> list[str]:
    refs = [url("register-status")]
    return refs + ([url("registered-by")] if h.registration is not None else [])


def _section(title: str, code: str, refs: list[str]) -> JSON:
    return {
        "title": title,
        "code": _code(code, title),
        "entry": [{"reference": ref} for ref in refs],
    }


def _patient(h: Handover) -> JSON:
    p = h.patient
    patient: JSON = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": p.family, "given": p.given.split()}],
    }
    if p.sex in _GENDER:
        patient["gender"] = _GENDER[p.sex]
    if p.birth_date:
        patient["birthDate"] = p.birth_date
    return patient


def _component(code: str, display: str, value: JSON) -> JSON:
    return {"code": _code(code, display), **value}


def _text(value: str | None) -> JSON:
    return {"valueString": value} if value else {"dataAbsentReason": _absent()}


def _day(value: object | None) -> JSON:
    return {"valueDateTime": str(value)} if value else {"dataAbsentReason": _absent()}


def _absent() -> JSON:
    system = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
    return {"coding": [{"system": system, "code": "unknown"}]}


def _substitution(h: Handover, url: Any) -> JSON:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": _code("substitution", "Aktuelle Substitution"),
        "subject": _ref(url, "patient"),
        "effectiveDateTime": h.day.isoformat(),
        "component": [
            _component("substance", "Substanz", _text(h.substance)),
            _component("last-dose", "Letzte Dosis am", _day(h.last_dose)),
            _component("take-home-until", "Take-home-Reichweite bis", _day(h.covered_until)),
        ],
    }


def _register_status(h: Handover, url: Any) -> JSON:
    reg, last = h.registration, h.last_report
    status: JSON = {
        "resourceType": "Observation",
        "status": "final",
        "code": _code("register-status", "Meldestatus im Substitutionsregister"),
        "subject": _ref(url, "patient"),
        "effectiveDateTime": h.day.isoformat(),
        "component": [
            _component("registered", "Angemeldet", {"valueBoolean": reg is not None}),
        ],
    }
    if reg is not None:
        status["performer"] = [_ref(url, "registered-by")]
        status["component"] += [
            _component("patient-code", "Patientencode", _text(reg.code)),
            _component("registered-since", "Angemeldet seit", _day(reg.since)),
            _component("registered-substance", "Gemeldete Substanz", _text(reg.substance)),
            _component("anmeldung-state", "Stand der Anmeldung", _text(reg.state)),
        ]
    if reg is not None and reg.unsent_abmeldung is not None:  # D-256
        status["component"] += [
            _component(
                "unsent-abmeldung", "Abmeldung erfasst, nicht gesendet", _day(reg.unsent_abmeldung)
            ),
            _component(
                "unsent-abmeldung-state", "Stand der Abmeldung", _text(reg.unsent_abmeldung_state)
            ),
        ]
    if reg is None and h.ended_by_blanket is not None:  # R-PAU-1, D-203
        status["component"] += [
            _component(
                "ended-by-blanket",
                "Beendet durch Pauschalabmeldung vom",
                _day(h.ended_by_blanket.day),
            ),
            _component(
                "blanket-state", "Stand der Pauschalabmeldung", _text(h.ended_by_blanket.state)
            ),
        ]
    if last is not None:
        status["component"] += [
            _component("last-report-kind", "Letzte Meldung", _text(last.kind)),
            _component("last-report-date", "Datum der letzten Meldung", _day(last.date)),
            _component("last-report-made-on", "Erstellt am", _day(last.made_on)),
            _component("last-report-state", "Stand der letzten Meldung", _text(last.state)),
            _component("last-report-sent", "Gesendet am", _day(last.sent_at)),
            _component("receipt", "Quittung", _text(last.receipt)),
            _component("receipt-time", "Quittung vom", _day(last.received_at)),
        ]
    return status


def _practitioner(doctor: RegisterDoctor) -> JSON:
    found: JSON = {"resourceType": "Practitioner"}
    if doctor.btm_number:
        found["identifier"] = [{"system": BTM_SYSTEM, "value": doctor.btm_number}]
    name = {"family": doctor.family_name, "given": [doctor.given_name or ""]}
    found["name"] = [{k: v for k, v in name.items() if v and v != [""]}]
    if doctor.phone:
        found["telecom"] = [{"system": "phone", "value": doctor.phone, "use": "work"}]
    if doctor.address is not None:
        a = doctor.address
        found["address"] = [
            {
                k: v
                for k, v in {
                    "use": "work",
                    "line": list(a.line),
                    "postalCode": a.postal_code,
                    "city": a.city,
                }.items()
                if v
            }
        ]
    if doctor.birth_date:
        found["birthDate"] = doctor.birth_date
    return found
