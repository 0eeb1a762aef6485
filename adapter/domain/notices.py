"""Notices (Mitteilungen) about a doctor whose data change during open phases (R-CHG-4/5)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from adapter.domain.events import OpenSpan
from adapter.domain.model import Address, Doctor, Report
from adapter.domain.reports import register_doctor, report_id


def doctor_notices(
    doctors: Mapping[str, Doctor], spans: Iterable[OpenSpan], *, as_of: date
) -> list[Report]:
    """One notice per doctor and day on which their register data changed (R-NOTE-1)."""
    open_by_doctor: dict[str, list[OpenSpan]] = defaultdict(list)
    for span in spans:
        if span.doctor is not None:
            open_by_doctor[span.doctor].append(span)
    notices = []
    for key, doctor_spans in sorted(open_by_doctor.items()):
        doctor = doctors.get(key)
        if doctor is None or doctor.btm_number is None:
            continue  # the missing BtM number is already a finding
        for day, remarks in sorted(_changes(doctor).items()):
            if day <= as_of and any(s.start < day <= s.end for s in doctor_spans):
                notices.append(_notice(doctor, day, tuple(remarks)))
    return notices


def _changes(doctor: Doctor) -> dict[date, list[str]]:
    """Remarks for each day on which a name, address, phone or qualification starts."""
    changes: dict[date, list[str]] = defaultdict(list)
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
    if doctor.qualified_since is not None:
        changes[doctor.qualified_since].append(
            f"suchtmedizinische Qualifikation erworben am {_de(doctor.qualified_since)}"
        )
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
