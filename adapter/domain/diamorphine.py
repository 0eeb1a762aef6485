"""Diamorphine (R-DIA): what the data can say against a diamorphine treatment.

The adapter warns and never blocks (RULES.md §10): the licence of the facility, five years
of dependence and two earlier treatments are not in the FHIR data a practice sends, the
patient's age is (R-DIA-1).
"""

from __future__ import annotations

import re
from datetime import date

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
