"""From register events to reports: doctor data, notices, practice-wide checks, order.

Pure: takes the phase engine's events and the doctors, returns reports and findings.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import TypeVar

from adapter.domain.events import OpenSpan, RegisterEvent, registrations
from adapter.domain.model import Doctor, Finding, RegisterDoctor, Report, Spell

T = TypeVar("T")
_KIND_RANK = {"abmeldung": 0, "anmeldung": 1, "mitteilung": 2}
MAX_PATIENTS_UNQUALIFIED = 10  # R-DOC-2


def register_doctor(doctor: Doctor, day: date) -> RegisterDoctor:
    """The doctor's register fields in force on `day`."""
    name = _in_force(doctor.names, day)
    return RegisterDoctor(
        btm_number=doctor.btm_number,
        family_name=name[0] if name else None,
        given_name=name[1] if name else None,
        birth_date=doctor.birth_date,
        address=_in_force(doctor.addresses, day),
        phone=_in_force(doctor.phones, day),
    )


def _in_force(spells: tuple[Spell[T], ...], day: date) -> T | None:
    """The spell covering `day` with the latest start; else the latest that started."""
    covering = [s for s in spells if s.covers(day)]
    pool = covering or [s for s in spells if s.start is None or s.start <= day] or list(spells)
    if not pool:
        return None
    return max(pool, key=lambda s: s.start or date.min).value


def build_reports(
    events: Iterable[RegisterEvent],
    doctors: Mapping[str, Doctor],
    *,
    as_of: date,
) -> tuple[list[Report], list[Finding], dict[str, str]]:
    """Reports for every event due by `as_of`; a finding for each one that cannot be made.

    The third value maps each report id to its patient key (for R-CODE-9), kept apart so
    that a report holds exactly what the register receives.
    """
    reports: list[Report] = []
    owners: dict[str, str] = {}
    findings: list[Finding] = []
    missing_btm: dict[str, list[str]] = defaultdict(list)
    reported_by: dict[str, RegisterDoctor] = {}  # doctor key → as on their latest report
    for event in events:
        if event.made_on > as_of or event.date > as_of or event.code is None:
            continue  # not yet due (R-DATE-3), or withheld with a finding already
        doctor = doctors.get(event.doctor or "")
        if doctor is None:
            findings.append(_no_doctor(event))
            continue
        if doctor.btm_number is None:
            missing_btm[doctor.key].extend(event.sources[:1])
            continue
        consultant = doctors.get(event.consultant or "")
        report = _report(event, doctor, consultant)
        reports.append(report)
        owners[report.id] = event.patient
        reported_by[doctor.key] = report.doctor
    findings.extend(_missing_btm(key, sources) for key, sources in missing_btm.items())
    findings.extend(_incomplete_doctors(reported_by))
    return reports, findings, owners


def _incomplete_doctors(doctors: Mapping[str, RegisterDoctor]) -> list[Finding]:
    """The register's fields a reporting doctor lacks (RULES.md §1): the reports are made,
    and a warning says what to add (D-1 withholds only what the register cannot file at
    all: no code, no doctor, no BtM number)."""
    found = []
    for key, doctor in sorted(doctors.items()):
        missing = {
            "name": not (doctor.family_name and doctor.given_name),
            "birth date": doctor.birth_date is None,
            "business address": doctor.address is None,
            "phone": not doctor.phone,
        }
        fields = sorted(field for field, gone in missing.items() if gone)
        if fields:
            found.append(
                Finding(
                    "warning",
                    "INPUT",
                    f"The register needs the doctor's {', '.join(fields)}; the reports of "
                    f"{key} go without: add it to the Practitioner (or its Organization), "
                    "or to practice.toml.",
                    (key,),
                )
            )
    return found


def _report(event: RegisterEvent, doctor: Doctor, consultant: Doctor | None) -> Report:
    key = "|".join(
        (event.kind, event.patient, event.doctor or "", event.date.isoformat(), event.code or "")
    )
    return Report(
        kind=event.kind,
        made_on=event.made_on,
        date=event.date,
        patient_code=event.code,
        substance=event.substance,
        doctor=register_doctor(doctor, event.made_on),
        consultant=register_doctor(consultant, event.made_on) if consultant else None,
        remarks=event.remarks,
        rule=event.rule,
        sources=event.sources,
        id=report_id(event.kind, key),
    )


