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
    return_contradicted,
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


def _report(kind: str, day: date, doctor: RegisterDoctor = HOSPITAL) -> Report:
    return replace(_anmeldung("THREM249", doctor, kind=kind), date=day, made_on=day)


RETURNED = {"THREM249": Received("THREM249", "3990101", "returned", date(2026, 2, 3))}


def test_doses_after_the_day_back_contradict_the_return() -> None:
    """R-HO-1, D-258: a stay from 01-05 with its Abmeldung on 03-20 did not end by the day
    back (02-03): the return does not waive it, the Abmeldung names the contradiction."""
    anmeldung = _report("anmeldung", date(2026, 1, 5))
    abmeldung = _report("abmeldung", date(2026, 3, 20))
    assert return_contradicted([anmeldung, abmeldung], RETURNED) == abmeldung
    assert return_contradicted([abmeldung], RETURNED) == abmeldung  # Anmeldung waived before


def test_a_stay_ended_by_the_day_back_or_begun_after_it_stands() -> None:
    """R-ABS-3: ended by the day back, the stay is waived; a stay begun after the day back
    is a treatment of its own; the registering doctor's Abmeldung is theirs (D-258)."""
    anmeldung = _report("anmeldung", date(2026, 1, 5))
    ended = _report("abmeldung", date(2026, 2, 3))
    assert return_contradicted([anmeldung, ended], RETURNED) is None
    again = _report("anmeldung", date(2026, 3, 1))
    later = _report("abmeldung", date(2026, 3, 20))
    assert return_contradicted([anmeldung, ended, again, later], RETURNED) is None
    holder = RegisterDoctor("3990101", "Falkner", None, None, None, None)
    assert return_contradicted([_report("abmeldung", date(2026, 3, 20), holder)], RETURNED) is None
    released = {"THREM249": Received("THREM249", "3990101", "released", date(2026, 2, 3))}
    assert return_contradicted([anmeldung, later], released) is None


@given(st.integers(min_value=0, max_value=29), st.integers(min_value=0, max_value=120))
def test_an_abmeldung_after_the_day_back_always_contradicts(back: int, after: int) -> None:
    """D-258: whatever the day back within the substitute time, an Abmeldung of a stay begun
    by it and dated after it contradicts the return; one dated by it never does."""
    start = date(2026, 1, 5)
    day_back = start + timedelta(days=back)
    received = {"THREM249": Received("THREM249", "3990101", "returned", day_back)}
    end = day_back + timedelta(days=after)
    reports = [_report("anmeldung", start), _report("abmeldung", end)]
    expected = reports[1] if after > 0 else None
    assert return_contradicted(reports, received) == expected
