"""R-ABS-6: a doctor without the addiction qualification may substitute for others at most
4 consecutive weeks and 12 weeks in a year (001 § 5 (5)).

A doctor substitutes on the days of their substitute runs (INPUT.md edge case 4: covered by
their prescriptions inside another doctor's phase), over all of that doctor's patients: a
day counts once however many patients it covers. Days on which the doctor holds the
qualification do not count (R-CHG-5).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from adapter.domain.events import OpenSpan
from adapter.domain.model import Doctor, Finding

DAYS_IN_A_ROW = 4 * 7  # R-ABS-6: 4 consecutive weeks
DAYS_A_YEAR = 12 * 7  # R-ABS-6: 12 weeks in a calendar year
ONE_DAY = timedelta(days=1)


def unqualified_substitute_findings(
    spans: Iterable[OpenSpan], doctors: Mapping[str, Doctor]
) -> list[Finding]:
    """R-ABS-6: a warning for each unqualified substitute past 4 weeks in a row or 12 weeks
    in a calendar year, naming the first day past the limit and the fix."""
    days: dict[str, set[date]] = defaultdict(set)
    sources: dict[str, set[str]] = defaultdict(set)
    for span in spans:
        if span.substitute_for is None or span.doctor is None:
            continue
        doctor = doctors.get(span.doctor)
        if doctor is None:
            continue  # an unknown doctor is a finding of its own (D-1)
        day = span.start
        while day <= span.end:
            if not doctor.qualified_on(day):
                days[span.doctor].add(day)
            day += ONE_DAY
        sources[span.doctor].update((span.patient, span.substitute_for))
    findings = []
    for key in sorted(days):
        for problem in _past_the_limits(sorted(days[key])):
            findings.append(
                Finding(
                    "warning",
                    "R-ABS-6",
                    f"{key} has no addiction qualification and {problem}: such a doctor may "
                    "substitute for others at most 4 consecutive weeks and 12 weeks a year. "
                    "A qualified doctor takes over, or the registered doctor returns, by then.",
                    (key, *sorted(sources[key])),
                )
            )
    return findings


def _past_the_limits(days: list[date]) -> list[str]:
    """What the sorted substitute days pass: the first day of each limit passed."""
    found = []
    in_a_row = first_past_in_a_row(days)
    if in_a_row is not None:
        found.append(
            f"substitutes for a 29th day in a row on {in_a_row.isoformat()} (R-ABS-6: 4 weeks)"
        )
    for year, day in first_past_in_a_year(days):
        found.append(
            f"substitutes for an 85th day in {year} on {day.isoformat()} (R-ABS-6: 12 weeks)"
        )
    return found


def first_past_in_a_row(days: list[date]) -> date | None:
    """The first day that is the 29th of consecutive substitute days, or None."""
    run = 0
    previous: date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == ONE_DAY else 1
        previous = day
        if run > DAYS_IN_A_ROW:
            return day
    return None


def first_past_in_a_year(days: list[date]) -> list[tuple[int, date]]:
    """For each calendar year with more than 84 substitute days, its 85th day."""
    by_year: dict[int, list[date]] = defaultdict(list)
    for day in days:
        by_year[day.year].append(day)
    return [
        (year, in_year[DAYS_A_YEAR])
        for year, in_year in sorted(by_year.items())
        if len(in_year) > DAYS_A_YEAR
    ]
