"""R-DIA-2: the two-yearly outside review of a Diamorphin treatment, its due date and the
warning when it is overdue (D-173); date logic by property."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.diamorphine import (
    diamorphine_review,
    diamorphine_review_due,
    overdue_review,
    review_refusal,
    review_state,
    years_after,
)
from adapter.domain.model import DIAMORPHIN, Doctor, PatientHistory, Review
from adapter.domain.phases import derive_phases
from tests.domain.builders import DOC_A, DOC_B, DOCTORS, PATIENT, RULES, daily, history

DAYS = st.dates(min_value=date(2002, 1, 1), max_value=date(2040, 12, 31))
CLINIC, PRAXIS = "Organization/ambulanz", "Organization/praxis-brandt"
TREATING = Doctor(DOC_A, qualified=True, facilities=(CLINIC,))
OUTSIDE = Doctor("Practitioner/brandt", qualified=True, facilities=(PRAXIS,))
COLLEAGUE = Doctor("Practitioner/seidel", qualified=True, facilities=(CLINIC,))
UNQUALIFIED = Doctor("Practitioner/neu", qualified=False, facilities=(PRAXIS,))
PEOPLE = {d.key: d for d in (TREATING, OUTSIDE, COLLEAGUE, UNQUALIFIED)}


def _review(day: date, doctor: str | None = OUTSIDE.key, n: int = 1) -> Review:
    return Review(day, doctor, f"Procedure/r{n}")


@given(day=DAYS, years=st.integers(1, 10))
def test_years_after_is_the_same_calendar_day_or_1_march(day: date, years: int) -> None:
    """The anniversary keeps month and day; 29 February moves to 1 March in a common year."""
    later = years_after(day, years)
    assert later.year == day.year + years
    if (day.month, day.day) == (2, 29) and later.month == 3:
        assert later.day == 1
    else:
        assert (later.month, later.day) == (day.month, day.day)


@given(since=DAYS, offsets=st.lists(st.integers(-800, 800), max_size=5))
def test_the_review_is_due_two_years_after_the_start_or_the_last_review_from_then_on(
    since: date, offsets: list[int]
) -> None:
    """Reviews before the treatment's start belong to an earlier one and do not count."""
    reviews = [since + timedelta(days=n) for n in offsets]
    due = diamorphine_review_due(since, reviews)
    counted = [d for d in reviews if d >= since]
    assert due == years_after(max(counted, default=since), 2)
    assert due >= years_after(since, 2)


@given(since=DAYS, after=st.integers(0, 729))
def test_a_review_within_the_two_years_moves_the_due_date_later(since: date, after: int) -> None:
    """Every counted review gives two more years from its own day."""
    reviewed = since + timedelta(days=after)
    assert diamorphine_review_due(since, [reviewed]) == years_after(reviewed, 2)
    assert diamorphine_review_due(since, [reviewed]) >= diamorphine_review_due(since, [])


def test_only_a_qualified_doctor_of_another_facility_counts() -> None:
    """001 § 5a old (9d): a second opinion of a qualified doctor outside the facility."""
    day = date(2025, 3, 24)

    def why(reviewer: Doctor | None) -> str | None:
        return review_refusal(reviewer, TREATING, day, treating_key=TREATING.key)

    assert why(OUTSIDE) is None
    assert why(COLLEAGUE) == f"its performer belongs to the same facility ({CLINIC})"
    assert why(TREATING) == "it was done by the treating doctor"
    assert why(UNQUALIFIED) == "its performer holds no addiction qualification on that day"
    assert why(None) == "its performer is no Practitioner in the data"
    # Qualified only from a later day: not yet on the day of the review (R-CHG-5).
    later = replace(OUTSIDE, qualified_since=date(2025, 4, 1))
    assert why(later) == "its performer holds no addiction qualification on that day"


def test_the_state_counts_the_reviews_up_to_the_day_and_names_the_refused() -> None:
    """A review after `as_of` is not known yet (R-DATE-3); a refused one keeps its reason."""
    since = date(2023, 4, 3)
    reviews = [
        _review(date(2024, 1, 10), OUTSIDE.key, 1),
        _review(date(2025, 1, 20), COLLEAGUE.key, 2),
        _review(date(2025, 7, 1), OUTSIDE.key, 3),
    ]
    state = review_state(since, reviews, PEOPLE, treating=DOC_A, as_of=date(2025, 6, 30))
    assert state.last == reviews[0]
    assert state.due == date(2026, 1, 10)
    assert [(r.source, why) for r, why in state.refused] == [
        ("Procedure/r2", f"its performer belongs to the same facility ({CLINIC})")
    ]


def test_overdue_only_from_the_day_after_the_due_date() -> None:
    """On the due day the review may still be done; the day after it is overdue."""
    state = review_state(date(2023, 4, 3), [], PEOPLE, treating=DOC_A, as_of=date(2025, 4, 4))
    assert overdue_review(PATIENT, state, as_of=date(2025, 4, 3)) is None
    found = overdue_review(PATIENT, state, as_of=date(2025, 4, 4))
    assert found is not None
    assert (found.severity, found.rule, found.sources) == ("warning", "R-DIA-2", (PATIENT,))
    assert "was due on 2025-04-03" in found.message
    assert "first day of the Diamorphin treatment, 2023-04-03" in found.message
    assert "diamorphine-review#outside-review" in found.message


