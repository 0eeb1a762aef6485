"""The register's duplicate notice (004 §10), as a practice keeps it (D-170).

The Bundesopiumstelle writes to each doctor who registered the same code: the code, the
date of first use and the contact data of the other doctors. It writes by letter today;
a person types the letter into this JSON (the simulator can write the same, D-170):

    {"format": "substreg-duplicate-notice/1",
     "reference": "Az. 2026-0042",           the register's file number (one line)
     "letter_date": "2026-01-05",            the day of the letter
     "doctor_btm_number": "1234567",         the doctor of this practice written to
     "patient_code": "THREM249",             as the register holds it (R-CODE)
     "other_doctors": [{"name": "Dr. Anna Beispiel", "btm_number": "7654321",
                        "contact": "Hauptstr. 1, 10115 Berlin, Tel. 030 123456",
                        "first_use": "2025-11-03"}]}

`btm_number` of another doctor may be null (the letter need not give it). Every other
field is required and no other field is read: a notice that is not one is refused whole
(`NoticeError`, naming the field, never the code).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from adapter.domain.btm import is_btm_number
from adapter.domain.codes import is_patient_code
from adapter.errors import NoticeError

NOTICE_FORMAT = "substreg-duplicate-notice/1"
_KEYS = frozenset(
    {"format", "reference", "letter_date", "doctor_btm_number", "patient_code", "other_doctors"}
)
_DOCTOR_KEYS = frozenset({"name", "btm_number", "contact", "first_use"})
MAX_TEXT = 300
MAX_REFERENCE = 64
MAX_OTHERS = 10


@dataclass(frozen=True, slots=True)
class OtherDoctor:
    """Another doctor who registered the code, as the letter names them."""

    name: str
    btm_number: str | None
    contact: str
    first_use: date


@dataclass(frozen=True, slots=True)
class DuplicateNotice:
    reference: str
    letter_date: date
    doctor_btm_number: str
    patient_code: str
    other_doctors: tuple[OtherDoctor, ...]


def parse_notice(data: bytes) -> DuplicateNotice:
    """A notice from its JSON; NoticeError naming the first thing wrong."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise NoticeError("the duplicate notice is not JSON") from None
    return notice_of(document)


def notice_of(document: object, *, at: str = "") -> DuplicateNotice:
    """A notice from its parsed JSON; NoticeError naming the first thing wrong, with its
    path under `at` (the notice's own path in a larger document, "" for the whole)."""
    _exact_keys(document, _KEYS, "a duplicate notice", at.rstrip(".") or None)
    assert isinstance(document, dict)
    if document["format"] != NOTICE_FORMAT:
        msg = f'the duplicate notice\'s "format" must be "{NOTICE_FORMAT}"'
        raise NoticeError(msg, field=f"{at}format")
    code = _code(document["patient_code"], f"{at}patient_code")
    btm = document["doctor_btm_number"]
    if not is_btm_number(btm):
        msg = 'the notice\'s "doctor_btm_number" must be 7 digits (R-DOC-1)'
        raise NoticeError(msg, field=f"{at}doctor_btm_number")
    others = document["other_doctors"]
    if not isinstance(others, list) or not 1 <= len(others) <= MAX_OTHERS:
        msg = f'the notice\'s "other_doctors" must list 1 to {MAX_OTHERS} doctors'
        raise NoticeError(msg, field=f"{at}other_doctors")
    parsed = tuple(
        _other(item, n, f"{at}other_doctors[{n - 1}]") for n, item in enumerate(others, 1)
    )
    _refuse_self(btm, parsed, at)
    return DuplicateNotice(
        reference=_line(document["reference"], "reference", MAX_REFERENCE, f"{at}reference"),
        letter_date=_day(document["letter_date"], "letter_date", f"{at}letter_date"),
        doctor_btm_number=btm,
        patient_code=code,
        other_doctors=parsed,
    )


