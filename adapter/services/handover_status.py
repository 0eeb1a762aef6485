"""What the sending installation knows of one patient for a handover (R-HO-1): the
register status from the ledger and the outbox, the current treatment from the stored
state and records. Read inside the export's unit of work; nothing here is logged."""

from __future__ import annotations

from datetime import date

from adapter.domain.handover import HandedPatient, LastReport, Registration
from adapter.domain.model import PatientFacts, Report
from adapter.domain.register_view import Blanket, ending_blanket
from adapter.errors import ShreddedError
from adapter.fhir.partition import PatientRecords, load, merge_patient
from adapter.services.sync_state import ARCHIVE_FORMAT
from adapter.store.ledger import Entry
from adapter.store.mappings import MappingRow
from adapter.store.workspace import Workspace

_SENT = frozenset({"sent", "acknowledged"})
_VOID = frozenset({"rejected"})


def reports_of(space: Workspace, mapping_id: str) -> list[tuple[Entry, Report]]:
    """The patient's reports that stand (not rejected, not superseded), oldest first."""
    entries = [
        e
        for e in space.ledger.entries(mapping_ids=[mapping_id])
        if e.state not in _VOID and not e.superseded
    ]
    space.keys.preload([e.dek_id for e in entries])
    found = []
    for entry in sorted(entries, key=lambda e: (e.made_on, e.report_date, e.created_at)):
        space.ledger.require_intact(entry, chained=True)  # never hand over a changed row
        try:
            found.append((entry, space.ledger.payload(entry)))
        except ShreddedError:
            continue
    return found


def open_registration(
    reports: list[tuple[Entry, Report]], blankets: dict[str, list[Blanket]]
) -> tuple[tuple[Entry, Report] | None, Blanket | None]:
    """The Anmeldung no later Abmeldung ends (R-EP-5) and no blanket deregistration of its
    doctor ended (R-PAU-1, D-203): the registration the register holds; else None, with
    the blanket deregistration that ended the last one, if one did. Only an Abmeldung the
    register has (sent or acknowledged) ends it (D-256): a pending, approved or queued one
    is not there yet, a rejected or withdrawn one never (`reports_of` leaves those out)."""
    current = None
    for entry, report in sorted(reports, key=lambda er: (er[1].date, er[1].made_on)):
        if report.kind == "anmeldung":
            current = (entry, report)
        elif report.kind == "abmeldung" and entry.state in _SENT:
            current = None
    if current is None:
        return None, None
    ended = ending_blanket(blankets.get(current[0].doctor_btm, []), current[1].date)
    return (None, ended) if ended is not None else (current, None)


def unsent_abmeldung(
    reports: list[tuple[Entry, Report]], opened: tuple[Entry, Report] | None
) -> tuple[Entry, Report] | None:
    """The Abmeldung recorded after the open Anmeldung but not yet sent, if one is (D-256)."""
    if opened is None:
        return None
    since = (opened[1].date, opened[1].made_on)
    later = [
        (e, r)
        for e, r in reports
        if r.kind == "abmeldung" and e.state not in _SENT and (r.date, r.made_on) >= since
    ]
    return min(later, key=lambda er: (er[1].date, er[1].made_on), default=None)


def registration(
    found: tuple[Entry, Report] | None, unsent: tuple[Entry, Report] | None = None
) -> Registration | None:
    if found is None:
        return None
    entry, report = found
    return Registration(
        code=report.patient_code or "",
        doctor=report.doctor,
        since=report.date,
        substance=report.substance or "",
        state=entry.state,
        unsent_abmeldung=unsent[1].date if unsent else None,
        unsent_abmeldung_state=unsent[0].state if unsent else None,
    )


def last_report(space: Workspace, reports: list[tuple[Entry, Report]]) -> LastReport | None:
    """The newest report sent, else the newest made, with its proof of sending (R-CH-2):
    the receipt is named by the batch it acknowledges (a receipt's id, D-202), never by
    the transport's address."""
    sent = [er for er in reports if er[0].state in _SENT]
    pick = (sent or reports)[-1:]
    if not pick:
        return None
    entry, report = pick[0]
    proof = space.outbox.proofs([entry.ledger_id]).get(entry.ledger_id)
    return LastReport(
        kind=report.kind,
        date=report.date,
        made_on=report.made_on,
        state=entry.state,
        sent_at=proof.sent_at.isoformat() if proof and proof.sent_at else None,
        receipt=proof.batch_id if proof and proof.received_at else None,
        received_at=proof.received_at.isoformat() if proof and proof.received_at else None,
    )


def handed_patient(facts: PatientFacts | None) -> HandedPatient:
    """The person's current name (the newest spell without an end), birth date and sex."""
    if facts is None or not facts.names:
        return HandedPatient("", "", None, None)
    current = [n for n in facts.names if n.end is None] or list(facts.names)
    parts = max(current, key=lambda n: n.start or date.min).parts
    return HandedPatient(
        family=parts.family or "",
        given=" ".join(parts.given),
        birth_date=facts.birth_date,
        sex=facts.sex,
    )


def full_records(space: Workspace, mapping: MappingRow, key: str) -> PatientRecords:
    """Every record sync archived of the patient, merged in order."""
    records = PatientRecords(key=key)
    for blob in space.facts.archive(mapping.mapping_id, mapping.dek_id, ARCHIVE_FORMAT):
        stored = load(PatientRecords, blob)
        records = merge_patient(records, stored, stored.resource_keys())
    return records


def last_dose(records: PatientRecords) -> date | None:
    """The last day a dose was given (administration) or handed out (dispense)."""
    days = [a.start for a in records.administrations.values()]
    days += [d.day for d in records.dispenses.values()]
    return max(days, default=None)