def test_the_overdue_message_names_the_last_review_and_why_another_does_not_count() -> None:
    """The fix is concrete: which review counted, which did not and why."""
    reviews = [_review(date(2023, 5, 2), OUTSIDE.key, 1), _review(date(2025, 6, 1), DOC_A, 2)]
    state = review_state(date(2023, 4, 3), reviews, PEOPLE, treating=DOC_A, as_of=date(2025, 6, 30))
    found = overdue_review(PATIENT, state, as_of=date(2025, 6, 30))
    assert found is not None
    assert "was due on 2025-05-02, 2 years after the last review on 2023-05-02" in found.message
    assert "The review of 2025-06-01 (Procedure/r2) does not count: it was done by the" in (
        found.message
    )


def _dia_history(*reviews: Review) -> PatientHistory:
    covers = daily(date(2023, 4, 3), date(2025, 6, 30), substance=DIAMORPHIN)
    return replace(history(*covers), reviews=reviews)


def test_the_walk_warns_for_an_open_diamorphin_phase_past_its_review() -> None:
    """Two years and more of Diamorphin without a review: one standing warning, the
    Anmeldung unchanged; an outside review in time leaves no warning."""
    docs = {**DOCTORS, **PEOPLE}
    bare = derive_phases(_dia_history(), docs, RULES, as_of=date(2025, 6, 30))
    assert [f.rule for f in bare.standing] == ["R-DIA-2"]
    assert bare.standing[0] in bare.findings
    assert [(e.kind, e.date, e.substance) for e in bare.events] == [
        ("anmeldung", date(2023, 4, 3), DIAMORPHIN)
    ]
    reviewed = _dia_history(_review(date(2024, 2, 26)))
    outcome = derive_phases(reviewed, docs, RULES, as_of=date(2025, 6, 30))
    assert outcome.standing == []
    assert outcome.events == bare.events
    assert outcome.state is not None
    state = diamorphine_review(reviewed, docs, outcome.state.phase, as_of=date(2025, 6, 30))
    assert state is not None
    assert state.due == date(2026, 2, 26)


def test_the_treatment_counts_from_the_switch_to_diamorphin_not_the_phase_start() -> None:
    """A phase begun with methadone: the review is due two years after the first day with
    Diamorphin (R-CHG-2's switch day), not after the phase's first day."""
    covers = (
        *daily(date(2023, 1, 2), date(2023, 3, 5)),
        *daily(date(2023, 3, 6), date(2025, 6, 30), substance=DIAMORPHIN),
    )
    outcome = derive_phases(history(*covers), DOCTORS, RULES, as_of=date(2025, 6, 30))
    assert [f.message.split(", and")[0] for f in outcome.standing] == [
        f"{PATIENT}: the outside review of the Diamorphin treatment (R-DIA-2) was due on "
        "2025-03-06, 2 years after the first day of the Diamorphin treatment, 2023-03-06"
    ]


def test_no_warning_without_an_open_diamorphin_phase() -> None:
    """A methadone phase, or a Diamorphin phase that has ended, has no review due."""
    methadone = history(*daily(date(2022, 1, 3), date(2025, 6, 30)))
    assert derive_phases(methadone, DOCTORS, RULES, as_of=date(2025, 6, 30)).standing == []
    ended = history(*daily(date(2022, 1, 3), date(2025, 5, 30), substance=DIAMORPHIN))
    assert derive_phases(ended, DOCTORS, RULES, as_of=date(2025, 6, 30)).standing == []


def test_a_resumed_walk_gives_the_same_standing_warning() -> None:
    """Sync resumes the walk: the warning about the open phase comes again, the same."""
    hist = _dia_history()
    whole = derive_phases(hist, DOCTORS, RULES, as_of=date(2025, 6, 30))
    first = derive_phases(hist, DOCTORS, RULES, as_of=date(2025, 1, 31))
    assert first.standing == []  # not yet due on 2025-01-31
    resumed = derive_phases(
        hist,
        DOCTORS,
        RULES,
        as_of=date(2025, 6, 30),
        resume=first.state,
    )
    assert resumed.standing == whole.standing != []


def test_a_substitute_taking_over_keeps_the_treatments_start() -> None:
    """R-ABS-2 re-registers under the substitute after 30 days; the Diamorphin treatment
    goes on, so its review stays due two years after its first day."""
    covers = (
        *daily(date(2023, 4, 3), date(2024, 5, 31), substance=DIAMORPHIN),
        *daily(date(2024, 6, 1), date(2025, 6, 30), doctor=DOC_B, substance=DIAMORPHIN),
    )
    outcome = derive_phases(history(*covers), DOCTORS, RULES, as_of=date(2025, 6, 30))
    assert [e.rule for e in outcome.events] == ["R-EP-1", "R-ABS-2", "R-ABS-2"]
    assert [f.message.count("was due on 2025-04-03") for f in outcome.standing] == [1]
