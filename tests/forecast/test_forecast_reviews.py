"""The forecast lists when the outside review of each open Diamorphin treatment is due
(R-DIA-2, D-173): the day, and whether it is overdue, beside the reports' deadlines."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from adapter.export.forecast import forecast_json, forecast_text
from adapter.services.forecast import forecast

CASES = Path(__file__).resolve().parents[1] / "cases"
REVIEWED = CASES / "27-dia-review-by-an-outside-doctor" / "input.json"
OVERDUE = CASES / "26-dia-review-overdue" / "input.json"
AS_OF = date(2025, 6, 30)


@pytest.mark.parametrize(
    ("case", "due"),
    [(REVIEWED, date(2026, 2, 26)), (OVERDUE, date(2025, 4, 3))],
    ids=["two-years-after-the-review", "two-years-after-the-start"],
)
def test_each_open_diamorphin_phase_has_its_review_due_date(case: Path, due: date) -> None:
    """The date is the one derive warns after: two years after the start or last review."""
    [phase] = forecast([case], as_of=AS_OF).open_phases
    assert phase.review_due == due
    assert phase.review_overdue(AS_OF) is (due < AS_OF)


def test_the_list_for_people_says_when_and_whether_it_is_overdue() -> None:
    """A section of its own, by due date; the overdue one says so."""
    text = forecast_text(forecast([OVERDUE], as_of=AS_OF))
    assert "Outside reviews of Diamorphin treatments (R-DIA-2): 1\n" in text
    assert "  2025-04-03  Patient/p-mirko (MISCM239): outside review due, overdue, 2 years" in text
    later = forecast_text(forecast([REVIEWED], as_of=AS_OF))
    assert "  2026-02-26  Patient/p-sandra (SAKRF973): outside review due, 2 years" in later
    assert "overdue" not in later


def test_json_gives_the_review_due_date_of_each_open_phase() -> None:
    """`review_due` beside `next_due`; null for a phase that is no Diamorphin treatment."""
    [phase] = json.loads(forecast_json(forecast([REVIEWED], as_of=AS_OF)))["open_phases"]
    assert phase["review_due"] == "2026-02-26"
    methadone = CASES / "47-ep-gap-10-vs-9-days" / "input.json"
    document = json.loads(forecast_json(forecast([methadone], as_of=date(2025, 7, 28))))
    assert [p["review_due"] for p in document["open_phases"]] == [None, None]
    assert "Outside reviews" not in forecast_text(forecast([methadone], as_of=date(2025, 7, 28)))
