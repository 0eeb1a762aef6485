"""`substreg sync`: ingest new FHIR data, derive, reconcile with the ledger, record.

One run is one transaction (`Store.run`):
1. the batch is read and its records filed under patients and the practice (before
   the transaction: bad input stops here and nothing is written);
2. the day is checked (`sync_prepare`: not in the future, not before the last sync) and
   resources read before and sent again unchanged are skipped (their digests are kept,
   keyed and blind);
3. each patient with new data or an open phase is walked (`sync_walk`): resumed where
   the last sync stopped when the batch only adds later days (the usual case,
   `sync_plan`), else derived afresh from the archive; everyone is derived afresh when
   the practice's records, the mapping files, the configuration or the engine changed;
   a patient whose stored data cannot be read is left as it is (`sync_damage`);
4. the day must be one the data can mean, and a stale or empty export may not end many
   treatments at once (`sync_guard`);
5. due events become reports through the derive engine's own functions, are
   reconciled with the ledger (`adapter.domain.reconcile`), and what is missing is
   recorded as `pending`, with the code the register holds (R-CODE-8);
6. states, archives, digests and mapping rows are kept, the run is audited, and what it
   changed is journaled, so that it can be undone while its reports are unsent
   (`adapter.store.runs`, `sync_undo`).
Running it twice adds nothing: a slot in the ledger is never made again, unless the
report that held it was withdrawn before it was sent (D-80).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from adapter.domain.model import Doctor, Finding, Report
from adapter.domain.pipeline import reports_due, unique_findings
from adapter.domain.reconcile import PRACTICE, Desired, Plan, Reported, reconcile
from adapter.errors import SyncError
from adapter.fhir.collect import Collector
from adapter.fhir.doctors import build_doctors
from adapter.fhir.items import Item
from adapter.fhir.partition import Batch, PracticeRecords, dump, join, merge_practice, split
from adapter.fhir.source import read_paths
from adapter.mappings import Mappings
from adapter.services.inventory_rests import resting_on
from adapter.services.sync_damage import Damage
from adapter.services.sync_guard import check_as_of, mass_end, newest_day, newest_event
from adapter.services.sync_handover import apply_handovers
from adapter.services.sync_keep import Keeper
from adapter.services.sync_plan import Changes, SyncOptions, changed_keys, gather
from adapter.services.sync_prepare import prepare
from adapter.services.sync_retired import leave_out_retired
from adapter.services.sync_state import PRACTICE_FORMAT, PracticeState, engine_fingerprint
from adapter.services.sync_walk import Walked, Walker
from adapter.services.sync_withdrawn import free_earlier_withdrawals, withdraw
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

__all__ = [
    "Recorded",
    "SyncError",
    "SyncOptions",
    "SyncResult",
    "batch_of",
    "pending_and_waived",
    "read_batch",
    "sync",
]


@dataclass(frozen=True, slots=True)
class Recorded:
    ledger_id: str
    report: Report
    origin: str
    subject: str  # mapping id, or PRACTICE for a notice


def pending_and_waived(recorded: Sequence[Recorded]) -> tuple[int, int]:
    """How many reports were recorded as pending and how many as waived: the waived ones
    are rejected as they are recorded, never approved or sent, so every count people or
    tools read keeps them apart (the CLI's summary, `POST /sync/held/accept`, D-242)."""
    waived = sum(1 for r in recorded if r.origin == "waived")
    return len(recorded) - waived, waived


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
    run_id: str | None = None  # None: nothing was kept (a refused mass end)


class _MassEndRefused(Exception):
    """The run would end many treatments on a stale or empty export (rolled back)."""

    def __init__(self, result: SyncResult, details: dict[str, object]) -> None:
        super().__init__("mass end refused")
        self.result = result
        self.details = details


def read_batch(paths: list[Path], mappings: Mappings) -> Batch:
    """The batch of files and folders named on the command line."""
    return batch_of(read_paths(paths), mappings)


def batch_of(items: Iterable[Item], mappings: Mappings) -> Batch:
    """The batch of items from any source: files, a pushed Bundle, a pull, a bulk import.
    Each source names where an item came from in `Entry.where`, for the findings."""
    collector = Collector(mappings, track_seen=True)
    for item in items:
        collector.add(item)
    return split(collector.result)


def sync(store: Store, actor: Actor, batch: Batch, options: SyncOptions) -> SyncResult:
    try:
        return store.run(actor, lambda space: _Run(space, batch, options).run())
    except _MassEndRefused as refused:
        # Nothing of the run was kept; that it was refused is (D-48).
        details, result = refused.details, refused.result
    store.run(actor, lambda space: space.audit.append(actor, "sync.refused", details=details))
    return result


class _Run:
    def __init__(self, space: Workspace, batch: Batch, options: SyncOptions) -> None:
        self.space = space
        self.batch = batch
        self.options = options
        self.as_of = options.as_of
        self.facts = space.facts
        self.engine = engine_fingerprint(options.config)
        self.findings: list[Finding] = list(batch.findings)
        self.damage = Damage()  # patients whose stored data cannot be read (issue 9.6)
        self.journal = space.journal  # for `runs undo` (D-49)
        self._patient_findings: list[Finding] = []  # of the walked patients, as kept

    def run(self) -> SyncResult:
        old = prepare(self.space, self.facts, self.options, self.findings)
        base_url = self.options.config.ehr_base_url
        changes = changed_keys(self.space, self.batch, base_url)
        self.batch, changes = leave_out_retired(
            self.space, self.batch, changes, base_url, self.findings
        )
        practice = merge_practice(old.records, self.batch.practice, changes.keys)
        rebuild_all = (
            self.options.rebuild
            or old.engine != self.engine
            or _practice_changed(practice, old.records)
        )
        planned, changes, merge_findings = gather(
            self.space,
            self.facts,
            self.batch,
            changes,
            engine=self.engine,
            rebuild_all=rebuild_all,
            base_url=self.options.config.ehr_base_url,
        )
        self.findings += merge_findings
        planned, changes = self.damage.readable(self.space, self.facts, planned, changes)
        self.findings += [_state_rebuilt(m) for m in self.facts.unreadable if m not in self.damage]
        doctors = build_doctors(join(practice, []), self.options.config)
        walker = Walker(
            self.facts, self.options.mappings.names, as_of=self.as_of, damage=self.damage
        )
        walked, loose = walker.derive(practice, doctors, planned)
        self.findings += loose
        days = (old.newest_day, newest_day(self.batch, [w.history for w in walked], self.as_of))
        newest = max((d for d in days if d is not None), default=None)
        if any(w.outcome is not None for w in walked):  # a run that walks nobody changes nothing
            check_as_of(self.as_of, newest)
        recorded = self._record(doctors, walked)
        walked, changes = self.damage.leave_out(walked, changes)
        happened = (old.newest_event, newest_event(self.batch, self.as_of))
        kept = replace(
            old,
            records=practice,
            newest_day=newest,
            newest_event=max((d for d in happened if d is not None), default=None),
        )
        self._keep(kept, walked, recorded, changes)
        self._audit(recorded, len(changes.keys), walked)
        self.journal.finish(self.as_of, self.space.actor.name, len(recorded.reports))
        self.findings += self.damage.findings()
        return self._result(recorded, len(changes.keys), walked)

    def _result(self, recorded: _Recording, changed: int, walked: list[Walked]) -> SyncResult:
        return SyncResult(
            as_of=self.as_of,
            resources=len(self.batch.owners),
            changed=changed,
            walked=sum(1 for w in walked if w.outcome is not None),
            rebuilt=sum(1 for w in walked if w.rebuilt and w.outcome is not None),
            recorded=sorted(recorded.reports, key=lambda r: (r.report.made_on, r.report.date)),
            superseded=len(recorded.superseded),
            findings=unique_findings(self.findings + self._patient_findings),
            run_id=self.journal.run_id,
        )

    # -- reconcile and record ----------------------------------------------------------

    def _record(self, doctors: dict[str, Doctor], patients: list[Walked]) -> _Recording:
        walked = [p for p in patients if p.outcome is not None]
        events = [e for p in walked for e in p.events()]
        spans = [s for p in walked for s in p.all_spans()]
        due = reports_due(events, spans, doctors, as_of=self.as_of)  # the derive pipeline
        by_key = {p.key: p for p in walked}
        self.findings += due.findings
        owners = due.owners
        desired = [
            Desired(by_key[owners[r.id]].mapping.mapping_id, owners[r.id], r) for r in due.reports
        ] + [Desired(PRACTICE, r.sources[0], r) for r in due.notices]
        known = self._ledger([p.mapping.mapping_id for p in walked], by_key)
        walked = [p for p in walked if p.mapping.mapping_id not in self.damage]
        known = [r for r in known if r.subject not in self.damage]
        plan = reconcile(
            [d for d in desired if d.subject not in self.damage],
            known,
            as_of=self.as_of,
            accept_corrections=self.options.accept_corrections,
            partial=frozenset(p.mapping.mapping_id for p in walked if not p.rebuilt),
        )
        plan = apply_handovers(self.space, plan, self.as_of, known)  # R-HO-1 (D-162, D-216)
        self._refuse_mass_end(plan, walked)
        self.findings += plan.findings
        subjects = {p.mapping.mapping_id: p.mapping.dek_id for p in walked}
        return self._write(plan, subjects)

    def _write(self, plan: Plan, subjects: dict[str, str]) -> _Recording:
        """Record the plan in the ledger; `subjects`: mapping id → its data key."""
        practice_key = self.space.ledger.practice_key() if plan.record else ""
        keys = [subjects.get(planned.subject, practice_key) for planned in plan.record]
        ids = self.space.ledger.record_many(list(zip(plan.record, keys, strict=True)))
        recorded = [
            Recorded(ledger_id, planned.report, planned.origin, planned.subject)
            for planned, ledger_id in zip(plan.record, ids, strict=True)
            if ledger_id is not None  # None: a parallel run recorded this slot first
        ]
        self.journal.recorded([r.ledger_id for r in recorded])
        self.journal.reports_before(plan.supersede, "supersede")
        # D-196: an unsent inventory report goes with the Anmeldung it names
        withdrawn = [*plan.withdraw, *resting_on(self.space, plan.withdraw)]
        self.journal.reports_before(withdrawn, "withdraw")
        self.space.ledger.supersede(plan.supersede)
        withdraw(self.space, withdrawn, self.journal.run_id)  # their slots freed (D-80)
        return _Recording(
            recorded,
            tuple(plan.supersede),
            tuple(withdrawn),
            frozenset(m for m in plan.contradicted if m in subjects),
        )

    def _ledger(self, subjects: list[str], by_key: dict[str, Walked]) -> list[Reported]:
        """What the ledger holds of the walked patients and the notices; the subjects of
        rows that cannot be read or fail their seal are noted as damaged, and reports an
        earlier version withdrew give up their slots (D-80)."""
        known = self.space.ledger.reported(subjects, notices=True)
        keys = {p.mapping.mapping_id: key for key, p in by_key.items()}
        for subject, problem in self.space.ledger.unreadable.values():
            self.damage.note(subject, problem, keys.get(subject))
        return free_earlier_withdrawals(
            self.space, known, self.journal.run_id, set(self.damage.problems)
        )

    def _refuse_mass_end(self, plan: Plan, walked: list[Walked]) -> None:
        """A stale or empty export that would end many treatments by R-EP-3 (D-48)."""
        was_open = {
            p.mapping.mapping_id for p in walked if p.patient.state and p.patient.state.walk.phase
        }
        opened = {p.subject for p in plan.record if p.report.kind == "anmeldung"}
        batch_newest = newest_event(self.batch, self.as_of)
        found = mass_end(plan.record, len(was_open | opened), batch_newest, self.as_of)
        if found is None:
            return
        limit = self.options.mass_end_limit
        if self.options.accept_mass_end and (limit is None or len(found.ending) <= limit):
            self.findings.append(_mass_end_accepted(len(found.ending), self.options.service))
            return
        keys = {p.mapping.mapping_id: p.key for p in walked}
        result = SyncResult(
            self.as_of,
            len(self.batch.owners),
            0,
            0,
            0,
            [],
            0,
            unique_findings(
                [found.finding(self.as_of, keys, service=self.options.service), *self.findings]
            ),
        )
        details: dict[str, object] = {
            "as_of": self.as_of.isoformat(),
            "reason": "mass-end",
            "ending": len(found.ending),
            "open": found.open_phases,
            "newest_event": batch_newest.isoformat() if batch_newest else None,
            "resources": len(self.batch.owners),  # 0: a walk on of no data (D-209, D-237)
        }
        raise _MassEndRefused(result, details)

    # -- keep ----------------------------------------------------------------------------

    def _keep(
        self, state: PracticeState, walked: list[Walked], recorded: _Recording, changes: Changes
    ) -> None:
        kept = replace(
            state,
            engine=self.engine,
            ehr_base_url=self.options.config.ehr_base_url,
            mappings=self.options.mappings.fingerprint,
        )
        self.facts.save_practice(PRACTICE_FORMAT, dump(kept), self.space.ledger.practice_key())
        keeper = Keeper(
            self.space, self.facts, as_of=self.as_of, engine=self.engine, journal=self.journal
        )
        self._patient_findings = keeper.keep(walked, recorded.by_subject(), recorded.unresolved)
        changes.remember(self.facts, {p.key: p.mapping.mapping_id for p in walked})

    def _audit(self, recorded: _Recording, changed: int, walked: list[Walked]) -> None:
        audit, actor = self.space.audit, self.space.actor
        for patient in walked:
            if patient.patient.created:
                audit.append(actor, "mapping.create", mapping_id=patient.mapping.mapping_id)
        for item in recorded.reports:
            audit.append(
                actor,
                "report.record",
                mapping_id=item.subject if item.subject != PRACTICE else None,
                ledger_id=item.ledger_id,
                details={"kind": item.report.kind, "rule": item.report.rule, "origin": item.origin},
            )
        for ledger_id in recorded.superseded:
            audit.append(actor, "report.supersede", ledger_id=ledger_id)
        for ledger_id in recorded.withdrawn:
            audit.append(actor, "report.withdraw", ledger_id=ledger_id)
        severities = [f.severity for f in self.findings]
        audit.append(
            actor,
            "sync",
            details={
                "run": self.journal.run_id,
                "as_of": self.as_of.isoformat(),
                "resources": len(self.batch.owners),
                "changed": changed,
                "walked": sum(1 for w in walked if w.outcome is not None),
                "rebuilt": sum(1 for w in walked if w.rebuilt and w.outcome is not None),
                "recorded": len(recorded.reports),
                "superseded": len(recorded.superseded),
                "errors": severities.count("error"),
                "warnings": severities.count("warning"),
                **({"damaged": len(self.damage.problems)} if self.damage.problems else {}),
            },
        )


@dataclass(frozen=True, slots=True)
class _Recording:
    """What a run wrote into the ledger, and which patients' data contradicts it."""

    reports: list[Recorded]
    superseded: tuple[str, ...]  # ledger ids marked superseded
    withdrawn: tuple[str, ...]  # ledger ids rejected, not yet sent
    unresolved: frozenset[str]  # mapping ids whose data contradicts reports made (R-EP-5)

    def by_subject(self) -> dict[str, list[Report]]:
        """Mapping id → the reports recorded for it (a waived one was never sent)."""
        reported: dict[str, list[Report]] = {}
        for item in self.reports:
            if item.subject != PRACTICE and item.origin != "waived":
                reported.setdefault(item.subject, []).append(item.report)
        return reported


def _practice_changed(new: PracticeRecords, old: PracticeRecords) -> bool:
    """Whether the practice's records changed (then everyone is derived afresh). Compared
    as values first: serialising them needs a serialiser of its own, whose making costs a
    sync process more than a day's sync of a practice; as stored (JSON) when the values
    differ, which is what this has always asked."""
    return new != old and dump(new) != dump(old)


def _state_rebuilt(mapping_id: str) -> Finding:
    return Finding(
        "warning",
        "INPUT",
        f"The stored state of mapping {mapping_id} could not be decrypted: the patient was "
        "derived afresh from its stored records, and the state written anew.",
    )


def _mass_end_accepted(count: int, service: bool) -> Finding:
    how = "the held sync accepted, D-181" if service else "--accept-mass-end"
    return Finding(
        "warning",
        "R-EP-3",
        f"{count} registrations were ended by the 10-day rule on an export without recent "
        f"events, as a person accepted (D-48: {how})",
    )
