"""`substreg sync`: ingest new FHIR data, derive, reconcile with the ledger, record.

One run is one transaction (`Store.run`):
1. the batch is read and its records filed under patients and the practice (before
   the transaction: bad input stops here and nothing is written);
2. resources read before and sent again unchanged are skipped (their digests are
   kept, keyed and blind);
3. each patient with new data or an open phase is walked: resumed where the last sync
   stopped when the batch only adds later days (the usual case, `sync_plan`), else
   derived afresh from the archive; everyone is derived afresh when the practice's
   records, the mapping files, the configuration or the engine changed;
4. due events become reports through the derive engine's own functions, are
   reconciled with the ledger (`adapter.domain.reconcile`), and what is missing is
   recorded as `pending`, with the code the register holds (R-CODE-8);
5. states, archives, digests and mapping rows are kept, and the run is audited.
Running it twice adds nothing: a slot in the ledger is never made again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from adapter.domain.model import Doctor, Finding, Report
from adapter.domain.notices import doctor_notices
from adapter.domain.phases import derive_phases
from adapter.domain.reconcile import PRACTICE, Desired, Reported, reconcile
from adapter.domain.reports import build_reports, caseload_findings, shared_code_findings
from adapter.fhir.assemble import histories
from adapter.fhir.collect import Collector
from adapter.fhir.doctors import build_doctors
from adapter.fhir.partition import (
    Batch,
    PracticeRecords,
    drop_before,
    dump,
    join,
    load,
    merge_practice,
    split,
)
from adapter.fhir.source import read_paths
from adapter.mappings import Mappings
from adapter.services.derive import unique_findings
from adapter.services.sync_damage import UNREADABLE, Damage
from adapter.services.sync_keep import Keeper
from adapter.services.sync_plan import (
    Changes,
    Patient,
    SyncOptions,
    changed_keys,
    gather,
    with_delta,
)
from adapter.services.sync_state import (
    PRACTICE_FORMAT,
    PracticeState,
    engine_fingerprint,
)
from adapter.store.audit import Actor
from adapter.store.facts import Facts
from adapter.store.retention_mark import RetentionMark
from adapter.store.workspace import Store, Workspace

BERLIN = ZoneInfo("Europe/Berlin")
_MAPPINGS_CHANGED = Finding(
    "warning",
    "INPUT",
    "The mapping files (mappings/*.json) changed since the last sync: resources read from now "
    "on use them, those read before keep the substances and depots found then. To apply the "
    "new mappings to everything, sync a full export again with --rebuild.",
)
_WITHDRAWN = "withdrawn by sync: later data no longer calls for this report"
_PRACTICE_REBUILT = Finding(
    "warning",
    "INPUT",
    "The practice's stored records (doctors, organisations, medications) could not be "
    "decrypted: they were taken from this export anew (--rebuild).",
)


def _mark_repaired(old: date, new: date | None) -> Finding:
    kept = f"{new.isoformat()}, the day after the last shredded treatment ended" if new else "none"
    return Finding(
        "warning",
        "INPUT",
        f"The retention mark lay in the future ({old.isoformat()}; a retention run under a wrong "
        f"clock), and earlier syncs ignored the events before it. It is now {kept}; the "
        "events it hid are read again from this sync on (send them with the export).",
    )


def _state_rebuilt(mapping_id: str) -> Finding:
    return Finding(
        "warning",
        "INPUT",
        f"The stored state of mapping {mapping_id} could not be decrypted: the patient was "
        "derived afresh from its stored records, and the state written anew.",
    )


__all__ = ["Recorded", "SyncError", "SyncOptions", "SyncResult", "read_batch", "sync"]


class SyncError(Exception):
    """The sync cannot run as asked (a day before the last sync); nothing was written."""


@dataclass(frozen=True, slots=True)
class Recorded:
    ledger_id: str
    report: Report
    origin: str
    subject: str  # mapping id, or PRACTICE for a notice


@dataclass(frozen=True, slots=True)
class SyncResult:
    as_of: date
    resources: int
    changed: int
    walked: int
    rebuilt: int
    recorded: list[Recorded]
    superseded: int
    findings: list[Finding]


def read_batch(paths: list[Path], mappings: Mappings) -> Batch:
    collector = Collector(mappings, track_seen=True)
    for item in read_paths(paths):
        collector.add(item)
    return split(collector.result)


def sync(store: Store, actor: Actor, batch: Batch, options: SyncOptions) -> SyncResult:
    return store.run(actor, lambda space: _Run(space, batch, options).run())


class _Run:
    def __init__(self, space: Workspace, batch: Batch, options: SyncOptions) -> None:
        self.space = space
        self.batch = batch
        self.options = options
        self.as_of = options.as_of
        self.facts = Facts(space.connection, space.keys, space.now)
        self.engine = engine_fingerprint(options.config)
        self.findings: list[Finding] = list(batch.findings)
        self.damage = Damage()  # patients whose stored data cannot be read (issue 9.6)
        self._patient_findings: list[Finding] = []  # of the walked patients, as kept
        self._superseded: list[str] = []  # ledger ids marked superseded by this run
        self._withdrawn: list[str] = []  # ledger ids rejected by this run, not yet sent

    def run(self) -> SyncResult:
        today = self.space.now.astimezone(BERLIN).date()
        if self.as_of > today:
            msg = (
                f"--as-of {self.as_of.isoformat()} lies in the future (today is "
                f"{today.isoformat()} in Berlin): no report may be dated after the day it is "
                "made (R-DATE-3)"
            )
            raise SyncError(msg)
        latest = self.facts.latest_walk()
        if latest is not None and self.as_of < latest - timedelta(days=1):
            msg = (
                f"--as-of {self.as_of.isoformat()} lies before the last sync "
                f"({(latest - timedelta(days=1)).isoformat()}): the ledger already holds "
                "what was due until then"
            )
            raise SyncError(msg)
        cutoff = self._retention_cutoff(today)
        if cutoff is not None:
            self.batch = drop_before(self.batch, cutoff)
        old = self._practice()
        if old.mappings and old.mappings != self.options.mappings.fingerprint:
            self.findings.append(_MAPPINGS_CHANGED)
        base = self.options.config.ehr_base_url
        if old.ehr_base_url and old.ehr_base_url != base:
            msg = (
                f"ehr_base_url is {base!r} in the configuration, but this database holds the "
                f"patients of {old.ehr_base_url!r}: one installation serves one EHR (D-23); "
                "set it back, or use a database of its own for the other EHR"
            )
            raise SyncError(msg)
        changes = changed_keys(self.space, self.batch, self.options.config.ehr_base_url)
        practice = merge_practice(old.records, self.batch.practice, changes.keys)
        rebuild_all = (
            self.options.rebuild or old.engine != self.engine or dump(practice) != dump(old.records)
        )
        patients, merge_findings = gather(
            self.space,
            self.facts,
            self.batch,
            changes,
            engine=self.engine,
            rebuild_all=rebuild_all,
            base_url=self.options.config.ehr_base_url,
        )
        self.findings += merge_findings
        patients = self.damage.readable(self.space, self.facts, patients, changes)
        self.findings += [_state_rebuilt(m) for m in self.facts.unreadable if m not in self.damage]
        doctors = build_doctors(join(practice, []), self.options.config)
        self._derive(practice, doctors, patients)
        recorded, superseded = self._record(doctors, patients)
        patients = self.damage.leave_out(patients, changes)
        self._keep(practice, patients, changes)
        self._audit(recorded, superseded, len(changes.keys), patients)
        self.findings += self.damage.findings()
        return SyncResult(
            as_of=self.as_of,
            resources=len(self.batch.owners),
            changed=len(changes.keys),
            walked=sum(1 for p in patients if p.outcome is not None),
            rebuilt=sum(1 for p in patients if p.rebuild and p.outcome is not None),
            recorded=sorted(recorded, key=lambda r: (r.report.made_on, r.report.date)),
            superseded=superseded,
            findings=unique_findings(self.findings + self._patient_findings),
        )

    def _retention_cutoff(self, today: date) -> date | None:
        """The retention mark; one in the future (a retention run under a wrong clock, by a
        version without the guard) is taken back first, audited, with a warning."""
        mark = RetentionMark(self.space.connection, self.space.now)
        repaired = mark.repair(today)
        if repaired is not None:
            old, new = repaired
            self.space.audit.append(
                self.space.actor,
                "retention.mark-repaired",
                details={"from": old.isoformat(), "to": new.isoformat() if new else None},
            )
            self.findings.append(_mark_repaired(old, new))
        return mark.cutoff()

    def _practice(self) -> PracticeState:
        try:
            stored = self.facts.practice()
            practice = load(PracticeState, stored[1]) if stored is not None else None
        except UNREADABLE as exc:
            if not self.options.rebuild:
                msg = (
                    f"{exc} Nothing was synced: every patient's reports depend on them. Sync a "
                    "full export with --rebuild, which takes them from the export anew."
                )
                raise SyncError(msg) from None
            self.findings.append(_PRACTICE_REBUILT)
            return PracticeState(PracticeRecords(), engine="")
        if stored is None or stored[0] != PRACTICE_FORMAT or practice is None:
            return PracticeState(PracticeRecords(), engine="")
        return practice

    # -- derive ------------------------------------------------------------------------

    def _derive(
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
                    patient.history, doctors, self.options.mappings.names, as_of=self.as_of
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
                self.options.mappings.names,
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

    # -- reconcile and record ----------------------------------------------------------

    def _record(
        self, doctors: dict[str, Doctor], patients: list[Patient]
    ) -> tuple[list[Recorded], int]:
        walked = [p for p in patients if p.outcome is not None]
        events = [e for p in walked for e in p.events()]
        reports, report_findings, owners = build_reports(events, doctors, as_of=self.as_of)
        spans = [s for p in walked for s in p.all_spans()]
        notices = doctor_notices(doctors, spans, as_of=self.as_of)
        by_key = {p.key: p for p in walked}
        self.findings += report_findings + caseload_findings(spans, doctors)
        self.findings += shared_code_findings(reports, owners)
        desired = [
            Desired(by_key[owners[r.id]].mapping.mapping_id, owners[r.id], r) for r in reports
        ] + [Desired(PRACTICE, r.sources[0], r) for r in notices]
        subjects = [p.mapping.mapping_id for p in walked]
        known = self._ledger(subjects, by_key)
        walked = [p for p in walked if p.mapping.mapping_id not in self.damage]
        plan = reconcile(
            [d for d in desired if d.subject not in self.damage],
            [r for r in known if r.subject not in self.damage],
            as_of=self.as_of,
            accept_corrections=self.options.accept_corrections,
            partial=frozenset(p.mapping.mapping_id for p in walked if not p.rebuild),
        )
        self.findings += plan.findings
        for patient in walked:
            patient.unresolved = patient.mapping.mapping_id in plan.contradicted
        by_subject = {p.mapping.mapping_id: p for p in walked}
        practice_key = self.space.ledger.practice_key() if plan.record else ""
        keys = [
            p.mapping.dek_id if (p := by_subject.get(planned.subject)) else practice_key
            for planned in plan.record
        ]
        ids = self.space.ledger.record_many(list(zip(plan.record, keys, strict=True)))
        recorded = []
        for planned, ledger_id in zip(plan.record, ids, strict=True):
            if ledger_id is None:
                continue  # a parallel run recorded this slot first
            recorded.append(Recorded(ledger_id, planned.report, planned.origin, planned.subject))
            owner = by_subject.get(planned.subject)
            if owner is not None and planned.origin != "waived":
                owner.note_reported(planned.report)
        self.space.ledger.supersede(plan.supersede)
        self._superseded = list(plan.supersede)
        for ledger_id in plan.withdraw:
            self.space.ledger.move(ledger_id, "rejected", note=_WITHDRAWN)
        self._withdrawn = list(plan.withdraw)
        return recorded, len(plan.supersede)

    def _ledger(self, subjects: list[str], by_key: dict[str, Patient]) -> list[Reported]:
        """What the ledger holds of the walked patients and the notices; the subjects of
        rows that cannot be read or fail their seal are noted as damaged."""
        known = self.space.ledger.reported(subjects, notices=True)
        keys = {p.mapping.mapping_id: key for key, p in by_key.items()}
        for subject, problem in self.space.ledger.unreadable.values():
            self.damage.note(subject, problem, keys.get(subject))
        return known

    # -- keep ----------------------------------------------------------------------------

    def _keep(self, practice: PracticeRecords, patients: list[Patient], changes: Changes) -> None:
        self.facts.save_practice(
            PRACTICE_FORMAT,
            dump(
                PracticeState(
                    practice,
                    self.engine,
                    self.options.config.ehr_base_url,
                    self.options.mappings.fingerprint,
                )
            ),
            self.space.ledger.practice_key(),
        )
        keeper = Keeper(self.space, self.facts, as_of=self.as_of, engine=self.engine)
        self._patient_findings = keeper.keep(patients)
        changes.remember(self.facts, {p.key: p.mapping.mapping_id for p in patients})

    def _audit(
        self, recorded: list[Recorded], superseded: int, changed: int, patients: list[Patient]
    ) -> None:
        audit, actor = self.space.audit, self.space.actor
        for patient in patients:
            if patient.created:
                audit.append(actor, "mapping.create", mapping_id=patient.mapping.mapping_id)
        for item in recorded:
            audit.append(
                actor,
                "report.record",
                mapping_id=item.subject if item.subject != PRACTICE else None,
                ledger_id=item.ledger_id,
                details={"kind": item.report.kind, "rule": item.report.rule, "origin": item.origin},
            )
        for ledger_id in self._superseded:
            audit.append(actor, "report.supersede", ledger_id=ledger_id)
        for ledger_id in self._withdrawn:
            audit.append(actor, "report.withdraw", ledger_id=ledger_id)
        severities = [f.severity for f in self.findings]
        audit.append(
            actor,
            "sync",
            details={
                "as_of": self.as_of.isoformat(),
                "resources": len(self.batch.owners),
                "changed": changed,
                "walked": sum(1 for p in patients if p.outcome is not None),
                "rebuilt": sum(1 for p in patients if p.rebuild and p.outcome is not None),
                "recorded": len(recorded),
                "superseded": superseded,
                "errors": severities.count("error"),
                "warnings": severities.count("warning"),
            },
        )
