"""Doctors as the register needs them: Practitioner, PractitionerRole, Organization,
the KBV Composition, and the practice configuration (INPUT.md 'Doctors')."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from adapter.domain.model import Address, Doctor, Spell
from adapter.fhir.collect import Collection
from adapter.fhir.people import PractitionerRec
from adapter.settings.practice import PracticeConfig


def practitioner_key(collection: Collection, ref: str | None) -> str | None:
    """The doctor's key from a reference to a Practitioner or a PractitionerRole: the key
    that stands for every Practitioner resource of that doctor (`same_doctor`)."""
    key = collection.refs.resolve(ref)
    if key is None:
        return None
    if key.startswith("PractitionerRole/"):
        role = collection.roles.get(key)
        key = collection.refs.resolve(role.practitioner) if role else None
        if key is None:
            return None
    return same_doctor(collection).get(key, key)


def same_doctor(collection: Collection) -> dict[str, str]:
    """Practitioner key → the key standing for its doctor (INPUT.md edge case 17).

    Practitioner resources that share a BtM number, else a LANR, are one doctor (the real
    KBV examples send two ids for one LANR; contained copies have keys of their own). A
    BtM number belongs to the person (R-DOC-1), so two different ones are two doctors even
    under one LANR; a LANR shared by several of those joins nobody. Computed once per
    collection, when the first reference is resolved (the input is read by then).
    """
    cached = collection.doctor_keys
    if cached is not None and cached[0] == len(collection.practitioners):
        return cached[1]
    groups: dict[str, list[str]] = defaultdict(list)
    btm_of_lanr: dict[str, set[str]] = defaultdict(set)
    for doctor in collection.practitioners.values():
        if doctor.btm_number is not None and doctor.lanr is not None:
            btm_of_lanr[doctor.lanr].add(doctor.btm_number)
    for key, doctor in collection.practitioners.items():
        if doctor.btm_number is not None:
            groups[f"btm|{doctor.btm_number}"].append(key)
        elif doctor.lanr is not None and len(btm_of_lanr.get(doctor.lanr, ())) <= 1:
            btms = btm_of_lanr.get(doctor.lanr)
            groups[f"btm|{next(iter(btms))}" if btms else f"lanr|{doctor.lanr}"].append(key)
    aliases = {}
    for keys in groups.values():
        # A resource sent on its own names the doctor rather than a contained copy.
        chosen = min(keys, key=lambda k: ("~" in k, k))
        aliases.update(dict.fromkeys(keys, chosen))
    collection.doctor_keys = (len(collection.practitioners), aliases)
    return aliases


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
    """One Doctor per doctor, under the key `practitioner_key` gives for any of its
    Practitioner resources; what one resource lacks, another of the same doctor gives."""
    members: dict[str, list[str]] = defaultdict(list)
    aliases = same_doctor(collection)
    for key in collection.practitioners:
        members[aliases.get(key, key)].append(key)
    return {
        key: _doctor(collection, config, key, sorted(keys, key=lambda k: k != key))
        for key, keys in members.items()
    }


def _doctor(collection: Collection, config: PracticeConfig, key: str, keys: list[str]) -> Doctor:
    recs = [collection.practitioners[k] for k in keys]
    addresses = next((r.addresses for r in recs if r.addresses), ())
    phones = next((r.phones for r in recs if r.phones), ())
    if not addresses or not phones:
        org_addresses, org_phones = _organization_contact(collection, key)
        addresses = addresses or org_addresses
        phones = phones or org_phones
    lanr = next((r.lanr for r in recs if r.lanr), None)
    settings = next(
        (found for k in keys if (found := config.doctor(k.split("/", 1)[1], lanr)) is not None),
        None,
    )
    qualified = any(r.qualified for r in recs)
    if settings is not None and settings.qualified is not None:
        qualified = settings.qualified
    if settings is not None and settings.phone and not phones:
        phones = (Spell(settings.phone),)
    return Doctor(
        key=key,
        btm_number=next((r.btm_number for r in recs if r.btm_number), None)
        or (settings.btm_number if settings else None),
        lanr=lanr,
        names=next((r.names for r in recs if r.names), ()),
        birth_date=next((r.birth_date for r in recs if r.birth_date), None)
        or (settings.birth_date if settings else None),
        addresses=addresses,
        phones=phones,
        qualified=qualified,
        qualified_since=_qualified_since(recs),
        role_end=_role_end(collection, key),
        facilities=_facilities(collection, key),
    )


def _qualified_since(recs: list[PractitionerRec]) -> date | None:
    """The earliest day a resource of the doctor says they are qualified from; None when
    one says so without a day (qualified all along)."""
    days = [r.qualified_since for r in recs if r.qualified]
    if not days or None in days:
        return None
    return min(d for d in days if d is not None)


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


def _facilities(collection: Collection, key: str) -> tuple[str, ...]:
    """The Organizations the doctor holds a PractitionerRole in (R-DOC-3), resolved."""
    found = {
        collection.refs.resolve(role.organization) or role.organization
        for role in collection.roles.values()
        if role.organization and practitioner_key(collection, role.practitioner) == key
    }
    return tuple(sorted(found))


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
