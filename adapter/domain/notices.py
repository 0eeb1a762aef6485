"""Notices (Mitteilungen) when reported doctor data change during open phases (R-CHG-4/5).

The data are the substituting doctor's own and those of the consulting doctors named on
their Anmeldungen (D-17).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from adapter.domain.events import OpenSpan, registrations
from adapter.domain.model import Address, Doctor, Report
from adapter.domain.reports import register_doctor, report_id


def doctor_notices(
    doctors: Mapping[str, Doctor], spans: Iterable[OpenSpan], *, as_of: date
) -> list[Report]:
    """One notice per substituting doctor and day on which reported data changed (R-NOTE-1).

    The data are the doctor's own (R-CHG-4, R-CHG-5) and those of each consulting doctor
    on their open Anmeldungen: the consulting doctor does not report to the register
    (004 §6.1), so the substituting doctor tells it of the change (R-CHG-4, 004 §6.2).
    """
    by_doctor: dict[str, list[OpenSpan]] = defaultdict(list)
    for span in registrations(spans):
        if span.doctor is not None:
            by_doctor[span.doctor].append(span)
    notices = []
    for key, doctor_spans in sorted(by_doctor.items()):
        doctor = doctors.get(key)
        if doctor is None or doctor.btm_number is None:
            continue  # the missing BtM number is already a finding
        remarks = _own_remarks(doctor, doctor_spans)
        for consultant_key in sorted({s.consultant for s in doctor_spans if s.consultant}):
            consultant = doctors.get(consultant_key)
            if consultant is None:
                continue  # nothing known about them, so no change to tell
            with_them = [s for s in doctor_spans if s.consultant == consultant_key]
            for day, lines in _consultant_remarks(consultant, doctor, with_them).items():
                remarks[day].extend(lines)
        for day, lines in sorted(remarks.items()):
            if day <= as_of:
                notices.append(_notice(doctor, day, tuple(lines)))
    return notices


def _own_remarks(doctor: Doctor, spans: list[OpenSpan]) -> defaultdict[date, list[str]]:
    """The doctor's own changes on days inside one of their open phases."""
    changes = _changes(doctor)
    if doctor.qualified_since is not None:
        changes[doctor.qualified_since].append(
            f"suchtmedizinische Qualifikation erworben am {_de(doctor.qualified_since)}"
        )
    return defaultdict(list, {day: r for day, r in changes.items() if _open_on(spans, day)})


def _consultant_remarks(
    consultant: Doctor, doctor: Doctor, spans: list[OpenSpan]
) -> dict[date, list[str]]:
    """A consulting doctor's changes while named on an open Anmeldung of `doctor`.

    Once `doctor` is qualified the register has dropped the consultant (R-CHG-5). The
    remark names the consultant as the register knows them: as on the day before.
    """
    remarks = {}
    for day, lines in _changes(consultant).items():
        if _open_on(spans, day) and not doctor.qualified_on(day):
            known = register_doctor(consultant, day - timedelta(days=1))
            who = " ".join(p for p in (known.given_name, known.family_name) if p)
            btm = f" (BtM-Nr. {known.btm_number})" if known.btm_number else ""
            remarks[day] = [f"Konsiliararzt {who}{btm}: {line}" for line in lines]
    return remarks


def _open_on(spans: list[OpenSpan], day: date) -> bool:
    """A change on a phase's first day is on its Anmeldung already (D-11)."""
    return any(s.start < day <= s.end for s in spans)


def _changes(doctor: Doctor) -> defaultdict[date, list[str]]:
    """Remarks for each day on which a name, address or phone starts."""
    changes: defaultdict[date, list[str]] = defaultdict(list)
    for name in doctor.names:
        if name.start is not None:
            family, given = name.value
            changes[name.start].append(f"Neuer Name ab {_de(name.start)}: {given} {family}")
    for address in doctor.addresses:
        if address.start is not None:
            text = _address_text(address.value)
            changes[address.start].append(f"Neue Praxisanschrift ab {_de(address.start)}: {text}")
    for phone in doctor.phones:
        if phone.start is not None:
            changes[phone.start].append(f"Neue Telefonnummer ab {_de(phone.start)}: {phone.value}")
    return changes


def _notice(doctor: Doctor, day: date, remarks: tuple[str, ...]) -> Report:
    qualification = any(r.startswith("suchtmedizinische") for r in remarks)
    return Report(
        kind="mitteilung",
        made_on=day,
        date=day,
        patient_code=None,
        substance=None,
        doctor=register_doctor(doctor, day),
        consultant=None,
        remarks=remarks,
        rule="R-CHG-5" if qualification else "R-CHG-4",
        sources=(doctor.key,),
        id=report_id("mitteilung", f"mitteilung|{doctor.key}|{day.isoformat()}"),
    )


def _address_text(address: Address) -> str:
    place = " ".join(p for p in (address.postal_code, address.city) if p)
    return ", ".join([*address.line, place] if place else list(address.line))


def _de(day: date) -> str:
    return day.strftime("%d.%m.%Y")
