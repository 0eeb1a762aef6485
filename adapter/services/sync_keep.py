"""What a sync keeps of each patient it walked: the archive, the next state, the mapping
row's codes and dates (the last step of `adapter.services.sync`)."""

from __future__ import annotations

from datetime import date

from adapter.domain.events import OpenSpan
from adapter.domain.model import Finding, Report
from adapter.domain.pipeline import unique_findings
from adapter.domain.walk_state import STANDING_RULES
from adapter.fhir.partition import dump
from adapter.services.sync_plan import with_delta
from adapter.services.sync_state import (
    ARCHIVE_FORMAT,
    STATE_FORMAT,
    PatientState,
    dangling_requests,
    last_referenced,
    merged_findings,
    profile_of,
    undue,
)
from adapter.services.sync_walk import Walked
from adapter.store.facts import Facts, StoredState
from adapter.store.mappings import MappingRow
from adapter.store.runs import RunJournal
from adapter.store.workspace import Workspace


class Keeper:
    def __init__(
        self,
        space: Workspace,
        facts: Facts,
        *,
        as_of: date,
        engine: str,
        journal: RunJournal | None = None,
    ) -> None:
        """`journal`: where the rows are noted as they were before (for `runs undo`)."""
        self.space = space
        self.facts = facts
        self.as_of = as_of
        self.engine = engine
        self.journal = journal

    def keep(
        self,
        walked: list[Walked],
        reported: dict[str, list[Report]],
        unresolved: frozenset[str],
    ) -> list[Finding]:
        """Archives, states and mapping rows of the walked patients; their findings.

        `reported`: mapping id → the reports this run recorded for it (its codes and use
        dates); `unresolved`: the mapping ids whose data contradicts reports made (R-EP-5).
        """
        appended: list[tuple[str, str, int, bytes]] = []
        states: list[tuple[StoredState, str]] = []
        live: list[tuple[Walked, bool]] = []
        findings: list[Finding] = []
        for patient in walked:
            self._archive(patient, appended)
            if patient.outcome is None or patient.history is None or patient.outcome.state is None:
                findings += patient.findings
                continue
            mapping = patient.mapping
            state = next_state(
                patient,
                unresolved=mapping.mapping_id in unresolved,
                as_of=self.as_of,
                engine=self.engine,
            )
            findings += state.findings
            data = dump(state)
            stored = StoredState(
                mapping.mapping_id, STATE_FORMAT, data, state.walk.next_day, state.live
            )
            states.append((stored, mapping.dek_id))
            live.append((patient, state.live))
        updates = [
            (
                p.mapping,
                mapping_use(
                    self.space, p.mapping, reported.get(p.mapping.mapping_id, []), open_, self.as_of
                ),
            )
            for p, open_ in live
        ]
        if self.journal is not None:
            self.journal.states_before([state.mapping_id for state, _ in states])
            self.journal.mappings_before([m.mapping_id for m, values in updates if values])
        self.facts.append_archives(appended)
        self.facts.save_states(states)
        self.space.mappings.update_many(updates)
        return findings

    def _archive(self, patient: Walked, appended: list[tuple[str, str, int, bytes]]) -> None:
        """A patient derived afresh: one compacted archive row; resumed: the batch added."""
        mapping, records, delta = patient.mapping, patient.records, patient.patient.delta
        if patient.rebuilt and records is not None:
            self.facts.replace_archive(
                mapping.mapping_id, mapping.dek_id, ARCHIVE_FORMAT, dump(records)
            )
        elif delta is not None:
            appended.append((mapping.mapping_id, mapping.dek_id, ARCHIVE_FORMAT, dump(delta)))


def mapping_use(
    space: Workspace, mapping: MappingRow, reported: list[Report], live: bool, as_of: date
) -> dict[str, object]:
    """What the mapping row learns from the reports recorded: codes, first and last use,
    open or closed."""
    starts = [r for r in reported if r.kind == "anmeldung"]
    ends = [r for r in reported if r.kind == "abmeldung"]
    return space.mappings.use_values(
        mapping,
        codes=tuple(r.patient_code for r in starts if r.patient_code),
        first=min((r.date for r in starts), default=None),
        last=max((r.date for r in ends), default=None),
        status="active" if live else "closed",
        # Retention counts from the end of treatment: the last reported last-use date.
        closed_on=None
        if live
        else max((r.date for r in ends), default=mapping.closed_on or mapping.last_use or as_of),
    )


def next_state(walked: Walked, *, unresolved: bool, as_of: date, engine: str) -> PatientState:
    """The state the next sync resumes from (sync_state.PatientState)."""
    outcome, history, patient = walked.outcome, walked.history, walked.patient
    assert outcome is not None and history is not None and outcome.state is not None
    walk = outcome.state
    if patient.rebuild and walked.records is not None:
        records = walked.records
        dispensed = {d.prescription for d in records.dispenses.values() if d.prescription}
        dangling = dangling_requests(records)
        referenced = last_referenced(records, {})
        spans: tuple[OpenSpan, ...] = ()
        kept: tuple[Finding, ...] = ()
    else:
        known, delta = patient.known, patient.delta
        records = with_delta(known.profile, delta)
        new_dispenses = delta.dispenses.values() if delta else ()
        dispensed = set(known.dispensed) | {d.prescription for d in new_dispenses if d.prescription}
        dangling = set(known.dangling)
        referenced = last_referenced(delta, known.referenced) if delta else known.referenced
        spans = known.spans
        # Findings about the open phase on the last walk's day are given anew by every walk.
        kept = tuple(f for f in known.findings if f.rule not in STANDING_RULES)
    findings = merged_findings(kept, [*outcome.findings, *walked.findings])
    return PatientState(
        key=patient.key,
        profile=profile_of(records, as_of, referenced),
        referenced=referenced,
        dispensed=tuple(sorted(dispensed)),
        dangling=tuple(sorted(dangling)),
        walk=walk,
        carry=tuple(c for c in history.covers if c.end >= walk.next_day),
        contacts=tuple(sorted(d for d in history.contacts if d >= walk.next_day)),
        spans=spans + tuple(outcome.closed_spans),
        pending=undue(list(walked.events()), as_of),
        findings=tuple(unique_findings(list(findings))),
        engine=engine,
        unresolved=unresolved,
    )
