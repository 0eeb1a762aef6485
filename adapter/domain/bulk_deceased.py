"""The blanket deregistration of a doctor who died (R-PAU-1, 004 §3.7, D-197).

004 §3.7: for a substituting doctor who died, the (perhaps temporary) medical successor,
or in a justified exception a non-medical employee of the deceased, makes the blanket
deregistration, giving the date of death too. The doctor cannot sign "habe ich … beendet",
so the statement names the doctor and the date of death, and a second remark who declares
and signs it (and, for an employee, why). Pure: the service checks and records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from adapter.domain.btm import is_btm_number
from adapter.domain.model import RegisterDoctor, Report

Declarant = Literal["successor", "staff"]
DECLARANTS: Final[tuple[Declarant, ...]] = ("successor", "staff")
_OPENING: Final = "Pauschalabmeldung für den verstorbenen substituierenden Arzt "
_LONGEST: Final = 200  # a name or a reason on one line of the form's remarks


@dataclass(frozen=True, slots=True)
class Deceased:
    """Who died when, and who declares the blanket deregistration for them."""

    died_on: date
    declared_by: str  # the declarant's name, as they sign
    declarant: Declarant
    successor_btm: str | None = None  # the successor's BtM number, when a doctor declares
    reason: str | None = None  # why an employee declares: required for `staff`


def deceased_problem(deceased: Deceased, day: date, doctor: str) -> str | None:
    """Why this declaration cannot be recorded for the blanket deregistration of `doctor`
    (BtM number) on `day`."""
    text_problem = _text_problem(deceased.declared_by, "the declarant's name") or (
        _text_problem(deceased.reason, "the reason") if deceased.reason is not None else None
    )
    checks = (
        (deceased.declarant not in DECLARANTS, "the declarant is `successor` or `staff`"),
        (text_problem is not None, text_problem or ""),
        (
            day > deceased.died_on,
            f"the treatments ended on {deceased.died_on.isoformat()} at the latest, the day "
            "the doctor died: give that day or an earlier one as the date",
        ),
        (
            deceased.declarant == "staff" and not deceased.reason,
            "an employee who is no doctor declares only in a justified exception: give the "
            "reason (004 §3.7)",
        ),
        (
            deceased.declarant == "staff" and deceased.successor_btm is not None,
            "a successor's BtM number goes with a successor as declarant",
        ),
        (
            deceased.successor_btm is not None and not is_btm_number(deceased.successor_btm),
            "the successor's BtM number is 7 digits (R-DOC-1)",
        ),
        (
            deceased.successor_btm == doctor,
            f"the successor's BtM number {doctor} is the deceased doctor's own: give the "
            "successor's",
        ),
    )
    return next((why for refused, why in checks if refused), None)


def _text_problem(text: str | None, what: str) -> str | None:
    if not text or not text.strip():
        return f"{what} is empty"
    if len(text) > _LONGEST or any(ch in text for ch in "\r\n\t"):
        return f"{what} is one line of at most {_LONGEST} characters"
    return None


def deceased_statement(doctor: RegisterDoctor, day: date, died_on: date) -> str:
    """R-PAU-1 for a doctor who died: the statement, with the date of death (004 §3.7), in
    the manual's generic words (the register's form knows no gender of the doctor)."""
    name = " ".join(n for n in (doctor.given_name, doctor.family_name) if n) or "ohne Namen"
    return (
        f"{_OPENING}{name} (BtM-Nr. {doctor.btm_number or 'nicht bekannt'}), Sterbedatum "
        f"{_german(died_on)}: Am {_german(day)} wurden alle von diesem Arzt durchgeführten "
        "Substitutionsbehandlungen beendet."
    )


def declaration(deceased: Deceased) -> str:
    """Who declares the blanket deregistration of the deceased doctor, and signs it."""
    if deceased.declarant == "successor":
        number = f", BtM-Nr. {deceased.successor_btm}" if deceased.successor_btm else ""
        return (
            f"Erklärt und unterschrieben von {deceased.declared_by} (ärztlicher Nachfolger, "
            f"ggf. vorübergehend{number})."
        )
    return (
        f"Erklärt und unterschrieben von {deceased.declared_by} (nichtärztlicher Mitarbeiter "
        f"des verstorbenen Arztes; begründeter Ausnahmefall: {deceased.reason})."
    )


def is_deceased_statement(text: str) -> bool:
    """Whether a blanket deregistration's first remark is a deceased doctor's statement."""
    return text.startswith(_OPENING) and "Sterbedatum" in text


def statement_of(report: Report, blanket_statement: str) -> str:
    """The signed statement a blanket deregistration carries: the deceased doctor's when
    its first remark is one, else the doctor's own (`blanket_statement`)."""
    if report.remarks and is_deceased_statement(report.remarks[0]):
        return report.remarks[0]
    return blanket_statement


def _german(day: date) -> str:
    return day.strftime("%d.%m.%Y")
