"""The register's bulk reports, made from the ledger: the inventory report (R-INV-1) and the
blanket deregistration of a leaving doctor (R-PAU-1), 004 §3.6, §3.7.

Pure: both take what the ledger says was reported (`Reported`) and return the reports to
record. What the register holds open is what the reports sent or going to be say, in the
register's order (`RegisterView`); a blanket deregistration closes, in that view, every
registration of its doctor open on its date (`blanket_closes`), so that the reconciler
sends no single Abmeldung of its own for them (D-166). An inventory report goes to the
register only once the single reports it confirms are there (`inventory_waits_for`,
D-196).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from adapter.domain.bulk_deceased import Deceased, deceased_statement, declaration
from adapter.domain.model import RegisterDoctor, Report
from adapter.domain.reconcile_filters import blanket_days
from adapter.domain.reconcile_model import PRACTICE, Planned, Reported, slot_key
from adapter.domain.register_view import register_order
from adapter.domain.reports import report_id

INVENTORY: Final = "inventur"
BLANKET: Final = "pauschalabmeldung"
BULK_KINDS = frozenset({INVENTORY, BLANKET})
# Pairs the register reads as one phase going on (D-12): a new code, a switch to or from
# Diamorphin, a new consulting doctor. An R-ABS-2 re-registration starts afresh.
_CONTINUING = frozenset({"R-CHG-1", "R-CHG-2", "R-CHG-3"})


def blanket_statement(day: date) -> str:
    """R-PAU-1: the signed statement of a blanket deregistration, in the register's words."""
    return (
        f"Am {day.strftime('%d.%m.%Y')} habe ich alle von mir durchgeführten "
        "Substitutionsbehandlungen beendet."
    )


@dataclass(frozen=True, slots=True)
class Held:
    """One registration the register holds open with a doctor on a day (our ids only,
    and the Anmeldung as sent: its code is the register's spelling, R-CODE-8)."""

    subject: str  # mapping id
    ledger_id: str  # the open Anmeldung's
    began: date  # the first use of the current phase
    anmeldung: Report


def held_open(reported: Iterable[Reported], doctor: str, day: date) -> list[Held]:
    """The registrations of `doctor` (BtM number) the register holds open on `day`,
    one per patient, from the reports sent or going to be (a rejected one told nothing)."""
    entries = [r for r in reported if r.at_register]
    blankets = blanket_days(entries).get(doctor, [])
    by_subject: dict[str, list[Reported]] = defaultdict(list)
    for entry in entries:
        if entry.doctor == doctor and entry.subject != PRACTICE and entry.date <= day:
            by_subject[entry.subject].append(entry)
    held = []
    for subject in sorted(by_subject):
        found = _open_of(by_subject[subject], [b for b in blankets if b <= day])
        if found is not None:
            held.append(found)
    return held


def _open_of(entries: list[Reported], blankets: list[date]) -> Held | None:
    """The registration open after these entries and blanket dates, with its phase's start:
    a pair that continues the phase (a new code, substance or consulting doctor) keeps it."""
    steps: list[tuple[tuple[date, int], Reported | None]] = [
        (register_order(e.kind, e.date), e) for e in entries
    ]
    steps += [(register_order(BLANKET, d), None) for d in blankets]
    chain: list[Reported] = []  # the open registration's Anmeldungen, the phase's first first
    ended: list[Reported] = []  # those of the registration an Abmeldung just closed
    for _, entry in sorted(steps, key=lambda s: s[0]):
        if entry is None:  # a blanket deregistration ends the phase for good
            chain, ended = [], []
        elif entry.kind == "abmeldung":
            chain, ended = [], chain
        elif entry.kind == "anmeldung":
            continues = entry.report is not None and entry.report.rule in _CONTINUING
            chain, ended = ([*ended, entry] if continues and ended else [entry]), []
    if not chain or chain[-1].report is None:
        return None  # nothing open, or its payload shredded: nothing to tell
    return Held(chain[-1].subject, chain[-1].ledger_id, chain[0].date, chain[-1].report)


