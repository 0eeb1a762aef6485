"""From collected records to the domain's patient histories (INPUT.md).

Here references are resolved, each medication event is tied to substitution or not
(R-SUB-5), and its covered days are worked out (R-DATE-1/2).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterator
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
from adapter.fhir.identifiers import system_of
from adapter.fhir.medication import NO_MEDICATION, MedInfo

_MARKED = frozenset({"S", "ST"})
_VOID_REQUEST = frozenset({"entered-in-error", "cancelled", "draft"})
_WARN_UNTIED = frozenset({"Methadon", "Levomethadon"})  # INPUT.md: warn when untied


@dataclass(slots=True)
class _Builder:
    collection: Collection
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

    def keep(self, patient_ref: str | None, cover: Cover, tied: bool) -> list[Cover]:
        """The cover when tied to substitution; an untied methadone event is noted."""
        if tied:
            return [cover]
        if cover.substance in _WARN_UNTIED:
            self.untied[self.resolve(patient_ref) or unresolved_patient(patient_ref)].append(
                cover.source
            )
        return []


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
    assembly = Assembly(
        collection,
        covering_requests=covering_requests,
        dispensed_before=dispensed_before,
        every_patient=every_patient,
    )
    return list(assembly), assembly.findings


@dataclass(slots=True)
class _Events:
    """One patient's medication records, before they become covers."""

    administrations: list[rec.Administration] = field(default_factory=list)
    dispenses: list[rec.Dispense] = field(default_factory=list)
    requests: list[rec.Request] = field(default_factory=list)


class Assembly:
    """Patient histories one at a time, in the order of their keys.

    `derive` walks each history before the next is built, so a practice's covers are never
    all in memory at once; with `consume` the events of a patient are dropped from the
    collection as soon as they are covers (peak memory of a large export). `findings` is
    complete once the iteration is.
    """

    def __init__(
        self,
        collection: Collection,
        *,
        covering_requests: set[str] | None = None,
        dispensed_before: frozenset[str] = frozenset(),
        every_patient: bool = False,
        consume: bool = False,
    ) -> None:
        self.collection = collection
        self.covering_requests = covering_requests
        self.dispensed_before = dispensed_before
        self.every_patient = every_patient
        self.consume = consume
        self.findings: list[Finding] = []

    def __iter__(self) -> Iterator[PatientHistory]:
        collection = self.collection
        builder = _Builder(collection, responsible=responsible_doctors(collection))
        dispensed = self.dispensed_before | {
            r.key
            for d in collection.dispenses.values()
            if (r := builder.request(d.prescription)) is not None
        }
        events = self._by_patient(builder)
        episodes, contacts = _episodes(builder), _contacts(builder)
        unknown: list[Finding] = []
        keys = set(events) | (set(collection.patients) if self.every_patient else set())
        for key in sorted(keys):
            mine = events.pop(key, None)
            covers = _covers(builder, mine, dispensed, self.covering_requests) if mine else []
            facts = collection.patients.get(key)
            if facts is None:
                if covers:
                    unknown.append(_unknown_patient(key, covers))
                continue
            yield PatientHistory(
                patient=facts,
                covers=tuple(covers),
                contacts=frozenset(contacts.get(key, ())),
                episodes=tuple(episodes.get(key, ())),
                consultants=_consultants(builder, key),
            )
        self.findings = [
            *collection.findings,
            *_untied_findings(builder),
            *_depot_findings(builder),
            *unknown,
        ]

    def _by_patient(self, builder: _Builder) -> dict[str, _Events]:
        events: dict[str, _Events] = defaultdict(_Events)

        def owner(ref: str | None) -> str:
            return builder.resolve(ref) or unresolved_patient(ref)

        collection = self.collection
        for admin in collection.administrations.values():
            events[owner(admin.patient)].administrations.append(admin)
        for dispense in collection.dispenses.values():
            events[owner(dispense.patient)].dispenses.append(dispense)
        for request in collection.requests.values():
            if self.covering_requests is None or request.key in self.covering_requests:
                events[owner(request.patient)].requests.append(request)
        if self.consume:  # the groups hold them now; each goes with its patient
            collection.administrations.clear()
            collection.dispenses.clear()
        return events


