"""R-DIA-1: the age of a Diamorphin patient, in completed years, by property."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.diamorphine import MIN_AGE, age_on, too_young_for_diamorphine

BIRTHS = st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 12, 31))


def _birthday(born: date, years: int) -> date:
    """The day the `years`-th year is complete: a 29 February's is 1 March in other years."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


@given(born=BIRTHS, years=st.integers(1, 90))
def test_the_age_grows_by_one_exactly_on_the_birthday(born: date, years: int) -> None:
    birthday = _birthday(born, years)
    assert age_on(born, birthday) == years
    assert age_on(born, birthday - timedelta(days=1)) == years - 1


@given(born=BIRTHS)
def test_under_23_warns_and_from_the_23rd_birthday_on_it_does_not(born: date) -> None:
    birthday = _birthday(born, MIN_AGE)
    assert too_young_for_diamorphine(born.isoformat(), birthday - timedelta(days=1)) == 22
    assert too_young_for_diamorphine(born.isoformat(), birthday) is None


def test_a_birth_date_that_cannot_be_read_gives_no_age() -> None:
    # The patient has no code then, and R-CODE-4 says why; R-DIA-1 says nothing more.
    for text in (None, "", "2004", "2004-05", "2004-02-30", "born 2004"):
        assert too_young_for_diamorphine(text, date(2025, 1, 1)) is None
    # A birth date after the day (an EHR's "no date") is no age either (D-83 says so).
    assert too_young_for_diamorphine("9999-12-31", date(2025, 1, 1)) is None
