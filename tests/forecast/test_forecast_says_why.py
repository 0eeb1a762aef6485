"""Each deadline says which rule makes it, on which day, and what would prevent it
(issue 14, item 4), on worked cases of each kind."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapter.domain.forecast import Deadline
from adapter.services.forecast import forecast

OWN = Path(__file__).resolve().parents[1] / "cases"
PUBLIC = Path(__file__).resolve().parents[2] / ".." / "shared" / "scenarios"


def _deadlines(case: Path, as_of: str, days: int) -> list[Deadline]:
    return forecast([case / "input.json"], as_of=date.fromisoformat(as_of), days=days).deadlines


@pytest.mark.skipif(not PUBLIC.is_dir(), reason="../shared/scenarios is not beside the clone")
def test_the_ten_day_rule_gives_the_day_it_falls_due_and_how_to_prevent_it() -> None:
    [deadline] = _deadlines(PUBLIC / "03-ep-gap-12-days", "2025-01-30", 6)
    assert deadline.due == date(2025, 2, 4)  # L + 11, L = 01-24
    assert deadline.report.kind == "abmeldung"
    assert deadline.report.date == date(2025, 1, 24)
    assert deadline.why == (
        "10-day rule (R-EP-3): Abmeldung due on 2025-02-04, dated 2025-01-24, the last covered "
        "day, unless there is a contact, a dose or a justified absence by 2025-02-03"
    )


@pytest.mark.skipif(not PUBLIC.is_dir(), reason="../shared/scenarios is not beside the clone")
def test_an_absence_abroad_passes_thirty_days_on_its_31st_day() -> None:
    [deadline] = _deadlines(PUBLIC / "12-abs-abroad-35-days", "2025-10-01", 20)
    assert (deadline.due, deadline.report.rule) == (date(2025, 10, 20), "R-ABS-4")
    assert deadline.why.startswith("the absence abroad passes 30 days on 2025-10-20 (R-ABS-4)")
    assert "dated 2025-09-19" in deadline.why


def test_a_hospital_stay_of_31_days_passes_thirty_days_and_one_of_30_does_not() -> None:
    deadlines = _deadlines(OWN / "48-abs-hospital-31-vs-30-days", "2025-09-01", 13)
    assert [(d.due, d.report.rule, d.report.patient_code) for d in deadlines] == [
        (date(2025, 9, 14), "R-ABS-3", "OLBRF337")
    ]
    assert deadlines[0].why.startswith("the absence passes 30 days on 2025-09-14 (R-ABS-3)")


def test_a_substitute_past_thirty_days_re_registers_both_reports_with_one_reason() -> None:
    deadlines = _deadlines(OWN / "31-abs-substitute-40-days", "2025-05-01", 14)
    assert [(d.due, d.report.kind, d.report.rule) for d in deadlines] == [
        (date(2025, 5, 11), "abmeldung", "R-ABS-2"),
        (date(2025, 5, 11), "anmeldung", "R-ABS-2"),
    ]
    leave, enter = deadlines
    assert leave.why.startswith("substitute for 30 days ends on 2025-05-10 (R-ABS-1/2)")
    assert "registered doctor's Abmeldung, dated 2025-04-10" in leave.why
    assert "substitute's Anmeldung, retroactive to 2025-04-11" in enter.why


def test_a_finished_episode_and_a_leaving_doctor_say_so() -> None:
    [ended] = _deadlines(OWN / "32-ep-episode-finished", "2025-03-20", 5)
    assert ended.due == date(2025, 3, 22)
    assert ended.why.startswith("the episode of care has ended (R-EP-2): Abmeldung due on")
    leaving = _deadlines(OWN / "34-chg-leaving-doctor", "2025-06-14", 7)
    assert [(d.due, d.report.kind, d.report.rule) for d in leaving] == [
        (date(2025, 6, 16), "abmeldung", "R-CHG-6"),
        (date(2025, 6, 18), "anmeldung", "R-EP-1"),
    ]
    assert leaving[0].why.startswith("the registered doctor leaves (R-CHG-6)")
    assert leaving[1].why == (
        "Anmeldung (R-EP-1) due on 2025-06-18: the first day with a substitution drug in this "
        "phase is 2025-06-18"
    )


def test_a_phase_covered_past_the_horizon_has_nothing_due_and_is_listed_open() -> None:
    found = forecast([OWN / "31-abs-substitute-40-days" / "input.json"], as_of=date(2025, 4, 5))
    assert found.deadlines == []
    [phase] = found.open_phases
    assert (phase.code, phase.since, phase.last_covered) == (
        "MAWEM713",
        date(2025, 4, 1),
        date(2025, 4, 5),
    )
    assert found.next_due(phase.patient) is None
