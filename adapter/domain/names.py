"""Which of a person's names is in force on a day, and the patient code it gives."""

from __future__ import annotations

from datetime import date

from adapter.domain.codes import CodeRefusal, NameRules, PatientCode, patient_code
from adapter.domain.model import NameSpell, PatientFacts

# INPUT.md edge case 9: these uses never name the person for the register.
_NEVER_IN_FORCE = frozenset({"old", "maiden", "nickname", "anonymous", "temp"})
_USE_RANK = {"official": 0, "usual": 1}


def name_in_force(names: tuple[NameSpell, ...], day: date) -> NameSpell | None:
    """The official (else usual, else any other) name whose period covers `day`."""
    best: NameSpell | None = None
    best_rank = 99
    for spell in names:
        if spell.use in _NEVER_IN_FORCE:
            continue
        if (spell.start is not None and day < spell.start) or (
            spell.end is not None and day > spell.end
        ):
            continue
        rank = _USE_RANK.get(spell.use or "", 2)
        if rank < best_rank:
            best, best_rank = spell, rank
    return best


def code_on(patient: PatientFacts, day: date, rules: NameRules) -> PatientCode | CodeRefusal:
    """The patient code from the name in force on `day` (R-CODE-1 … R-CODE-5)."""
    spell = name_in_force(patient.names, day)
    if spell is None:
        return CodeRefusal(
            rule="R-CODE-1",
            problem=f"{patient.key} has no name in force on {day.isoformat()}",
            fix="record an official name (use 'official', period covering the day) on the Patient",
        )
    return patient_code(spell.parts, patient.sex, patient.birth_date, rules)


def renamed_on(patient: PatientFacts, day: date) -> bool:
    """A name in force on `day` starts that day: a candidate name change (R-CHG-1)."""
    spell = name_in_force(patient.names, day)
    return spell is not None and spell.start == day
