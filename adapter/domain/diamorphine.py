"""Diamorphine (R-DIA): what the data can say against a diamorphine treatment.

The adapter warns and never blocks (RULES.md §10): the licence of the facility, five years
of dependence and two earlier treatments are not in the FHIR data a practice sends, the
patient's age is (R-DIA-1), and so is the two-yearly review by an outside doctor as a
`Procedure` (R-DIA-2, D-173).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from adapter.domain.model import DIAMORPHIN, Doctor, Finding, PatientHistory, Review
from adapter.domain.walk_state import OpenPhase, PhaseSnapshot

MIN_AGE = 23  # R-DIA-1 (001 § 5a old (9a))
_FULL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def age_on(born: date, on: date) -> int:
    """Completed years on `on` (a 29 February birthday completes its year on 1 March)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def too_young_for_diamorphine(birth_date: str | None, on: date) -> int | None:
    """R-DIA-1: the patient's age on `on` when it is under 23, else None. A birth date that
    is missing, partial or no calendar date gives None: the patient then has no code, and
    the R-CODE-4 finding says so."""
    full = _FULL_DATE.fullmatch((birth_date or "").strip())
    if full is None:
        return None
    try:
        born = date(*(int(part) for part in full.groups()))
    except ValueError:
        return None
    age = age_on(born, on)
    return age if 0 <= age < MIN_AGE else None


REVIEW_YEARS = 2  # R-DIA-2 (001 § 5a old (9d)): "nach jeweils spätestens zwei Jahren"


def years_after(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February moves to 1 March (as `age_on`)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return date(day.year + years, 3, 1)


def diamorphine_review_due(since: date, reviews: Iterable[date]) -> date:
    """R-DIA-2: the day the next outside review of a Diamorphin treatment is due: two years
    after the later of its first day (`since`) and the last review counted from then on
    (`reviews`: the days of the reviews that count, D-173). Reviews before `since` belong
    to an earlier treatment and do not count."""
    last = max((day for day in reviews if day >= since), default=since)
    return years_after(last, REVIEW_YEARS)


def review_refusal(
    reviewer: Doctor | None, treating: Doctor | None, day: date, *, treating_key: str | None
) -> str | None:
    """R-DIA-2: why a review by `reviewer` on `day` does not count (None: it counts). The
    reviewer is another doctor with the addiction qualification on that day and of no
    facility of the treating doctor (001 § 5a old (9d): "nicht der Einrichtung angehört")."""
    if reviewer is None:
        return "its performer is no Practitioner in the data"
    if reviewer.key == treating_key:
        return "it was done by the treating doctor"
    if treating is not None and (shared := set(reviewer.facilities) & set(treating.facilities)):
        return f"its performer belongs to the same facility ({min(shared)})"
    if not reviewer.qualified_on(day):
        return "its performer holds no addiction qualification on that day"
    return None


@dataclass(frozen=True, slots=True)
class ReviewState:
    """Where the outside review of an open Diamorphin treatment stands on a day (R-DIA-2)."""

    since: date  # the first day of the Diamorphin treatment
    due: date
    last: Review | None  # the last review that counts
    refused: tuple[tuple[Review, str], ...]  # reviews from `since` on that do not count, why


def review_state(
    since: date,
    reviews: Iterable[Review],
    doctors: Mapping[str, Doctor],
    *,
    treating: str | None,
    as_of: date,
) -> ReviewState:
    """The reviews of the treatment begun on `since` up to `as_of`, each counted or refused
    (`review_refusal`), and the day the next one is due (`diamorphine_review_due`)."""
    counted: list[Review] = []
    refused: list[tuple[Review, str]] = []
    doctor = doctors.get(treating or "")
    for review in sorted(reviews, key=lambda r: (r.day, r.source)):
        if not since <= review.day <= as_of:
            continue
        reviewer = doctors.get(review.doctor or "")
        why = review_refusal(reviewer, doctor, review.day, treating_key=treating)
        if why is None:
            counted.append(review)
        else:
            refused.append((review, why))
    due = diamorphine_review_due(since, (r.day for r in counted))
    return ReviewState(since, due, counted[-1] if counted else None, tuple(refused))


def overdue_review(patient: str, state: ReviewState, *, as_of: date) -> Finding | None:
    """R-DIA-2: a warning when the review was due before `as_of`, with the due date and the
    fix; the treatment's reports go on (RULES.md §10: the adapter warns, never blocks)."""
    if as_of <= state.due:
        return None
    after = (
        f"the last review on {state.last.day.isoformat()} ({state.last.source})"
        if state.last is not None
        else f"the first day of the Diamorphin treatment, {state.since.isoformat()}"
    )
    refused = "".join(
        f" The review of {r.day.isoformat()} ({r.source}) does not count: {why}."
        for r, why in state.refused
    )
    message = (
        f"{patient}: the outside review of the Diamorphin treatment (R-DIA-2) was due on "
        f"{state.due.isoformat()}, {REVIEW_YEARS} years after {after}, and is overdue. Have "
        "a doctor with the addiction qualification who does not belong to the facility "
        "review whether the treatment is to go on, and record it as a completed Procedure "
        "coded diamorphine-review#outside-review with that doctor as performer "
        f"(fhir_profiles/README.md).{refused}"
    )
    return Finding("warning", "R-DIA-2", message, (patient,))


def diamorphine_review(
    history: PatientHistory,
    doctors: Mapping[str, Doctor],
    phase: OpenPhase | PhaseSnapshot | None,
    *,
    as_of: date,
) -> ReviewState | None:
    """Where the outside review (R-DIA-2) of the Diamorphin treatment open at `as_of`
    stands; None when no phase is open or it is no Diamorphin treatment."""
    if phase is None or phase.substance != DIAMORPHIN or phase.dia_since is None:
        return None
    return review_state(
        phase.dia_since, history.reviews, doctors, treating=phase.doctor, as_of=as_of
    )


def standing_findings(
    history: PatientHistory,
    doctors: Mapping[str, Doctor],
    phase: OpenPhase | None,
    *,
    as_of: date,
) -> list[Finding]:
    """The findings about the phase open at `as_of` (PhaseOutcome.standing, D-174)."""
    state = diamorphine_review(history, doctors, phase, as_of=as_of)
    found = overdue_review(history.patient.key, state, as_of=as_of) if state else None
    return [found] if found is not None else []
