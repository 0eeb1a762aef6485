"""What follows a handover for the receiving doctor (R-HO-1, R-ABS-1/2/3, R-EP-2), and which
Anmeldung a received handover refuses (R-EP-5)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.handover import (
    HandedPatient,
    Handover,
    Registration,
    next_steps,
    second_anmeldung_refused,
    substitute_until,
)
from adapter.domain.model import RegisterDoctor, Report

FALKNER = RegisterDoctor("3990101", "Falkner", "Miriam", "1974-09-30", None, None)
HOSPITAL = RegisterDoctor("3880202", "Brandt", "Jonas", None, None, None)


def _handover(registration: Registration | None) -> Handover:
    return Handover(
        document_id="0b7f3c9e-8a51-4c2e-9d7a-1f2e3d4c5b6a",
        day=date(2025, 12, 31),
        sender="Praxis Falkner",
        receiver="JVA Leipzig",
        patient=HandedPatient("Reuter", "Thomas", "1979-04-12", "M"),
        substance="Levomethadon",
        last_dose=date(2025, 12, 31),
        covered_until=date(2026, 1, 2),
        consultant=None,
        registration=registration,
        last_report=None,
    )


def _anmeldung(code: str | None, doctor: RegisterDoctor, kind: str = "anmeldung") -> Report:
    return Report(
        kind=kind,  # type: ignore[arg-type]
        made_on=date(2026, 1, 5),
        date=date(2026, 1, 5),
        patient_code=code,
        substance="Levomethadon",
        doctor=doctor,
        consultant=None,
        remarks=(),
        rule="R-EP-1",
        sources=("MedicationAdministration/a1",),
        id="r1",
    )


REGISTERED = Registration("THREM249", FALKNER, date(2025, 1, 7), "Levomethadon", "acknowledged")


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1)))
def test_the_substitute_time_is_thirty_days_counting_the_handover_day(day: date) -> None:
    """R-ABS-1/R-ABS-3: the handover day is day 1, the returned day is day 30."""
    until = substitute_until(day)
    assert (until - day).days + 1 == 30


def test_an_open_registration_gives_substitute_reregister_and_abmeldung() -> None:
    """Three steps: substitute up to day 30, re-register after, the sender's Abmeldung."""
    steps = next_steps(_handover(REGISTERED))
    assert [s.rule for s in steps] == ["R-ABS-1", "R-ABS-2", "R-EP-2"]
    assert steps[0].due == date(2026, 1, 29)
    assert steps[1].due == date(2026, 1, 30)
    assert "2026-01-29" in steps[0].text
    assert "Miriam Falkner, BtM 3990101" in steps[2].text


def test_without_a_registration_the_receiver_registers() -> None:
    """Nothing open at the register: the receiving doctor's own Anmeldung (R-EP-1)."""
    [step] = next_steps(_handover(None))
    assert step.rule == "R-EP-1"


def test_another_doctors_anmeldung_under_an_open_code_is_refused() -> None:
    """R-EP-5: the hospital's Anmeldung under the code Falkner holds open is refused."""
    assert second_anmeldung_refused(_anmeldung("THREM249", HOSPITAL), {"THREM249": "3990101"})


def test_the_registering_doctors_own_anmeldung_and_other_codes_pass() -> None:
    """Only another doctor's Anmeldung under that code is held; other kinds pass too."""
    open_codes = {"THREM249": "3990101"}
    assert not second_anmeldung_refused(_anmeldung("THREM249", FALKNER), open_codes)
    assert not second_anmeldung_refused(_anmeldung("CLBUF919", HOSPITAL), open_codes)
    assert not second_anmeldung_refused(_anmeldung(None, HOSPITAL), open_codes)
    abmeldung = _anmeldung("THREM249", HOSPITAL, kind="abmeldung")
    assert not second_anmeldung_refused(abmeldung, open_codes)


def test_a_handover_changes_nothing_after_thirty_days_in_the_domain() -> None:
    """The domain does not read a clock: the steps depend on the handover day alone."""
    later = _handover(REGISTERED)
    assert next_steps(later) == next_steps(later)
    assert substitute_until(later.day) == later.day + timedelta(days=29)