def inventory_reports(
    held: Iterable[Held], doctor: RegisterDoctor, key_date: date
) -> list[Planned]:
    """R-INV-1: one Inventur-Meldung per patient the doctor holds open on the key date, with
    the code as sent at Anmeldung, the first use of the current phase, the substance and the
    consulting doctor of the open registration. Made on the key date, which its slot holds:
    the same key date gives the same slots, so a second run records nothing."""
    planned = []
    for item in held:
        anmeldung = item.anmeldung
        slot = slot_key(INVENTORY, item.subject, doctor.btm_number or "", key_date)
        report = Report(
            kind=INVENTORY,
            made_on=key_date,
            date=item.began,
            patient_code=anmeldung.patient_code,
            substance=anmeldung.substance,
            doctor=doctor,
            consultant=anmeldung.consultant,
            remarks=(),  # the marking is the kind with the key date (paper: its first column)
            rule="R-INV-1",
            sources=(),
            id=report_id(INVENTORY, slot),
        )
        planned.append(Planned(item.subject, report))
    return planned


def blanket_report(
    doctor: RegisterDoctor, day: date, *, made_on: date, deceased: Deceased | None = None
) -> Planned:
    """R-PAU-1: the blanket deregistration of `doctor` on `day`, the statement as remark; it
    names no patient (the register ends every registration of the doctor open on `day`).
    For a doctor who died, the statement gives the date of death and a second remark who
    declares it (004 §3.7, D-197)."""
    remarks = (
        (deceased_statement(doctor, day, deceased.died_on), declaration(deceased))
        if deceased is not None
        else (blanket_statement(day),)
    )
    slot = slot_key(BLANKET, PRACTICE, doctor.btm_number or "", day)
    report = Report(
        kind=BLANKET,
        made_on=made_on,
        date=day,
        patient_code=None,
        substance=None,
        doctor=doctor,
        consultant=None,
        remarks=remarks,
        rule="R-PAU-1",
        sources=(),
        id=report_id(BLANKET, slot),
    )
    return Planned(PRACTICE, report)


# An entry the register has not had yet: recorded, approved, or sealed and not delivered
# (a batch sealed earlier may still fail and be delivered after a later one).
_NOT_AT_REGISTER_YET = frozenset({"pending", "approved", "queued"})


@dataclass(frozen=True, slots=True)
class Listed:
    """A ledger entry by its clear columns (our ids, kinds, days and states only)."""

    ledger_id: str
    subject: str | None  # mapping id
    kind: str
    doctor: str
    day: date  # the report's date
    made_on: date
    state: str
    origin: str = "derived"


def inventory_waits_for(inventory: Listed, ledger: Iterable[Listed]) -> tuple[str, ...]:
    """D-196: the single reports of the inventory report's patient and doctor, dated up to
    its key date, that the register has not had yet. Sent before them, the inventory report
    would open the registration and the register would refuse their Anmeldung as a second
    one (R-EP-4); in their batch it would too, the register taking a batch by date and the
    inventory dated at the phase's first use. So it is sealed only after they were sent."""
    if inventory.kind != INVENTORY:
        return ()
    return tuple(
        sorted(
            entry.ledger_id
            for entry in ledger
            if entry.subject == inventory.subject
            and entry.doctor == inventory.doctor
            and entry.kind in {"anmeldung", "abmeldung"}
            and entry.day <= inventory.made_on
            and entry.state in _NOT_AT_REGISTER_YET
            and entry.origin != "waived"
        )
    )


_UNSENT = frozenset({"pending", "approved"})


def inventories_resting_on(anmeldung: Listed, ledger: Iterable[Listed]) -> tuple[str, ...]:
    """The unsent inventory reports that rest on `anmeldung`, which is being rejected or
    withdrawn: those of its patient and doctor keyed on or after its date, for which it is
    the newest Anmeldung still going to the register dated up to the key date (the one it
    names), or one of the phase it states, from its first use on (the first supplies that
    date, R-CHG-1/2/3 pairs keep it). Without it the register would be told of a
    registration it never had, or of the wrong first use (D-196, D-217)."""
    if anmeldung.kind != "anmeldung":
        return ()
    entries = [e for e in ledger if e.subject == anmeldung.subject and e.doctor == anmeldung.doctor]
    going = [
        e
        for e in entries
        if e.kind == "anmeldung"
        and e.origin != "waived"
        and (e.state != "rejected" or e.ledger_id == anmeldung.ledger_id)
    ]
    resting = []
    for inventory in entries:
        if inventory.kind != INVENTORY or inventory.state not in _UNSENT:
            continue
        before = [e for e in going if e.day <= inventory.made_on]
        newest = max((e.day for e in before), default=None)
        in_phase = newest == anmeldung.day or inventory.day <= anmeldung.day
        if in_phase and anmeldung in before:
            resting.append(inventory.ledger_id)
    return tuple(sorted(resting))
