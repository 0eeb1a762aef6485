"""A submission batch: the reports of one doctor sent to the register together (issue 12).

The batch is the payload of the envelope (PRIVACY.md "Envelope for submissions"): its
canonical JSON is what the practice signs, and so what it can later prove it sent
(R-CH-2). Canonical means sorted keys, no spaces, UTF-8, and `created_at` in UTC with a
`Z`, so that one batch gives the same bytes every time it is written:

    {"batch_id":"b-2025-06-30-1","created_at":"2025-06-30T08:00:00Z",
     "format":"substreg-batch/1","reports":[{…REPORTS.md report object…}],
     "sender_btm_number":"3990101"}

Every report of a batch is one doctor's (the sender's BtM number is the number on each
report), and no report is in it twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

import orjson

from adapter.domain.btm import is_btm_number
from adapter.domain.model import Report, ReportKind
from adapter.domain.payload import report_from_json, report_json
from adapter.errors import BatchError

BATCH_FORMAT = "substreg-batch/1"
# An id the outbox can use as an idempotency key and a file name: ASCII, no separators.
_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEYS = frozenset({"batch_id", "created_at", "format", "reports", "sender_btm_number"})
_KINDS = frozenset(get_args(ReportKind))


@dataclass(frozen=True, slots=True)
class Batch:
    """The reports of one doctor, sent together; `created_at` is an aware datetime."""

    batch_id: str
    sender_btm_number: str
    created_at: datetime
    reports: tuple[Report, ...]

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            msg = f"Batch {self.batch_id!r}: {problem}"
            raise BatchError(msg)


def _problem(batch: Batch) -> str | None:
    return _fields_problem(batch) or _reports_problem(batch)


def _fields_problem(batch: Batch) -> str | None:
    if not isinstance(batch.batch_id, str) or not _BATCH_ID.fullmatch(batch.batch_id):
        return "batch_id must be 1 to 64 characters A-Z, a-z, 0-9, '.', '_' or '-'"
    if not is_btm_number(batch.sender_btm_number):
        return "sender_btm_number must be a string of 7 digits 0-9 (R-DOC-1)"
    if not isinstance(batch.created_at, datetime) or batch.created_at.utcoffset() is None:
        return "created_at must be a date and time with a time zone"
    return None


def _reports_problem(batch: Batch) -> str | None:
    if not batch.reports:
        return "a batch holds at least one report"
    for number, report in enumerate(batch.reports, 1):
        if report.kind not in _KINDS:
            return f"report {number} has the unknown kind {report.kind!r}"
        if report.doctor.btm_number != batch.sender_btm_number:
            return f"report {number} ({report.id}) is not of the sender's BtM number"
    ids = [report.id for report in batch.reports]
    if len(set(ids)) != len(ids):
        return "a report is in it twice"
    return None


def batch_json(batch: Batch) -> dict[str, Any]:
    """The batch as a JSON object (the reports as REPORTS.md report objects)."""
    return {
        "format": BATCH_FORMAT,
        "batch_id": batch.batch_id,
        "sender_btm_number": batch.sender_btm_number,
        "created_at": _utc(batch.created_at),
        "reports": [report_json(report) for report in batch.reports],
    }


def batch_bytes(batch: Batch) -> bytes:
    """The canonical JSON of the batch: the bytes that are signed and sent."""
    return orjson.dumps(batch_json(batch), option=orjson.OPT_SORT_KEYS)


def batch_from_bytes(payload: bytes) -> Batch:
    """The batch that `payload` is; BatchError naming the field when it is not one.

    Each report must be exactly a report object as `batch_bytes` writes it (no field more
    or less, the same types), so a batch read here is written back the same."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        msg = f"not JSON ({exc})"
        raise BatchError(msg) from None
    if not isinstance(data, dict) or set(data) != _KEYS:
        msg = f"a batch is one JSON object with exactly the keys {', '.join(sorted(_KEYS))}"
        raise BatchError(msg)
    if data["format"] != BATCH_FORMAT:
        msg = f"format must be {BATCH_FORMAT!r}, not {data['format']!r}"
        raise BatchError(msg)
    if not isinstance(data["reports"], list):
        msg = "reports must be a list of report objects"
        raise BatchError(msg)
    return Batch(
        batch_id=data["batch_id"],
        sender_btm_number=data["sender_btm_number"],
        created_at=_created_at(data["created_at"]),
        reports=tuple(_report(n, item) for n, item in enumerate(data["reports"], 1)),
    )


def _report(number: int, item: object) -> Report:
    problem = f"report {number} is not a report object as REPORTS.md gives it"
    if not isinstance(item, dict):
        raise BatchError(problem)
    try:
        report = report_from_json(item)
        same = report_json(report) == item
    except (KeyError, TypeError, ValueError, AttributeError):  # a field missing or mistyped
        raise BatchError(problem) from None
    if not same:  # a field more, or of another type (a number for a string …)
        raise BatchError(problem)
    return report


def _created_at(value: object) -> datetime:
    problem = "created_at must be a UTC time written YYYY-MM-DDTHH:MM:SS[.ffffff]Z"
    if not isinstance(value, str) or not value.endswith("Z"):
        raise BatchError(problem)
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise BatchError(problem) from None
    if _utc(moment) != value:  # one way of writing each moment: the canonical one
        raise BatchError(problem)
    return moment


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
