"""From collected records to the domain's patient histories (INPUT.md).

Here references are resolved, each medication event is tied to substitution or not
(R-SUB-5), and its covered days are worked out (R-DATE-1/2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date

from adapter.domain.coverage import (
    Reach,
    days_from,
    depot_last_day,
    dispense_last_day,
    prescription_last_day,
)
from adapter.domain.model import (
    ConsultantSpell,
    Cover,
    Episode,
    Finding,
    PatientHistory,
    Review,
)
from adapter.domain.ties import tied_to_substitution
from adapter.fhir import records as rec
from adapter.fhir.collect import Collection
from adapter.fhir.doctors import practitioner_key, responsible_doctors
from adapter.fhir.identifiers import system_of
from adapter.fhir.medication import MISSING_MEDICATION, NO_MEDICATION, MedInfo
from adapter.fhir.orphans import orphan_finding, orphans
from adapter.fhir.unreported import Unreported

_MARKED = frozenset({"S", "ST"})
_BTM_MARKERS = frozenset({"S", "ST", "N", "K", "A"})  # any BtM Sonderkennzeichen
_VOID_REQUEST = frozenset({"entered-in-error", "cancelled", "draft"})
_WARN_UNTIED = frozenset({"Methadon", "Levomethadon"})  # INPUT.md: warn when untied


@dataclass(slots=True)
class _Builder:
    collection: Collection
    untied: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    untied_other: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    uncertain_depots: list[str] = field(default_factory=list)
    responsible: dict[str, str] = field(default_factory=dict)
    unreported: Unreported = field(default_factory=Unreported)
    reach_taken: list[str] = field(default_factory=list)  # dispenses: prescription's reach
    one_day: list[str] = field(default_factory=list)  # dispenses: neither, one day

    def resolve(self, ref: str | None) -> str | None:
        return self.collection.refs.resolve(ref)

    def patient(self, ref: str | None) -> str:
        return self.resolve(ref) or "Patient/?"  # grouped events always resolve

    def med(self, med: MedInfo | None, med_ref: str | None) -> MedInfo:
        if med is not None:
            return med
        found = self.collection.medications.get(self.resolve(med_ref) or "")
        if found is not None:
            return found
        return NO_MEDICATION if med_ref is None else MISSING_MEDICATION

    def no_substance(
        self, patient_ref: str | None, source: str, med: MedInfo, request: rec.Request | None
    ) -> None:
        """An event or prescription whose medication names none of the seven substances:
        a finding when it looks like a narcotic (INPUT.md edge case 20), else nothing."""
        marker = request.marker if request is not None else None
        if not (med.btm or marker in _BTM_MARKERS):
            return
        if med.label == "missing":
            reason = "missing"
        elif med.other_substance:
            reason = "marked-other" if marker in _MARKED else "other-btm"
        else:
            reason = "unidentified"
        self.unreported.note(reason, self.patient(patient_ref), source, med.label)

    def request(self, ref: str | None) -> rec.Request | None:
        return self.collection.requests.get(self.resolve(ref) or "")

    def prescription_of(
        self, event: str, patient_ref: str | None, ref: str | None, med: MedInfo
    ) -> rec.Request | None:
        """The prescription an event names, if it is in the input and of the same patient.

        One of another patient lends the event neither its marker nor its reach nor its
        doctor (a false registration would follow); one that is not in the input leaves
        them unknown. Both are said, for events that look like substitution.
        """
        request = self.request(ref)
        looks = med.substance is not None or med.btm
        if request is None:
            if ref is not None and looks:
                self.unreported.note(
                    "prescription-missing", self.patient(patient_ref), event, _named(ref)
                )
            return None
        if self.resolve(request.patient) != self.resolve(patient_ref):
            if looks:
                self.unreported.note(
                    "prescription-foreign", self.patient(patient_ref), event, request.key
                )
            return None
        return request

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
        """Tied to substitution by marker, episode, F11.2 or Diamorphin (R-SUB-5)."""
        assert med.substance is not None  # only events of the seven substances are tied
        return tied_to_substitution(
            marked=request is not None and request.marker in _MARKED,
            analgesic=med.analgesic,
            in_episode=episode is not None,
            dependence=dependence or (request is not None and request.dependence),
            substance=med.substance,
        )

    def keep(
        self, patient_ref: str | None, cover: Cover, tied: bool, med: MedInfo, *, btm: bool
    ) -> list[Cover]:
        """The cover when tied to substitution; an untied one is noted (never silent)."""
        if tied:
            return [cover]
        patient = self.patient(patient_ref)
        if btm:  # every narcotic is named in its finding
            self.unreported.note("untied-btm", patient, cover.source, _what(med))
        elif cover.substance in _WARN_UNTIED:
            self.untied[patient].append(cover.source)
        else:
            self.untied_other[patient].append(cover.source)
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
        lost = orphans(collection)
        dispensed = self.dispensed_before | {
            r.key
            for d in collection.dispenses.values()
            if (r := builder.request(d.prescription)) is not None
            and builder.resolve(r.patient) == builder.resolve(d.patient)
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
                reviews=_reviews(builder, key),
            )
        self.findings = [
            *collection.findings,
            *(orphan_finding(o) for o in lost),
            *_untied_findings(builder),
            *_depot_findings(builder),
            *_supply_findings(builder),
            *builder.unreported.findings(),
            *unknown,
        ]

    def _by_patient(self, builder: _Builder) -> dict[str, _Events]:
        events: dict[str, _Events] = defaultdict(_Events)

        # Events whose patient does not resolve belong to no treatment: orphans.py says so.
        collection = self.collection
        for admin in collection.administrations.values():
            if (owner := builder.resolve(admin.patient)) is not None:
                events[owner].administrations.append(admin)
        for dispense in collection.dispenses.values():
            if (owner := builder.resolve(dispense.patient)) is not None:
                events[owner].dispenses.append(dispense)
        for request in collection.requests.values():
            owner = builder.resolve(request.patient)
            if owner is not None and (
                self.covering_requests is None or request.key in self.covering_requests
            ):
                events[owner].requests.append(request)
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
    used: set[str] = set()  # requests whose events gave covers
    for admin in events.administrations:
        found = _administration_cover(builder, admin)
        covers += found
        if found and (key := builder.resolve(admin.request)):
            used.add(key)
    for dispense in events.dispenses:
        found = _dispense_cover(builder, dispense)
        covers += found
        if found and (key := builder.resolve(dispense.prescription)):
            used.add(key)
    for request in events.requests:
        found = _prescription_cover(builder, request, dispensed, only)
        covers += found
        if not found and request.key not in used:
            _unused_request(builder, request, dispensed)
    return covers


def _unused_request(
    builder: _Builder, request: rec.Request, dispensed: frozenset[str] | set[str]
) -> None:
    """Why a prescription that looks like substitution gave no covered day (never silent).

    Its events' own findings (unidentified medication, untied) have named it already when
    they named the request's medication; here the prescription itself is accounted for.
    """
    med = builder.med(request.med, request.med_ref)
    patient = builder.patient(request.patient)
    if not (med.btm or request.marker in _BTM_MARKERS):
        if med.substance is not None:
            _unmarked_unused(builder, request, med, patient)
        return
    note = builder.unreported.note
    if request.marker in _MARKED:
        if request.status in _VOID_REQUEST:
            note("void", patient, request.key, request.status or "")
        elif request.key in dispensed:
            note("dispenses-void", patient, request.key)
        elif med.substance is None:
            builder.no_substance(request.patient, request.key, med, request)
        elif (request.supply_start or request.authored) is None:
            note("undated", patient, request.key)
    elif med.substance is None:
        builder.no_substance(request.patient, request.key, med, request)
    elif request.marker is not None:
        note("emergency", patient, request.key, request.marker)
    else:
        note("untied-btm", patient, request.key, _what(med))


def _unmarked_unused(builder: _Builder, request: rec.Request, med: MedInfo, patient: str) -> None:
    """A prescription of a substitution substance without marker, administration or
    dispense: untied (R-SUB-5), or tied but covering no day by itself (INPUT.md)."""
    episode = builder.episode(list(request.episodes))
    if not builder.tie(med, request, episode, request.dependence):
        untied = builder.untied if med.substance in _WARN_UNTIED else builder.untied_other
        untied[patient].append(request.key)
    else:
        builder.unreported.note("no-events", patient, request.key, med.substance or "")


def _administration_cover(builder: _Builder, admin: rec.Administration) -> list[Cover]:
    med = builder.med(admin.med, admin.med_ref)
    request = builder.prescription_of(admin.key, admin.patient, admin.request, med)
    if med.substance is None:
        builder.no_substance(admin.patient, admin.key, med, request)
        return []
    episode = builder.episode([admin.episode, *(request.episodes if request else ())])
    doctor = builder.request_doctor(request) or practitioner_key(
        builder.collection, admin.performer
    )
    end = _effect_end(builder, admin, med)
    cover = Cover(admin.start, end, doctor, med.substance, admin.key, _key(episode))
    tied = builder.tie(med, request, episode, admin.dependence)
    return builder.keep(admin.patient, cover, tied, med, btm=_looks_btm(med, request))


def _dispense_cover(builder: _Builder, dispense: rec.Dispense) -> list[Cover]:
    med = builder.med(dispense.med, dispense.med_ref)
    request = builder.prescription_of(dispense.key, dispense.patient, dispense.prescription, med)
    if med.substance is None:
        builder.no_substance(dispense.patient, dispense.key, med, request)
        return []
    episode = builder.episode([dispense.episode, *(request.episodes if request else ())])
    doctor = builder.request_doctor(request)
    end = _dispense_end(builder, dispense, request)
    cover = Cover(dispense.day, end, doctor, med.substance, dispense.key, _key(episode))
    tied = builder.tie(med, request, episode, False)
    return builder.keep(dispense.patient, cover, tied, med, btm=_looks_btm(med, request))


def _dispense_end(builder: _Builder, dispense: rec.Dispense, request: rec.Request | None) -> date:
    """The last day a dispense covers (INPUT.md edge case 15, `dispense_last_day`); a
    finding says where its days came from when the dispense carries no daysSupply."""
    start = (request.supply_start or request.authored) if request is not None else None
    days = request.supply_days if request is not None else None
    end, reach = dispense_last_day(dispense.day, dispense.days, days, start)
    if reach is Reach.PRESCRIPTION:
        builder.reach_taken.append(dispense.key)
    elif reach is Reach.ONE_DAY:
        builder.one_day.append(dispense.key)
    return end


def _named(ref: str) -> str:
    """A prescription reference for a finding: by key, or by its identifier's system."""
    system = system_of(ref)
    if system is not None:
        return f"a prescription with an identifier of system {system or '(no system)'}"
    return ref


