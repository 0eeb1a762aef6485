"""Justified absences and substitute doctors (R-ABS-1 … R-ABS-4, INPUT.md edge cases 4, 5)."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.domain.events import OpenSpan, registrations
from adapter.domain.model import Absence, Episode

from .builders import (
    CONSULT_1,
    DOC_A,
    DOC_B,
    PATIENT,
    absence,
    consultant,
    cover,
    daily,
    derive,
    doctor,
    doctors,
    episode,
    history,
    name,
    patient,
    span,
    timeline,
)


def _away(*absences: Absence) -> list[Episode]:
    """A substitution EpisodeOfCare since 2025 with these absences in its statusHistory."""
    return [episode(start=date(2025, 1, 1), absences=absences)]


# -- R-ABS-3 / R-ABS-4: the patient is away ------------------------------------------


def test_absence_of_thirty_days_reports_nothing() -> None:
    """R-ABS-3: an absence of at most 30 days neither ends the phase nor counts as empty days."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 4, 10), date(2025, 4, 20)),
        episodes=_away(absence(date(2025, 3, 11), date(2025, 4, 9))),  # 30 days
    )
    outcome = derive(hist, as_of=date(2025, 4, 20))
    assert [(e.kind, e.date) for e in outcome.events] == [("anmeldung", date(2025, 3, 1))]


@pytest.mark.parametrize(
    ("reason", "rule"),
    [
        ("hospital", "R-ABS-3"),
        ("prison", "R-ABS-3"),
        ("holiday", "R-ABS-3"),
        ("other", "R-ABS-3"),
        ("abroad", "R-ABS-4"),
    ],
    ids=["hospital", "prison", "holiday", "other", "abroad"],
)
def test_absence_longer_than_thirty_days_ends_the_phase_on_its_31st_day(
    reason: str, rule: str
) -> None:
    """R-ABS-3/4: on the 31st day of the absence, dated with the last covered day before it."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        episodes=_away(absence(date(2025, 3, 11), date(2025, 5, 31), reason)),
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 4, 10), date(2025, 3, 10), DOC_A, rule),
    ]


def test_ongoing_absence_ends_the_phase_on_its_31st_day() -> None:
    """R-ABS-3: an absence without period.end is ongoing and counts from its start."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        episodes=_away(absence(date(2025, 3, 15), None, "hospital")),
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    assert timeline(outcome)[-1] == (
        "abmeldung",
        date(2025, 4, 14),
        date(2025, 3, 10),
        DOC_A,
        "R-ABS-3",
    )


def test_return_after_a_long_absence_starts_a_new_phase() -> None:
    """R-ABS-4: after a long absence abroad the next covered day is a new Anmeldung."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 5, 2), date(2025, 5, 10)),
        episodes=_away(absence(date(2025, 3, 11), date(2025, 5, 1), "abroad")),
    )
    outcome = derive(hist, as_of=date(2025, 5, 10))
    assert [(e.kind, e.made_on, e.date) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1)),
        ("abmeldung", date(2025, 4, 10), date(2025, 3, 10)),
        ("anmeldung", date(2025, 5, 2), date(2025, 5, 2)),
    ]


def test_days_before_the_absence_count_and_absent_days_neither_count_nor_reset() -> None:
    """R-EP-3 with R-ABS-3: 5 empty days, 5 absent days, then 5 more empty days end the phase."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        episodes=_away(absence(date(2025, 3, 16), date(2025, 3, 20))),
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    # empty: 11–15 March (5) and 21–25 March (5): the tenth empty day is 25 March.
    assert timeline(outcome)[-1] == (
        "abmeldung",
        date(2025, 3, 26),
        date(2025, 3, 10),
        DOC_A,
        "R-EP-3",
    )


def test_ten_day_rule_fires_first_when_the_absence_starts_late() -> None:
    """R-EP-3: whichever rule fires first wins; ten empty days come before the absence."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        episodes=_away(absence(date(2025, 3, 25), None)),
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    assert timeline(outcome)[-1] == (
        "abmeldung",
        date(2025, 3, 21),
        date(2025, 3, 10),
        DOC_A,
        "R-EP-3",
    )


def test_absence_begun_before_the_phase_does_not_end_it() -> None:
    """R-ABS-3: only an absence inside the phase can end it after 30 days."""
    hist = history(
        cover(date(2025, 3, 10)),
        episodes=_away(absence(date(2025, 3, 1), date(2025, 3, 20))),
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    # 11–20 March are absent (not counted); 21–30 March are the ten empty days.
    assert timeline(outcome)[-1] == (
        "abmeldung",
        date(2025, 3, 31),
        date(2025, 3, 10),
        DOC_A,
        "R-EP-3",
    )


def test_absence_of_a_detox_episode_is_no_justified_absence() -> None:
    """R-ABS-3: only the statusHistory of a substitution EpisodeOfCare justifies an absence."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        episodes=[
            episode(
                "EpisodeOfCare/d",
                kind="detox",
                start=date(2024, 1, 1),
                end=date(2024, 1, 10),
                absences=[absence(date(2025, 3, 11), date(2025, 3, 30))],
            )
        ],
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    assert timeline(outcome)[-1][1:] == (date(2025, 3, 21), date(2025, 3, 10), DOC_A, "R-EP-3")


def test_name_change_during_a_long_absence_still_ends_the_phase() -> None:
    """R-ABS-3: a name change while away does not keep a 31+-day absence from ending the phase."""
    facts = patient(
        PATIENT,
        name(end=date(2025, 3, 14)),
        name("Hanna", "Schmidt", start=date(2025, 3, 15)),
    )
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        facts=facts,
        episodes=_away(absence(date(2025, 3, 11), None, "hospital")),
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    # 31st day of the absence: 10 April.
    assert [(e.kind, e.made_on, e.rule) for e in outcome.events][-1] == (
        "abmeldung",
        date(2025, 4, 10),
        "R-ABS-3",
    )


