"""From collected records to the domain's patient histories (INPUT.md).

Here references are resolved, each medication event is tied to substitution or not
(R-SUB-5), and its covered days are worked out (R-DATE-1/2).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from adapter.domain.model import (
    DIAMORPHIN,
    ConsultantSpell,
    Cover,
    Depot,
    Episode,
    Finding,
    PatientHistory,
)
from adapter.fhir import records as rec
from adapter.fhir.collect import Collection
from adapter.fhir.doctors import practitioner_key, responsible_doctors
from adapter.fhir.medication import NO_MEDICATION, MedInfo

_MARKED = frozenset({"S", "ST"})
_VOID_REQUEST = frozenset({"entered-in-error", "cancelled", "draft"})
_WARN_UNTIED = frozenset({"Methadon", "Levomethadon"})  # INPUT.md: warn when untied


@dataclass(slots=True)
class _Builder:
    collection: Collection
    covers: dict[str, list[Cover]] = field(default_factory=lambda: defaultdict(list))
    untied: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    uncertain_depots: list[str] = field(default_factory=list)
    responsible: dict[str, str] = field(default_factory=dict)

    def resolve(self, ref: str | None) -> str | None:
        return self.collection.refs.resolve(ref)

    def med(self, med: MedInfo | None, med_ref: str | None) -> MedInfo:
        if med is not None:
            return med
        return self.collection.medications.get(self.resolve(med_ref) or "", NO_MEDICATION)

    def request(self, ref: str | None) -> rec.Request | None:
        return self.collection.requests.get(self.resolve(ref) or "")

    def request_doctor(self, request: rec.Request | None) -> str | None:
        if request is None:
            return None
        return self.responsible.get(request.key) or practitioner_key(
            self.collection, request.requester
        )

    def episode(self, refs: list[str | None]) -> Episode | None:
        """The EpisodeOfCare named directly, or through an Encounter's `episodeOfCare`."""
        for ref in refs:
            key = self.resolve(ref) or ""
            entry = self.collection.episodes.get(key)
            if entry is not None:
                return entry[1]
            link = self.collection.encounter_episodes.get(key)
            for via in link.episodes if link is not None else ():
                entry = self.collection.episodes.get(self.resolve(via) or "")
                if entry is not None:
                    return entry[1]
        return None

    def tie(
        self, med: MedInfo, request: rec.Request | None, episode: Episode | None, dependence: bool
    ) -> bool:
        """Tied to substitution by marker, episode, F11.2 or Diamorphin (INPUT.md, R-SUB-5)."""
        if request is not None and request.marker in _MARKED:
            return True
        if med.analgesic:
            return False  # patches, pain and cough codes count only with an S/ST marker
        if episode is not None:
            return True
        if dependence or (request is not None and request.dependence):
            return True
        return med.substance == DIAMORPHIN

    def add(self, patient_ref: str | None, cover: Cover, tied: bool) -> None:
        patient = self.resolve(patient_ref) or "Patient/?"
        if tied:
            self.covers[patient].append(cover)
        elif cover.substance in _WARN_UNTIED:
            self.untied[patient].append(cover.source)


def histories(
    collection: Collection,
    *,
    covering_requests: set[str] | None = None,
    dispensed_before: frozenset[str] = frozenset(),
    every_patient: bool = False,
) -> tuple[list[PatientHistory], list[Finding]]:
    """Each patient's covered days, contacts, episodes and consulting doctors.

    Incremental sync reads a collection of new events beside older records kept for
    reference: then only `covering_requests` (the new ones) may yield prescription
    covers, `dispensed_before` names requests whose dispenses were stored earlier, and
    `every_patient` gives a history even to a patient without a new cover.
    """
    builder = _Builder(collection, responsible=responsible_doctors(collection))
    dispensed = _administrations_and_dispenses(builder) | dispensed_before
    _prescriptions(builder, dispensed, covering_requests)
    findings = list(collection.findings) + _untied_findings(builder) + _depot_findings(builder)
    episodes: dict[str | None, list[Episode]] = defaultdict(list)
    for patient_ref, episode in collection.episodes.values():
        manager = practitioner_key(collection, episode.care_manager)
        episodes[builder.resolve(patient_ref)].append(replace(episode, care_manager=manager))
    contacts: dict[str | None, set[date]] = defaultdict(set)
    for contact in collection.encounters.values():
        contacts[builder.resolve(contact.patient)].update(contact.days)
    result = []
    keys = set(builder.covers) | (set(collection.patients) if every_patient else set())
    for patient_key in sorted(keys):
        facts = collection.patients.get(patient_key)
        if facts is None:
            findings.append(_unknown_patient(patient_key, builder.covers[patient_key]))
            continue
        result.append(
            PatientHistory(
                patient=facts,
                covers=tuple(builder.covers.get(patient_key, ())),
                contacts=frozenset(contacts.get(patient_key, ())),
                episodes=tuple(episodes.get(patient_key, ())),
                consultants=_consultants(builder, patient_key),
            )
        )
    return result, findings


