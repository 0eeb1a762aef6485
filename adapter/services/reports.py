"""The ledger's use cases: list, show, approve, reject, and the export of a period.

Listing shows our own ids, kinds, dates and states only; showing a report's payload
or exporting a period with codes in clear is re-identification by the practice
itself (R-CH-2: it must be able to show what it reported, and how it was sent: the
export gives each report's batch, route, time sent and receipt), so each is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapter.domain.model import Report
from adapter.errors import DamagedDataError, ShreddedError
from adapter.export.ledger import ExportRow
from adapter.services.inventory_rests import withdraw_resting
from adapter.services.lookup import check_purpose
from adapter.store.audit import Actor
from adapter.store.ledger import Entry
from adapter.store.outbox import Proof
from adapter.store.workspace import Store, Workspace, require_audit_log


@dataclass(frozen=True, slots=True)
class Listing:
    """Ledger rows as listed, with the check of each (D-44): nothing they hold is opened."""

    entries: list[Entry]
    problems: dict[str, str]  # ledger id → why it fails its seal or the audit log's record
    deleted: tuple[str, ...] = ()  # recorded by the audit log, missing from the ledger


@dataclass(frozen=True, slots=True)
class ShownReport:
    entry: Entry
    report: Report | None  # None once the patient's data key was shredded
    note: str | None


def list_reports(
    store: Store,
    actor: Actor,
    *,
    state: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Listing:
    """The rows asked for, each checked against its seal and the audit log, so that a row
    changed in SQL is marked where a person looks at the ledger."""

    def read(space: Workspace) -> Listing:
        require_audit_log(space.audit.rows)
        entries = space.ledger.entries(state=state, since=since, until=until)
        chained = space.ledger.chained()
        return Listing(entries, space.ledger.problems(entries, chained), _deleted(space, chained))

    return store.read(read)  # writes nothing: no writer's lock (D-176)


def _deleted(space: Workspace, chained: dict[str, dict[str, object]]) -> tuple[str, ...]:
    """Rows the audit log recorded that the ledger no longer holds (deleted in SQL)."""
    present = set(space.ledger.ids())
    return tuple(sorted(set(chained) - present))


def show(store: Store, actor: Actor, ledger_id: str) -> ShownReport:
    def read(space: Workspace) -> ShownReport:
        entry = space.ledger.entry(ledger_id)
        # The practice's legal record: a row changed outside substreg is not shown as if
        # it were what was reported (LedgerIntegrityError names the row and the fix).
        space.ledger.require_intact(entry, chained=True)
        try:
            report, note = space.ledger.payload(entry), space.ledger.note(entry)
        except ShreddedError:
            report, note = None, None
        space.audit.append(
            actor, "report.show", mapping_id=entry.mapping_id, ledger_id=entry.ledger_id
        )
        return ShownReport(entry, report, note)

    return store.run(actor, read)


def decide(
    store: Store, actor: Actor, ledger_ids: list[str], decision: str, *, reason: str | None = None
) -> list[Entry]:
    """Approve or reject pending reports, all or none (one transaction), each audited."""
    new_state = {"approve": "approved", "reject": "rejected"}[decision]

    def move(space: Workspace) -> list[Entry]:
        moved = []
        for ledger_id in ledger_ids:
            before = space.ledger.entry(ledger_id)
            entry = space.ledger.move(ledger_id, new_state, note=reason)
            space.audit.append(
                actor,
                f"report.{decision}",
                mapping_id=entry.mapping_id,
                ledger_id=entry.ledger_id,
                details={"from": before.state, "to": entry.state, "with_reason": bool(reason)},
            )
            moved.append(entry)
        if decision == "reject":
            withdraw_resting(space, actor, moved)  # D-196: an inventory rests on its Anmeldung
        return moved

    return store.run(actor, move)


@dataclass(frozen=True, slots=True)
class LedgerExport:
    rows: list[ExportRow]
    deleted: tuple[str, ...]  # recorded by the audit log, missing from the ledger (D-44)


def export_period(
    store: Store, actor: Actor, *, since: date, until: date, purpose: str, fmt: str
) -> LedgerExport:
    """The reports made in a period, with their payloads (codes in clear): audited. A row
    that fails its check is flagged (changed); one whose payload cannot be decrypted is
    damaged, which is not the same (D-45)."""
    check_purpose(purpose, None)

    def read(space: Workspace) -> LedgerExport:
        entries = space.ledger.entries(since=since, until=until)
        space.keys.preload([e.dek_id for e in entries])
        chained = space.ledger.chained()
        problems = space.ledger.problems(entries, chained)
        proofs = space.outbox.proofs([e.ledger_id for e in entries])
        found = LedgerExport(
            [
                _export_row(space, e, problems.get(e.ledger_id), proofs.get(e.ledger_id))
                for e in entries
            ],
            _deleted(space, chained),
        )
        details: dict[str, object] = {
            "from": since.isoformat(),
            "to": until.isoformat(),
            "format": fmt,
            "reports": len(found.rows),
            "failed_check": len(problems),
            "damaged": sum(r.damaged for r in found.rows),
            "deleted": len(found.deleted),
        }
        space.audit.append(
            actor,
            "ledger.export",
            purpose=purpose,
            details={k: v for k, v in details.items() if v or k not in _IF_ANY},
        )
        return found

    return store.run(actor, read)


_IF_ANY = frozenset({"failed_check", "damaged", "deleted"})  # audited only when there are


def _export_row(
    space: Workspace, entry: Entry, problem: str | None, proof: Proof | None
) -> ExportRow:
    try:
        return ExportRow(entry, space.ledger.payload(entry), problem, proof=proof)
    except ShreddedError:
        return ExportRow(entry, None, problem, proof=proof)
    except DamagedDataError:  # one damaged row does not stop the record
        return ExportRow(entry, None, problem, damaged=True, proof=proof)
