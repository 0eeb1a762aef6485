"""A collection split by owner, so that sync can keep each patient's records apart.

`split` resolves every reference of a batch (its fullUrls and `urn:uuid:`s mean nothing
in the next batch) and files each record under its patient, or under the practice
(doctors, organisations, medications). `join` puts records back together as the
`Collection` the derive engine reads, so sync and derive share one engine. `merge`
applies a batch to what was stored: a resource sent again replaces its old record,
one that now yields nothing (entered-in-error) removes it.

Records are serialised with pydantic (`dump_*`, `load_*`): typed, checked on loading,
and independent of Python's pickle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from adapter.domain.model import Address, Episode, Finding, PatientFacts, Spell
from adapter.errors import StoredRecordsError
from adapter.fhir import records as rec
from adapter.fhir.collect import Collection
from adapter.fhir.medication import MedInfo
from adapter.fhir.orphans import orphan_finding, orphans
from adapter.fhir.people import PractitionerRec

if TYPE_CHECKING:  # pydantic itself loads with the first record stored or read (_adapter)
    from pydantic import TypeAdapter

T = TypeVar("T")
OrgContact = tuple[tuple[Spell[Address], ...], tuple[Spell[str], ...]]


@dataclass(frozen=True, slots=True)
class PracticeRecords:
    practitioners: dict[str, PractitionerRec] = field(default_factory=dict)
    roles: dict[str, rec.Role] = field(default_factory=dict)
    organizations: dict[str, OrgContact] = field(default_factory=dict)
    medications: dict[str, MedInfo] = field(default_factory=dict)
    custodians: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PatientRecords:
    key: str  # Patient/id
    patient: PatientFacts | None = None
    requests: dict[str, rec.Request] = field(default_factory=dict)
    administrations: dict[str, rec.Administration] = field(default_factory=dict)
    dispenses: dict[str, rec.Dispense] = field(default_factory=dict)
    episodes: dict[str, Episode] = field(default_factory=dict)
    care_teams: dict[str, rec.CareTeam] = field(default_factory=dict)
    reviews: dict[str, rec.Review] = field(default_factory=dict)  # R-DIA-2
    encounters: dict[str, rec.Contact] = field(default_factory=dict)
    encounter_episodes: dict[str, rec.EncounterLink] = field(default_factory=dict)
    compositions: dict[str, rec.Composition] = field(default_factory=dict)

    def resource_keys(self) -> set[str]:
        """Every resource key with a record here."""
        found = {self.key} if self.patient is not None else set()
        for name in _KEYED:
            found.update(getattr(self, name))
        return found


_KEYED = (
    "requests",
    "administrations",
    "dispenses",
    "episodes",
    "care_teams",
    "reviews",
    "encounters",
    "encounter_episodes",
    "compositions",
)
_PRACTICE_KEYED = ("practitioners", "roles", "organizations", "medications")


@dataclass(frozen=True, slots=True)
class Batch:
    practice: PracticeRecords
    patients: dict[str, PatientRecords]
    owners: dict[str, str | None]  # every resource key read → its patient (None: practice)
    findings: list[Finding]
    merges: dict[str, str] = field(default_factory=dict)  # merged Patient → its survivor


def split(collection: Collection) -> Batch:
    """File each record of a batch under its owner, with every reference resolved."""
    r = _Resolver(collection)
    patients: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    owners: dict[str, str | None] = dict.fromkeys(collection.seen)
    findings = list(collection.findings)

    findings += [orphan_finding(o) for o in orphans(collection)]

    def file(
        kind: str, key: str, patient: str | None, record: object, raw: str | None = None
    ) -> None:
        if patient is None:
            return  # it belongs to no patient: an orphan (orphans.py) or of no use
        patients[patient][kind][key] = record
        owners[key] = patient

    for key, request in collection.requests.items():
        resolved_request = r.request(request)
        file("requests", key, resolved_request.patient, resolved_request, request.patient)
    for key, admin in collection.administrations.items():
        resolved_admin = r.administration(admin)
        file("administrations", key, resolved_admin.patient, resolved_admin, admin.patient)
    for key, dispense in collection.dispenses.items():
        resolved_dispense = r.dispense(dispense)
        file("dispenses", key, resolved_dispense.patient, resolved_dispense, dispense.patient)
    for key, (patient_ref, episode) in collection.episodes.items():
        manager = r(episode.care_manager)
        file("episodes", key, r(patient_ref), replace(episode, care_manager=manager))
    for key, team in collection.care_teams.items():
        resolved_team = r.care_team(key, team)
        file("care_teams", key, resolved_team.patient, resolved_team)
    for key, review in collection.reviews.items():
        resolved_review = rec.Review(r(review.patient), review.day, r(review.performer))
        file("reviews", key, resolved_review.patient, resolved_review)
    for key, contact in collection.encounters.items():
        patient = r(contact.patient)
        file("encounters", key, patient, replace(contact, patient=patient))
    for key, link in collection.encounter_episodes.items():
        resolved_link = rec.EncounterLink(r(link.patient), r.all(link.episodes))
        file("encounter_episodes", key, resolved_link.patient, resolved_link)
    for key, composition in collection.compositions.items():
        resolved_composition = r.composition(composition)
        file("compositions", key, resolved_composition.subject, resolved_composition)
    facts = dict(collection.patients)
    for key in facts:
        owners[key] = key
    by_patient = {
        key: PatientRecords(key=key, patient=facts.get(key), **kinds)
        for key, kinds in patients.items()
    }
    for key, facts_of_patient in facts.items():
        by_patient.setdefault(key, PatientRecords(key=key, patient=facts_of_patient))
    merges = {
        key: survivor
        for key in collection.refs.replaced_by
        if (survivor := r(key)) is not None and survivor != key
    }
    return Batch(r.practice(), by_patient, owners, findings, merges)


class _Resolver:
    """Turns the references of one batch into resource keys (`Type/id`)."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self.resolve = collection.refs.resolve

    def __call__(self, ref: str | None) -> str | None:
        return self.resolve(ref)

    def all(self, refs: Iterable[str | None]) -> tuple[str, ...]:
        return tuple(k for k in map(self.resolve, refs) if k is not None)

    def request(self, r: rec.Request) -> rec.Request:
        return replace(
            r,
            patient=self(r.patient),
            med_ref=self(r.med_ref),
            requester=self(r.requester),
            episodes=self.all(r.episodes),
        )

    def administration(self, a: rec.Administration) -> rec.Administration:
        # Built anew, not with dataclasses.replace: a batch holds thousands of these.
        return rec.Administration(
            a.key,
            self(a.patient),
            a.med,
            self(a.med_ref),
            a.start,
            a.end,
            self(a.request),
            self(a.performer),
            self(a.episode),
            a.dependence,
            a.effect_days,
        )

    def dispense(self, d: rec.Dispense) -> rec.Dispense:
        return replace(
            d,
            patient=self(d.patient),
            med_ref=self(d.med_ref),
            prescription=self(d.prescription),
            performer=self(d.performer),
            episode=self(d.episode),
        )

    def care_team(self, key: str, team: rec.CareTeam) -> rec.CareTeam:
        refs = self.collection.refs
        owner = team.patient or next(
            (p for t, p in refs.team_patients.items() if refs.resolve(t) == key), None
        )
        members = tuple((self(m) or m, start, end) for m, start, end in team.consultants)
        return rec.CareTeam(self(owner), members)

    def composition(self, c: rec.Composition) -> rec.Composition:
        return rec.Composition(
            subject=self(c.subject),
            authors=self.all(c.authors),
            attester=self(c.attester),
            custodian=self(c.custodian),
            entries=self.all(c.entries),
        )

    def practice(self) -> PracticeRecords:
        c = self.collection
        roles = {
            key: replace(
                role, practitioner=self(role.practitioner), organization=self(role.organization)
            )
            for key, role in c.roles.items()
        }
        custodians: dict[str, str] = {}
        for doctor, custodian in c.custodians.items():
            doctor_key, custodian_key = self(doctor), self(custodian)
            if doctor_key is not None and custodian_key is not None:
                custodians.setdefault(doctor_key, custodian_key)
        return PracticeRecords(
            dict(c.practitioners), roles, dict(c.organizations), dict(c.medications), custodians
        )


