"""Turn each FHIR resource, as it streams past, into a small record of what we need.

Only these records are kept; the JSON of a resource is dropped as soon as it has been
read, which keeps memory near the size of the facts rather than of the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from adapter.domain.model import Absence, Address, Episode, Finding, PatientFacts, Spell
from adapter.fhir import records as rec
from adapter.fhir.contained import contained_patients, contained_resources
from adapter.fhir.depth import too_deep, too_deep_message
from adapter.fhir.identifiers import dispensed_prescription, identifier_refs, prescription_links
from adapter.fhir.medication import (
    NO_MEDICATION,
    MedInfo,
    btm_marker,
    has_opioid_dependence,
    medication_info,
    medication_resource_info,
)
from adapter.fhir.people import (
    BTM_SYSTEM,
    PractitionerRec,
    addresses,
    patient_facts,
    phones,
    practitioner,
)
from adapter.fhir.refs import References
from adapter.fhir.reviews import read_review
from adapter.fhir.source import Deleted, Entry, Item, Note, Unreadable
from adapter.fhir.values import (
    JsonObject,
    ResourceProblem,
    codings,
    day_of,
    duration_days,
    json_bytes,
    obj,
    objs,
    open_ends,
    period,
    reference,
    references,
    text,
)
from adapter.fhir.versions import Version, is_older, version_of
from adapter.mappings import Mappings

SR = "https://fhir.substreg.dev"
DURATION_OF_EFFECT = f"{SR}/StructureDefinition/duration-of-effect"
ABSENCE_REASON = f"{SR}/StructureDefinition/absence-reason"
EPISODE_TYPE = f"{SR}/CodeSystem/episode-type"
CARE_TEAM_ROLE = f"{SR}/CodeSystem/care-team-role"


# The resource types read, in the order a pull searches them: what others refer to first
# (the practice, medications, patients, episodes), the events last. A KBV Composition is
# read inside its prescription Bundle; searched alone it would bring every letter the EHR
# keeps, so a pull leaves it out (D-133).
PULLED_TYPES = (
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Medication",
    "Patient",
    "EpisodeOfCare",
    "CareTeam",
    "Encounter",
    "Procedure",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationAdministration",
)


@dataclass(slots=True)
class Collection:
    refs: References = field(default_factory=References)
    patients: dict[str, PatientFacts] = field(default_factory=dict)
    practitioners: dict[str, PractitionerRec] = field(default_factory=dict)
    roles: dict[str, rec.Role] = field(default_factory=dict)
    organizations: dict[str, tuple[tuple[Spell[Address], ...], tuple[Spell[str], ...]]] = field(
        default_factory=dict
    )
    medications: dict[str, MedInfo] = field(default_factory=dict)
    requests: dict[str, rec.Request] = field(default_factory=dict)
    administrations: dict[str, rec.Administration] = field(default_factory=dict)
    dispenses: dict[str, rec.Dispense] = field(default_factory=dict)
    episodes: dict[str, tuple[str | None, Episode]] = field(default_factory=dict)
    care_teams: dict[str, rec.CareTeam] = field(default_factory=dict)
    reviews: dict[str, rec.Review] = field(default_factory=dict)  # R-DIA-2 (reviews.py)
    encounters: dict[str, rec.Contact] = field(default_factory=dict)
    encounter_episodes: dict[str, rec.EncounterLink] = field(default_factory=dict)
    compositions: dict[str, rec.Composition] = field(default_factory=dict)
    # A KBV Composition's authors and attester → its custodian, the practice (REAL-DATA 6).
    custodians: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # Every resource key a reader was given, whether it yielded a record or not: a later
    # version of a resource that now yields nothing (entered-in-error) replaces the old.
    seen: set[str] = field(default_factory=set)
    # Practitioner key → the key of its doctor, for so many practitioners (doctors.py).
    doctor_keys: tuple[int, dict[str, str]] | None = None


def open_end_finding(key: str, field: str) -> Finding:
    return Finding(
        "info",
        "INPUT",
        f"{key}: {field} lies in the far future and is read as an open end (no end).",
        (key,),
    )


# The resource types the collector reads (its readers below): what `/fhir` accepts.
READ_TYPES = (
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Medication",
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationDispense",
    "EpisodeOfCare",
    "CareTeam",
    "Encounter",
    "Composition",
    "Procedure",
)


class Collector:
    def __init__(self, mappings: Mappings, *, track_seen: bool = False) -> None:
        """`track_seen`: remember every resource key read (sync needs it to tell a
        resource that now yields nothing; derive, reading everything once, does not)."""
        self.mappings = mappings
        self.track_seen = track_seen
        self.result = Collection()
        self._med_cache: dict[bytes, MedInfo] = {}
        self._versions: dict[str, Version] = {}  # only of resources that carry a version
        r = self.result
        # Where each resource type's records live, to forget an earlier version's.
        self._records_of: dict[str, tuple[dict[str, Any], ...]] = {
            "Patient": (r.patients,),
            "Practitioner": (r.practitioners,),
            "PractitionerRole": (r.roles,),
            "Organization": (r.organizations,),
            "Medication": (r.medications,),
            "MedicationRequest": (r.requests,),
            "MedicationAdministration": (r.administrations,),
            "MedicationDispense": (r.dispenses,),
            "EpisodeOfCare": (r.episodes,),
            "CareTeam": (r.care_teams,),
            "Encounter": (r.encounters, r.encounter_episodes),
            "Composition": (r.compositions,),
            "Procedure": (r.reviews,),
        }
        self._readers: dict[str, Callable[[str, JsonObject], None]] = {
            "Patient": self._patient,
            "Practitioner": self._practitioner,
            "PractitionerRole": self._role,
            "Organization": self._organization,
            "Medication": self._medication,
            "MedicationRequest": self._request,
            "MedicationAdministration": self._administration,
            "MedicationDispense": self._dispense,
            "EpisodeOfCare": self._episode,
            "CareTeam": self._care_team,
            "Encounter": self._encounter,
            "Composition": self._composition,
            "Procedure": self._procedure,
        }

    def add(self, item: Item) -> None:
        if isinstance(item, Unreadable):
            self._problem(item.where, item.problem)
        elif isinstance(item, Note):
            self.result.findings.append(item.finding())
        elif isinstance(item, Deleted):
            self._delete(item.ref)
        else:
            self._add_resource(item)

    def _add_resource(self, item: Entry) -> None:
        resource = item.resource
        kind = resource["resourceType"]
        reader = self._readers.get(kind)
        if reader is None:
            return  # resources we do not use are skipped silently (INPUT.md)
        key = self.result.refs.register(kind, resource.get("id"), item.full_url)
        if too_deep(resource):  # as `validate` says it (D-41)
            self.result.findings.append(Finding("error", "INPUT", too_deep_message(key), (key,)))
            return
        if not self._latest(kind, key, resource):
            return  # an earlier version than one read already (INPUT.md edge case 21)
        if kind == "Patient":
            self.result.refs.replaced_by.pop(key, None)  # the latest version links anew
        if "contained" in resource:
            try:
                self._contained(key, resource)
            except ResourceProblem as exc:
                self._problem(key, str(exc))
                return
        self._read(reader, key, resource)
        if kind == "MedicationRequest":
            # A gematik or ePA dispense may name its prescription only by identifier.
            links = prescription_links(resource, item.bundle_identifier)
            self.result.refs.note_identifiers(key, links)
        elif kind == "MedicationDispense":
            self._link_by_context(key, item.bundle_identifier)

    def _link_by_context(self, key: str, context: tuple[str, str] | None) -> None:
        """A dispense that names no prescription, carried beside the PrescriptionId of its
        e-prescription (ePA `$provide-dispensation-erp`): linked by that."""
        dispense = self.result.dispenses.get(key)
        if dispense is not None and dispense.prescription is None and context is not None:
            link = prescription_links({}, context)
            if link:
                self.result.dispenses[key] = replace(dispense, prescription=link[0])

    def _delete(self, ref: str) -> None:
        """A DELETE: what earlier versions of the resource said is forgotten; sync removes
        what it stored of it (the key counts as read, and yields nothing)."""
        kind = ref.split("/", 1)[0]
        if kind not in self._records_of:
            return
        self._latest(kind, ref, {})
        if self.track_seen:
            self.result.seen.add(ref)

    def _latest(self, kind: str, key: str, resource: JsonObject) -> bool:
        """Whether this is the latest version of `key` so far; if so, what an earlier version
        said is forgotten, so that one that now yields nothing (entered-in-error) removes it."""
        version = version_of(resource)
        known = self._versions.get(key)
        if is_older(version, known):
            return False
        if version is not None:
            self._versions[key] = version
        elif known is not None:
            del self._versions[key]
        forgot = False
        for records in self._records_of[kind]:
            forgot = records.pop(key, None) is not None or forgot
        if forgot or known is not None:
            findings = self.result.findings
            findings[:] = [f for f in findings if f.sources[:1] != (key,)]
        return True

    def _read(
        self, reader: Callable[[str, JsonObject], None], key: str, resource: JsonObject
    ) -> None:
        if self.track_seen:
            self.result.seen.add(key)
        try:
            with open_ends() as notes:
                reader(key, resource)
        except ResourceProblem as exc:
            self._problem(key, str(exc))
            return
        for note in notes:
            self.result.findings.append(open_end_finding(key, note))

    def _contained(self, key: str, resource: JsonObject) -> None:
        """Contained doctors, roles, organisations … are read as resources of their own,
        under keys of their own (contained.py); a contained Patient is not."""
        for local_id in contained_patients(resource):
            self._problem(
                key,
                f"it contains a Patient (#{local_id}); send the Patient as a resource of its "
                "own, so that it has an identity the register reports can keep",
            )
        for inner_id, inner in contained_resources(resource, key):
            kind = inner["resourceType"]
            reader = self._readers.get(kind)
            if reader is not None:
                self._read(reader, self.result.refs.register(kind, inner_id, None), inner)

    def _problem(self, where: str, problem: str) -> None:
        self.result.findings.append(
            Finding(
                "error", "INPUT", f"{where} cannot be read: {problem}; it is left out.", (where,)
            )
        )

    # -- people and organisations ---------------------------------------------

    def _patient(self, key: str, resource: JsonObject) -> None:
        self.result.patients[key] = patient_facts(key, resource)
        self.result.refs.note_identifiers(key, identifier_refs(resource))
        for link in objs(resource, "link"):
            successor = reference(link, "other")
            if text(link, "type") == "replaced-by" and successor:
                # A merge in the EHR: this record's events belong to the survivor.
                self.result.refs.note_replaced(key, successor)

    def _practitioner(self, key: str, resource: JsonObject) -> None:
        doctor = practitioner(key, resource)
        self.result.practitioners[key] = doctor
        self.result.refs.note_identifiers(key, identifier_refs(resource))
        if doctor.malformed_btm:
            self.result.findings.append(
                Finding(
                    "error",
                    "R-DOC-1",
                    f"{key} has an identifier with system {BTM_SYSTEM} that is not a BtM "
                    "number of 7 digits 0-9: it is not used. Correct the identifier, or give "
                    'btm_number under [doctors."<LANR or Practitioner id>"] in practice.toml.',
                    (key,),
                )
            )

    def _role(self, key: str, resource: JsonObject) -> None:
        self.result.roles[key] = rec.Role(
            practitioner=reference(resource, "practitioner"),
            organization=reference(resource, "organization"),
            end=period(resource, "period")[1],
        )

    def _organization(self, key: str, resource: JsonObject) -> None:
        self.result.organizations[key] = (addresses(resource), phones(resource))

    def _composition(self, key: str, resource: JsonObject) -> None:
        attesters = [reference(a, "party") for a in objs(resource, "attester")]
        entries = [r for s in objs(resource, "section") for r in references(s, "entry")]
        custodian = reference(resource, "custodian")
        if custodian is not None:
            for doctor in [*references(resource, "author"), *attesters]:
                if doctor is not None:
                    self.result.custodians.setdefault(doctor, custodian)
        self.result.compositions[key] = rec.Composition(
            subject=reference(resource, "subject"),
            authors=tuple(references(resource, "author")),
            attester=next((a for a in attesters if a), None),
            custodian=reference(resource, "custodian"),
            entries=tuple(entries),
        )

    # -- medication -------------------------------------------------------------

    def _medication(self, key: str, resource: JsonObject) -> None:
        self.result.medications[key] = medication_resource_info(resource, self.mappings)

    def _med(self, resource: JsonObject) -> tuple[MedInfo | None, str | None]:
        """Inline medication (concept or contained), else the reference to resolve later."""
        concept = obj(resource, "medicationCodeableConcept")
        if concept is not None:
            return self._concept_info(concept), None
        ref = reference(resource, "medicationReference")
        if ref and ref.startswith("#"):
            for contained in objs(resource, "contained"):
                if contained.get("id") == ref[1:]:
                    return medication_resource_info(contained, self.mappings), None
            msg = f"medicationReference {ref} names no contained resource"
            raise ResourceProblem(msg)
        return (NO_MEDICATION if ref is None else None), ref

    def _concept_info(self, concept: JsonObject) -> MedInfo:
        # Practice data repeats the same few concepts thousands of times.
        # exact, and several times faster than repr
        cache_key = json_bytes(concept, "medicationCodeableConcept")
        info = self._med_cache.get(cache_key)
        if info is None:
            info = medication_info(concept, [], self.mappings)
            self._med_cache[cache_key] = info
        return info

    def _request(self, key: str, resource: JsonObject) -> None:
        if reference(resource, "subject") is None:
            # Required in R4; without it the request belongs to nobody, in derive as in sync.
            msg = "subject is required (the Patient the prescription is for)"
            raise ResourceProblem(msg)
        med, med_ref = self._med(resource)
        dispense = obj(resource, "dispenseRequest") or {}
        self.result.requests[key] = rec.Request(
            key=key,
            patient=reference(resource, "subject"),
            status=text(resource, "status"),
            med=med,
            med_ref=med_ref,
            marker=btm_marker(resource),
            requester=reference(resource, "requester"),
            authored=day_of(text(resource, "authoredOn"), "authoredOn"),
            supply_start=period(dispense, "validityPeriod")[0],
            supply_days=duration_days(
                obj(dispense, "expectedSupplyDuration"), "dispenseRequest.expectedSupplyDuration"
            ),
            dependence=has_opioid_dependence(resource),
            episodes=tuple(
                [r for r in (reference(resource, "encounter"),) if r]
                + references(resource, "supportingInformation")
            ),
        )

    def _administration(self, key: str, resource: JsonObject) -> None:
        status = text(resource, "status")
        if status not in ("completed", "in-progress"):
            return  # not-done, entered-in-error … cover nothing (INPUT.md)
        start, end = self._effective(resource)
        med, med_ref = self._med(resource)
        performers = [reference(p, "actor") for p in objs(resource, "performer")]
        self.result.administrations[key] = rec.Administration(
            key=key,
            patient=reference(resource, "subject"),
            med=med,
            med_ref=med_ref,
            start=start,
            end=end,
            request=reference(resource, "request"),
            performer=next((p for p in performers if p), None),
            episode=reference(resource, "context"),
            dependence=has_opioid_dependence(resource),
            effect_days=self._duration_of_effect(resource),
        )

    def _effective(self, resource: JsonObject) -> tuple[date, date]:
        moment = day_of(text(resource, "effectiveDateTime"), "effectiveDateTime")
        if moment is not None:
            return moment, moment
        start, end = period(resource, "effectivePeriod")
        if start is None:
            msg = "effectiveDateTime or effectivePeriod.start is required"
            raise ResourceProblem(msg)
        return start, end or start

    def _duration_of_effect(self, resource: JsonObject) -> int | None:
        for ext in objs(resource, "extension"):
            if text(ext, "url") == DURATION_OF_EFFECT:
                return duration_days(obj(ext, "valueDuration"), "extension duration-of-effect")
        return None

    def _dispense(self, key: str, resource: JsonObject) -> None:
        if text(resource, "status") != "completed":
            return
        handed = day_of(text(resource, "whenHandedOver"), "whenHandedOver")
        if handed is None:
            msg = "whenHandedOver is required for a completed dispense"
            raise ResourceProblem(msg)
        med, med_ref = self._med(resource)
        performers = [reference(p, "actor") for p in objs(resource, "performer")]
        self.result.dispenses[key] = rec.Dispense(
            key=key,
            patient=reference(resource, "subject"),
            med=med,
            med_ref=med_ref,
            day=handed,
            days=duration_days(obj(resource, "daysSupply"), "daysSupply"),
            prescription=next(iter(references(resource, "authorizingPrescription")), None)
            or dispensed_prescription(resource),
            performer=next((p for p in performers if p), None),
            episode=reference(resource, "context"),
        )

    # -- care ---------------------------------------------------------------------

    def _episode(self, key: str, resource: JsonObject) -> None:
        kinds = {c for t in objs(resource, "type") for s, c in codings(t) if s == EPISODE_TYPE}
        kind: Literal["substitution", "detox"]
        if "substitution" in kinds:
            kind = "substitution"
        elif "detox" in kinds:
            kind = "detox"
        else:
            return
        start, end = period(resource, "period")
        status = text(resource, "status") or "active"
        if status == "finished" and end is None:
            end = self._finished_since(resource)
        episode = Episode(
            key=key,
            kind=kind,
            status=status,
            start=start,
            end=end,
            care_manager=reference(resource, "careManager"),
            absences=tuple(self._absences(resource)),
        )
        self.result.episodes[key] = (reference(resource, "patient"), episode)
        for team in references(resource, "team"):
            self.result.refs.note_team(team, reference(resource, "patient"))

    def _finished_since(self, resource: JsonObject) -> date | None:
        """A finished episode without period.end: the end its statusHistory tells, if it
        does: the start of its `finished` entry, else the end of its last other entry."""
        ends = []
        for entry in objs(resource, "statusHistory"):
            start, end = period(entry, "period")
            if text(entry, "status") == "finished" and start is not None:
                return start
            if end is not None:
                ends.append(end)
        return max(ends, default=None)

    def _absences(self, resource: JsonObject) -> list[Absence]:
        absences = []
        for entry in objs(resource, "statusHistory"):
            if text(entry, "status") != "onhold":
                continue
            start, end = period(entry, "period")
            if start is None:
                msg = "statusHistory onhold needs period.start"
                raise ResourceProblem(msg)
            reason = "other"
            for ext in objs(entry, "extension"):
                if text(ext, "url") == ABSENCE_REASON:
                    reason = text(ext, "valueCode") or "other"
            absences.append(Absence(start, end, reason))
        return absences

    def _care_team(self, key: str, resource: JsonObject) -> None:
        spells = []
        for participant in objs(resource, "participant"):
            roles = {
                c for r in objs(participant, "role") for s, c in codings(r) if s == CARE_TEAM_ROLE
            }
            member = reference(participant, "member")
            if "konsiliararzt" in roles and member:
                start, end = period(participant, "period")
                spells.append((member, start, end))
        if spells:
            self.result.care_teams[key] = rec.CareTeam(
                reference(resource, "subject"), tuple(spells)
            )

    def _procedure(self, key: str, resource: JsonObject) -> None:
        review = read_review(resource)
        if review is not None:
            self.result.reviews[key] = review

    def _encounter(self, key: str, resource: JsonObject) -> None:
        status = text(resource, "status")
        if status == "entered-in-error":
            return
        # An event whose context or request's encounter is this Encounter belongs to its
        # EpisodeOfCare (INPUT.md tie 2), whatever the Encounter's status.
        episodes = references(resource, "episodeOfCare")
        if episodes:
            patient = reference(resource, "subject")
            self.result.encounter_episodes[key] = rec.EncounterLink(patient, tuple(episodes))
        if status != "finished":
            return
        # A contact is a finished encounter with someone of the practice (INPUT.md).
        seen_by_doctor = any(reference(p, "individual") for p in objs(resource, "participant"))
        start, end = period(resource, "period")
        if seen_by_doctor and start is not None:
            days = (start,) if end is None or end == start else (start, end)
            self.result.encounters[key] = rec.Contact(reference(resource, "subject"), days)
