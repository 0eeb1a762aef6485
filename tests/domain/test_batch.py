"""The submission batch (adapter/domain/batch.py): one doctor's reports, canonical JSON.

The same batch always gives the same bytes (they are signed and kept as proof, R-CH-2);
bytes that are not a batch, or not written the one canonical way, are refused by field.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from adapter.domain.batch import BATCH_FORMAT, Batch, batch_bytes, batch_from_bytes
from adapter.errors import BatchError, InputError
from tests.crypto.envelope_files import SENDER, batch

CREATED = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def test_the_canonical_json_is_sorted_compact_utf8() -> None:
    """Keys sorted, no spaces, umlauts as UTF-8, the time in UTC with a Z."""
    payload = batch_bytes(batch(1))
    assert payload.startswith(b'{"batch_id":"b-2026-01-15-1","created_at":"2026-01-15T10:00:00Z"')
    assert b'"format":"substreg-batch/1"' in payload
    assert "HAMÜF280".encode() in payload
    assert b" " not in payload.replace(b"Lindenplatz 3", b"").replace(b"0341 5550101", b"")
    data = orjson.loads(payload)
    assert list(data) == sorted(data)
    assert data["reports"][0]["doctor"]["btm_number"] == SENDER


def test_a_batch_read_back_is_the_same_batch_and_the_same_bytes() -> None:
    """Round trip: bytes → batch → bytes, and the batch equal to the one written."""
    original = batch(3)
    payload = batch_bytes(original)
    again = batch_from_bytes(payload)
    assert again == original
    assert batch_bytes(again) == payload


def test_the_same_moment_in_another_zone_gives_the_same_bytes() -> None:
    """created_at in Berlin time or UTC: one moment, one way of writing it."""
    berlin = timezone(timedelta(hours=1))
    moved = dataclasses.replace(batch(1), created_at=CREATED.astimezone(berlin))
    assert batch_bytes(moved) == batch_bytes(batch(1))


def test_microseconds_are_kept() -> None:
    """A created_at with microseconds is written with them and read back equal."""
    precise = dataclasses.replace(batch(1), created_at=CREATED.replace(microsecond=250))
    assert batch_from_bytes(batch_bytes(precise)).created_at == precise.created_at


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"batch_id": ""}, "batch_id must be"),
        ({"batch_id": "a/b"}, "batch_id must be"),
        ({"sender_btm_number": "399010"}, "sender_btm_number must be"),
        ({"created_at": CREATED.replace(tzinfo=None)}, "created_at must be"),
        ({"reports": ()}, "at least one report"),
        ({"sender_btm_number": "3990202"}, "is not of the sender's BtM number"),
    ],
    ids=["empty-id", "slash-id", "btm", "naive-time", "no-report", "other-doctor"],
)
def test_a_batch_that_breaks_a_rule_cannot_be_made(change: dict[str, object], words: str) -> None:
    """The value refuses itself: an id, a BtM number, a time zone, reports of its sender."""
    with pytest.raises(BatchError, match=words):
        dataclasses.replace(batch(1), **change)  # type: ignore[arg-type]


def test_a_report_twice_is_refused() -> None:
    """No report is in a batch twice."""
    one = batch(1)
    with pytest.raises(BatchError, match="twice"):
        dataclasses.replace(one, reports=one.reports * 2)


def edited(**changes: object) -> bytes:
    """The canonical JSON of a batch of one report with top-level `changes` (None: drop)."""
    data = orjson.loads(batch_bytes(batch(1)))
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return orjson.dumps(data)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"{", "not JSON"),
        (b"[]", "one JSON object"),
        (edited(format=None), "one JSON object"),
        (edited(extra=1), "one JSON object"),
        (edited(format="substreg-batch/2"), "format must be 'substreg-batch/1'"),
        (edited(reports={}), "reports must be a list"),
        (edited(reports=[1]), "report 1 is not a report object"),
        (edited(reports=[{"kind": "anmeldung"}]), "report 1 is not a report object"),
        (edited(created_at="2026-01-15T10:00:00+00:00"), "created_at must be a UTC time"),
        (edited(created_at="2026-01-15T10:00Z"), "created_at must be a UTC time"),
        (edited(created_at="15.01.2026Z"), "created_at must be a UTC time"),
    ],
    ids=[
        "broken", "list", "no-format", "extra-key", "format", "reports-object", "report-number",
        "report-fields", "offset", "no-seconds", "german-date",
    ],
)  # fmt: skip
def test_bytes_that_are_not_a_batch_are_refused(payload: bytes, words: str) -> None:
    """Each malformed batch: BatchError (an InputError: exit 2) naming what is wrong."""
    with pytest.raises(BatchError, match=words) as caught:
        batch_from_bytes(payload)
    assert isinstance(caught.value, InputError)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("date", 20260105), ("remarks", "Konsiliararztwechsel"), ("surplus", True)],
    ids=["number-for-date", "string-for-list", "unknown-field"],
)
def test_a_report_of_another_shape_is_refused(field: str, value: object) -> None:
    """A report object must be exactly as REPORTS.md writes it: no field of another type,
    no field more, so what is read is written back the same."""
    data = orjson.loads(batch_bytes(batch(1)))
    data["reports"][0][field] = value
    with pytest.raises(BatchError, match="report 1 is not a report object"):
        batch_from_bytes(orjson.dumps(data))


def test_the_format_is_named() -> None:
    """The format marker lets a reader refuse a batch of a later version."""
    assert BATCH_FORMAT == "substreg-batch/1"
    assert isinstance(batch(1), Batch)
