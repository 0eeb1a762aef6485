"""Small builders for the plain domain values, so that a test states only what matters.

Defaults: patient `Patient/p1` is Hanna von Mühlenstein, F, 1974-08-12 (code HAMÜF284);
doctor `Practitioner/a` is addiction-qualified with BtM number 1234567.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Literal

from adapter.domain.codes import NameParts
from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import (
    Absence,
    Address,
    ConsultantSpell,
    Cover,
    Doctor,
    Episode,
    NameSpell,
    PatientFacts,
    PatientHistory,
    RegisterDoctor,
    Report,
    ReportKind,
    Spell,
)
from adapter.domain.phases import derive_phases
from adapter.domain.walk_state import PhaseOutcome
from adapter.mappings import packaged_mappings
from adapter.mappings.names import load_name_rules

RULES = load_name_rules(packaged_mappings() / "names.json")

PATIENT = "Patient/p1"
DOC_A = "Practitioner/a"
DOC_B = "Practitioner/b"
DOC_C = "Practitioner/c"
CONSULT_1 = "Practitioner/k1"
CONSULT_2 = "Practitioner/k2"
CODE = "HAMÜF284"  # Hanna von Mühlenstein, F, 1974-08-12 (R-CODE-6)


def days(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def name(
    given: str = "Hanna",
    family: str = "von Mühlenstein",
    *,
    use: str | None = "official",
    start: date | None = None,
    end: date | None = None,
) -> NameSpell:
    return NameSpell(NameParts((given,), family), use, start, end)


def patient(
    key: str = PATIENT,
    *names: NameSpell,
    sex: str | None = "F",
    birth_date: str | None = "1974-08-12",
) -> PatientFacts:
    return PatientFacts(key, names or (name(),), sex, "female" if sex == "F" else None, birth_date)


def cover(
    start: date,
    end: date | None = None,
    *,
    doctor: str | None = DOC_A,
    substance: str = "Methadon",
    source: str | None = None,
    episode: str | None = None,
) -> Cover:
    """A cover of `start`..`end` (one day when `end` is omitted)."""
    last = end or start
    src = source or f"MedicationAdministration/{start.isoformat()}-{last.isoformat()}"
    return Cover(start, last, doctor, substance, src, episode)


def daily(
    first: date,
    last: date,
    *,
    doctor: str | None = DOC_A,
    substance: str = "Methadon",
    episode: str | None = None,
) -> tuple[Cover, ...]:
    """One single-day cover per day from `first` to `last`, as daily supervised doses."""
    return tuple(
        cover(day, doctor=doctor, substance=substance, episode=episode) for day in days(first, last)
    )


def history(
    *covers: Cover,
    facts: PatientFacts | None = None,
    contacts: Iterable[date] = (),
    episodes: Iterable[Episode] = (),
    consultants: Iterable[ConsultantSpell] = (),
) -> PatientHistory:
    return PatientHistory(
        facts or patient(),
        tuple(covers),
        frozenset(contacts),
        tuple(episodes),
        tuple(consultants),
    )


def episode(
    key: str = "EpisodeOfCare/e1",
    *,
    kind: Literal["substitution", "detox"] = "substitution",
    status: str = "active",
    start: date | None = None,
    end: date | None = None,
    care_manager: str | None = None,
    absences: Iterable[Absence] = (),
) -> Episode:
    return Episode(key, kind, status, start, end, care_manager, tuple(absences))


def absence(start: date, end: date | None = None, reason: str = "holiday") -> Absence:
    return Absence(start, end, reason)


def consultant(
    doctor: str = CONSULT_1, start: date | None = None, end: date | None = None
) -> ConsultantSpell:
    return ConsultantSpell(doctor, start, end, f"CareTeam/{doctor.rsplit('/', 1)[-1]}")


ADDRESS = Address(("Westhoffstraße 8",), "44145", "Dortmund")


def doctor(
    key: str = DOC_A,
    *,
    btm_number: str | None = "1234567",
    qualified: bool = True,
    qualified_since: date | None = None,
    role_end: date | None = None,
    names: Iterable[Spell[tuple[str, str]]] | None = None,
    addresses: Iterable[Spell[Address]] | None = None,
    phones: Iterable[Spell[str]] | None = None,
) -> Doctor:
    return Doctor(
        key=key,
        btm_number=btm_number,
        names=tuple(names) if names is not None else (Spell(("Berger", "Anna")),),
        birth_date="1971-04-02",
        addresses=tuple(addresses) if addresses is not None else (Spell(ADDRESS),),
        phones=tuple(phones) if phones is not None else (Spell("0231 123456"),),
        qualified=qualified,
        qualified_since=qualified_since,
        role_end=role_end,
    )


def doctors(*docs: Doctor) -> dict[str, Doctor]:
    return {d.key: d for d in docs}


DOCTORS = doctors(
    doctor(DOC_A, btm_number="1111111"),
    doctor(DOC_B, btm_number="2222222"),
    doctor(DOC_C, btm_number="3333333"),
    doctor(CONSULT_1, btm_number="7777777"),
    doctor(CONSULT_2, btm_number="8888888"),
)


def derive(
    hist: PatientHistory, *, as_of: date, docs: Mapping[str, Doctor] | None = None
) -> PhaseOutcome:
    return derive_phases(hist, DOCTORS if docs is None else docs, RULES, as_of=as_of)


def timeline(outcome: PhaseOutcome) -> list[tuple[str, date, date, str | None, str]]:
    """Each event as (kind, made_on, date, doctor, rule): the shape most tests compare."""
    return [(e.kind, e.made_on, e.date, e.doctor, e.rule) for e in outcome.events]


def event(
    kind: Literal["anmeldung", "abmeldung"] = "anmeldung",
    *,
    made_on: date,
    dated: date | None = None,
    patient_key: str = PATIENT,
    code: str | None = CODE,
    doctor_key: str | None = DOC_A,
    consultant_key: str | None = None,
    substance: str | None = "Methadon",
    remarks: tuple[str, ...] = (),
    rule: str = "R-EP-1",
    sources: tuple[str, ...] = ("MedicationAdministration/ma-1",),
) -> RegisterEvent:
    return RegisterEvent(
        kind=kind,
        made_on=made_on,
        date=dated or made_on,
        patient=patient_key,
        code=code,
        doctor=doctor_key,
        consultant=consultant_key,
        substance=substance if kind == "anmeldung" else None,
        remarks=remarks,
        rule=rule,
        sources=sources,
    )


def span(
    start: date,
    end: date,
    *,
    doctor_key: str | None = DOC_A,
    patient_key: str = PATIENT,
    consultant_key: str | None = None,
) -> OpenSpan:
    return OpenSpan(doctor_key, patient_key, start, end, consultant_key)


def report(
    kind: ReportKind = "anmeldung",
    *,
    made_on: date,
    dated: date | None = None,
    code: str | None = CODE,
    btm_number: str = "1111111",
    report_id: str = "anm-0",
) -> Report:
    return Report(
        kind=kind,
        made_on=made_on,
        date=dated or made_on,
        patient_code=code,
        substance="Methadon" if kind == "anmeldung" else None,
        doctor=RegisterDoctor(btm_number, "Berger", "Anna", "1971-04-02", ADDRESS, None),
        consultant=None,
        remarks=(),
        rule="R-EP-1",
        sources=(),
        id=report_id,
    )