def _administrations_and_dispenses(builder: _Builder) -> set[str]:
    for admin in builder.collection.administrations.values():
        med = builder.med(admin.med, admin.med_ref)
        if med.substance is None:
            continue
        request = builder.request(admin.request)
        episode = builder.episode([admin.episode, *(request.episodes if request else ())])
        doctor = builder.request_doctor(request) or practitioner_key(
            builder.collection, admin.performer
        )
        end = _effect_end(builder, admin, med)
        cover = Cover(admin.start, end, doctor, med.substance, admin.key, _key(episode))
        builder.add(admin.patient, cover, builder.tie(med, request, episode, admin.dependence))
    dispensed = set()
    for dispense in builder.collection.dispenses.values():
        med = builder.med(dispense.med, dispense.med_ref)
        request = builder.request(dispense.prescription)
        if request is not None:
            dispensed.add(request.key)
        if med.substance is None:
            continue
        episode = builder.episode([dispense.episode, *(request.episodes if request else ())])
        doctor = builder.request_doctor(request)
        end = dispense.day + timedelta(days=dispense.days - 1)
        cover = Cover(dispense.day, end, doctor, med.substance, dispense.key, _key(episode))
        builder.add(dispense.patient, cover, builder.tie(med, request, episode, False))
    return dispensed


def _prescriptions(
    builder: _Builder, dispensed: frozenset[str] | set[str], only: set[str] | None
) -> None:
    """An S/ST prescription without dispenses covers its reach (INPUT.md edge case 2)."""
    for request in builder.collection.requests.values():
        if only is not None and request.key not in only:
            continue
        if request.marker not in _MARKED or request.key in dispensed:
            continue
        if request.status in _VOID_REQUEST:
            continue
        med = builder.med(request.med, request.med_ref)
        start = request.supply_start or request.authored
        if med.substance is None or start is None:
            continue
        end = start + timedelta(days=(request.supply_days or 1) - 1)
        episode = builder.episode(list(request.episodes))
        cover = Cover(
            start, end, builder.request_doctor(request), med.substance, request.key, _key(episode)
        )
        builder.add(request.patient, cover, True)


def _effect_end(builder: _Builder, admin: rec.Administration, med: MedInfo) -> date:
    """A depot or implant covers its duration of effect (R-DATE-2, INPUT.md edge case 3)."""
    if admin.effect_days is not None:
        return admin.start + timedelta(days=admin.effect_days - 1)
    depot = med.depot
    if depot is None:
        return admin.end
    if depot.uncertain:
        builder.uncertain_depots.append(admin.key)
    return depot_end(admin.start, depot)


def depot_end(start: date, depot: Depot) -> date:
    """Last day covered: N days, or the day before the same day N months later."""
    if depot.months is not None:
        month_index = start.month - 1 + depot.months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) - timedelta(days=1)
    return start + timedelta(days=(depot.days or 1) - 1)


def _key(episode: Episode | None) -> str | None:
    return episode.key if episode is not None else None


def _consultants(builder: _Builder, patient_key: str) -> tuple[ConsultantSpell, ...]:
    spells = []
    refs = builder.collection.refs
    for team_key, team in builder.collection.care_teams.items():
        owner = team.patient or next(
            (p for t, p in refs.team_patients.items() if refs.resolve(t) == team_key), None
        )
        if builder.resolve(owner) != patient_key:
            continue
        for member, start, end in team.consultants:
            doctor = practitioner_key(builder.collection, member)
            if doctor is not None:
                spells.append(ConsultantSpell(doctor, start, end, team_key))
    return tuple(spells)


def _untied_findings(builder: _Builder) -> list[Finding]:
    return [
        Finding(
            "warning",
            "R-SUB-5",
            f"{len(sources)} methadone/levomethadone event(s) of {patient} are not tied to a "
            "substitution (no S/ST marker, substitution EpisodeOfCare or ICD-10-GM F11.2 "
            "reason) and are not reported: mark the prescription if this is substitution.",
            (patient, *sources[:5]),
        )
        for patient, sources in sorted(builder.untied.items())
    ]


def _depot_findings(builder: _Builder) -> list[Finding]:
    if not builder.uncertain_depots:
        return []
    return [
        Finding(
            "warning",
            "R-DATE-2",
            "The depot form (weekly or monthly) cannot be told: 28 days of effect were "
            "assumed. Record the strength in the product text, the PZN in mappings/products.json, "
            "or the duration-of-effect extension.",
            tuple(builder.uncertain_depots[:10]),
        )
    ]


def _unknown_patient(patient_key: str, covers: list[Cover]) -> Finding:
    return Finding(
        "error",
        "INPUT",
        f"Substitution events refer to {patient_key}, which is not in the input: send the "
        "Patient resource with the events.",
        (patient_key, *(c.source for c in covers[:3])),
    )
