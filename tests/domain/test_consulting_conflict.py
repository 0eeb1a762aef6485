"""R-DOC-3: who cannot be a consulting doctor (004 §5.4), decided by one function."""

from __future__ import annotations

from datetime import date

from adapter.domain.model import Cover, Doctor
from adapter.domain.phase_facts import SUBSTITUTE_CONSULTS, consulting_conflict

DAY = date(2025, 4, 1)
KRAUSE = Doctor("Practitioner/krause", facilities=("Organization/praxis",))
BRANDT = Doctor("Practitioner/brandt", facilities=("Organization/praxis", "Organization/mvz"))
ENGEL = Doctor("Practitioner/engel", facilities=("Organization/ambulanz",))
NOBODY = Doctor("Practitioner/nobody")


def _cover(doctor: str) -> Cover:
    return Cover(DAY, DAY, doctor, "Levomethadon", "MedicationAdministration/a1")


def test_a_colleague_of_the_same_facility_is_named_with_the_facility() -> None:
    reason = consulting_conflict(KRAUSE, BRANDT.key, BRANDT, [])
    assert reason == "works in the same facility (Organization/praxis)"


def test_an_outside_doctor_or_one_without_roles_is_no_conflict() -> None:
    assert consulting_conflict(KRAUSE, ENGEL.key, ENGEL, [_cover(KRAUSE.key)]) is None
    assert consulting_conflict(NOBODY, ENGEL.key, ENGEL, []) is None
    assert consulting_conflict(KRAUSE, "Practitioner/unknown", None, []) is None


def test_a_consultant_who_prescribes_on_the_day_is_a_substitute() -> None:
    assert consulting_conflict(KRAUSE, ENGEL.key, ENGEL, [_cover(ENGEL.key)]) == (
        SUBSTITUTE_CONSULTS
    )


def test_the_doctor_themself_is_never_their_own_consultant() -> None:
    assert consulting_conflict(KRAUSE, KRAUSE.key, KRAUSE, []) == (
        "is the substituting doctor themself"
    )


def test_without_a_phase_doctor_there_is_nothing_to_decide() -> None:
    assert consulting_conflict(None, ENGEL.key, ENGEL, [_cover(ENGEL.key)]) is None
