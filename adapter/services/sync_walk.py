"""The walk of a sync: each patient resumed where the last sync stopped, or derived afresh
from its archive, with the derive engine's own functions (`adapter.domain.phases`).

A patient's findings stay with the patient (kept in its state, repeated while it is
walked); a patient whose stored records cannot be read is noted as damaged (sync_damage).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from adapter.domain.codes import NameRules
from adapter.domain.model import Doctor, Finding
from adapter.domain.phases import derive_phases
from adapter.fhir.assemble import histories
from adapter.fhir.partition import PracticeRecords, join
from adapter.services.sync_damage import UNREADABLE, Damage
from adapter.services.sync_plan import Patient, with_delta
from adapter.store.facts import Facts


class Walker:
    def __init__(
        self,
        facts: Facts,
        names: NameRules,
        *,
        as_of: date,
        damage: Damage,
        findings: list[Finding],
    ) -> None:
        """`findings`: the run's list, which findings that belong to no patient join."""
        self.facts = facts
        self.names = names
        self.as_of = as_of
        self.damage = damage
        self.findings = findings

    def derive(
        self, practice: PracticeRecords, doctors: dict[str, Doctor], patients: list[Patient]
    ) -> None:
        self._resume(practice, doctors, [p for p in patients if not p.rebuild])
        # Resumed patients whose new covers turn out to reach before the checkpoint were
        # marked for a fresh derivation; so they are done afresh with the others.
        self._afresh(practice, doctors, [p for p in patients if p.rebuild])

    def _afresh(
        self, practice: PracticeRecords, doctors: dict[str, Doctor], patients: list[Patient]
    ) -> None:
        if not patients:
            return
        for patient in patients:
            try:
                patient.records = patient.full_records(self.facts)
            except UNREADABLE as exc:
                self.damage.note(patient.mapping.mapping_id, str(exc), patient.key)
        collection = join(
            practice,
            [
                p.records
                for p in patients
                if p.records is not None and p.mapping.mapping_id not in self.damage
            ],
        )
        found, findings = histories(collection, every_patient=True)
        self._file_findings(findings, patients)
        by_key = {h.patient.key: h for h in found}
        for patient in patients:
            patient.history = by_key.get(patient.key)
            if patient.history is not None and patient.mapping.mapping_id not in self.damage:
                patient.outcome = derive_phases(
                    patient.history, doctors, self.names, as_of=self.as_of
                )

    def _resume(
        self, practice: PracticeRecords, doctors: dict[str, Doctor], patients: list[Patient]
    ) -> None:
        ready = [p for p in patients if p.state is not None]
        if not ready:
            return
        found, findings = histories(
            join(practice, [with_delta(p.known.profile, p.delta) for p in ready]),
            covering_requests={k for p in ready if p.delta for k in p.delta.requests},
            dispensed_before=frozenset(d for p in ready for d in p.known.dispensed),
            every_patient=True,
        )
        by_key = {h.patient.key: h for h in found}
        for patient in ready:
            state, history = patient.known, by_key.get(patient.key)
            if history is None or any(c.start < state.walk.next_day for c in history.covers):
                patient.rebuild = True  # late data after all: derived afresh
                continue
            patient.history = replace(
                history,
                covers=state.carry + history.covers,
                contacts=history.contacts | frozenset(state.contacts),
            )
            patient.outcome = derive_phases(
                patient.history,
                doctors,
                self.names,
                as_of=self.as_of,
                resume=state.walk,
            )
        # A patient sent back for a fresh derivation gets its findings from that one.
        abandoned = {p.key for p in ready if p.rebuild}
        kept = [f for f in findings if not (f.sources and f.sources[0] in abandoned)]
        self._file_findings(kept, [p for p in ready if not p.rebuild])

    def _file_findings(self, findings: list[Finding], patients: list[Patient]) -> None:
        """A patient's findings stay with the patient (repeated while it is walked)."""
        by_key = {p.key: p for p in patients}
        for finding in findings:
            owner = by_key.get(finding.sources[0]) if finding.sources else None
            if owner is None:
                self.findings.append(finding)
            else:
                owner.new_findings.append(finding)