def _refuse_self(btm: str, others: tuple[OtherDoctor, ...], at: str) -> None:
    """004 §10: the register names the *other* doctors who registered the code; one with
    the BtM number of the doctor written to is a mistyped letter, and answering it would
    make that doctor agree with themself (D-254)."""
    for n, other in enumerate(others):
        if other.btm_number == btm:
            msg = (
                f"other doctor {n + 1} of the notice has the BtM number of the doctor "
                f"written to ({btm}): the notice names the other doctors who registered "
                "the code; check the letter"
            )
            raise NoticeError(msg, field=f"{at}other_doctors[{n}].btm_number")


def refuse_letter_to_come(notice: DuplicateNotice, today: date, *, at: str = "") -> None:
    """R-DATE-3: a letter is dated the day it was written, never after today: a notice
    dated later was mistyped and is refused whole, before anything is looked up."""
    if notice.letter_date > today:
        msg = (
            f'the notice\'s "letter_date" {notice.letter_date.isoformat()} lies after today '
            f"({today.isoformat()}): give the day the letter is dated (R-DATE-3)"
        )
        raise NoticeError(msg, field=f"{at}letter_date")


def notice_json(notice: DuplicateNotice) -> bytes:
    """The notice as `parse_notice` reads it (the simulator's letters, D-172)."""
    document = {
        "format": NOTICE_FORMAT,
        "reference": notice.reference,
        "letter_date": notice.letter_date.isoformat(),
        "doctor_btm_number": notice.doctor_btm_number,
        "patient_code": notice.patient_code,
        "other_doctors": [doctor_json(o) for o in notice.other_doctors],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def doctor_json(doctor: OtherDoctor) -> dict[str, object]:
    """Another doctor as the notice's JSON names them (and the list of notices, D-233)."""
    return {
        "name": doctor.name,
        "btm_number": doctor.btm_number,
        "contact": doctor.contact,
        "first_use": doctor.first_use.isoformat(),
    }


def _exact_keys(document: Any, keys: frozenset[str], what: str, path: str | None) -> None:
    if not isinstance(document, dict) or set(document) != keys:
        msg = f"{what} has exactly the fields {', '.join(sorted(keys))}"
        raise NoticeError(msg, field=path)


def _code(value: object, path: str) -> str:
    """Upper case, but "ß" stays "ß" (R-CODE-5). Never echoed: a mistyped code is a code."""
    if isinstance(value, str):
        value = "".join(ch if ch == "ß" else ch.upper() for ch in value.strip())
    if not is_patient_code(value):
        msg = (
            'the notice\'s "patient_code" is not a patient code (four letters, F or M, '
            "three digits; R-CODE)"
        )
        raise NoticeError(msg, field=path)
    return value


def _other(item: object, number: int, path: str) -> OtherDoctor:
    what = f"other doctor {number} of the notice"
    _exact_keys(item, _DOCTOR_KEYS, what, path)
    assert isinstance(item, dict)
    btm = item["btm_number"]
    if btm is not None and not is_btm_number(btm):
        msg = f'the "btm_number" of {what} must be 7 digits or null (R-DOC-1)'
        raise NoticeError(msg, field=f"{path}.btm_number")
    return OtherDoctor(
        name=_line(item["name"], f'"name" of {what}', MAX_TEXT, f"{path}.name"),
        btm_number=btm,
        contact=_line(item["contact"], f'"contact" of {what}', MAX_TEXT, f"{path}.contact"),
        first_use=_day(item["first_use"], f"first_use of {what}", f"{path}.first_use"),
    )


def _line(value: object, field: str, limit: int, path: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\n" in value:
        msg = f"the notice's {field} must be one line of 1 to {limit} characters"
        raise NoticeError(msg, field=path)
    return value.strip()


def _day(value: object, field: str, path: str) -> date:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        msg = f"the notice's {field} must be a day YYYY-MM-DD"
        raise NoticeError(msg, field=path) from None