def _what(med: MedInfo) -> str:
    """A medication for a finding: its substance and what identified it."""
    kind = ", a pain or cough code" if med.analgesic else ""
    return f"{med.substance} by {med.label}{kind}"


def _looks_btm(med: MedInfo, request: rec.Request | None) -> bool:
    """A narcotic by its Medication's category or its prescription's BtM marker."""
    return med.btm or (request is not None and request.marker in _BTM_MARKERS)


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
        return []  # _unused_request says why
    end = prescription_last_day(start, request.supply_days)
    episode = builder.episode(list(request.episodes))
    cover = Cover(
        start, end, builder.request_doctor(request), med.substance, request.key, _key(episode)
    )
    return builder.keep(request.patient, cover, True, med, btm=True)


def _effect_end(builder: _Builder, admin: rec.Administration, med: MedInfo) -> date:
    """A depot or implant covers its duration of effect (R-DATE-2, INPUT.md edge case 3)."""
    if admin.effect_days is not None:
        return days_from(admin.start, admin.effect_days)
    depot = med.depot
    if depot is None:
        return admin.end
    if depot.uncertain:
        builder.uncertain_depots.append(admin.key)
    return depot_last_day(admin.start, depot)


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


def _reviews(builder: _Builder, patient_key: str) -> tuple[Review, ...]:
    """The patient's outside reviews of a Diamorphin treatment (R-DIA-2), each with the key
    of its performing doctor."""
    collection = builder.collection
    return tuple(
        Review(review.day, practitioner_key(collection, review.performer), key)
        for key, review in sorted(collection.reviews.items())
        if builder.resolve(review.patient) == patient_key
    )


