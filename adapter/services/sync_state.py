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
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import Cover, Finding
from adapter.domain.walk_state import WalkState
from adapter.fhir.partition import PatientRecords, PracticeRecords, dump, load
from adapter.services.engine_version import engine_version
from adapter.settings.practice import PracticeConfig

# 2: the walk keeps held changes and a pending switch (D-32, D-33); 3: the first day of a
# Diamorphin treatment (R-DIA-2, D-173).
STATE_FORMAT = 3
ARCHIVE_FORMAT = 1
PRACTICE_FORMAT = 1
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
    # Request → the last day an administration or dispense named it: a standing order
    # stays in the profile while it is in use, however long ago it was written.
    referenced: dict[str, date] = field(default_factory=dict)
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
    # Whose Patient ids the mapping rows were made for (D-23): another base would make
    # every patient new, so a changed `ehr_base_url` is refused, not followed.
    ehr_base_url: str = ""
    mappings: str = ""  # fingerprint of the mapping files the records were read with
    # The newest day the data read so far speaks of: an event, an episode's or absence's
    # day, the last day a take-home or depot covers (sync_guard, D-47).
    newest_day: date | None = None
    # The newest day on which something happened (an administration, a dispense, a
    # prescription, a consultation; no projection such as a reach or a planned end):
    # retention holds to it (D-85).
    newest_event: date | None = None


def engine_fingerprint(config: PracticeConfig) -> str:
    """What derived results depend on besides the records: the engine (its version is
    derived from its source, engine_version.py) and the practice's configuration. (The
    mapping files are read when a resource is collected: what they decided is in the
    records, so a change of them is a finding, not a re-derivation.)"""
    digest = hashlib.sha256(engine_version().encode())
    # Where data is pulled from is no input of a derivation: a changed rate or token file
    # must not derive every patient afresh (D-133).
    digest.update(dump(replace(config, pull=None)))
    return digest.hexdigest()


def profile_of(records: PatientRecords, as_of: date, referenced: dict[str, date]) -> PatientRecords:
    """The records a later event may refer to; events themselves stay in the archive.

    A request stays while it was written or used within the horizon; an event naming one
    that dropped out makes the patient derived afresh from the archive (sync_plan).
    """
    horizon = as_of - _REQUEST_HORIZON
    requests = {
        key: r
        for key, r in records.requests.items()
        if max(r.supply_start or r.authored or date.max, referenced.get(key, date.min)) >= horizon
    }
    return replace(records, requests=requests, administrations={}, dispenses={}, encounters={})


def last_referenced(records: PatientRecords, before: dict[str, date]) -> dict[str, date]:
    """`before` with the days on which the records' events named their requests."""
    days = dict(before)
    named = [(a.request, a.end) for a in records.administrations.values()]
    named += [(d.prescription, d.day) for d in records.dispenses.values()]
    for request, day in named:
        if request is not None and day > days.get(request, date.min):
            days[request] = day
    return days


def merged_findings(kept: tuple[Finding, ...], new: list[Finding]) -> tuple[Finding, ...]:
    """A patient's findings: a new one replaces the kept one of the same kind about the
    same resource (an R-SUB-5 count that grew), the others stay."""

    def kind(f: Finding) -> tuple[str, str, str]:
        return (f.severity, f.rule, f.sources[0] if f.sources else "")

    renewed = {kind(f) for f in new}
    return (*(f for f in kept if kind(f) not in renewed), *new)


def dangling_requests(records: PatientRecords) -> set[str]:
    """Requests that events name but that were never read (arriving later, they would
    tie those events retroactively: such a batch is derived afresh)."""
    named = {a.request for a in records.administrations.values()}
    named |= {d.prescription for d in records.dispenses.values()}
    return {r for r in named if r is not None and r not in records.requests}


def undue(events: list[RegisterEvent], as_of: date) -> tuple[RegisterEvent, ...]:
    return tuple(e for e in events if e.made_on > as_of or e.date > as_of)


def load_state(fmt: int, data: bytes) -> PatientState | None:
    """A stored state, or None when it is of an older format (then derived afresh)."""
    return load(PatientState, data) if fmt == STATE_FORMAT else None
