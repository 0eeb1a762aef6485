"""Strict readers of the FHIR JSON fields the bulk path uses.

Every field the adapter reads goes through one of these: a wrong type or format raises
`ResourceProblem` with the field's name, and the caller turns it into a finding that
names the resource. Dates become Europe/Berlin calendar days (INPUT.md).

Days and durations are bounded (D-40): a day from `FAR_FUTURE` on is an EHR's "no end"
(`9999-12-31T23:00:00Z` …): a period's end reads it as open (noted, see `open_ends`),
any other field cannot use it; a day before `FIRST_DAY` and a duration longer than
`MAX_DURATION_DAYS` are typos the adapter cannot use. So no date arithmetic of the engine
ever leaves the calendar (an `OverflowError` would stop every patient's reports).
"""

from __future__ import annotations

import math
import re
import sys
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from adapter.fhir.identifiers import conditional_reference, logical_reference

BERLIN = ZoneInfo("Europe/Berlin")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL = re.compile(r"^\d{4}(-\d{2})?$")
FIRST_DAY = date(1900, 1, 1)  # earlier days are typos: the register began in 2002
FAR_FUTURE = date(9000, 1, 1)  # from here on a day is an EHR's "no end" (D-40)
MAX_DURATION_DAYS = 366  # the longest supply or effect read: a year (Sixmo: six months)
USABLE_DAYS = f"a day from {FIRST_DAY.isoformat()} to {(FAR_FUTURE - timedelta(1)).isoformat()}"

JsonObject = dict[str, Any]


class ResourceProblem(ValueError):
    """A field of a resource cannot be read; the message names the field."""


class FarFuture(ResourceProblem):
    """A day in the far future: a period's end reads it as open, other fields cannot."""


_OPEN_ENDS: ContextVar[list[str] | None] = ContextVar("open_ends", default=None)


class open_ends:  # noqa: N801 (used as a function: `with open_ends() as notes`)
    """Collect the period ends read as open while a resource is read (its findings). A
    class rather than a generator: it is entered once per resource (D-177)."""

    __slots__ = ("notes", "token")

    def __enter__(self) -> list[str]:
        self.notes: list[str] = []
        self.token = _OPEN_ENDS.set(self.notes)
        return self.notes

    def __exit__(self, *_: object) -> None:
        _OPEN_ENDS.reset(self.token)


def usable_day(day: date) -> bool:
    """Whether the engine may compute with `day` (D-40)."""
    return FIRST_DAY <= day < FAR_FUTURE


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
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float
        msg = f"{key} is too large a number"
        raise ResourceProblem(msg) from None


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
    try:
        day = moment.date() if moment.tzinfo is None else moment.astimezone(BERLIN).date()
    except (
        OverflowError
    ):  # 9999-12-31T23:00:00Z is year 10000 in Berlin, 0001-01-01T00:00+14:00 year 0
        day = date.max if moment.year > 1 else date.min
    return _bounded(_parsed_day(day.isoformat()), key, value)


def _iso_date(value: str, key: str) -> date:
    try:
        day = _parsed_day(value)
    except ValueError:
        msg = f"{key} '{value}' is not a valid date"
        raise ResourceProblem(msg) from None
    return _bounded(day, key, value)


def _bounded(day: date, key: str, value: str) -> date:
    if day >= FAR_FUTURE:
        raise _far_future(key, value)
    if day < FIRST_DAY:
        msg = f"{key} '{value}' lies before {FIRST_DAY.isoformat()}; correct it to {USABLE_DAYS}"
        raise ResourceProblem(msg)
    return day


def _far_future(key: str, value: str) -> FarFuture:
    msg = (
        f"{key} '{value}' lies in the far future (an EHR's \"no end\"), which this field "
        f"cannot mean; correct it to {USABLE_DAYS}"
    )
    return FarFuture(msg)


@lru_cache(maxsize=4096)
def _parsed_day(value: str) -> date:
    """One date object per day: records of a year share a few hundred of them."""
    return date.fromisoformat(value)


def period(resource: JsonObject, key: str) -> tuple[date | None, date | None]:
    """Start and end day of a Period field (each may be absent)."""
    value = obj(resource, key)
    if value is None:
        return None, None
    start = day_of(text(value, "start"), f"{key}.start")
    end_text = text(value, "end")
    try:
        end = day_of(end_text, f"{key}.end")
    except FarFuture:
        # The usual "no end" of EHRs (9999-12-31): an open end, as if none were given.
        notes = _OPEN_ENDS.get()
        if notes is not None:
            notes.append(f"{key}.end '{end_text}'")
        end = None
    return start, end


def duration_days(quantity: JsonObject | None, key: str) -> int | None:
    """Whole days of a Duration/Quantity: d or Tag(e); a week counts 7 days (INPUT.md)."""
    if quantity is None:
        return None
    value = number(quantity, "value")
    if value is None:
        return None
    if not math.isfinite(value):
        msg = f"{key} must be a finite number of days"
        raise ResourceProblem(msg)
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
    if days > MAX_DURATION_DAYS:
        msg = (
            f"{key} is {days} days, longer than any supply or effect the adapter reads "
            f"({MAX_DURATION_DAYS} days); correct the value in the EHR"
        )
        raise ResourceProblem(msg)
    return days


def json_bytes(value: object, key: str, *, sort_keys: bool = False) -> bytes:
    """The JSON bytes of a part of a resource (cache keys, digests). A part nested deeper
    than the encoder goes (about 250 levels: extensions within extensions) cannot be
    used, and says so instead of stopping the run."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:
        msg = f"{key} is nested too deeply to be read (extensions within extensions …)"
        raise ResourceProblem(msg) from None


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
