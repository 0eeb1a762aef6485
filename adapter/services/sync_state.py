"""What sync keeps of each patient and of the practice between runs (sealed by the store).

A patient's state holds the records later events may refer to (the profile: the
Patient, requests, episodes, care teams), the walk's checkpoint, the covers that reach
past it, the ended spans, the events not yet due, and the patient's findings. With it a
sync of new days resumes the walk instead of re-reading the patient's whole history
(tests/domain/test_phases_resume.py proves the two agree). Everything a state was
derived under is named by `engine`; when that changes, the patient is derived afresh.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, timedelta

from adapter.config import PracticeConfig
from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import Cover, Finding
from adapter.domain.phases import WalkState
from adapter.fhir.partition import PatientRecords, PracticeRecords, dump

STATE_FORMAT = 1
ARCHIVE_FORMAT = 1
PRACTICE_FORMAT = 1
# Bump when the engine's results change for the same records: states re-derive.
ENGINE_VERSION = "2026-12-01.1"
_REQUEST_HORIZON = timedelta(days=120)  # older requests drop out of the profile


@dataclass(frozen=True, slots=True)
class PatientState:
    key: str  # Patient/id (sealed with the rest)
    profile: PatientRecords
    dispensed: tuple[str, ...]  # requests that have dispenses (their own reach is void)
    dangling: tuple[str, ...]  # requests referred to but never read
    walk: WalkState
    carry: tuple[Cover, ...]  # covers reaching `walk.next_day` or later
    contacts: tuple[date, ...]  # contact days from `walk.next_day` on
    spans: tuple[OpenSpan, ...]  # ended spans (R-DOC-2, notices)
    pending: tuple[RegisterEvent, ...]  # events not yet due (R-DATE-3)
    findings: tuple[Finding, ...]
    engine: str
    # The data contradicts reports made (R-EP-5): derived afresh on every sync, so the
    # finding stays until the data is corrected or the corrections are accepted.
    unresolved: bool = False

    @property
    def live(self) -> bool:
        """Walked on every sync: a phase is open, something is due later, a contradiction
        waits, or a detox episode is in the history (its outcome changes with the day)."""
        detox = any(e.kind == "detox" for e in self.profile.episodes.values())
        busy = self.walk.phase is not None or bool(self.pending or self.carry)
        return busy or detox or self.unresolved


@dataclass(frozen=True, slots=True)
class PracticeState:
    records: PracticeRecords
    engine: str


def engine_fingerprint(mappings_fingerprint: str, config: PracticeConfig) -> str:
    """What derived results depend on besides the records: code, mapping files, config."""
    digest = hashlib.sha256(ENGINE_VERSION.encode())
    digest.update(mappings_fingerprint.encode())
    digest.update(dump(config))
    return digest.hexdigest()


def profile_of(records: PatientRecords, as_of: date) -> PatientRecords:
    """The records a later event may refer to; events themselves stay in the archive."""
    horizon = as_of - _REQUEST_HORIZON
    requests = {
        key: r
        for key, r in records.requests.items()
        if (r.supply_start or r.authored or date.max) >= horizon
    }
    return replace(records, requests=requests, administrations={}, dispenses={}, encounters={})


def dangling_requests(records: PatientRecords) -> set[str]:
    """Requests that events name but that were never read (arriving later, they would
    tie those events retroactively: such a batch is derived afresh)."""
    named = {a.request for a in records.administrations.values()}
    named |= {d.prescription for d in records.dispenses.values()}
    return {r for r in named if r is not None and r not in records.requests}


def undue(events: list[RegisterEvent], as_of: date) -> tuple[RegisterEvent, ...]:
    return tuple(e for e in events if e.made_on > as_of or e.date > as_of)
