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
    outcome = patient_code(spell.parts, patient.sex, patient.birth_date, rules, on=day)
    if isinstance(outcome, CodeRefusal) and outcome.rule == "R-CODE-3" and _no_gender(patient):
        return _GENDER_MISSING
    return outcome


# INPUT.md edge case 18: KBV Patients carry no gender at all. That is a gap in the export,
# not a person of another sex: the fix is the EHR's gender, the override only when needed.
_GENDER_MISSING = CodeRefusal(
    rule="R-CODE-3",
    problem="gender missing: the Patient carries no gender",
    fix=(
        "send the EHR's Patient with gender (female or male); only for a person recorded as "
        "other or unknown, record F or M in the extension "
        "https://fhir.substreg.dev/StructureDefinition/register-sex"
    ),
)


def _no_gender(patient: PatientFacts) -> bool:
    return patient.sex is None and not (patient.gender or "").strip()


def renamed_on(patient: PatientFacts, day: date) -> bool:
    """A name in force on `day` starts that day: a candidate name change (R-CHG-1)."""
    spell = name_in_force(patient.names, day)
    return spell is not None and spell.start == day
