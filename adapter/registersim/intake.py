"""How the register takes the reports of one batch: each accepted or rejected with a reason
in the register's words (German), and a duplicate notice when a code is registered by two
doctors at once (004 §10).

The reports are taken in the register's order (by date; on one day the Anmeldung first,
`register_order`), each against what the register holds by then, the batch's earlier
reports included; the results are listed in the batch's order. The holdings are a port
(`Holdings`): `holdings.BatchHoldings`, loaded from SQLite for the batch. Codes come in
only through `cryptogram`, a keyed one-way function: nothing here keeps or returns a code.
A report received before and accepted is accepted again and kept once (same content) or
rejected (another report under its id); one rejected before is judged afresh.

    anmeldung          code, substance (R-SUB-1); no registration of this code open with
                       the same doctor (R-EP-4): opens one
    abmeldung          code; a registration of this code open with the same doctor, its
                       first use not after this last use (R-EP-4): closes it
    inventur           code; confirms an open registration, or opens one from its date
    mitteilung         nothing registered (a code, when it has one, must be one)
    pauschalabmeldung  closes every registration of the doctor open on its date
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from adapter.domain.batch import Batch
from adapter.domain.codes import is_patient_code
from adapter.domain.duplicate_notice import DuplicateNotice
from adapter.domain.model import SUBSTANCES, Report
from adapter.domain.receipt import Notice, Result
from adapter.domain.register_view import register_order
from adapter.registersim.letters import duplicate_letters

__all__ = ["Holdings", "Intake", "KnownReport", "Registration", "take_batch"]

NEEDS_CODE = frozenset({"anmeldung", "abmeldung", "inventur"})


@dataclass(frozen=True, slots=True)
class Registration:
    """One code (its cryptogram) registered by one doctor, open since `first_use`."""

    id: int
    doctor_btm_number: str
    first_use: date


@dataclass(frozen=True, slots=True)
class KnownReport:
    """A report id the register received before: in which batch, with which content."""

    batch_id: str
    content_mac: str
    accepted: bool  # a rejected report may come again (a new batch) and is taken afresh


@dataclass(frozen=True, slots=True)
class Taken:
    """One report as the register keeps it (no code: its cryptogram)."""

    report: Report
    cryptogram: str | None
    content_mac: str
    result: Result


class Holdings(Protocol):
    """What the register holds, read and changed within one transaction."""

    def known_report(self, report_id: str) -> KnownReport | None: ...

    def open_registrations(self, cryptogram: str) -> list[Registration]:
        """The open registrations of this code, with any doctor."""
        ...

    def open_of_doctor(self, btm_number: str) -> list[Registration]: ...

    def register(self, taken: Taken, first_use: date) -> None: ...

    def deregister(self, registration: Registration, closed_on: date, report_id: str) -> None: ...

    def note_duplicate(self, cryptogram: str, first: str, second: str, report_id: str) -> None: ...

    def doctor_contact(self, btm_number: str) -> str | None: ...


@dataclass(slots=True)
class Intake:
    """What came of a batch: the results in the batch's order, notices, reports to keep."""

    results: list[Result] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    taken: list[Taken] = field(default_factory=list)
    letters: list[DuplicateNotice] = field(default_factory=list)  # to each doctor, with the code


def take_batch(
    batch: Batch,
    holdings: Holdings,
    *,
    today: date,
    cryptogram: Callable[[str], str],
    content_mac: Callable[[Report], str],
) -> Intake:
    """Take every report of `batch` into `holdings`; what was accepted, rejected, noticed."""
    results: dict[str, Result] = {}
    intake = Intake()
    for report in sorted(batch.reports, key=lambda r: register_order(r.kind, r.date)):
        code = report.patient_code if is_patient_code(report.patient_code) else None
        secret = cryptogram(code) if code is not None else None
        mac = content_mac(report)
        known = holdings.known_report(report.id)
        if known is not None and known.accepted:
            results[report.id] = _again(report, known, mac)
            continue
        reason = _refusal(report, today) or _state_refusal(report, secret, holdings)
        result = Result(report.id, "rejected", reason) if reason else Result(report.id, "accepted")
        taken = Taken(report, secret, mac, result)
        intake.taken.append(taken)
        results[report.id] = result
        if result.status == "accepted":
            intake.notices.extend(_register(taken, holdings, intake.letters, today))
    intake.results = [results[report.id] for report in batch.reports]
    return intake


