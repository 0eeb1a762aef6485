"""What the reconciler works with: a report's slot, the ledger's entries as it reads them
(`Reported`), the reports the data calls for (`Desired`) and what it plans (`Planned`,
`Plan`). Pure; `adapter.domain.reconcile` decides with them.

A report is identified by its *slot*: kind, subject, doctor (BtM number) and date.
The code is not part of the slot, because once reported it is fixed (R-CODE-8): an
Abmeldung always takes the code of the Anmeldung the register holds open, however the
EHR spells the name today.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from adapter.domain.model import Finding, Report

PRACTICE = "practice"  # the subject of notices (Mitteilungen)
Origin = Literal["derived", "correction", "waived", "agreement"]


def slot_key(kind: str, subject: str, doctor: str, day: date) -> str:
    """The ledger's uniqueness key: our own ids and a date only, nothing personal."""
    return f"{kind}|{subject}|{doctor}|{day.isoformat()}"


def report_slot(subject: str, report: Report) -> str:
    """The slot of a report. A notice's slot also holds a digest of what it says, so that a
    second change of the same day, learned later, is a notice of its own (R-CHG-4)."""
    # An inventory report's slot is its key date (R-INV-1: one per patient and key date).
    day = report.made_on if report.kind == "inventur" else report.date
    slot = slot_key(report.kind, subject, report.doctor.btm_number or "", day)
    if report.kind != "mitteilung":
        return slot
    said = hashlib.sha256("\n".join(report.remarks).encode()).hexdigest()[:16]
    return f"{slot}|{said}"


@dataclass(frozen=True, slots=True)
class Reported:
    """A ledger entry as the reconciler needs it."""

    ledger_id: str
    subject: str
    kind: str
    doctor: str
    date: date
    code: str | None
    state: str
    origin: Origin = "derived"
    superseded: bool = False
    report: Report | None = None  # the payload as recorded, when it could be decrypted
    stored_slot: str | None = None  # the slot as the ledger holds it

    @property
    def slot(self) -> str:
        return self.stored_slot or slot_key(self.kind, self.subject, self.doctor, self.date)

    @property
    def at_register(self) -> bool:
        """Sent or going to be: everything but a rejected or waived entry."""
        return self.state != "rejected" and self.origin != "waived"


@dataclass(frozen=True, slots=True)
class Desired:
    """A report the data calls for, with its subject (mapping id) and patient key."""

    subject: str
    patient: str  # `Patient/p1`: findings may name it, the ledger never stores it
    report: Report

    @property
    def slot(self) -> str:
        return report_slot(self.subject, self.report)


@dataclass(frozen=True, slots=True)
class Planned:
    """A report to record in the ledger."""

    subject: str
    report: Report
    origin: Origin = "derived"

    @property
    def slot(self) -> str:
        return report_slot(self.subject, self.report)


@dataclass(frozen=True, slots=True)
class Plan:
    record: list[Planned] = field(default_factory=list)
    supersede: list[str] = field(default_factory=list)  # ledger ids
    findings: list[Finding] = field(default_factory=list)
    contradicted: set[str] = field(default_factory=set)  # subjects left unresolved
    withdraw: list[str] = field(default_factory=list)  # ledger ids not yet sent, now void
