"""Plain values of the domain: what the FHIR edge hands in, and what comes out.

Everything here is a frozen, slotted dataclass of standard types: no FHIR JSON, no
clock, no I/O. Resources are named by their key `Type/id` (e.g. `Patient/p1`), which
the practice may see in findings; names and birth dates never leave the domain except
inside a report for the register.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Generic, Literal, TypeVar

from adapter.domain.codes import NameParts

# Classes with a field named `date` annotate with this alias: under slots the name
# `date` in their annotations would be read as the field (pydantic serialises them).
_Day = date

SUBSTANCES = (
    "Levomethadon",
    "Methadon",
    "Buprenorphin",
    "Morphin",
    "Diamorphin",
    "Codein",
    "Dihydrocodein",
)  # R-SUB-1: the only names the register accepts
DIAMORPHIN = "Diamorphin"

Severity = Literal["error", "warning", "info"]
T = TypeVar("T")
ReportKind = Literal["anmeldung", "abmeldung", "mitteilung", "inventur", "pauschalabmeldung"]


@dataclass(frozen=True, slots=True)
class Depot:
    """Duration of effect of one depot dose or implant (R-DATE-2)."""

    days: int | None
    months: int | None
    uncertain: bool  # the form could not be told: the safe, longer duration was taken


@dataclass(frozen=True, slots=True)
class Cover:
    """Days on which a substitution drug was available from one event (R-DATE-1/2)."""

    start: date
    end: date  # inclusive
    doctor: str | None  # key of the prescribing / responsible Practitioner
    substance: str
    source: str  # `Type/id` of the event
    episode: str | None = None  # key of the EpisodeOfCare the event belongs to
    reportable_from: date | None = None  # R-NOT-5: a detox known as substitution from this day


@dataclass(frozen=True, slots=True)
class Absence:
    """A justified absence (EpisodeOfCare.statusHistory onhold, R-ABS-3/4)."""

    start: date
    end: date | None  # None: ongoing
    reason: str


@dataclass(frozen=True, slots=True)
class Episode:
    """An EpisodeOfCare of type substitution or detox."""

    key: str
    kind: Literal["substitution", "detox"]
    status: str
    start: date | None
    end: date | None
    care_manager: str | None
    absences: tuple[Absence, ...] = ()


@dataclass(frozen=True, slots=True)
class ConsultantSpell:
    """A consulting doctor (Konsiliararzt) of the patient for a period (R-DOC-2, R-CHG-3)."""

    doctor: str
    start: date | None
    end: date | None
    source: str


@dataclass(frozen=True, slots=True)
class Review:
    """An outside review of a Diamorphin treatment (R-DIA-2, D-173): a completed Procedure
    coded diamorphine-review#outside-review, its day and its performer."""

    day: date
    doctor: str | None  # key of the performing Practitioner, None when it names none
    source: str  # `Procedure/id`


@dataclass(frozen=True, slots=True)
class NameSpell:
    """One HumanName of a person with its use and period (INPUT.md edge case 9)."""

    parts: NameParts
    use: str | None
    start: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class PatientFacts:
    key: str
    names: tuple[NameSpell, ...]
    sex: str | None  # "F"/"M" after the register-sex override, else None
    gender: str | None  # FHIR gender as sent, for the message when sex is None
    birth_date: str | None  # FHIR date string, possibly partial


@dataclass(frozen=True, slots=True)
class PatientHistory:
    """Everything the phase engine needs about one patient."""

    patient: PatientFacts
    covers: tuple[Cover, ...]
    contacts: frozenset[date] = frozenset()
    episodes: tuple[Episode, ...] = ()
    consultants: tuple[ConsultantSpell, ...] = ()
    reviews: tuple[Review, ...] = ()  # R-DIA-2


@dataclass(frozen=True, slots=True)
class Address:
    line: tuple[str, ...]
    postal_code: str | None
    city: str | None


@dataclass(frozen=True, slots=True)
class Spell(Generic[T]):
    """A value valid for a period; None bounds are open."""

    value: T
    start: date | None = None
    end: date | None = None

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Doctor:
    """A doctor as the register needs them (R-DOC), from FHIR and the practice config."""

    key: str
    btm_number: str | None = None
    lanr: str | None = None
    names: tuple[Spell[tuple[str, str]], ...] = ()  # (family, given) for the register
    birth_date: str | None = None
    addresses: tuple[Spell[Address], ...] = ()
    phones: tuple[Spell[str], ...] = ()
    qualified: bool = False
    qualified_since: date | None = None
    role_end: date | None = None  # R-CHG-6: the doctor left the practice on this day
    facilities: tuple[str, ...] = ()  # Organization keys of their PractitionerRoles (R-DOC-3)

    def qualified_on(self, day: date) -> bool:
        """Addiction-qualified on `day` (R-DOC-2; from `qualified_since` when known, R-CHG-5)."""
        return self.qualified and (self.qualified_since is None or self.qualified_since <= day)


@dataclass(frozen=True, slots=True)
class RegisterDoctor:
    """The doctor fields of a report, as in force on the report's day."""

    btm_number: str | None
    family_name: str | None
    given_name: str | None
    birth_date: str | None
    address: Address | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class Report:
    kind: ReportKind
    made_on: _Day
    date: _Day
    patient_code: str | None
    substance: str | None
    doctor: RegisterDoctor
    consultant: RegisterDoctor | None
    remarks: tuple[str, ...]
    rule: str
    sources: tuple[str, ...]
    id: str


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    rule: str
    message: str
    sources: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Derivation:
    """Every report the data calls for up to `as_of`, and the findings (REPORTS.md)."""

    as_of: _Day
    reports: list[Report]
    findings: list[Finding]
