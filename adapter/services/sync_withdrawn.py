"""Reports sync withdrew are no decision: they give up their slot (D-28, D-80).

A report the data no longer calls for while it is still pending or approved is withdrawn
by sync: rejected, with a note, and kept as the record. A rejected slot stays decided
(`adapter.domain.ledger`), so such a report used to block its slot for good: when the data
called for it again (a configuration forgotten for one run, a Patient that lost its gender
in one export) sync recorded nothing, and the ledger no longer matched `derive`. Neither a
person nor the register decided anything, so the withdrawn row now gives up its slot, as
`runs undo` does (D-49): the next sync records the report afresh, as `pending`, for a
person to approve again. A report a person rejected keeps its slot, and is never made again.

Rows an earlier version withdrew still hold their slot; the audit log tells them (the last
word on the row is sync's `report.withdraw`, not a person's `report.reject`), and the next
sync that meets them frees their slot.
"""

from __future__ import annotations

from dataclasses import replace

from adapter.domain.ledger import is_freed
from adapter.domain.reconcile import Reported
from adapter.store.workspace import Workspace

WITHDRAWN_NOTE = "withdrawn by sync: later data no longer calls for this report"
_BY_SYNC, _BY_A_PERSON = "report.withdraw", "report.reject"


def withdraw(space: Workspace, ledger_ids: list[str], run_id: str) -> None:
    """Reject the reports with the note and free their slots (R-EP-5, D-28, D-80)."""
    for ledger_id in ledger_ids:
        space.ledger.withdraw(ledger_id, by="withdrawn", run_id=run_id, note=WITHDRAWN_NOTE)


def free_earlier_withdrawals(
    space: Workspace, known: list[Reported], run_id: str, damaged: set[str]
) -> list[Reported]:
    """The ledger as the reconciler sees it, with the slots of reports an earlier version's
    sync withdrew given up (D-80); patients in `damaged` are left as they are."""
    held = [
        r
        for r in known
        if r.state == "rejected"
        and r.origin == "derived"
        and not is_freed(r.slot)
        and r.subject not in damaged
    ]
    if not held:
        return known
    last: dict[str, str] = {}
    for row in space.audit.entries(ledger_ids=[r.ledger_id for r in held]):
        if row["action"] in (_BY_SYNC, _BY_A_PERSON):
            last[str(row["ledger_id"])] = str(row["action"])
    freed: dict[str, str] = {}
    for entry in held:
        if last.get(entry.ledger_id) == _BY_SYNC:  # rejected already: only the slot moves
            moved = space.ledger.withdraw(
                entry.ledger_id, by="withdrawn", run_id=run_id, note=WITHDRAWN_NOTE
            )
            freed[entry.ledger_id] = moved.slot_key
    return [
        replace(r, stored_slot=freed[r.ledger_id]) if r.ledger_id in freed else r for r in known
    ]
