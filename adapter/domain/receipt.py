"""The register's receipt for a batch (docs/SUBMISSION.md "Receipt"): what it says, in
one canonical JSON, so that the practice can keep it byte for byte as its proof (R-CH-2).

    {"batch_id":"…","envelope_sha256":"hex","format":"substreg-receipt/1",
     "notices":[{"kind":"duplicate","report_id":"…","text":"…"}],
     "received_at":"2026-01-05T08:00:00Z",
     "results":[{"reason":null,"report_id":"…","status":"accepted"}]}

The signature over these bytes is made and checked in `adapter.crypto.envelope.receipt`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from adapter.errors import ReceiptError

RECEIPT_FORMAT = "substreg-receipt/1"
Status = Literal["accepted", "rejected"]
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEYS = frozenset({"batch_id", "envelope_sha256", "format", "notices", "received_at", "results"})


@dataclass(frozen=True, slots=True)
class Result:
    report_id: str
    status: Status
    reason: str | None = None  # the register's words when rejected


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # "duplicate": one code registered by two doctors at once (004 §10)
    report_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Receipt:
    batch_id: str
    envelope_sha256: str  # hex of the envelope the register received
    received_at: datetime  # aware
    results: tuple[Result, ...]
    notices: tuple[Notice, ...] = ()

    def result_of(self, report_id: str) -> Result | None:
        return next((r for r in self.results if r.report_id == report_id), None)


def receipt_json(receipt: Receipt) -> bytes:
    """The canonical bytes of a receipt: sorted keys, no spaces, UTF-8, UTC with `Z`."""
    document = {
        "batch_id": receipt.batch_id,
        "envelope_sha256": receipt.envelope_sha256,
        "format": RECEIPT_FORMAT,
        "notices": [
            {"kind": n.kind, "report_id": n.report_id, "text": n.text} for n in receipt.notices
        ],
        "received_at": _utc(receipt.received_at),
        "results": [
            {"reason": r.reason, "report_id": r.report_id, "status": r.status}
            for r in receipt.results
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def parse_receipt(data: bytes) -> Receipt:
    """A receipt from its JSON; ReceiptError naming what is wrong."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ReceiptError("the receipt is not JSON") from None
    if not isinstance(document, dict) or set(document) != _KEYS:
        raise ReceiptError(f"a receipt has exactly the fields {', '.join(sorted(_KEYS))}")
    if document["format"] != RECEIPT_FORMAT:
        raise ReceiptError(f"the receipt's format is not {RECEIPT_FORMAT}")
    digest = document["envelope_sha256"]
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise ReceiptError("envelope_sha256 is not 64 lower-case hex digits")
    return Receipt(
        batch_id=_text(document, "batch_id"),
        envelope_sha256=digest,
        received_at=_moment(document["received_at"]),
        results=tuple(_result(item) for item in _list(document, "results")),
        notices=tuple(_notice(item) for item in _list(document, "notices")),
    )


def _result(item: Any) -> Result:
    if not isinstance(item, dict) or set(item) != {"reason", "report_id", "status"}:
        raise ReceiptError("each result has exactly report_id, status and reason")
    status = item["status"]
    if status not in ("accepted", "rejected"):
        raise ReceiptError(f"a result's status is accepted or rejected, not {status!r}")
    reason = item["reason"]
    if status == "rejected" and not (isinstance(reason, str) and reason.strip()):
        raise ReceiptError("a rejected result carries the register's reason")
    if reason is not None and not isinstance(reason, str):
        raise ReceiptError("a result's reason is text or null")
    return Result(_text(item, "report_id"), status, reason)


def _notice(item: Any) -> Notice:
    if not isinstance(item, dict) or set(item) != {"kind", "report_id", "text"}:
        raise ReceiptError("each notice has exactly kind, report_id and text")
    return Notice(_text(item, "kind"), _text(item, "report_id"), _text(item, "text"))


def _list(document: dict[str, Any], key: str) -> list[Any]:
    value = document[key]
    if not isinstance(value, list):
        raise ReceiptError(f"{key} is a list")
    return value


def _text(document: dict[str, Any], key: str) -> str:
    value = document[key]
    if not isinstance(value, str) or not value:
        raise ReceiptError(f"{key} is a non-empty string")
    return value


def _moment(value: Any) -> datetime:
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ReceiptError("received_at is a UTC time ending in Z")
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise ReceiptError("received_at is not a date and time") from None


def _utc(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise ReceiptError("received_at must be an aware datetime")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
