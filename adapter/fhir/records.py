"""Small records kept per resource while the input streams past (see collect.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapter.fhir.medication import MedInfo


@dataclass(frozen=True, slots=True)
class Role:
    practitioner: str | None
    organization: str | None
    end: date | None


@dataclass(frozen=True, slots=True)
class Composition:
    subject: str | None
    authors: tuple[str, ...]
    attester: str | None
    custodian: str | None
    entries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Request:
    key: str
    patient: str | None
    status: str | None
    med: MedInfo | None
    med_ref: str | None
    marker: str | None
    requester: str | None
    authored: date | None
    supply_start: date | None
    supply_days: int | None
    dependence: bool
    episodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Administration:
    key: str
    patient: str | None
    med: MedInfo | None
    med_ref: str | None
    start: date
    end: date
    request: str | None
    performer: str | None
    episode: str | None
    dependence: bool
    effect_days: int | None


@dataclass(frozen=True, slots=True)
class Dispense:
    key: str
    patient: str | None
    med: MedInfo | None
    med_ref: str | None
    day: date
    days: int | None  # daysSupply; None when the dispense carries none (edge case 15)
    prescription: str | None
    performer: str | None
    episode: str | None


@dataclass(frozen=True, slots=True)
class CareTeam:
    patient: str | None
    consultants: tuple[tuple[str, date | None, date | None], ...]


@dataclass(frozen=True, slots=True)
class Review:
    """A completed outside review of a Diamorphin treatment (R-DIA-2, fhir/reviews.py)."""

    patient: str | None
    day: date
    performer: str | None


@dataclass(frozen=True, slots=True)
class Contact:
    """A finished Encounter with someone of the practice: its start and end days."""

    patient: str | None
    days: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class EncounterLink:
    """An Encounter's EpisodeOfCare: events in that encounter belong to the episode."""

    patient: str | None
    episodes: tuple[str, ...]
