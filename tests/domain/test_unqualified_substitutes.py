"""R-ABS-6: an unqualified substitute's 4 weeks in a row and 12 weeks a year, counted over
all their patients, by example and by property against a plain count."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.events import OpenSpan
from adapter.domain.model import Doctor
from adapter.domain.substitutes import (
    DAYS_A_YEAR,
    DAYS_IN_A_ROW,
    first_past_in_a_row,
    first_past_in_a_year,
    unqualified_substitute_findings,
)

SUB, REG = "Practitioner/sub", "Practitioner/reg"
DOCTORS = {SUB: Doctor(SUB), REG: Doctor(REG, qualified=True)}
START = date(2025, 3, 3)


def _run(start: date, days: int, patient: str = "Patient/p1", doctor: str = SUB) -> OpenSpan:
    return OpenSpan(doctor, patient, start, start + timedelta(days=days - 1), substitute_for=REG)


def test_28_days_in_a_row_are_allowed_and_the_29th_is_named() -> None:
    assert unqualified_substitute_findings([_run(START, 28)], DOCTORS) == []
    [finding] = unqualified_substitute_findings([_run(START, 29)], DOCTORS)
    assert finding.rule == "R-ABS-6"
    assert "a 29th day in a row on 2025-03-31" in finding.message
    assert finding.sources == (SUB, "Patient/p1", REG)


def test_two_patients_on_the_same_days_count_each_day_once() -> None:
    both = [_run(START, 20, "Patient/p1"), _run(START, 20, "Patient/p2")]
    assert unqualified_substitute_findings(both, DOCTORS) == []
    # … and back-to-back runs of two patients make one run of the doctor.
    joined = [_run(START, 15, "Patient/p1"), _run(START + timedelta(days=15), 15, "Patient/p2")]
    [finding] = unqualified_substitute_findings(joined, DOCTORS)
    assert "29th day in a row" in finding.message


def test_a_qualified_doctor_and_registered_phases_are_not_counted() -> None:
    qualified = {**DOCTORS, SUB: Doctor(SUB, qualified=True)}
    assert unqualified_substitute_findings([_run(START, 60)], qualified) == []
    registered = OpenSpan(SUB, "Patient/p1", START, START + timedelta(days=90))
    assert unqualified_substitute_findings([registered], DOCTORS) == []


def test_days_before_the_qualification_count_and_after_do_not() -> None:
    since = START + timedelta(days=20)
    doctors = {**DOCTORS, SUB: Doctor(SUB, qualified=True, qualified_since=since)}
    assert unqualified_substitute_findings([_run(START, 60)], doctors) == []
    since = START + timedelta(days=40)
    later = {**DOCTORS, SUB: Doctor(SUB, qualified=True, qualified_since=since)}
    assert len(unqualified_substitute_findings([_run(START, 60)], later)) == 1


def test_twelve_weeks_a_year_in_short_runs_name_the_85th_day() -> None:
    # 22 runs of 4 days, each a week apart: never 29 in a row, but 88 days in 2025.
    runs = [_run(date(2025, 1, 6) + timedelta(weeks=w), 4) for w in range(22)]
    [finding] = unqualified_substitute_findings(runs, DOCTORS)
    assert "an 85th day in 2025 on 2025-06-02" in finding.message
    assert "in a row" not in finding.message


DAY_SETS = st.sets(st.integers(0, 500), max_size=200).map(
    lambda offsets: sorted(date(2024, 11, 1) + timedelta(days=o) for o in offsets)
)


@given(days=DAY_SETS)
def test_the_first_29th_day_in_a_row_is_what_a_plain_count_finds(days: list[date]) -> None:
    expected = None
    for i, day in enumerate(days):
        window = [day - timedelta(days=k) for k in range(DAYS_IN_A_ROW + 1)]
        if all(d in days[: i + 1] for d in window):
            expected = day
            break
    assert first_past_in_a_row(days) == expected


@given(days=DAY_SETS)
def test_each_year_past_84_days_gives_its_85th_day(days: list[date]) -> None:
    found = dict(first_past_in_a_year(days))
    for year in {d.year for d in days}:
        in_year = [d for d in days if d.year == year]
        assert found.get(year) == (in_year[DAYS_A_YEAR] if len(in_year) > DAYS_A_YEAR else None)
