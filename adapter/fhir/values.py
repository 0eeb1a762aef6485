"""Strict readers of the FHIR JSON fields the bulk path uses.

Every field the adapter reads goes through one of these: a wrong type or format raises
`ResourceProblem` with the field's name, and the caller turns it into a finding that
names the resource. Dates become Europe/Berlin calendar days (INPUT.md).
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from adapter.fhir.identifiers import conditional_reference, logical_reference

BERLIN = ZoneInfo("Europe/Berlin")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL = re.compile(r"^\d{4}(-\d{2})?$")

JsonObject = dict[str, Any]


class ResourceProblem(ValueError):
    """A field of a resource cannot be read; the message names the field."""


def obj(resource: JsonObject, key: str) -> JsonObject | None:
    value = resource.get(key)
    if value is None or isinstance(value, dict):
        return value
    msg = f"{key} must be an object"
    raise ResourceProblem(msg)


def objs(resource: JsonObject, key: str) -> list[JsonObject]:
    value = resource.get(key)
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    msg = f"{key} must be a list of objects"
    raise ResourceProblem(msg)


def text(resource: JsonObject, key: str) -> str | None:
    value = resource.get(key)
    if value is None or isinstance(value, str):
        return value
    msg = f"{key} must be a string"
    raise ResourceProblem(msg)


def texts(resource: JsonObject, key: str) -> list[str]:
    value = resource.get(key)
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) or v is None for v in value):
        return [v for v in value if v is not None]
    msg = f"{key} must be a list of strings"
    raise ResourceProblem(msg)


def number(resource: JsonObject, key: str) -> float | None:
    value = resource.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{key} must be a number"
        raise ResourceProblem(msg)
    return float(value)


def reference(resource: JsonObject, key: str) -> str | None:
    """The `reference` string of a Reference field.

    Interned: a practice-year repeats each patient's, request's and doctor's reference in
    thousands of records, and one string each keeps the records small (derive's memory).
    """
    ref = obj(resource, key)
    return _reference_string(ref) if ref is not None else None


def references(resource: JsonObject, key: str) -> list[str]:
    refs = []
    for ref in objs(resource, key):
        value = _reference_string(ref)
        if value:
            refs.append(value)
    return refs


def _reference_string(ref: JsonObject) -> str | None:
    """`reference`, a conditional one as an identifier reference, else the `identifier`
    of a logical reference (INPUT.md edge case 16)."""
    value = text(ref, "reference")
    if value is not None:
        return conditional_reference(value) or sys.intern(value)
    return logical_reference(ref)


def day_of(value: str | None, key: str) -> date | None:
    """The Europe/Berlin calendar day of a FHIR date or dateTime (a date is that day)."""
    if value is None:
        return None
    known = _DAYS.get(value)
    if known is not None:
        return known  # practice data repeats the same few times of day all year
    day = _day_of(value, key)
    if len(_DAYS) < _DAYS_KEPT:
        _DAYS[value] = day
    return day


_DAYS: dict[str, date] = {}
_DAYS_KEPT = 100_000


def _day_of(value: str, key: str) -> date:
    if len(value) == 10 and _DATE.match(value):
        return _iso_date(value, key)
    if len(value) <= 7 and _PARTIAL.match(value):
        msg = f"{key} '{value}' is a partial date; a full day is needed"
        raise ResourceProblem(msg)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = f"{key} '{value}' is not a FHIR dateTime"
        raise ResourceProblem(msg) from None
    # FHIR requires an offset with a time; a local time is taken as is.
    day = moment.date() if moment.tzinfo is None else moment.astimezone(BERLIN).date()
    return _parsed_day(day.isoformat())


def _iso_date(value: str, key: str) -> date:
    try:
        return _parsed_day(value)
    except ValueError:
        msg = f"{key} '{value}' is not a valid date"
        raise ResourceProblem(msg) from None


@lru_cache(maxsize=4096)
def _parsed_day(value: str) -> date:
    """One date object per day: records of a year share a few hundred of them."""
    return date.fromisoformat(value)


def period(resource: JsonObject, key: str) -> tuple[date | None, date | None]:
    """Start and end day of a Period field (each may be absent)."""
    value = obj(resource, key)
    if value is None:
        return None, None
    return (
        day_of(text(value, "start"), f"{key}.start"),
        day_of(text(value, "end"), f"{key}.end"),
    )


def duration_days(quantity: JsonObject | None, key: str) -> int | None:
    """Whole days of a Duration/Quantity: d or Tag(e); a week counts 7 days (INPUT.md)."""
    if quantity is None:
        return None
    value = number(quantity, "value")
    if value is None:
        return None
    unit = (text(quantity, "code") or text(quantity, "unit") or "d").strip().lower()
    if unit in {"d", "day", "days", "tag", "tage", "tag(e)"}:
        factor = 1
    elif unit in {"wk", "w", "week", "weeks", "woche", "wochen", "woche(n)"}:
        factor = 7
    else:
        msg = f"{key} has the unit '{unit}'; use days (d) or weeks (wk)"
        raise ResourceProblem(msg)
    days = round(value * factor)
    if days < 1:
        msg = f"{key} must be at least one day"
        raise ResourceProblem(msg)
    return days


def codings(concept: JsonObject | None) -> list[tuple[str, str]]:
    """(system, code) pairs of a CodeableConcept."""
    if concept is None:
        return []
    pairs = []
    for coding in objs(concept, "coding"):
        code = text(coding, "code")
        if code:
            pairs.append((text(coding, "system") or "", code))
    return pairs


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
