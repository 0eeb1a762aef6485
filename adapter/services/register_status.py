"""The doctors' blanket deregistrations as the register status of a patient needs them
(R-PAU-1, D-166, D-203): the handover document, `duplicate import` and `duplicate
resolve` show a registration a Pauschalabmeldung ended as ended by it, and offer no
Abmeldung for it. Reads the ledger's clear columns only (kind, doctor, day, state)."""

from __future__ import annotations

from adapter.domain.register_view import Blanket
from adapter.store.workspace import Workspace


def blankets_by_doctor(space: Workspace) -> dict[str, list[Blanket]]:
    """The blanket deregistrations sent or going to be (not rejected or withdrawn), by
    doctor's BtM number (R-PAU-1)."""
    found: dict[str, list[Blanket]] = {}
    for entry in space.ledger.entries():
        if entry.kind == "pauschalabmeldung" and entry.state != "rejected":
            found.setdefault(entry.doctor_btm, []).append(Blanket(entry.report_date, entry.state))
    return found