def report_id(kind: str, key: str) -> str:
    """Stable id: the same input gives the same id; nothing personal can be read back."""
    prefix = {"anmeldung": "anm", "abmeldung": "abm", "mitteilung": "mit"}.get(kind, kind[:3])
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _no_doctor(event: RegisterEvent) -> Finding:
    if event.doctor is not None:
        problem = (
            f"{event.doctor}, the substituting doctor of the {event.kind} of {event.patient} "
            f"dated {event.date.isoformat()}, is not in the input: send the Practitioner "
            "resource (with its BtM number, or configure it in practice.toml)."
        )
    else:
        problem = (
            f"No substituting doctor for the {event.kind} of {event.patient} dated "
            f"{event.date.isoformat()}: give the MedicationRequest a requester, or the "
            "EpisodeOfCare a careManager (a Practitioner)."
        )
    return Finding("error", "R-EP-1", problem, (event.patient, *event.sources[:3]))


def _missing_btm(doctor_key: str, sources: list[str]) -> Finding:
    return Finding(
        "error",
        "R-DOC-1",
        f"{doctor_key} has no BtM number: its reports are withheld. Add an identifier with "
        'system http://fhir.de/sid/bfarm/btmnr, or btm_number under [doctors."<LANR or '
        'Practitioner id>"] in practice.toml.',
        (doctor_key, *sources[:3]),
    )


def sort_reports(reports: list[Report]) -> list[Report]:
    """REPORTS.md order: made_on, date, doctor, patient code; Abmeldung before Anmeldung."""
    return sorted(
        reports,
        key=lambda r: (
            r.made_on,
            r.date,
            r.doctor.btm_number or "",
            r.patient_code or "",
            _KIND_RANK.get(r.kind, 9),
            r.id,
        ),
    )


def shared_code_findings(reports: Iterable[Report], patients: Mapping[str, str]) -> list[Finding]:
    """R-CODE-9: two patients of the practice with one code are both reported, and flagged.

    `patients` maps a report id to its patient key (kept outside the Report so that the
    report stays exactly what the register receives).
    """
    by_code: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        if report.kind == "anmeldung" and report.patient_code and report.id in patients:
            by_code[report.patient_code].add(patients[report.id])
    return [
        Finding(
            "warning",
            "R-CODE-9",
            f"{len(keys)} patients share one patient code: both are reported; expect the "
            "register's duplicate notice and keep the ID documents at hand.",
            tuple(sorted(keys)),
        )
        for keys in by_code.values()
        if len(keys) > 1
    ]


def caseload_findings(spans: Iterable[OpenSpan], doctors: Mapping[str, Doctor]) -> list[Finding]:
    """R-DOC-2: an unqualified doctor with more than 10 patients open on one day."""
    by_doctor: dict[str, list[OpenSpan]] = defaultdict(list)
    for span in registrations(spans):
        if span.doctor is not None:
            by_doctor[span.doctor].append(span)
    findings = []
    for key, doctor_spans in sorted(by_doctor.items()):
        doctor = doctors.get(key)
        if doctor is None:
            continue
        day = _first_overloaded_day(_unqualified_part(doctor_spans, doctor))
        if day is not None:
            findings.append(
                Finding(
                    "warning",
                    "R-DOC-2",
                    f"{key} has no addiction qualification and more than "
                    f"{MAX_PATIENTS_UNQUALIFIED} substitution patients at once on "
                    f"{day.isoformat()}.",
                    (key,),
                )
            )
    return findings


def _unqualified_part(spans: list[OpenSpan], doctor: Doctor) -> list[OpenSpan]:
    """The spans cut to the days before the doctor's qualification (R-DOC-2, R-CHG-5)."""
    if not doctor.qualified:
        return spans
    if doctor.qualified_since is None:
        return []  # qualified throughout: the limit never binds
    last = doctor.qualified_since - timedelta(days=1)
    return [replace(s, end=min(s.end, last)) for s in spans if s.start <= last]


def _first_overloaded_day(spans: list[OpenSpan]) -> date | None:
    changes: list[tuple[date, int]] = []
    for span in spans:
        changes.append((span.start, 1))
        changes.append((span.end, -1))
    open_count = 0
    # On one day, openings count before closings: a patient is open on the Abmeldung's date.
    for day, delta in sorted(changes, key=lambda c: (c[0], -c[1])):
        open_count += delta
        if open_count > MAX_PATIENTS_UNQUALIFIED:
            return day
    return None
