"""The forecast (issue 14, item 4) never disagrees with derive: every deadline it names is
made by derive on its due day and not the day before, and nothing derive makes in the
horizon is missing from it. Checked on every worked case, public and our own, from the day
before each of its reports."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapter.services import derive
from adapter.services.forecast import forecast

OWN = Path(__file__).resolve().parents[1] / "cases"
PUBLIC = Path(__file__).resolve().parents[2] / ".." / "shared" / "scenarios"
CASES = sorted(
    [p for p in OWN.iterdir() if (p / "expected.json").is_file()]
    + ([p for p in PUBLIC.iterdir() if (p / "expected.json").is_file()] if PUBLIC.is_dir() else [])
)
ONE_DAY = timedelta(days=1)


def _days_before_reports(case: Path) -> list[date]:
    """The day before each expected report's date: a forecast from there has something to say."""
    expected = json.loads((case / "expected.json").read_text())
    days = {date.fromisoformat(r["date"]) - ONE_DAY for r in expected["reports"]}
    return sorted(days)[:4]


def _ids(paths: list[Path], as_of: date) -> set[str]:
    derivation = derive(paths, as_of=as_of)
    return {r.id for r in derivation.reports}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_every_deadline_is_what_derive_makes_on_its_day(case: Path) -> None:
    paths = [case / "input.json"]
    for as_of in _days_before_reports(case):
        found = forecast(paths, as_of=as_of, days=45)
        assert found.until == as_of + timedelta(days=45)
        for deadline in found.deadlines:
            assert as_of < deadline.due <= found.until
            assert deadline.report.id in _ids(paths, deadline.due), deadline.why
            assert deadline.report.id not in _ids(paths, deadline.due - ONE_DAY), deadline.why
        # … and the horizon holds nothing derive makes that the forecast does not name.
        new = _ids(paths, found.until) - _ids(paths, as_of)
        assert new == {d.report.id for d in found.deadlines}
