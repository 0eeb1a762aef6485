"""What the phase engine decides: register events before they meet doctor data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

# Classes with a field named `date` annotate with this alias: under slots the name
# `date` in their annotations would be read as the field (pydantic serialises them).
_Day = date


@dataclass(frozen=True, slots=True)
class RegisterEvent:
    """An Anmeldung or Abmeldung of one patient with one doctor (R-EP-1).

    `code` is None when the patient cannot be coded; the report is then withheld and a
    finding says what to fix.
    """

    kind: Literal["anmeldung", "abmeldung"]
    made_on: _Day
    date: _Day
    patient: str
    code: str | None
    doctor: str | None
    consultant: str | None
    substance: str | None
    remarks: tuple[str, ...]
    rule: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OpenSpan:
    """A patient's phase with a doctor, open from `start` to `end` (R-DOC-2 counting)."""

    doctor: str | None
    patient: str
    start: date
    end: date
    consultant: str | None = None  # on the Anmeldung of the span (R-DOC-2; notices R-CHG-4)
    # R-ABS-6: a substitute run, `doctor` prescribing for the patient of this registered
    # doctor (INPUT.md edge case 4); not a registration: caseloads and notices skip it.
    substitute_for: str | None = None


def registrations(spans: Iterable[OpenSpan]) -> list[OpenSpan]:
    """The spans of registered phases (R-DOC-2, notices), without substitute runs."""
    return [s for s in spans if s.substitute_for is None]
