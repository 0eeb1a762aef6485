"""Reading a handover document back (`substreg handover import`): its signature token, the
bytes the signature covers, and the domain's `Handover`.

Only what `handover_document` writes is read; a document that lacks a part is refused as
a whole with a sentence that names the part, never a value of it (PRIVACY.md T2).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from adapter.domain.handover import HandedPatient, Handover, LastReport, Registration
from adapter.domain.model import Address, RegisterDoctor
from adapter.domain.register_view import Blanket
from adapter.errors import HandoverInvalid
from adapter.fhir.handover_document import CODES, SIG_FORMAT, TITLE, canonical_bytes
from adapter.fhir.people import BTM_SYSTEM

JSON = dict[str, Any]
_SEX = {"female": "F", "male": "M"}


@dataclass(frozen=True, slots=True)
class ReadDocument:
    handover: Handover
    signed: bytes  # what the signature covers
    token: str  # the detached JWS


def read_document(data: bytes) -> ReadDocument:
    """The handover in `data`; HandoverInvalid when it is not a signed handover document."""
    try:
        bundle = orjson.loads(data)
    except orjson.JSONDecodeError:
        _refuse("is not JSON")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        _refuse("is not a FHIR Bundle")
    if bundle.get("type") != "document":
        _refuse("is not a FHIR document Bundle (type document)")
    token = _token(bundle.get("signature"))
    try:
        handover = _handover(bundle)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, StopIteration):
        _refuse("lacks a part of the handover document or has one malformed")
    return ReadDocument(handover, canonical_bytes(bundle), token)


def _refuse(why: str) -> Any:
    msg = f"The file {why}; a handover document comes from `substreg handover export`."
    raise HandoverInvalid(msg)


def _token(signature: Any) -> str:
    if not isinstance(signature, dict) or signature.get("sigFormat") != SIG_FORMAT:
        _refuse("carries no signature (Bundle.signature, application/jose)")
    try:
        return base64.b64decode(signature["data"], validate=True).decode("ascii")
    except (KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        return ""  # a broken signature: it will not verify


def _handover(bundle: JSON) -> Handover:
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    composition = next(r for r in by_url.values() if r["resourceType"] == "Composition")
    if composition.get("title") != TITLE:
        _refuse(f'is no "{TITLE}"')
    sections = {_own_code(s["code"]): s for s in composition["section"]}

    def first(section: str) -> JSON:
        found: JSON = by_url[sections[section]["entry"][0]["reference"]]
        return found

    status = first("register-status")
    substitution = _components(first("substitution"))
    consultant = _doctor(first("consultant")) if "consultant" in sections else None
    return Handover(
        document_id=bundle["identifier"]["value"].removeprefix("urn:uuid:"),
        day=date.fromisoformat(composition["date"][:10]),
        sender=by_url[composition["author"][0]["reference"]]["name"],
        receiver=first("receiver")["name"],
        patient=_patient(by_url[composition["subject"]["reference"]]),
        substance=substitution.get("substance"),
        last_dose=_date(substitution.get("last-dose")),
        covered_until=_date(substitution.get("take-home-until")),
        consultant=consultant,
        registration=_registration(status, by_url),
        last_report=_last_report(_components(status)),
        ended_by_blanket=_blanket(_components(status)),
    )


def _own_code(concept: JSON) -> str:
    return str(next(c["code"] for c in concept["coding"] if c["system"] == CODES))


def _components(resource: JSON) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for component in resource.get("component", []):
        value = next((v for k, v in component.items() if k.startswith("value")), None)
        values[_own_code(component["code"])] = value
    return values


def _date(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _patient(resource: JSON) -> HandedPatient:
    name = next(n for n in resource["name"] if n.get("use", "official") == "official")
    return HandedPatient(
        family=name["family"],
        given=" ".join(name.get("given", [])),
        birth_date=resource.get("birthDate"),
        sex=_SEX.get(resource.get("gender", "")),
    )


def _registration(status: JSON, by_url: dict[str, JSON]) -> Registration | None:
    values = _components(status)
    if not values.get("registered"):
        return None
    unsent = values.get("unsent-abmeldung")  # D-256; absent in older documents
    return Registration(
        code=values["patient-code"],
        doctor=_doctor(by_url[status["performer"][0]["reference"]]),
        since=date.fromisoformat(values["registered-since"][:10]),
        substance=values["registered-substance"],
        state=values["anmeldung-state"],
        unsent_abmeldung=date.fromisoformat(unsent[:10]) if unsent else None,
        unsent_abmeldung_state=values.get("unsent-abmeldung-state"),
    )


def _blanket(values: dict[str, Any]) -> Blanket | None:
    """The blanket deregistration that ended the last registration (R-PAU-1, D-203)."""
    if "ended-by-blanket" not in values:
        return None
    return Blanket(date.fromisoformat(values["ended-by-blanket"][:10]), values["blanket-state"])


def _last_report(values: dict[str, Any]) -> LastReport | None:
    if "last-report-kind" not in values:
        return None
    return LastReport(
        kind=values["last-report-kind"],
        date=date.fromisoformat(values["last-report-date"][:10]),
        made_on=date.fromisoformat(values["last-report-made-on"][:10]),
        state=values["last-report-state"],
        sent_at=values.get("last-report-sent"),
        receipt=values.get("receipt"),
        received_at=values.get("receipt-time"),
    )


def _doctor(resource: JSON) -> RegisterDoctor:
    btm = next(
        (i["value"] for i in resource.get("identifier", []) if i.get("system") == BTM_SYSTEM),
        None,
    )
    name = (resource.get("name") or [{}])[0]
    place = (resource.get("address") or [None])[0]
    address = (
        None
        if place is None
        else Address(tuple(place.get("line", [])), place.get("postalCode"), place.get("city"))
    )
    phone = (resource.get("telecom") or [{}])[0].get("value")
    return RegisterDoctor(
        btm_number=btm,
        family_name=name.get("family"),
        given_name=" ".join(name.get("given", [])) or None,
        birth_date=resource.get("birthDate"),
        address=address,
        phone=phone,
    )