# -- R-ABS-1 / R-ABS-2: a substitute doctor ---------------------------------------------


def test_substitute_for_thirty_days_reports_nothing() -> None:
    """R-ABS-1: a Vertretung of at most 30 days keeps the registered doctor."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 11), date(2025, 4, 9), doctor=DOC_B),  # 30 days
        *daily(date(2025, 4, 10), date(2025, 4, 20)),
    )
    outcome = derive(hist, as_of=date(2025, 4, 20))
    assert timeline(outcome) == [("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1")]
    assert registrations(outcome.spans) == [span(date(2025, 3, 1), date(2025, 4, 20))]
    # The 30 days of the Vertretung are kept as B's substitute run for A (R-ABS-6 counts them).
    assert [s for s in outcome.spans if s.substitute_for] == [
        OpenSpan(DOC_B, PATIENT, date(2025, 3, 11), date(2025, 4, 9), substitute_for=DOC_A)
    ]


def test_substitute_on_the_31st_day_re_registers_retroactively() -> None:
    """R-ABS-2: on the 31st day, Abmeldung by the first doctor, Anmeldung by the substitute."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 11), date(2025, 4, 20), doctor=DOC_B, substance="Buprenorphin"),
    )
    outcome = derive(hist, as_of=date(2025, 4, 20))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 4, 10), date(2025, 3, 10), DOC_A, "R-ABS-2"),
        ("anmeldung", date(2025, 4, 10), date(2025, 3, 11), DOC_B, "R-ABS-2"),
    ]
    assert outcome.events[-1].substance == "Buprenorphin"
    assert outcome.events[-1].sources == ("MedicationAdministration/2025-03-11-2025-03-11",)
    assert outcome.spans == [
        span(date(2025, 3, 1), date(2025, 3, 10)),
        # B substituted for A until the day before the re-registration (R-ABS-6 counts it)
        OpenSpan(DOC_B, PATIENT, date(2025, 3, 11), date(2025, 4, 9), substitute_for=DOC_A),
        span(date(2025, 3, 11), date(2025, 4, 20), doctor_key=DOC_B),
    ]


def test_uncovered_days_do_not_interrupt_a_substitute_run() -> None:
    """R-ABS-2 (edge case 4): days without coverage do not end a run; only the own doctor does."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 11), date(2025, 3, 20), doctor=DOC_B),
        *daily(date(2025, 3, 26), date(2025, 4, 15), doctor=DOC_B),
    )
    outcome = derive(hist, as_of=date(2025, 4, 15))
    assert timeline(outcome)[1:] == [
        ("abmeldung", date(2025, 4, 10), date(2025, 3, 10), DOC_A, "R-ABS-2"),
        ("anmeldung", date(2025, 4, 10), date(2025, 3, 11), DOC_B, "R-ABS-2"),
    ]


def test_own_doctors_day_ends_the_substitute_run() -> None:
    """R-ABS-1 (edge case 4): a day covered under the phase's doctor starts the 30 days anew."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 11), date(2025, 3, 30), doctor=DOC_B),
        cover(date(2025, 3, 31)),
        *daily(date(2025, 4, 1), date(2025, 4, 25), doctor=DOC_B),
    )
    outcome = derive(hist, as_of=date(2025, 4, 25))
    assert [e.kind for e in outcome.events] == ["anmeldung"]


def test_first_doctors_return_after_re_registration_is_a_change_with_its_own_30_days() -> None:
    """R-ABS-2 (edge case 4): after re-registration the first doctor is the substitute."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 11), date(2025, 4, 15), doctor=DOC_B),
        *daily(date(2025, 4, 16), date(2025, 5, 20)),
    )
    outcome = derive(hist, as_of=date(2025, 5, 20))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 4, 10), date(2025, 3, 10), DOC_A, "R-ABS-2"),
        ("anmeldung", date(2025, 4, 10), date(2025, 3, 11), DOC_B, "R-ABS-2"),
        ("abmeldung", date(2025, 5, 16), date(2025, 4, 15), DOC_B, "R-ABS-2"),
        ("anmeldung", date(2025, 5, 16), date(2025, 4, 16), DOC_A, "R-ABS-2"),
    ]


def test_unqualified_substitute_taking_over_needs_a_consultant() -> None:
    """R-ABS-2, R-DOC-2: the new doctor's Anmeldung carries their consulting doctor."""
    docs = doctors(doctor(DOC_A), doctor(DOC_B, qualified=False), doctor(CONSULT_1))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 11), date(2025, 4, 10), doctor=DOC_B),
        consultants=[consultant(CONSULT_1, date(2025, 1, 1))],
    )
    outcome = derive(hist, as_of=date(2025, 4, 10), docs=docs)
    assert outcome.events[0].consultant is None  # DOC_A is qualified
    assert outcome.events[-1].doctor == DOC_B
    assert outcome.events[-1].consultant == CONSULT_1
    assert outcome.findings == []


def test_unqualified_substitute_without_consultant_is_an_error() -> None:
    """R-DOC-2: the re-registration by an unqualified doctor without consultant is an error."""
    docs = doctors(doctor(DOC_A), doctor(DOC_B, qualified=False))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 11), date(2025, 4, 10), doctor=DOC_B),
    )
    outcome = derive(hist, as_of=date(2025, 4, 10), docs=docs)
    assert [(f.severity, f.rule, f.sources) for f in outcome.findings] == [
        ("error", "R-DOC-2", (DOC_B, PATIENT))
    ]
    assert outcome.events[-1].consultant is None
