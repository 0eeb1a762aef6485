"""Which name is in force on a day, and the code it gives (INPUT.md edge case 9, R-CHG-1)."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.domain.codes import CodeRefusal, PatientCode
from adapter.domain.model import NameSpell
from adapter.domain.names import code_on, name_in_force, renamed_on

from .builders import CODE, PATIENT, RULES, cover, daily, derive, history, name, patient

OFFICIAL = name("Hanna", "Official", use="official")
USUAL = name("Hanna", "Usual", use="usual")
PLAIN = name("Hanna", "Plain", use=None)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ((USUAL, OFFICIAL, PLAIN), OFFICIAL),
        ((PLAIN, USUAL), USUAL),
        ((PLAIN,), PLAIN),
        ((), None),
    ],
    ids=["official-over-usual", "usual-over-unset", "unset-use-alone", "no-name"],
)
def test_official_before_usual_before_others(
    names: tuple[NameSpell, ...], expected: NameSpell | None
) -> None:
    """Edge case 9: official before usual before a name without use."""
    assert name_in_force(names, date(2025, 3, 1)) == expected


@pytest.mark.parametrize("use", ["old", "maiden", "nickname", "anonymous", "temp"], ids=str)
def test_old_and_maiden_names_are_never_in_force(use: str) -> None:
    """Edge case 9: old, maiden, nickname, anonymous and temp names never name the patient."""
    never = name("Hanna", "Never", use=use)
    assert name_in_force((never,), date(2025, 3, 1)) is None
    assert name_in_force((never, PLAIN), date(2025, 3, 1)) == PLAIN


@pytest.mark.parametrize(
    ("day", "family"),
    [
        (date(2025, 2, 28), "Before"),
        (date(2025, 3, 1), "During"),
        (date(2025, 3, 31), "During"),
        (date(2025, 4, 1), "Before"),
    ],
    ids=["day-before-start", "start-day", "end-day", "day-after-end"],
)
def test_period_bounds_are_inclusive(day: date, family: str) -> None:
    """Edge case 9: a name is in force from its period.start to its period.end, both included."""
    names = (
        name("Hanna", "Before", use="usual"),
        name("Hanna", "During", start=date(2025, 3, 1), end=date(2025, 3, 31)),
    )
    spell = name_in_force(names, day)
    assert spell is not None
    assert spell.parts.family == family


def test_official_name_out_of_period_gives_way_to_usual() -> None:
    """Edge case 9: among names whose period covers the day, official ranks first."""
    names = (name("Hanna", "Gone", end=date(2025, 1, 31)), USUAL)
    assert name_in_force(names, date(2025, 3, 1)) == USUAL


def test_code_on_uses_the_name_in_force() -> None:
    """R-CODE-1/2: the code is built from the name in force on the day."""
    facts = patient(
        PATIENT, name(end=date(2025, 3, 9)), name("Hanna", "Schmidt", start=date(2025, 3, 10))
    )
    assert code_on(facts, date(2025, 3, 9), RULES) == PatientCode(CODE, ())
    assert code_on(facts, date(2025, 3, 10), RULES) == PatientCode("HASCF284", ())


def test_code_on_without_a_name_in_force_is_refused() -> None:
    """R-CODE-1: without a name in force no code is derived; the fix asks for an official name."""
    facts = patient(PATIENT, name(use="old"))
    outcome = code_on(facts, date(2025, 3, 1), RULES)
    assert isinstance(outcome, CodeRefusal)
    assert outcome.rule == "R-CODE-1"
    assert "2025-03-01" in outcome.problem
    assert "official" in outcome.fix


@pytest.mark.parametrize(
    ("day", "renamed"),
    [(date(2025, 3, 9), False), (date(2025, 3, 10), True), (date(2025, 3, 11), False)],
    ids=["day-before", "start-day", "day-after"],
)
def test_renamed_on_the_start_day_of_the_name_in_force(day: date, renamed: bool) -> None:
    """R-CHG-1: a name in force that starts on the day is a candidate name change."""
    facts = patient(
        PATIENT, name(end=date(2025, 3, 9)), name("Hanna", "Schmidt", start=date(2025, 3, 10))
    )
    assert renamed_on(facts, day) is renamed


def test_not_renamed_when_no_name_is_in_force() -> None:
    """R-CHG-1: without a name in force there is no name change."""
    assert (
        renamed_on(patient(PATIENT, name(use="maiden", start=date(2025, 3, 10))), date(2025, 3, 10))
        is False
    )


def test_new_maiden_name_is_no_name_change() -> None:
    """R-CHG-1 (edge case 9): a maiden name starting inside a phase changes nothing."""
    facts = patient(
        PATIENT, name(), name("Hanna", "Schmidt", use="maiden", start=date(2025, 3, 10))
    )
    outcome = derive(
        history(*daily(date(2025, 3, 1), date(2025, 3, 20)), facts=facts), as_of=date(2025, 3, 20)
    )
    assert [(e.kind, e.code) for e in outcome.events] == [("anmeldung", CODE)]


# -- codes inside the phase engine --------------------------------------------------------------


def test_uncodable_patient_gets_events_without_code_and_one_finding() -> None:
    """R-CODE-3: a patient without F/M is refused once; the events carry no code."""
    facts = patient(PATIENT, name(), sex=None)
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 5)), cover(date(2025, 4, 1)), facts=facts)
    outcome = derive(hist, as_of=date(2025, 6, 30))
    assert [e.code for e in outcome.events] == [None, None, None, None]
    [finding] = outcome.findings
    assert (finding.severity, finding.rule, finding.sources) == ("error", "R-CODE-3", (PATIENT,))
    assert "withheld" in finding.message


def test_transliterated_letter_is_an_info_finding() -> None:
    """R-CODE-5 (edge case 8): accents are stripped and an info finding says so."""
    facts = patient(PATIENT, name("Hélène", "Łukasz"))
    outcome = derive(history(cover(date(2025, 3, 1)), facts=facts), as_of=date(2025, 3, 1))
    assert outcome.events[0].code == "HELUF284"
    assert [(f.severity, f.rule, f.sources) for f in outcome.findings] == [
        ("info", "R-CODE-5", (PATIENT,))
    ]
    assert "2 letter(s)" in outcome.findings[0].message
