"""Reading a paper form back: its text by pypdf, and what each report must show on it.

The expected texts are built from the reports themselves (REPORTS.md fields), never from
the form's own content module, so that a field the form leaves out is caught. Text is
compared without white space: a value wrapped over lines in its cell reads back whole.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pypdf

from adapter.domain.batch import Batch
from adapter.domain.model import RegisterDoctor, Report

PRINTED_AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # 09:00 in Berlin, 05.01.2026
_SPACE = re.compile(r"\s+")


def pages(document: bytes) -> list[str]:
    """The text of each page of a PDF."""
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(document)).pages]


def placed_texts(document: bytes) -> list[list[tuple[float, str]]]:
    """Per page, each piece of text with the height of its baseline above the page's
    lower edge, in points."""
    placed: list[list[tuple[float, str]]] = []
    for page in pypdf.PdfReader(io.BytesIO(document)).pages:
        found: list[tuple[float, str]] = []

        def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
            if text.strip():
                found.append((tm[5] * cm[3] + cm[5], text.strip()))  # noqa: B023

        page.extract_text(visitor_text=visit)
        placed.append(found)
    return placed


def squeeze(text: str) -> str:
    return _SPACE.sub("", text)


def german(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def doctor_texts(doctor: RegisterDoctor) -> list[str]:
    """The doctor block's values, in the order of the official form."""
    birth = doctor.birth_date
    texts = [doctor.btm_number, doctor.family_name, doctor.given_name]
    texts.append(german(date.fromisoformat(birth)) if birth and len(birth) == 10 else birth)
    if doctor.address is not None:
        texts += [*doctor.address.line, doctor.address.postal_code, doctor.address.city]
    texts.append(doctor.phone)
    return [text for text in texts if text]


def report_texts(report: Report) -> list[str]:
    """What a report's line must show, in order: code, its date, substance, consultant,
    remarks, the day it was made and its id."""
    texts = [report.patient_code, german(report.date), report.substance]
    consultant = report.consultant
    if consultant is not None:
        texts += [consultant.family_name, consultant.given_name, consultant.btm_number]
        if consultant.address is not None:
            address = consultant.address
            texts += [*address.line, address.postal_code, address.city]
        texts.append(consultant.phone)
    texts += [*report.remarks, german(report.made_on), report.id]
    return [text for text in texts if text]


def find_in_order(haystack: str, needles: list[str], start: int = 0) -> int:
    """The end of the last needle found, each after the one before (white space ignored);
    AssertionError naming the first needle that is not there."""
    text, at = squeeze(haystack), start
    for needle in needles:
        found = text.find(squeeze(needle), at)
        assert found >= 0, f"{needle!r} not found after position {at}"
        at = found + len(squeeze(needle))
    return at


def batches_by_doctor(reports: list[Report], *, prefix: str) -> dict[str, Batch]:
    """One batch per doctor's BtM number, the reports in their order."""
    numbers = sorted({report.doctor.btm_number or "" for report in reports})
    return {
        number: Batch(
            batch_id=f"{prefix}-{number}",
            sender_btm_number=number,
            created_at=PRINTED_AT,
            reports=tuple(r for r in reports if r.doctor.btm_number == number),
        )
        for number in numbers
    }
