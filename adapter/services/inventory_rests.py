"""An inventory report rests on the Anmeldung it names and on those of the phase it
states, from the first, whose date it gives as first use (R-INV-1, D-196, D-217): when a
person rejects one of them before it was sent, the unsent inventory report is withdrawn with
it (rejected with a note, its slot freed); so it is when sync withdraws that Anmeldung
(the data no longer calls for it; sync's note then). The register is never told of a
registration it was not sent; `substreg inventory` for the key date makes the right one
again (the ledger then holds the patient open, or not).
"""

from __future__ import annotations

from collections.abc import Iterable

from adapter.domain.bulk import Listed, inventories_resting_on
from adapter.store.audit import Actor
from adapter.store.ledger import Entry
from adapter.store.workspace import Workspace

RESTING_NOTE = (
    "withdrawn: the Anmeldung this inventory report names or takes its first use from was "
    "rejected ({anmeldungen}), so the register never had it; run "
    "`substreg inventory --key-date {key_date}` again (D-196, D-217)"
)


def listed(entry: Entry) -> Listed:
    """The ledger row by the clear columns the bulk rules read."""
    return Listed(
        entry.ledger_id,
        entry.mapping_id,
        entry.kind,
        entry.doctor_btm,
        entry.report_date,
        entry.made_on,
        entry.state,
        entry.origin,
    )


def resting_on(space: Workspace, ledger_ids: Iterable[str]) -> list[str]:
    """The unsent inventory reports that rest on these Anmeldungen, about to be rejected
    or withdrawn (other ids are passed over); none of `ledger_ids` itself."""
    ledger = [listed(e) for e in space.ledger.entries()]
    by_id = {item.ledger_id: item for item in ledger}
    going = set(ledger_ids)
    found: set[str] = set()
    for ledger_id in going:
        item = by_id.get(ledger_id)
        if item is not None:
            found.update(inventories_resting_on(item, ledger))
    return sorted(found - going)


def withdraw_resting(space: Workspace, actor: Actor, rejected: list[Entry]) -> tuple[str, ...]:
    """Withdraw the unsent inventory reports that rest on the Anmeldungen a person just
    rejected, with a note naming one; audited as `report.withdraw` (our ids only)."""
    anmeldungen = [e.ledger_id for e in rejected if e.kind == "anmeldung"]
    if not anmeldungen:
        return ()
    resting = resting_on(space, anmeldungen)
    for ledger_id in resting:
        inventory = space.ledger.entry(ledger_id)
        note = RESTING_NOTE.format(
            anmeldungen=", ".join(anmeldungen), key_date=inventory.made_on.isoformat()
        )
        withdraw_audited(
            space, actor, ledger_id, cause=anmeldungen[0], note=note,
            details={"rests_on": anmeldungen},
        )  # fmt: skip
    return tuple(resting)


def withdraw_audited(
    space: Workspace,
    actor: Actor,
    ledger_id: str,
    *,
    cause: str,
    note: str,
    details: dict[str, object],
) -> Entry:
    """Withdraw one unsent report by the work of `cause` (a handover, a rejected
    Anmeldung: our ids), with its note, audited as `report.withdraw` (our ids only)."""
    entry = space.ledger.withdraw(ledger_id, by="withdrawn", run_id=cause, note=note)
    space.audit.append(
        actor, "report.withdraw", mapping_id=entry.mapping_id, ledger_id=ledger_id,
        details=details,
    )  # fmt: skip
    return entry
