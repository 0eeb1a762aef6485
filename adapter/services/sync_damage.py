"""Patients whose stored data cannot be read in this sync (issue 9.6).

One damaged ciphertext (a mapping row's codes, a report's payload, a patient's stored
records, a data key) used to stop every sync with an error that named no row. Now such a
patient is left exactly as it is, with an `error` finding that names the mapping and the
row, and every other patient is synced: nothing of the damaged one is derived, recorded,
kept or remembered as read, so that once it is repaired the next sync takes it up as if
the run had not been. A damaged stored *state* needs no repair: it is derived afresh from
the patient's stored records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from adapter.domain.model import Finding
from adapter.domain.reconcile import PRACTICE
from adapter.errors import DamagedDataError, StoredRecordsError
from adapter.services.sync_plan import Changes, Patient, from_archive
from adapter.store.facts import Facts
from adapter.store.mappings import MappingRow
from adapter.store.workspace import Workspace

UNREADABLE = (DamagedDataError, StoredRecordsError)


class _OfAMapping(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def mapping(self) -> MappingRow: ...


P = TypeVar("P", bound=_OfAMapping)


@dataclass(slots=True)
class Damage:
    problems: dict[str, str] = field(default_factory=dict)  # mapping id → what is damaged
    patients: dict[str, str] = field(default_factory=dict)  # mapping id → Patient/… key

    def note(self, mapping_id: str, problem: str, patient: str | None = None) -> None:
        self.problems.setdefault(mapping_id, problem)
        if patient is not None:
            self.patients[mapping_id] = patient

    def __contains__(self, mapping_id: object) -> bool:
        return mapping_id in self.problems

    def readable(
        self, space: Workspace, facts: Facts, patients: list[Patient], changes: Changes
    ) -> tuple[list[Patient], Changes]:
        """The patients whose stored data can be read, and the changes less the damaged
        ones' resources. One whose stored state could not be read (`facts.unreadable`) is
        derived afresh from its archive; other damage leaves the patient out."""
        walked = {p.mapping.mapping_id for p in patients}
        patients = list(patients)
        for mapping_id in facts.unreadable:
            if mapping_id in walked:
                continue  # its state is None now: it is derived afresh
            try:
                patient = from_archive(space, facts, mapping_id)
            except UNREADABLE as exc:
                self.note(mapping_id, str(exc))
                continue
            if patient is not None:
                patients.append(replace(patient, rebuild=True))
        self.check(space, patients)
        return self.leave_out(patients, changes)

    def check(self, space: Workspace, patients: Iterable[Patient]) -> None:
        """Note the walked patients whose data key or codes cannot be read (the codes are
        kept at the end of the run, when a failure would stop everyone), and those whose
        index row is damaged."""
        opened: list[Patient] = []
        for patient in patients:
            if patient.mapping.mapping_id in self:
                continue
            if patient.damaged is not None:  # its index row (sync_plan)
                self.note(patient.mapping.mapping_id, patient.damaged, patient.key)
                continue
            opened.append(patient)
        codes = space.mappings.codes_of_many([p.mapping for p in opened])  # one query
        for patient in opened:
            found = codes[patient.mapping.mapping_id]
            if isinstance(found, UNREADABLE) and patient.mapping.mapping_id not in self:
                self.note(patient.mapping.mapping_id, str(found), patient.key)

    def leave_out(self, patients: list[P], changes: Changes) -> tuple[list[P], Changes]:
        """The patients to keep, and the changes less the damaged ones' resources (they
        are not remembered as read, so the next sync reads them again)."""
        damaged = {p.key for p in patients if p.mapping.mapping_id in self}
        changes = changes.without(
            {k for k in changes.keys if changes.owner_keys.get(k, k) in damaged}
        )
        for patient in patients:
            if patient.mapping.mapping_id in self:
                self.patients.setdefault(patient.mapping.mapping_id, patient.key)
        return [p for p in patients if p.mapping.mapping_id not in self], changes

    def findings(self) -> list[Finding]:
        return [self._finding(m, problem) for m, problem in sorted(self.problems.items())]

    def _finding(self, mapping_id: str, problem: str) -> Finding:
        if mapping_id == PRACTICE:
            return Finding(
                "error",
                "INPUT",
                f"A notice of the practice cannot be read: {problem} No notice was recorded "
                "in this sync. Restore the report from a backup (README: a damaged row).",
            )
        patient = self.patients.get(mapping_id)
        who = f"{patient} (mapping {mapping_id})" if patient else f"mapping {mapping_id}"
        return Finding(
            "error",
            "INPUT",
            f"The stored data of {who} cannot be read: {problem} Nothing of this patient was "
            "derived, recorded or changed by this sync; the other patients were. See what is "
            f"damaged with `substreg inspect mapping {mapping_id}` and restore it from a "
            "backup (README: a damaged row).",
            (patient,) if patient else (),
        )