def _again(report: Report, known: KnownReport, mac: str) -> Result:
    if known.content_mac == mac:  # `outbox resend` of a batch that did arrive: kept once
        return Result(
            report.id,
            "accepted",
            f"Bereits mit Sendung {known.batch_id} erhalten; nicht erneut registriert.",
        )
    return Result(
        report.id,
        "rejected",
        f"Die Meldungs-ID wurde mit Sendung {known.batch_id} schon für eine andere Meldung "
        "verwendet.",
    )


def _refusal(report: Report, today: date) -> str | None:
    """What is wrong with the report itself, before the register's holdings are asked."""
    if report.date > today or report.made_on > today:
        return "Ein Datum der Meldung liegt in der Zukunft (R-DATE-3)."
    if report.patient_code is None:
        if report.kind in NEEDS_CODE:
            return "Der Patientencode fehlt."
    elif not is_patient_code(report.patient_code):  # never echoed: it may still be a code
        return (
            "Der Patientencode hat nicht die Form des Registers (vier Buchstaben A–Z, Ä, Ö, "
            "Ü oder ß, F oder M, drei Ziffern; R-CODE)."
        )
    if report.kind == "anmeldung" and report.substance not in SUBSTANCES:
        return (
            "Das Substitutionsmittel fehlt oder ist keines der Wirkstoffe des Registers "
            f"({', '.join(SUBSTANCES)}; R-SUB-1)."
        )
    return None


def _state_refusal(report: Report, secret: str | None, holdings: Holdings) -> str | None:
    """R-EP-4 against what the register holds for this doctor and code."""
    if secret is None or report.kind not in ("anmeldung", "abmeldung"):
        return None
    mine = _own(holdings.open_registrations(secret), report)
    if report.kind == "anmeldung" and mine is not None:
        return (
            f"Der Patient ist bei diesem Arzt seit {mine.first_use.isoformat()} angemeldet; "
            "eine zweite Anmeldung ohne Abmeldung ist nicht möglich (R-EP-4)."
        )
    if report.kind == "abmeldung":
        if mine is None:
            return "Abmeldung ohne offene Anmeldung dieses Patientencodes bei diesem Arzt (R-EP-4)."
        if report.date < mine.first_use:
            return (
                "Das Datum der letzten Anwendung liegt vor dem der ersten "
                f"({mine.first_use.isoformat()}) der offenen Anmeldung."
            )
    return None


def _register(
    taken: Taken, holdings: Holdings, letters: list[DuplicateNotice], today: date
) -> list[Notice]:
    """Change the holdings for an accepted report; the duplicate notices it gives (and
    the letters of 004 §10 to both doctors, added to `letters`)."""
    report, secret = taken.report, taken.cryptogram
    doctor = report.doctor.btm_number or ""
    if report.kind == "pauschalabmeldung":
        for registration in holdings.open_of_doctor(doctor):
            if registration.first_use <= report.date:
                holdings.deregister(registration, report.date, report.id)
        return []
    if secret is None or report.kind == "mitteilung":
        return []
    registrations = holdings.open_registrations(secret)
    mine = _own(registrations, report)
    if report.kind == "abmeldung" and mine is not None:
        holdings.deregister(mine, report.date, report.id)
        return []
    if mine is not None:  # an Inventur of a registration the register holds: confirmed
        return []
    holdings.register(taken, report.date)
    for other in registrations:
        letters.extend(duplicate_letters(other, taken, holdings, today))
    return [_duplicate(other, taken, holdings) for other in registrations]


def _own(registrations: list[Registration], report: Report) -> Registration | None:
    return next((r for r in registrations if r.doctor_btm_number == report.doctor.btm_number), None)


def _duplicate(other: Registration, taken: Taken, holdings: Holdings) -> Notice:
    """004 §10: the code, the date of first use and the other doctor's contact data; the
    code is named by the report it came with, never written out."""
    doctor = taken.report.doctor.btm_number or ""
    holdings.note_duplicate(
        taken.cryptogram or "", other.doctor_btm_number, doctor, taken.report.id
    )
    contact = holdings.doctor_contact(other.doctor_btm_number) or "keine Kontaktdaten"
    text = (
        "Mehrfachbehandlung (004 §10): derselbe Patientencode ist seit "
        f"{other.first_use.isoformat()} auch bei einem anderen Arzt angemeldet "
        f"(BtM-Nr. {other.doctor_btm_number}; {contact}). Bitte klären Sie mit ihm, ob es "
        "derselbe Patient ist, und teilen Sie das Ergebnis der Bundesopiumstelle mit."
    )
    return Notice("duplicate", taken.report.id, text)
