"""Properties of the forecast's date logic over the worked cases, from any day and for any
horizon: a longer horizon only adds later deadlines, each deadline lies inside its
horizon, and the forecast is exactly what derive adds between its two days."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.services import derive
from adapter.services.forecast import forecast
from tests.forecast.test_forecast_agrees_with_derive import CASES


def _first_day(index: int) -> date:
    expected = json.loads((CASES[index] / "expected.json").read_text())
    days = [date.fromisoformat(r["date"]) for r in expected["reports"]]
    return min(days, default=date.fromisoformat(expected["as_of"]))


@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(0, len(CASES) - 1),
    offset=st.integers(-5, 120),
    short=st.integers(1, 40),
    extra=st.integers(0, 60),
)
def test_a_longer_horizon_only_adds_later_deadlines(
    index: int, offset: int, short: int, extra: int
) -> None:
    paths = [CASES[index] / "input.json"]
    as_of = _first_day(index) + timedelta(days=offset)
    near = forecast(paths, as_of=as_of, days=short)
    far = forecast(paths, as_of=as_of, days=short + extra)
    assert near.open_phases == far.open_phases  # what is open depends on the day alone
    assert near.deadlines == [d for d in far.deadlines if d.due <= near.until]
    assert all(as_of < d.due <= far.until for d in far.deadlines)
    assert [d.due for d in far.deadlines] == sorted(d.due for d in far.deadlines)
    added = {r.id for r in derive(paths, as_of=far.until).reports} - {
        r.id for r in derive(paths, as_of=as_of).reports
    }
    assert added == {d.report.id for d in far.deadlines}