# -- join and merge --------------------------------------------------------------------


def join(practice: PracticeRecords, patients: Iterable[PatientRecords]) -> Collection:
    """The Collection the derive engine reads, from stored (resolved) records."""
    collection = Collection(
        practitioners=dict(practice.practitioners),
        roles=dict(practice.roles),
        organizations=dict(practice.organizations),
        medications=dict(practice.medications),
        custodians=dict(practice.custodians),
    )
    for records in patients:
        if records.patient is not None:
            collection.patients[records.key] = records.patient
        collection.requests.update(records.requests)
        collection.administrations.update(records.administrations)
        collection.dispenses.update(records.dispenses)
        collection.episodes.update((k, (records.key, e)) for k, e in records.episodes.items())
        collection.care_teams.update(records.care_teams)
        collection.reviews.update(records.reviews)
        collection.encounters.update(records.encounters)
        collection.encounter_episodes.update(records.encounter_episodes)
        collection.compositions.update(records.compositions)
    return collection


def merge_patient(old: PatientRecords, new: PatientRecords, seen: set[str]) -> PatientRecords:
    """`old` with the batch applied: every key the batch read is replaced or removed."""
    values: dict[str, Any] = {
        name: {k: v for k, v in getattr(old, name).items() if k not in seen} | getattr(new, name)
        for name in _KEYED
    }
    patient = new.patient if new.patient is not None or old.key in seen else old.patient
    return PatientRecords(key=old.key, patient=patient, **values)


def without(records: PatientRecords, keys: set[str]) -> PatientRecords:
    """The records with `keys` taken out (a resource that moved to another patient)."""
    values = {
        name: {k: v for k, v in getattr(records, name).items() if k not in keys} for name in _KEYED
    }
    patient = None if records.key in keys else records.patient
    return PatientRecords(key=records.key, patient=patient, **values)


