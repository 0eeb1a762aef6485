"""The ledger facts the forecast of stored data counts (D-226): the reports of the
patients walked and the notices, the doctors' blanket deregistrations (R-PAU-1) and the
handovers received here (R-HO-1), read through the unit of work's ports in the forecast's
one read-only unit of work. `adapter.domain.forecast_ledger` decides with them."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import orjson

from adapter.domain.forecast_ledger import HandedOut, HandedOver, LedgerFacts
from adapter.errors import LedgerIntegrityError
from adapter.services.register_status import blankets_by_doctor
from adapter.services.sync_handover import received_of
from adapter.store.workspace import Workspace

_BERLIN = ZoneInfo("Europe/Berlin")


def ledger_facts(space: Workspace, mapping_ids: list[str]) -> LedgerFacts:
    """What sync would reconcile the walked patients' reports with. A ledger row that
    cannot be read or fails its check fails the forecast (fail closed, as an archive
    does, D-190): a deadline it settles might be shown as due, or one due hidden."""
    reported = space.ledger.reported(mapping_ids, notices=True)
    if space.ledger.unreadable:
        ledger_id, (_, problem) = sorted(space.ledger.unreadable.items())[0]
        msg = f"The forecast cannot count the ledger: {problem} (report {ledger_id})."
        raise LedgerIntegrityError(msg)
    newest = {h.code: h for h in space.handovers.listed()}  # oldest first: the newest wins
    handovers = tuple(
        HandedOver(h.handover_id, h.day, h.since, received_of(h)) for h in newest.values()
    )
    exported = _exported(space, set(mapping_ids))
    return LedgerFacts(tuple(reported), blankets_by_doctor(space), handovers, exported)


def _exported(space: Workspace, mapping_ids: set[str]) -> dict[str, HandedOut]:
    """The newest handover document exported for each patient with a registration open
    (the audit entries `handover.export`, D-163); an entry of an older version, which kept
    no day, counts from the day it was written (in Berlin)."""
    found: dict[str, HandedOut] = {}
    for entry in space.audit.entries(action="handover.export"):  # by seq: the newest wins
        details = orjson.loads(entry["details"])
        if entry["mapping_id"] not in mapping_ids or not details.get("registered"):
            continue
        stated = details.get("day")
        day = date.fromisoformat(stated) if stated else entry["at"].astimezone(_BERLIN).date()
        found[entry["mapping_id"]] = HandedOut(str(details.get("document")), day)
    return found
