"""A report as JSON: the REPORTS.md contract, in both directions.

`derive` prints it, and the ledger seals exactly these bytes as the report's payload
(R-CH-2: the practice keeps a copy of every report as sent).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import orjson

from adapter.domain.model import Address, RegisterDoctor, Report


def report_json(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "kind": report.kind,
        "made_on": report.made_on.isoformat(),
        "patient_code": report.patient_code,
        "date": report.date.isoformat(),
        "substance": report.substance,
        "doctor": _doctor_json(report.doctor),
        "consultant": _doctor_json(report.consultant) if report.consultant else None,
        "remarks": list(report.remarks),
        "rule": report.rule,
        "sources": list(report.sources),
    }


def _doctor_json(doctor: RegisterDoctor) -> dict[str, Any]:
    address = asdict(doctor.address) if doctor.address else None
    if address is not None:
        address["line"] = list(address["line"])
    return {
        "btm_number": doctor.btm_number,
        "family_name": doctor.family_name,
        "given_name": doctor.given_name,
        "birth_date": doctor.birth_date,
        "address": address,
        "phone": doctor.phone,
    }


def report_bytes(report: Report) -> bytes:
    """The canonical payload: sorted keys, so equal reports give equal bytes."""
    return orjson.dumps(report_json(report), option=orjson.OPT_SORT_KEYS)


def report_from_bytes(payload: bytes) -> Report:
    return report_from_json(orjson.loads(payload))


def report_from_json(data: dict[str, Any]) -> Report:
    """The report of a `report_json` object; KeyError or TypeError when a field is missing."""
    return Report(
        kind=data["kind"],
        made_on=date.fromisoformat(data["made_on"]),
        date=date.fromisoformat(data["date"]),
        patient_code=data["patient_code"],
        substance=data["substance"],
        doctor=_doctor_from(data["doctor"]),
        consultant=_doctor_from(data["consultant"]) if data["consultant"] else None,
        remarks=tuple(data["remarks"]),
        rule=data["rule"],
        sources=tuple(data["sources"]),
        id=data["id"],
    )


def _doctor_from(data: dict[str, Any]) -> RegisterDoctor:
    address = data["address"]
    return RegisterDoctor(
        btm_number=data["btm_number"],
        family_name=data["family_name"],
        given_name=data["given_name"],
        birth_date=data["birth_date"],
        address=Address(tuple(address["line"]), address["postal_code"], address["city"])
        if address
        else None,
        phone=data["phone"],
    )
