"""The walk of a sync: each patient resumed where the last sync stopped, or derived afresh
from its archive, with the derive engine's own functions (`adapter.domain.phases`).

The step takes the planned patients (sync_plan.Patient) and returns one `Walked` value
for each: nothing planned is edited. A patient's findings stay with the patient (kept
in its state, repeated while it is walked); a patient whose stored records cannot be
read is noted as damaged (sync_damage).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from adapter.domain.codes import NameRules
from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import Doctor, Finding, PatientHistory
from adapter.domain.phases import derive_phases
from adapter.domain.walk_state import PhaseOutcome
from adapter.fhir.assemble import histories
from adapter.fhir.partition import PatientRecords, PracticeRecords, join
from adapter.services.sync_damage import UNREADABLE, Damage
from adapter.services.sync_plan import Patient, with_delta
from adapter.store.facts import Facts
from adapter.store.mappings import MappingRow


@dataclass(frozen=True, slots=True)
class Walked:
    """A patient after the walk: what was read (every record, when derived afresh), the
    history walked and its outcome (None: nothing to walk, or damaged), its findings."""

    patient: Patient
    records: PatientRecords | None = None
    history: PatientHistory | None = None
    outcome: PhaseOutcome | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def key(self) -> str:
        return self.patient.key

    @property
    def mapping(self) -> MappingRow:
        return self.patient.mapping

    @property
    def rebuilt(self) -> bool:
        return self.patient.rebuild

    def events(self) -> list[RegisterEvent]:
        """Every event of this walk, and those an earlier walk left not yet due."""
        earlier = list(self.patient.known.pending) if self.patient.resumed else []
        return earlier + (self.outcome.events if self.outcome else [])

    def all_spans(self) -> list[OpenSpan]:
        earlier = list(self.patient.known.spans) if self.patient.resumed else []
        return earlier + (self.outcome.walked_spans if self.outcome else [])


class Walker:
    def __init__(self, facts: Facts, names: NameRules, *, as_of: date, damage: Damage) -> None:
        self.facts = facts
        self.names = names
        self.as_of = as_of
        self.damage = damage

    def derive(
        self, practice: PracticeRecords, doctors: dict[str, Doctor], patients: list[Patient]
    ) -> tuple[list[Walked], list[Finding]]:
        """Each patient walked, in the order given; and the findings that belong to no
        patient."""
        resumed, sent_back, loose = self._resume(
            practice, doctors, [p for p in patients if not p.rebuild]
        )
        # Resumed patients whose new covers turn out to reach before the checkpoint are
        # sent back for a fresh derivation; so they are done afresh with the others.
        afresh = [p for p in patients if p.rebuild] + [replace(p, rebuild=True) for p in sent_back]
        rebuilt, loose_afresh = self._afresh(practice, doctors, afresh)
        walked = {w.key: w for w in [*resumed, *rebuilt]}
        return [walked[p.key] for p in patients], loose + loose_afresh

    def _afresh(
        self, practice: PracticeRecords, doctors: dict[str, Doctor], patients: list[Patient]
    ) -> tuple[list[Walked], list[Finding]]:
        if not patients:
            return [], []
        records: dict[str, PatientRecords] = {}
        for patient in patients:
            try:
                records[patient.key] = patient.full_records(self.facts)
            except UNREADABLE as exc:
                self.damage.note(patient.mapping.mapping_id, str(exc), patient.key)
        readable = [
            r
            for p in patients
            if (r := records.get(p.key)) is not None and p.mapping.mapping_id not in self.damage
        ]
        found, findings = histories(join(practice, readable), every_patient=True)
        owned, loose = _by_owner(findings, {p.key for p in patients})
        by_key = {h.patient.key: h for h in found}
        walked = []
        for patient in patients:
            history = by_key.get(patient.key)
            outcome = None
            if history is not None and patient.mapping.mapping_id not in self.damage:
                outcome = derive_phases(history, doctors, self.names, as_of=self.as_of)
            walked.append(
                Walked(
                    patient,
                    records.get(patient.key),
                    history,
                    outcome,
                    tuple(owned.get(patient.key, ())),
                )
            )
        return walked, loose

    def _resume(
        self, practice: PracticeRecords, doctors: dict[str, Doctor], patients: list[Patient]
    ) -> tuple[list[Walked], list[Patient], list[Finding]]:
        """The resumed patients walked, those sent back for a fresh derivation, and the
        findings that belong to no patient."""
        ready = [p for p in patients if p.state is not None]
        # A planned patient without a state and not derived afresh has nothing to walk.
        idle = [Walked(p) for p in patients if p.state is None]
        if not ready:
            return idle, [], []
        found, findings = histories(
            join(practice, [with_delta(p.known.profile, p.delta) for p in ready]),
            covering_requests={k for p in ready if p.delta for k in p.delta.requests},
            dispensed_before=frozenset(d for p in ready for d in p.known.dispensed),
            every_patient=True,
        )
        by_key = {h.patient.key: h for h in found}
        sent_back = [
            p
            for p in ready
            if (h := by_key.get(p.key)) is None
            or any(c.start < p.known.walk.next_day for c in h.covers)  # late data after all
        ]
        # A patient sent back gets its findings from its fresh derivation.
        back = {p.key for p in sent_back}
        going_on = [p for p in ready if p.key not in back]
        owned, loose = _by_owner(findings, {p.key for p in going_on}, drop=back)
        walked = idle
        for patient in going_on:
            state, history = patient.known, by_key[patient.key]
            history = replace(
                history,
                covers=state.carry + history.covers,
                contacts=history.contacts | frozenset(state.contacts),
            )
            outcome = derive_phases(
                history, doctors, self.names, as_of=self.as_of, resume=state.walk
            )
            walked.append(
                Walked(patient, None, history, outcome, tuple(owned.get(patient.key, ())))
            )
        return walked, sent_back, loose


def _by_owner(
    findings: list[Finding], patients: set[str], *, drop: frozenset[str] | set[str] = frozenset()
) -> tuple[dict[str, list[Finding]], list[Finding]]:
    """A patient's findings stay with the patient (repeated while it is walked); those of
    `drop` are left out; the rest belong to the run."""
    owned: dict[str, list[Finding]] = {}
    loose: list[Finding] = []
    for finding in findings:
        owner = finding.sources[0] if finding.sources else None
        if owner in drop:
            continue
        if owner in patients:
            owned.setdefault(owner, []).append(finding)
        else:
            loose.append(finding)
    return owned, loose
