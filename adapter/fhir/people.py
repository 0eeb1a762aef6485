"""Patients and doctors from FHIR: names (de.basisprofil), sex, birth date, contact data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapter.domain.btm import is_btm_number
from adapter.domain.codes import NameParts
from adapter.domain.model import Address, NameSpell, PatientFacts, Spell
from adapter.fhir.values import JsonObject, codings, obj, objs, period, text, texts

SR = "https://fhir.substreg.dev"
OWN_NAME = "http://hl7.org/fhir/StructureDefinition/humanname-own-name"
OWN_PREFIX = "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix"
NAMENSZUSATZ = "http://fhir.de/StructureDefinition/humanname-namenszusatz"
REGISTER_SEX = f"{SR}/StructureDefinition/register-sex"
BTM_SYSTEM = "http://fhir.de/sid/bfarm/btmnr"
LANR_SYSTEMS = frozenset(
    {
        "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR",
        "https://fhir.kbv.de/sid/KBV_NS_Base_ANR",
        "http://fhir.de/NamingSystem/kbv/lanr",
    }
)
QUALIFICATION_SYSTEM = f"{SR}/CodeSystem/qualification"
KBV_QUALIFICATION_TYPE = "https://fhir.kbv.de/CodeSystem/KBV_CS_FOR_Qualification_Type"
# KBV: 03 Arzt in Weiterbildung, 04 Arzt als Vertreter: not the responsible doctor.
NOT_RESPONSIBLE = frozenset({"03", "04"})


def name_parts(name: JsonObject) -> NameParts:
    family_ext = obj(name, "_family") or {}
    extensions = {text(e, "url"): text(e, "valueString") for e in objs(family_ext, "extension")}
    return NameParts(
        given=tuple(texts(name, "given")),
        family=text(name, "family"),
        own_name=extensions.get(OWN_NAME),
        own_prefix=extensions.get(OWN_PREFIX),
        namenszusatz=extensions.get(NAMENSZUSATZ),
        prefixes=tuple(texts(name, "prefix")),
    )


def name_spells(resource: JsonObject) -> tuple[NameSpell, ...]:
    spells = []
    for name in objs(resource, "name"):
        start, end = period(name, "period")
        spells.append(NameSpell(name_parts(name), text(name, "use"), start, end))
    return tuple(spells)


def patient_facts(key: str, resource: JsonObject) -> PatientFacts:
    gender = text(resource, "gender")
    override = None
    for ext in objs(resource, "extension"):
        if text(ext, "url") == REGISTER_SEX:
            override = text(ext, "valueCode")
    return PatientFacts(
        key=key,
        names=name_spells(resource),
        sex=_sex(gender, override),
        gender=gender,
        birth_date=text(resource, "birthDate"),
    )


def _sex(gender: str | None, override: str | None) -> str | None:
    if override is not None:
        return override.upper() if override.upper() in ("F", "M") else None
    return {"female": "F", "male": "M"}.get(gender or "")


@dataclass(frozen=True, slots=True)
class PractitionerRec:
    key: str
    btm_number: str | None  # only a well-formed one (R-DOC-1)
    malformed_btm: bool  # a btmnr identifier was sent, but none of 7 digits 0-9
    lanr: str | None
    names: tuple[Spell[tuple[str, str]], ...]
    birth_date: str | None
    addresses: tuple[Spell[Address], ...]
    phones: tuple[Spell[str], ...]
    qualified: bool
    qualified_since: date | None
    not_responsible: bool  # KBV author who is a trainee or a substitute


def practitioner(key: str, resource: JsonObject) -> PractitionerRec:
    btms, lanr = _identifiers(resource)
    valid = [b for b in btms if is_btm_number(b)]
    qualified, since, not_responsible = _qualifications(resource)
    return PractitionerRec(
        key=key,
        btm_number=valid[0] if valid else None,
        malformed_btm=bool(btms) and not valid,
        lanr=lanr,
        names=_register_names(resource),
        birth_date=text(resource, "birthDate"),
        addresses=addresses(resource),
        phones=phones(resource),
        qualified=qualified,
        qualified_since=since,
        not_responsible=not_responsible,
    )


def _identifiers(resource: JsonObject) -> tuple[list[str], str | None]:
    """The values of btmnr identifiers (as sent, checked by the caller) and the LANR."""
    btms: list[str] = []
    lanr = None
    for identifier in objs(resource, "identifier"):
        system, value = text(identifier, "system"), text(identifier, "value")
        types = {c for _, c in codings(obj(identifier, "type"))}
        if system == BTM_SYSTEM:
            if value is not None:
                btms.append(value)
        elif system in LANR_SYSTEMS or "LANR" in types:
            lanr = value
    return btms, lanr


def _qualifications(resource: JsonObject) -> tuple[bool, date | None, bool]:
    qualified, since, not_responsible = False, None, False
    for qualification in objs(resource, "qualification"):
        for system, code in codings(obj(qualification, "code")):
            if system == QUALIFICATION_SYSTEM and code == "suchtmedizin":
                qualified = True
                since = period(qualification, "period")[0]
            elif system == KBV_QUALIFICATION_TYPE and code in NOT_RESPONSIBLE:
                not_responsible = True
    return qualified, since, not_responsible


def _register_names(resource: JsonObject) -> tuple[Spell[tuple[str, str]], ...]:
    """(family, given) for the register's name fields: own name, titles left out."""
    spells = []
    for spell in name_spells(resource):
        if spell.use in ("old", "maiden", "nickname", "anonymous", "temp"):
            continue
        parts = spell.parts
        family = parts.own_name or _without_titles(parts.family or "", parts.prefixes)
        spells.append(Spell((family, " ".join(parts.given)), spell.start, spell.end))
    return tuple(spells)


def _without_titles(family: str, prefixes: tuple[str, ...]) -> str:
    words = [w for w in family.split() if not (w.endswith(".") and w[:1].isupper())]
    return " ".join(words) if words else family


def addresses(resource: JsonObject) -> tuple[Spell[Address], ...]:
    spells = []
    for address in objs(resource, "address"):
        if text(address, "use") not in (None, "work"):
            continue
        start, end = period(address, "period")
        value = Address(
            tuple(texts(address, "line")), text(address, "postalCode"), text(address, "city")
        )
        spells.append(Spell(value, start, end))
    return tuple(spells)


def phones(resource: JsonObject) -> tuple[Spell[str], ...]:
    spells = []
    for telecom in objs(resource, "telecom"):
        if text(telecom, "system") != "phone" or text(telecom, "use") not in (None, "work"):
            continue
        value = text(telecom, "value")
        if value:
            start, end = period(telecom, "period")
            spells.append(Spell(value, start, end))
    return tuple(spells)
