"""An inventory report rests on the Anmeldung it names (R-INV-1, D-196): when a person
rejects that Anmeldung before it was sent, the unsent inventory report is withdrawn with
it (rejected with a note, its slot freed), so that the register is never told of a
registration it was not sent. `substreg inventory` for the key date makes the right one
again (the ledger then holds the patient open, or not).
"""

from __future__ import annotations

from adapter.domain.bulk import Listed, inventories_resting_on
from adapter.store.audit import Actor
from adapter.store.ledger import Entry
from adapter.store.workspace import Workspace

RESTING_NOTE = (
    "withdrawn: the Anmeldung {anmeldung} this inventory report names was rejected, so the "
    "register never had it; run `substreg inventory --key-date {key_date}` again (D-196)"
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


def withdraw_resting(space: Workspace, actor: Actor, rejected: list[Entry]) -> tuple[str, ...]:
    """Withdraw the unsent inventory reports that rest on these rejected Anmeldungen;
    audited as `report.withdraw` with the Anmeldung's id (our ids only)."""
    anmeldungen = [e for e in rejected if e.kind == "anmeldung"]
    if not anmeldungen:
        return ()
    ledger = [listed(e) for e in space.ledger.entries()]
    withdrawn: list[str] = []
    for anmeldung in anmeldungen:
        for ledger_id in inventories_resting_on(listed(anmeldung), ledger):
            if ledger_id in withdrawn:
                continue
            inventory = space.ledger.entry(ledger_id)
            note = RESTING_NOTE.format(
                anmeldung=anmeldung.ledger_id, key_date=inventory.made_on.isoformat()
            )
            space.ledger.withdraw(ledger_id, by="withdrawn", run_id=anmeldung.ledger_id, note=note)
            space.audit.append(
                actor,
                "report.withdraw",
                mapping_id=inventory.mapping_id,
                ledger_id=ledger_id,
                details={"rests_on": anmeldung.ledger_id},
            )
            withdrawn.append(ledger_id)
    return tuple(withdrawn)