def _episodes(builder: _Builder) -> dict[str | None, list[Episode]]:
    episodes: dict[str | None, list[Episode]] = defaultdict(list)
    for patient_ref, episode in builder.collection.episodes.values():
        manager = practitioner_key(builder.collection, episode.care_manager)
        episodes[builder.resolve(patient_ref)].append(replace(episode, care_manager=manager))
    return episodes


def _contacts(builder: _Builder) -> dict[str | None, set[date]]:
    contacts: dict[str | None, set[date]] = defaultdict(set)
    for contact in builder.collection.encounters.values():
        contacts[builder.resolve(contact.patient)].update(contact.days)
    return contacts


def _covers(
    builder: _Builder,
    events: _Events,
    dispensed: frozenset[str] | set[str],
    only: set[str] | None,
) -> list[Cover]:
    """One patient's covers: administrations, dispenses, then prescriptions' own reach."""
    covers: list[Cover] = []
    for admin in events.administrations:
        covers += _administration_cover(builder, admin)
    for dispense in events.dispenses:
        covers += _dispense_cover(builder, dispense)
    for request in events.requests:
        covers += _prescription_cover(builder, request, dispensed, only)
    return covers


def _administration_cover(builder: _Builder, admin: rec.Administration) -> list[Cover]:
    med = builder.med(admin.med, admin.med_ref)
    if med.substance is None:
        return []
    request = builder.request(admin.request)
    episode = builder.episode([admin.episode, *(request.episodes if request else ())])
    doctor = builder.request_doctor(request) or practitioner_key(
        builder.collection, admin.performer
    )
    end = _effect_end(builder, admin, med)
    cover = Cover(admin.start, end, doctor, med.substance, admin.key, _key(episode))
    return builder.keep(admin.patient, cover, builder.tie(med, request, episode, admin.dependence))


def _dispense_cover(builder: _Builder, dispense: rec.Dispense) -> list[Cover]:
    med = builder.med(dispense.med, dispense.med_ref)
    if med.substance is None:
        return []
    request = builder.request(dispense.prescription)
    episode = builder.episode([dispense.episode, *(request.episodes if request else ())])
    doctor = builder.request_doctor(request)
    end = dispense.day + timedelta(days=dispense.days - 1)
    cover = Cover(dispense.day, end, doctor, med.substance, dispense.key, _key(episode))
    return builder.keep(dispense.patient, cover, builder.tie(med, request, episode, False))


def _prescription_cover(
    builder: _Builder,
    request: rec.Request,
    dispensed: frozenset[str] | set[str],
    only: set[str] | None,
) -> list[Cover]:
    """An S/ST prescription without dispenses covers its reach (INPUT.md edge case 2)."""
    if only is not None and request.key not in only:
        return []
    if request.marker not in _MARKED or request.key in dispensed:
        return []
    if request.status in _VOID_REQUEST:
        return []
    med = builder.med(request.med, request.med_ref)
    start = request.supply_start or request.authored
    if med.substance is None or start is None:
        return []
    end = start + timedelta(days=(request.supply_days or 1) - 1)
    episode = builder.episode(list(request.episodes))
    cover = Cover(
        start, end, builder.request_doctor(request), med.substance, request.key, _key(episode)
    )
    return builder.keep(request.patient, cover, True)


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


def unresolved_patient(ref: str | None) -> str:
    """How findings name a patient reference that resolves to nothing: by its key, or by
    the system of the identifier it names (never the identifier's value, edge case 16)."""
    system = system_of(ref or "")
    if system is not None:
        return f"Patient/?identifier={system or '(no system)'}"
    return "Patient/?"


def _unknown_patient(patient_key: str, covers: list[Cover]) -> Finding:
    if patient_key.startswith("Patient/?identifier="):
        system = patient_key.split("=", 1)[1]
        message = (
            f"Substitution events refer to a Patient by an identifier of system {system} that "
            "no single Patient in the input carries: send the Patient resource (with that "
            "identifier) with the events, or resolve the duplicate record."
        )
    else:
        message = (
            f"Substitution events refer to {patient_key}, which is not in the input: send the "
            "Patient resource with the events."
        )
    return Finding("error", "INPUT", message, (patient_key, *(c.source for c in covers[:3])))
