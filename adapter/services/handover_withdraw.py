"""A handover imported after this installation already recorded the second Anmeldung
(R-HO-1, R-EP-5, D-216).

The ordinary order at a receiving facility is that its sync runs before someone imports
the handover document: the Anmeldung (or Abmeldung) under the handover's code by another
doctor than the registering one is then in the ledger already, and sync's hook, which
holds back only reports it is about to record, never sees it again. `take_back` does at
the import what sync does to a report the data no longer calls for (D-28, D-80): an unsent
one (pending, approved) is withdrawn, rejected with a note naming the handover and its
slot freed, audited, and its patient is left for the next sync to derive afresh, so that
the hook holds it with its finding and the first sync after `handover release` records it
again. One queued, sent or acknowledged may have reached the register and cannot be taken
back: it is returned for the import to say so (the register will report a duplicate,
004 §10), and `sent_findings` says it on every sync while the handover is open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from adapter.domain.handover import Received, Registration, handover_decision
from adapter.domain.model import Finding
from adapter.domain.reconcile import Reported
from adapter.fhir.partition import dump
from adapter.services.inventory_rests import resting_on, withdraw_audited
from adapter.services.sync_state import STATE_FORMAT, load_state
from adapter.store.audit import Actor
from adapter.store.facts import StoredState
from adapter.store.workspace import Workspace

HELD_NOTE = "held back by handover {handover} (R-HO-1): another doctor's registration is open"
_UNSENT = ("pending", "approved")
_AT_REGISTER = ("queued", "sent", "acknowledged")


@dataclass(frozen=True, slots=True)
class TakenBack:
    withdrawn: tuple[str, ...]  # ledger ids withdrawn (with the inventory resting on them)
    sent: tuple[str, ...]  # ledger ids queued, sent or acknowledged: not to be taken back


def held_by(reported: Reported, received: dict[str, Received]) -> bool:
    """Whether the handover received holds back this ledger report (R-HO-1): another
    doctor's Anmeldung or Abmeldung under the code of an open registration."""
    if reported.report is None or reported.superseded or not reported.at_register:
        return False
    return handover_decision(reported.report, received) == "hold"


def take_back(space: Workspace, actor: Actor, handover_id: str, reg: Registration) -> TakenBack:
    """Withdraw the unsent reports the open registration `reg` holds back (R-HO-1, D-216)."""
    received = {reg.code: Received(reg.code, reg.doctor.btm_number, "open")}
    subjects = sorted(
        {
            e.mapping_id
            for e in space.ledger.entries()
            if e.mapping_id is not None
            and e.kind in ("anmeldung", "abmeldung")
            and e.state != "rejected"
            and e.doctor_btm != reg.doctor.btm_number
        }
    )
    if not subjects:
        return TakenBack((), ())
    found = [r for r in space.ledger.reported(subjects) if held_by(r, received)]
    unsent = [r.ledger_id for r in found if r.state in _UNSENT]
    withdrawn = [*unsent, *resting_on(space, unsent)]
    note = HELD_NOTE.format(handover=handover_id)
    for ledger_id in withdrawn:
        withdraw_audited(
            space, actor, ledger_id, cause=handover_id, note=note,
            details={"handover": handover_id},
        )  # fmt: skip
    _derive_afresh(space, sorted({r.subject for r in found}))
    sent = tuple(r.ledger_id for r in found if r.state in _AT_REGISTER)
    return TakenBack(tuple(withdrawn), sent)


def _derive_afresh(space: Workspace, mapping_ids: list[str]) -> None:
    """Mark the patients unresolved: the next sync derives them afresh (R-EP-5)."""
    keys = {m: space.mappings.get(m).dek_id for m in mapping_ids}
    states: list[tuple[StoredState, str]] = []
    for stored in space.facts.states(mapping_ids, with_live=False):
        state = load_state(stored.format, stored.data)
        if state is None:
            continue  # derived afresh anyway (no state of this format)
        data = dump(replace(state, unresolved=True))
        fresh = StoredState(stored.mapping_id, STATE_FORMAT, data, stored.walked_to, True)
        states.append((fresh, keys[stored.mapping_id]))
    space.facts.save_states(states)


def sent_finding(reported: Reported, handover_id: str, holder: str | None) -> Finding:
    """The report another doctor's open registration holds back was sent already (R-HO-1)."""
    report = reported.report
    sources = report.sources if report else ()
    message = (
        f"{reported.kind.capitalize()} of {reported.date.isoformat()} by BtM "
        f"{reported.doctor} is {reported.state} and cannot be taken back, while handover "
        f"{handover_id} received here states the registration of BtM {holder} is open "
        "(R-HO-1, R-EP-5): the register will report a duplicate; agree with the sending "
        "doctor who stays registered (004 §10)."
    )
    return Finding("warning", "R-HO-1", message, sources)
