"""The ledger's use cases: list, show, approve, reject, and the export of a period.

Listing shows our own ids, kinds, dates and states only; showing a report's payload
or exporting a period with codes in clear is re-identification by the practice
itself (R-CH-2: it must be able to show what it reported), so each is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapter.domain.model import Report
from adapter.errors import DamagedDataError, ShreddedError
from adapter.export.ledger import ExportRow
from adapter.services.lookup import check_purpose
from adapter.store.audit import Actor
from adapter.store.ledger import Entry
from adapter.store.workspace import Store, Workspace


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
) -> list[Entry]:
    return store.run(
        actor, lambda space: space.ledger.entries(state=state, since=since, until=until)
    )


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
        return moved

    return store.run(actor, move)


def export_period(
    store: Store, actor: Actor, *, since: date, until: date, purpose: str, fmt: str
) -> list[ExportRow]:
    """The reports made in a period, with their payloads (codes in clear): audited."""
    check_purpose(purpose, None)

    def read(space: Workspace) -> list[ExportRow]:
        rows = []
        entries = space.ledger.entries(since=since, until=until)
        space.keys.preload([e.dek_id for e in entries])
        problems = space.ledger.problems(entries)
        for entry in entries:
            problem = problems.get(entry.ledger_id)
            try:
                rows.append(ExportRow(entry, space.ledger.payload(entry), problem))
            except ShreddedError:
                rows.append(ExportRow(entry, None, problem))
            except DamagedDataError as exc:  # one damaged row does not stop the record
                rows.append(ExportRow(entry, None, problem or str(exc), damaged=True))
        space.audit.append(
            actor,
            "ledger.export",
            purpose=purpose,
            details={
                "from": since.isoformat(),
                "to": until.isoformat(),
                "format": fmt,
                "reports": len(rows),
                **({"failed_check": len(problems)} if problems else {}),
            },
        )
        return rows

    return store.run(actor, read)
