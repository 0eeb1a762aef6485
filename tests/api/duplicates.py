"""Duplicate notices (D-170) as the API takes them."""

from __future__ import annotations

from typing import Any

DOCTOR_BTM = "1234567"  # the doctor of the service's seeded reports (tests/api/service.py)


def notice(code: str, doctor: str = DOCTOR_BTM, **changed: Any) -> dict[str, Any]:
    """The JSON of a notice about `code`, written to `doctor`, one other doctor named."""
    return {
        "format": "substreg-duplicate-notice/1",
        "reference": "Az. 2026-0042",
        "letter_date": "2026-01-05",
        "doctor_btm_number": doctor,
        "patient_code": code,
        "other_doctors": [
            {
                "name": "Dr. Anna Beispiel",
                "btm_number": "7654321",
                "contact": "Hauptstr. 1, 10115 Berlin",
                "first_use": "2025-11-03",
            }
        ],
    } | changed
