"""Doctors as the register needs them: Practitioner, PractitionerRole, Organization,
the KBV Composition, and the practice configuration (INPUT.md 'Doctors')."""

from __future__ import annotations

from datetime import date

from adapter.config import PracticeConfig
from adapter.domain.model import Address, Doctor, Spell
from adapter.fhir.collect import Collection


def practitioner_key(collection: Collection, ref: str | None) -> str | None:
    """A Practitioner key from a reference to a Practitioner or a PractitionerRole."""
    key = collection.refs.resolve(ref)
    if key is None:
        return None
    if key.startswith("PractitionerRole/"):
        role = collection.roles.get(key)
        return collection.refs.resolve(role.practitioner) if role else None
    return key


def responsible_doctors(collection: Collection) -> dict[str, str]:
    """Request key → responsible doctor where a KBV author is a trainee or a substitute.

    In KBV bundles an "Arzt in Weiterbildung" or "Arzt als Vertreter" (qualification
    type 03 / 04) signs as author; `Composition.attester.party` is responsible.
    """
    responsible = {}
    for composition in collection.compositions.values():
        attester = practitioner_key(collection, composition.attester)
        if attester is None:
            continue
        for entry in composition.entries:
            key = collection.refs.resolve(entry)
            if key is not None and key.startswith("MedicationRequest/"):
                responsible[key] = attester
    return responsible


def build_doctors(collection: Collection, config: PracticeConfig) -> dict[str, Doctor]:
    doctors: dict[str, Doctor] = {}
    for key, rec in collection.practitioners.items():
        addresses, phones = rec.addresses, rec.phones
        if not addresses or not phones:
            org_addresses, org_phones = _organization_contact(collection, key)
            addresses = addresses or org_addresses
            phones = phones or org_phones
        settings = config.doctor(key.split("/", 1)[1], rec.lanr)
        qualified = rec.qualified
        if settings is not None and settings.qualified is not None:
            qualified = settings.qualified
        if settings is not None and settings.phone and not phones:
            phones = (Spell(settings.phone),)
        doctors[key] = Doctor(
            key=key,
            btm_number=rec.btm_number or (settings.btm_number if settings else None),
            lanr=rec.lanr,
            names=rec.names,
            birth_date=rec.birth_date or (settings.birth_date if settings else None),
            addresses=addresses,
            phones=phones,
            qualified=qualified,
            qualified_since=rec.qualified_since if rec.qualified else None,
            role_end=_role_end(collection, key),
        )
    return doctors


def _organization_contact(
    collection: Collection, key: str
) -> tuple[tuple[Spell[Address], ...], tuple[Spell[str], ...]]:
    """Address and phone of the doctor's practice: PractitionerRole's Organization, else
    the KBV Composition's custodian (REAL-DATA.md 6)."""
    candidates = [
        role.organization
        for role in collection.roles.values()
        if practitioner_key(collection, role.practitioner) == key
    ]
    candidates += [
        custodian
        for doctor, custodian in collection.custodians.items()
        if practitioner_key(collection, doctor) == key
    ]
    for ref in candidates:
        org = collection.organizations.get(collection.refs.resolve(ref) or "")
        if org is not None:
            return org
    return (), ()


def _role_end(collection: Collection, key: str) -> date | None:
    """R-CHG-6: the day the doctor left, when every role of theirs has ended."""
    ends = [
        role.end
        for role in collection.roles.values()
        if practitioner_key(collection, role.practitioner) == key
    ]
    if not ends or any(end is None for end in ends):
        return None
    return max(e for e in ends if e is not None)
