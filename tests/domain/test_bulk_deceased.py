"""The blanket deregistration of a doctor who died (R-PAU-1, 004 §3.7, D-197): the
statement with the date of death, who declares it, and what is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from adapter.domain.bulk import blanket_report, blanket_statement
from adapter.domain.bulk_deceased import (
    Deceased,
    deceased_problem,
    deceased_statement,
    declaration,
    statement_of,
)

from .builders import report

D = date
DOCTOR = report("anmeldung", made_on=D(2025, 3, 1)).doctor
DIED = D(2025, 6, 15)
OWN = DOCTOR.btm_number or ""
SUCCESSOR = Deceased(DIED, "Dr. Jonas Richter", "successor", successor_btm="3800202")
STAFF = Deceased(DIED, "Petra Lang", "staff", reason="kein ärztlicher Nachfolger erreichbar")


def test_the_statement_names_the_doctor_and_the_date_of_death() -> None:
    """004 §3.7: the blanket deregistration gives the date of death too."""
    text = deceased_statement(DOCTOR, DIED, DIED)
    name = f"{DOCTOR.given_name} {DOCTOR.family_name}"
    assert text == (
        f"Pauschalabmeldung für den verstorbenen substituierenden Arzt {name} (BtM-Nr. "
        f"{DOCTOR.btm_number}), Sterbedatum 15.06.2025: Am 15.06.2025 wurden alle von diesem "
        "Arzt durchgeführten Substitutionsbehandlungen beendet."
    )
    earlier = deceased_statement(DOCTOR, D(2025, 6, 1), DIED)
    assert "Sterbedatum 15.06.2025: Am 01.06.2025 wurden" in earlier


def test_the_declaration_says_who_signs_and_why_an_employee_does() -> None:
    """The successor (perhaps temporary), or an employee in a justified exception."""
    assert declaration(SUCCESSOR) == (
        "Erklärt und unterschrieben von Dr. Jonas Richter (ärztlicher Nachfolger, "
        "ggf. vorübergehend, BtM-Nr. 3800202)."
    )
    assert "nichtärztlicher Mitarbeiter" in declaration(STAFF)
    assert "begründeter Ausnahmefall: kein ärztlicher Nachfolger erreichbar" in declaration(STAFF)


def test_the_report_carries_statement_and_declaration_in_one_slot() -> None:
    """Same kind, date and slot as the doctor's own blanket; the remarks differ."""
    own = blanket_report(DOCTOR, DIED, made_on=D(2025, 6, 20)).report
    dead = blanket_report(DOCTOR, DIED, made_on=D(2025, 6, 20), deceased=SUCCESSOR).report
    assert (dead.kind, dead.date, dead.id, dead.patient_code) == (
        own.kind,
        own.date,
        own.id,
        None,
    )
    assert dead.remarks == (deceased_statement(DOCTOR, DIED, DIED), declaration(SUCCESSOR))
    assert own.remarks == (blanket_statement(DIED),)


def test_the_statement_of_a_blanket_is_the_deceased_s_when_it_carries_one() -> None:
    """What the paper form prints once: the deceased doctor's statement, else the own."""
    dead = blanket_report(DOCTOR, DIED, made_on=DIED, deceased=STAFF).report
    assert statement_of(dead, blanket_statement(DIED)) == dead.remarks[0]
    own = blanket_report(DOCTOR, DIED, made_on=DIED).report
    assert statement_of(own, blanket_statement(DIED)) == blanket_statement(DIED)
    assert statement_of(replace(own, remarks=()), "own") == "own"


def test_what_cannot_be_declared_is_refused() -> None:
    """A date after the death, an employee without reason, a BtM number that is not one."""
    assert deceased_problem(SUCCESSOR, DIED, OWN) is None
    assert deceased_problem(STAFF, D(2025, 6, 1), OWN) is None
    refused = {
        "after the death": deceased_problem(SUCCESSOR, D(2025, 6, 16), OWN),
        "no reason": deceased_problem(replace(STAFF, reason=None), DIED, OWN),
        "staff with number": deceased_problem(replace(STAFF, successor_btm="3800202"), DIED, OWN),
        "bad number": deceased_problem(replace(SUCCESSOR, successor_btm="12"), DIED, OWN),
        "no name": deceased_problem(replace(SUCCESSOR, declared_by=" "), DIED, OWN),
        "two lines": deceased_problem(replace(SUCCESSOR, declared_by="a\nb"), DIED, OWN),
        "own number": deceased_problem(replace(SUCCESSOR, successor_btm=OWN), DIED, OWN),
    }
    assert "the day the doctor died" in (refused["after the death"] or "")
    assert "justified exception" in (refused["no reason"] or "")
    assert "the deceased doctor's own" in (refused["own number"] or "")  # D-249
    assert all(refused.values()), refused
