"""The practice's records as sync keeps them, read back whole: what was pushed, pulled,
imported or synced from files, once sync has read it (issue 13, D-130).

Sync keeps every patient's records in its sealed archive and the practice's own (the
doctors, organisations) in the practice state; a fresh derivation of a patient reads the
archive back (`sync_plan.Patient.full_records`). This reads every archive the same way
and joins them to the practice's records: the same collection `read_practice` makes of
files, for use cases that walk the data without syncing it (`substreg forecast` and
`GET /forecast`, D-190). A resource pushed and not yet synced (the debounce, D-130) is not
in it yet. An archive that cannot be read fails the whole read (fail closed): a
forecast without a patient would say "nothing due" where something is.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapter.fhir.doctors import build_doctors
from adapter.fhir.partition import PatientRecords, PracticeRecords, join, load
from adapter.mappings import Mappings
from adapter.services.derive import PracticeData
from adapter.services.sync_plan import from_archive
from adapter.services.sync_state import PRACTICE_FORMAT, PracticeState
from adapter.settings.practice import PracticeConfig
from adapter.store.workspace import Workspace


@dataclass(frozen=True, slots=True)
class StoredPractice:
    """The practice's data from the store, and each patient's pseudonym: its resource key
    ("Patient/p1") → its mapping id, the id the ledger and the API name it by."""

    practice: PracticeData
    pseudonyms: dict[str, str]


def stored_practice(space: Workspace, config: PracticeConfig, mappings: Mappings) -> StoredPractice:
    """Every record sync has kept, as one collection (read in the caller's transaction)."""
    facts = space.facts
    patients: list[PatientRecords] = []
    pseudonyms: dict[str, str] = {}
    for mapping_id in sorted(facts.archived_patients()):
        patient = from_archive(space, facts, mapping_id)
        if patient is None:  # shredded by retention: nothing of it is read again
            continue
        records = patient.full_records(facts)
        patients.append(records)
        pseudonyms[records.key] = mapping_id
    collection = join(_practice_records(space), patients)
    doctors = build_doctors(collection, config)
    return StoredPractice(PracticeData(collection, doctors, mappings.names), pseudonyms)


def _practice_records(space: Workspace) -> PracticeRecords:
    stored = space.facts.practice()
    if stored is None or stored[0] != PRACTICE_FORMAT:
        return PracticeRecords()  # nothing synced yet
    return load(PracticeState, stored[1]).records


def last_sync_engine(space: Workspace) -> str | None:
    """The engine fingerprint of the last sync (engine and practice configuration), or
    None when nothing was synced: the configuration itself is not kept (D-252)."""
    stored = space.facts.practice()
    if stored is None or stored[0] != PRACTICE_FORMAT:
        return None
    return load(PracticeState, stored[1]).engine