def _untied_findings(builder: _Builder) -> list[Finding]:
    """D-8: one finding per patient; methadone and levomethadone are warned about, the
    other substances (buprenorphine patches, morphine or codeine for pain) noted."""
    warnings = [
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
    notes = [
        Finding(
            "info",
            "R-SUB-5",
            f"{len(sources)} event(s) of {patient} with a substitution substance are not tied "
            "to a substitution (no S/ST marker, substitution EpisodeOfCare or ICD-10-GM F11.2 "
            "reason; a pain or cough medication?) and are not reported.",
            (patient, *sources[:5]),
        )
        for patient, sources in sorted(builder.untied_other.items())
    ]
    return warnings + notes


def _supply_findings(builder: _Builder) -> list[Finding]:
    """Dispenses without `daysSupply` (INPUT.md edge case 15)."""
    found = []
    if builder.reach_taken:
        found.append(
            Finding(
                "info",
                "R-DATE-2",
                f"{len(builder.reach_taken)} dispense(s) carry no daysSupply: each covers its "
                "prescription's expectedSupplyDuration from whenHandedOver.",
                tuple(builder.reach_taken[:10]),
            )
        )
    if builder.one_day:
        found.append(
            Finding(
                "warning",
                "R-DATE-2",
                f"{len(builder.one_day)} dispense(s) carry no daysSupply, and their prescription "
                "no expectedSupplyDuration: each covers one day. Send daysSupply, or the "
                "prescription with its reach.",
                tuple(builder.one_day[:10]),
            )
        )
    return found


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
    message = (
        f"Substitution events refer to {patient_key}, which is not in the input: send the "
        "Patient resource with the events."
    )
    return Finding("error", "INPUT", message, (patient_key, *(c.source for c in covers)))
