"""Days covered by one event (R-DATE-2, INPUT.md edge cases 2, 3 and 15), and the tie."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.coverage import (
    Reach,
    days_from,
    depot_last_day,
    dispense_last_day,
    prescription_last_day,
)
from adapter.domain.model import Depot
from adapter.domain.ties import tied_to_substitution

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
counts = st.integers(min_value=1, max_value=366)


def test_a_take_home_for_the_first_week_of_march_ends_on_the_seventh() -> None:
    """R-DATE-2's own example: take-home for 1–7 March → 7 March."""
    assert days_from(date(2025, 3, 1), 7) == date(2025, 3, 7)


def test_an_st_prescription_without_a_duration_covers_its_first_day() -> None:
    """INPUT.md edge case 2."""
    assert prescription_last_day(date(2025, 3, 3), None) == date(2025, 3, 3)


@pytest.mark.parametrize(
    ("start", "last"),
    [("2025-01-15", "2025-07-14"), ("2025-08-31", "2026-02-27"), ("2024-08-31", "2025-02-27")],
    ids=["sixmo-example", "to-february", "leap-to-february"],
)
def test_six_months_of_an_implant_end_the_day_before(start: str, last: str) -> None:
    """Edge case 3: Sixmo from D to the day before the same day six months later."""
    assert depot_last_day(date.fromisoformat(start), Depot(None, 6, False)) == date.fromisoformat(
        last
    )


@given(days, counts, st.one_of(st.none(), counts), st.one_of(st.none(), days))
def test_a_dispense_never_ends_before_its_hand_over_nor_its_prescriptions_reach(
    handed: date, supply: int, reach: int | None, start: date | None
) -> None:
    """Edge case 15: the own days count from the hand-over; the prescription's reach is
    never shortened."""
    end, how = dispense_last_day(handed, supply, reach, start)
    assert how is Reach.OWN
    assert end >= days_from(handed, supply)
    if reach is not None and start is not None:
        assert end >= days_from(start, reach)
    assert end == max(
        days_from(handed, supply),
        days_from(start, reach) if reach is not None and start is not None else handed,
    )


@given(days, counts)
def test_a_dispense_without_days_supply_takes_its_prescriptions_reach(
    handed: date, reach: int
) -> None:
    """Edge case 15: from the hand-over, for the prescription's expectedSupplyDuration."""
    end, how = dispense_last_day(handed, None, reach, None)
    assert (end, how) == (handed + timedelta(days=reach - 1), Reach.PRESCRIPTION)


@given(days)
def test_a_dispense_without_any_reach_covers_one_day(handed: date) -> None:
    """Edge case 15: neither the dispense nor its prescription says: that day alone."""
    assert dispense_last_day(handed, None, None, None) == (handed, Reach.ONE_DAY)


@given(days, st.integers(min_value=1, max_value=24))
def test_months_of_a_depot_end_before_the_same_day_that_many_months_on(
    start: date, months: int
) -> None:
    """The day after the last covered day is `start`'s day of the month (or the month's
    last day, when it is shorter), `months` months later."""
    after = depot_last_day(start, Depot(None, months, False)) + timedelta(days=1)
    assert (after.year * 12 + after.month) - (start.year * 12 + start.month) == months
    assert after.day == start.day or (after.day < start.day and (after + timedelta(1)).day == 1)


@pytest.mark.parametrize(
    ("facts", "tied"),
    [
        ({"marked": True, "analgesic": True}, True),
        ({"analgesic": True, "in_episode": True, "dependence": True}, False),
        ({"in_episode": True}, True),
        ({"dependence": True}, True),
        ({"substance": "Diamorphin"}, True),
        ({}, False),
    ],
    ids=[
        "marker-ties-even-a-patch",
        "patch-needs-a-marker",
        "episode",
        "f11",
        "diamorphin",
        "none",
    ],
)
def test_the_substitution_tie(facts: dict[str, object], tied: bool) -> None:
    """R-SUB-5, D-7: a marker, an episode, F11.2 or Diamorphin; a pain code only by marker."""
    given_facts = {
        "marked": False,
        "analgesic": False,
        "in_episode": False,
        "dependence": False,
        "substance": "Methadon",
        **facts,
    }
    assert tied_to_substitution(**given_facts) is tied  # type: ignore[arg-type]
