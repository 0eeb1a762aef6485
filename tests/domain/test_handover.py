"""What follows a handover for the receiving doctor (R-HO-1, R-ABS-1/2/3, R-EP-2), and which
Anmeldung a received handover refuses (R-EP-5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.handover import (
    Handover,
    Received,
    Registration,
    handover_decision,
    next_steps,
    substitute_until,
)
from adapter.domain.model import RegisterDoctor, Report
from tests.handover.values import FALKNER, HANDOVER

HOSPITAL = RegisterDoctor("3880202", "Brandt", "Jonas", None, None, None)


def _handover(registration: Registration | None) -> Handover:
    return replace(HANDOVER, registration=registration, consultant=None, last_report=None)


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


OPEN = {"THREM249": Received("THREM249", "3990101", "open")}


def test_another_doctors_reports_under_an_open_code_are_held() -> None:
    """R-EP-5: the hospital's Anmeldung and Abmeldung under Falkner's open code wait."""
    assert handover_decision(_anmeldung("THREM249", HOSPITAL), OPEN) == "hold"
    assert handover_decision(_anmeldung("THREM249", HOSPITAL, kind="abmeldung"), OPEN) == "hold"


def test_the_registering_doctors_own_reports_and_other_codes_pass() -> None:
    """Only another doctor's reports under that code are touched; notices pass too."""
    assert handover_decision(_anmeldung("THREM249", FALKNER), OPEN) is None
    assert handover_decision(_anmeldung("CLBUF919", HOSPITAL), OPEN) is None
    assert handover_decision(_anmeldung(None, HOSPITAL), OPEN) is None
    assert handover_decision(_anmeldung("THREM249", HOSPITAL, kind="mitteilung"), OPEN) is None


@pytest.mark.parametrize(
    ("state", "ended_on", "expected"),
    [
        ("returned", date(2026, 1, 5), "waive"),
        ("returned", date(2026, 1, 4), None),
        ("released", date(2026, 1, 4), None),
        ("released", date(2026, 1, 6), None),
    ],
    ids=["returned-after-the-report", "returned-before-it", "released", "released-later"],
)
def test_an_ended_handover_waives_the_stay_or_lets_the_report_through(
    state: str, ended_on: date, expected: str | None
) -> None:
    """Returned: reports of the stay up to the day back are waived (R-ABS-3); released:
    the receiver registers (R-ABS-2)."""
    received = {"THREM249": Received("THREM249", "3990101", state, ended_on)}  # type: ignore[arg-type]
    assert handover_decision(_anmeldung("THREM249", HOSPITAL), received) == expected


def test_a_handover_changes_nothing_after_thirty_days_in_the_domain() -> None:
    """The domain does not read a clock: the steps depend on the handover day alone."""
    later = _handover(REGISTERED)
    assert next_steps(later) == next_steps(later)
    assert substitute_until(later.day) == later.day + timedelta(days=29)
