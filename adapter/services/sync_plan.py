"""Which patients a sync walks, and whether each resumes or is derived afresh.

A patient resumes where the last sync stopped only when the batch adds nothing but
later days: new requests, administrations, dispenses and contacts, none before the
checkpoint, none referring to what the patient's state does not know. Anything else
(a changed or removed resource, a new name, episode or consulting doctor, a detox
episode, a dispense of a prescription whose own reach was counted) re-derives the
patient from the archive. Both give the same result; resuming is only faster.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date

from adapter.crypto import blind_index
from adapter.domain.model import Finding
from adapter.errors import StoredRecordsError
from adapter.fhir import records as rec
from adapter.fhir.partition import (
    Batch,
    PatientRecords,
    load,
    merge_patient,
    record_digests,
    rekey,
    without,
)
from adapter.mappings import Mappings
from adapter.services.sync_state import ARCHIVE_FORMAT, PatientState, load_state
from adapter.settings.practice import PracticeConfig
from adapter.store.facts import Facts
from adapter.store.mapping_index import LOST, lost_index
from adapter.store.mappings import MappingRow, canonical_reference
from adapter.store.workspace import Workspace

_NOT_INCREMENTAL = ("episodes", "care_teams", "encounter_episodes", "compositions")


@dataclass(frozen=True, slots=True)
class SyncOptions:
    as_of: date
    config: PracticeConfig
    mappings: Mappings
    accept_corrections: bool = False
    rebuild: bool = False
    accept_mass_end: bool = False  # a stale export may end many treatments (D-48)
    # with accept_mass_end: at most this many ends are accepted (the number a person saw
    # held, D-181); more is refused again. None: any number (`--accept-mass-end`).
    mass_end_limit: int | None = None
    # run by the service (a push, a notification, its timer): a run refused as a mass end
    # waits for a person at GET /sync/held (D-181), and its finding says so, not the
    # command line's --accept-mass-end (D-236)
    service: bool = False


@dataclass(frozen=True, slots=True)
class Changes:
    """The resources of a batch that are new or changed since they were last read."""

    keys: frozenset[str]
    moved_from: dict[str, str | None]  # key read before → mapping id of its owner then
    indexes: dict[str, bytes]  # key → blind index
    digests: dict[str, bytes]  # key → keyed digest of its record
    version: int  # of the index key both are made with
    owner_keys: dict[str, str | None]  # key → patient key in this batch
    # unchanged, found under an old index version → (owner, that version, its index there)
    rekeyed: dict[str, tuple[str | None, int, bytes]]
    # changed (a retention mark among them: its digest is blank), found under an old index
    # version → (that version, its index there, the digest kept): moved to the active one
    stale: dict[str, tuple[int, bytes, bytes]] = field(default_factory=dict)

    def without(self, keys: set[str]) -> Changes:
        """These changes less `keys` (resources not to be remembered as read)."""
        return replace(self, keys=self.keys - keys)

    def remember(self, facts: Facts, mapping_ids: dict[str, str]) -> None:
        """Keep (index, owner, digest) of the changed resources for the next run."""
        known: list[tuple[bytes, str | None, bytes]] = []
        new: list[tuple[bytes, str | None, bytes]] = []
        for key in sorted(self.keys):
            patient = self.owner_keys.get(key)
            owner = mapping_ids.get(patient) if patient is not None else None
            row = (self.indexes[key], owner, self.digests[key])
            (known if key in self.moved_from else new).append(row)
        new += [
            (self.indexes[k], owner, self.digests[k]) for k, (owner, _, _) in self.rekeyed.items()
        ]
        # A row found under an old index key and not kept anew in this run (the marks of
        # a shredded treatment, whose events sync left out, D-81) is kept as it was under
        # the active key, so that the old key can be retired once sync met them (D-182).
        known += [
            (self.indexes[k], self.moved_from.get(k), digest)
            for k, (_, _, digest) in self.stale.items()
            if k not in self.keys
        ]
        facts.remember(known, self.version)
        facts.remember(new, self.version, new=True)
        facts.forget([(ver, idx) for _, ver, idx in self.rekeyed.values()])
        facts.forget([(ver, idx) for ver, idx, _ in self.stale.values()])


def seen_text(base_url: str, key: str) -> str:
    """What `resource_seen` keeps the blind index of, for the resource `Type/id`."""
    return f"resource|{base_url}|{key}"


def changed_keys(space: Workspace, batch: Batch, base_url: str) -> Changes:
    """Compare each record of the batch with the digest kept from the last time it was read.

    During an index-key rotation the digests kept under the old version count too (dual
    lookup, as for patients); what is found there unchanged is kept again under the new one.
    """
    digests = {k: hashlib.sha256(v).hexdigest() for k, v in record_digests(batch).items()}
    facts = space.facts
    versions = space.keys.index_versions()  # newest (active) first
    version = versions[0][0]
    indexes: dict[str, bytes] = {}
    keyed: dict[str, bytes] = {}
    unseen = set(digests)
    keys: set[str] = set()
    moved_from: dict[str, str | None] = {}
    rekeyed: dict[str, tuple[str | None, int, bytes]] = {}
    stale: dict[str, tuple[int, bytes, bytes]] = {}
    for number, (ver, key) in enumerate(versions):
        idx = {k: blind_index(key, seen_text(base_url, k)) for k in unseen}
        dig = {k: blind_index(key, "record|" + digests[k]) for k in unseen}
        if number == 0:
            indexes, keyed = idx, dig
        known = facts.seen(list(idx.values()), ver)
        for k in list(unseen):
            before = known.get(idx[k])
            if before is None:
                continue
            unseen.discard(k)
            if before[1] != dig[k]:
                keys.add(k)
                moved_from[k] = before[0]
                if number > 0:
                    stale[k] = (ver, idx[k], before[1])
            elif number > 0:
                rekeyed[k] = (before[0], ver, idx[k])  # unchanged: kept again under the active one
    keys |= unseen  # read for the first time
    owners = dict(batch.owners)
    return Changes(frozenset(keys), moved_from, indexes, keyed, version, owners, rekeyed, stale)


@dataclass(frozen=True, slots=True)
class Patient:
    """One patient as the run plans it: its mapping row, the state the last sync left,
    what the batch adds and takes away, and whether it is derived afresh. Each step of
    the run returns new values (sync_walk.Walked), none edits this one."""

    key: str
    mapping: MappingRow
    created: bool = False
    state: PatientState | None = None
    delta: PatientRecords | None = None
    removed: frozenset[str] = frozenset()
    rebuild: bool = False
    continues: str | None = None  # goes on under this merged patient's mapping row
    damaged: str | None = None  # found only by its sealed reference: its index is damaged

    @property
    def known(self) -> PatientState:
        assert self.state is not None  # only asked of a resumed patient
        return self.state

    @property
    def resumed(self) -> bool:
        return not self.rebuild and self.state is not None

    def full_records(self, facts: Facts) -> PatientRecords:
        """Every record of the patient: the archive, what moved away taken out, the batch in."""
        records = PatientRecords(key=self.key)
        for blob in facts.archive(self.mapping.mapping_id, self.mapping.dek_id, ARCHIVE_FORMAT):
            stored = load(PatientRecords, blob)
            if stored.key != self.key:  # the archive of the patient merged into this one
                stored = rekey(stored, self.key)
            records = merge_patient(records, stored, stored.resource_keys())
        if self.removed:
            records = without(records, set(self.removed))
        # What moved away or now yields nothing is in `removed`; the delta holds only what
        # changed, so records read again unchanged stay as they were.
        return with_delta(records, self.delta)


def with_delta(profile: PatientRecords, delta: PatientRecords | None) -> PatientRecords:
    return profile if delta is None else merge_patient(profile, delta, delta.resource_keys())


def gather(
    space: Workspace,
    facts: Facts,
    batch: Batch,
    changes: Changes,
    *,
    engine: str,
    rebuild_all: bool,
    base_url: str,
) -> tuple[list[Patient], Changes, list[Finding]]:
    """The patients to walk: those the batch changes, every live one, and (when
    everything is derived afresh) every one with a state; the changes less what is not
    kept (the EHR's other patients); and findings about merges."""
    findings: list[Finding] = []
    continued = _merges(space, batch, base_url, findings)
    patients, changes = _touched(space, batch, changes, base_url, continued)
    by_mapping = {p.mapping.mapping_id: p.key for p in patients.values()}
    before = {owner for owner in changes.moved_from.values() if owner is not None}
    rows = facts.states([*by_mapping, *before], with_live=True, every=rebuild_all)
    for row in rows:
        try:
            state = load_state(row.format, row.data)
        except StoredRecordsError as exc:  # derived afresh from the archive (sync_damage)
            facts.unreadable[row.mapping_id] = str(exc)
            continue
        key = by_mapping.get(row.mapping_id)
        if key is None and state is not None:
            key = by_mapping[row.mapping_id] = state.key
            patients[key] = Patient(key, space.mappings.get(row.mapping_id))
        if key is not None:
            patients[key] = replace(patients[key], state=state)
        elif row.live:
            before.add(row.mapping_id)  # a live state of another format (or taken back)
    for mapping_id in before - set(by_mapping):
        unwalked = from_archive(space, facts, mapping_id)  # read before, never walked
        if unwalked is not None:
            patients[unwalked.key] = unwalked
            by_mapping[mapping_id] = unwalked.key
    removed = _moved_away(patients, by_mapping, changes)
    planned = [replace(p, removed=frozenset(removed.get(p.key, ()))) for p in patients.values()]
    planned = [
        replace(p, rebuild=rebuild_all or _needs_rebuild(p, changes, engine)) for p in planned
    ]
    return sorted(planned, key=lambda p: p.key), changes, findings


def _moved_away(
    patients: dict[str, Patient], by_mapping: dict[str, str], changes: Changes
) -> dict[str, set[str]]:
    """Patient key → the resources read under it before that belong elsewhere now."""
    removed: dict[str, set[str]] = {}
    for key, owner in changes.moved_from.items():
        old = patients.get(by_mapping.get(owner or "", ""))
        if old is not None and changes.owner_keys.get(key) != old.key and old.continues is None:
            removed.setdefault(old.key, set()).add(key)
    return removed


def _touched(
    space: Workspace, batch: Batch, changes: Changes, base_url: str, continued: dict[str, str]
) -> tuple[dict[str, Patient], Changes]:
    """The batch's patients with something new, each with its mapping row; the changes
    less the resources of patients nothing is kept of."""
    touched = {
        key: canonical_reference(base_url, key.split("/", 1)[1])
        for key, records in batch.patients.items()
        if changes.keys & (records.resource_keys() | {key}) and key not in continued.values()
    }
    known = space.mappings.find_many(list(touched.values()))
    # A patient the index does not find may be one whose index row is damaged: never a
    # second mapping for them (issue 9 review); they are left as they are (sync_damage).
    lost = lost_index(space.mappings, [r for r in touched.values() if r not in known])
    patients: dict[str, Patient] = {}
    for key, reference in touched.items():
        if reference in lost:
            patients[key] = Patient(key, lost[reference], damaged=LOST)
            continue
        if reference not in known and not _worth_keeping(batch.patients[key]):
            # The EHR's other patients (a Patient, an Encounter, nothing tied to a drug):
            # nothing is kept of them (data minimisation), and their digests are not
            # remembered, so their resources count as new when they come with events.
            changes = changes.without(batch.patients[key].resource_keys() | {key})
            continue
        mapping, created = space.mappings.find_or_create(
            reference, known=known.get(reference), looked_up=True
        )
        patients[key] = Patient(
            key,
            mapping,
            created,
            delta=_restricted(batch.patients[key], set(changes.keys)),
            continues=continued.get(key),
        )
    return patients, changes


def _worth_keeping(records: PatientRecords) -> bool:
    """Whether a patient new to us has anything the register could ever be told of."""
    events: list[rec.Request | rec.Administration | rec.Dispense] = [
        *records.requests.values(),
        *records.administrations.values(),
        *records.dispenses.values(),
    ]
    drug = any((e.med is not None and e.med.substance is not None) or e.med_ref for e in events)
    return drug or bool(records.episodes)


def _merges(
    space: Workspace, batch: Batch, base_url: str, findings: list[Finding]
) -> dict[str, str]:
    """Patients merged in the EHR (Patient.link replaced-by). A survivor new to us goes on
    under the merged patient's mapping row, so its registration goes on under the code
    already reported (R-CODE-8); survivor key → merged key."""
    continued: dict[str, str] = {}
    for merged, survivor in batch.merges.items():
        old, new = (canonical_reference(base_url, k.split("/", 1)[1]) for k in (merged, survivor))
        found = space.mappings.find_many([old, new])
        if old in found and new not in found:
            space.mappings.add_alias(found[old], new)
            continued[survivor] = merged
        elif old in found and found[old] != found[new]:
            findings.append(_merge_of_two_registered(merged, survivor))
    return continued


def _merge_of_two_registered(merged: str, survivor: str) -> Finding:
    return Finding(
        "error",
        "R-EP-4",
        f"{merged} was merged into {survivor} in the EHR, and both were reported already: the "
        "register may see a double treatment. End the merged patient's registration under "
        "its code (its reports stay as they are) and check the survivor's.",
        (merged, survivor),
    )


def from_archive(space: Workspace, facts: Facts, mapping_id: str) -> Patient | None:
    """A patient known only from its archive (its key is in the first batch)."""
    mapping = space.mappings.get(mapping_id)
    if mapping.status == "shredded":
        return None
    blobs = facts.archive(mapping_id, mapping.dek_id, ARCHIVE_FORMAT)
    return Patient(load(PatientRecords, blobs[0]).key, mapping) if blobs else None


def _restricted(records: PatientRecords, keys: set[str]) -> PatientRecords:
    """Only the records that changed."""
    return without(records, records.resource_keys() - keys)


def _needs_rebuild(patient: Patient, changes: Changes, engine: str) -> bool:
    state, delta = patient.state, patient.delta
    if state is None or state.engine != engine or patient.removed or state.unresolved:
        return True
    if patient.continues is not None or state.key != patient.key:
        return True  # a merged patient's records, taken over
    if any(e.kind == "detox" for e in state.profile.episodes.values()):
        return True  # a detox's outcome depends on the day, new data or not (R-NOT-1, R-NOT-5)
    if delta is None:
        return False  # a live patient with nothing new: the walk goes on
    return _reaches_back(state, delta, changes)


def _reaches_back(state: PatientState, delta: PatientRecords, changes: Changes) -> bool:
    """Whether the batch could change what the walk decided before its checkpoint."""
    known = set(state.profile.requests) | set(delta.requests)
    void_reach = [
        d.prescription
        for d in delta.dispenses.values()
        if d.prescription is not None
        and d.prescription not in delta.requests
        and d.prescription not in state.dispensed
    ]  # a prescription's own reach is void once it has dispenses (INPUT.md edge case 2)
    next_day = state.walk.next_day
    return (
        any(key in changes.moved_from for key in delta.resource_keys())  # changed, not new
        or delta.patient is not None
        or any(getattr(delta, name) for name in _NOT_INCREMENTAL)
        or bool(set(delta.requests) & set(state.dangling))  # ties events read earlier
        or bool(void_reach)
        or any(
            a.request is not None and a.request not in known for a in delta.administrations.values()
        )
        or any(day < next_day for c in delta.encounters.values() for day in c.days)
    )