def rekey(records: PatientRecords, key: str) -> PatientRecords:
    """A merged patient's records under the key of the patient that replaced it (the
    survivor's own Patient resource comes with the batch)."""
    return PatientRecords(
        key=key,
        patient=None,
        requests={k: replace(r, patient=key) for k, r in records.requests.items()},
        administrations={k: replace(a, patient=key) for k, a in records.administrations.items()},
        dispenses={k: replace(d, patient=key) for k, d in records.dispenses.items()},
        episodes=dict(records.episodes),
        care_teams={k: replace(t, patient=key) for k, t in records.care_teams.items()},
        reviews={k: replace(v, patient=key) for k, v in records.reviews.items()},
        encounters={k: replace(c, patient=key) for k, c in records.encounters.items()},
        encounter_episodes={
            k: replace(e, patient=key) for k, e in records.encounter_episodes.items()
        },
        compositions={k: replace(c, subject=key) for k, c in records.compositions.items()},
    )


def merge_practice(
    old: PracticeRecords, new: PracticeRecords, seen: AbstractSet[str]
) -> PracticeRecords:
    values: dict[str, Any] = {
        name: {k: v for k, v in getattr(old, name).items() if k not in seen} | getattr(new, name)
        for name in _PRACTICE_KEYED
    }
    return PracticeRecords(**values, custodians=old.custodians | new.custodians)


# -- serialisation ---------------------------------------------------------------------


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(kind: type[T]) -> TypeAdapter[T]:
    """One TypeAdapter per type: building one compiles a validator, which is slow."""
    found = _ADAPTERS.get(kind)
    if found is None:
        # Imported here: the stateful commands that store no records (reports, audit,
        # keys …) start without pydantic.
        from pydantic import TypeAdapter  # noqa: PLC0415

        found = _ADAPTERS[kind] = TypeAdapter(kind)
    return found


def dump(value: object) -> bytes:
    return _adapter(type(value)).dump_json(value)


def load(kind: type[T], data: bytes) -> T:
    from pydantic import ValidationError  # noqa: PLC0415 (loaded by _adapter anyway)

    try:
        return _adapter(kind).validate_json(data)
    except ValidationError as exc:
        # Never the input in the message or the traceback: it is decrypted patient data.
        where = ".".join(str(part) for part in exc.errors()[0]["loc"]) if exc.errors() else "?"
        msg = (
            f"stored {kind.__name__} cannot be read ({exc.error_count()} problem(s), first at "
            f"{where}): it was written by another version or is damaged; sync a full export "
            "again with --rebuild"
        )
        raise StoredRecordsError(msg) from None


def record_digests(batch: Batch) -> dict[str, bytes]:
    """The canonical bytes of each resource's record, to tell a resource sent again
    unchanged (skipped) from one that changed (applied); b"" when it yielded none."""
    result = dict.fromkeys(batch.owners, b"")
    for name in _PRACTICE_KEYED:
        for key, value in getattr(batch.practice, name).items():
            result[key] = dump(value)
    for records in batch.patients.values():
        if records.patient is not None:
            result[records.key] = dump(records.patient)
        for name in _KEYED:
            for key, value in getattr(records, name).items():
                result[key] = dump(value)
    return result


def drop_before(
    batch: Batch, cutoffs: Mapping[str, date]
) -> tuple[Batch, dict[str, frozenset[str]]]:
    """The batch without the events of each patient in `cutoffs` (patient key → day) that
    ended before its day: a treatment retention ended (D-81). A patient left without a
    drug event is taken out with every resource of it: nothing of it is kept again, and
    its mapping is not made anew (a contact or an episode alone never registers anyone).
    What is dropped is taken out of `owners` too, so that it is neither remembered nor
    mistaken for a removal. Also returns patient key → the resources dropped of it."""
    dropped: dict[str, frozenset[str]] = {}
    patients = {}
    for key, records in batch.patients.items():
        cutoff = cutoffs.get(key)
        old = ended_before(records, cutoff) if cutoff is not None else set()
        left = without(records, old) if old else records
        if old and not (left.requests or left.administrations or left.dispenses):
            dropped[key] = frozenset(records.resource_keys() | {key})
            continue
        if old:
            dropped[key] = frozenset(old)
        patients[key] = left
    gone = {k for keys in dropped.values() for k in keys}
    owners = {k: v for k, v in batch.owners.items() if k not in gone}
    return Batch(batch.practice, patients, owners, batch.findings, batch.merges), dropped


def ended_before(records: PatientRecords, cutoff: date) -> set[str]:
    """The patient's events (drugs and contacts) whose last day lies before `cutoff`."""
    old = {k for k, a in records.administrations.items() if a.end < cutoff}
    old |= {
        k for k, d in records.dispenses.items() if d.day + timedelta(days=d.days or 1) <= cutoff
    }
    old |= {
        k
        for k, r in records.requests.items()
        if (start := r.supply_start or r.authored) is not None
        and start + timedelta(days=r.supply_days or 1) <= cutoff
    }
    old |= {k for k, c in records.encounters.items() if c.days and max(c.days) < cutoff}
    return old
