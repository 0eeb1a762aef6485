"""The register's receipt: canonical JSON, its signature, and what is refused as proof."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.crypto.envelope import recipient_key
from adapter.crypto.envelope.receipt import sign_receipt, verify_receipt
from adapter.domain.receipt import Notice, Receipt, Result, parse_receipt, receipt_json
from adapter.errors import ReceiptError
from tests.crypto.pki import Pki

ENVELOPE = b"\x30\x82 the envelope bytes as sent"
AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _receipt(batch_id: str = "b-1", envelope: bytes = ENVELOPE) -> Receipt:
    return Receipt(
        batch_id=batch_id,
        envelope_sha256=hashlib.sha256(envelope).hexdigest(),
        received_at=AT,
        results=(
            Result("r-1", "accepted"),
            Result("r-2", "rejected", "Abmeldung ohne offene Anmeldung"),
        ),
        notices=(Notice("duplicate", "r-1", "Code bei zwei Ärzten zugleich angemeldet"),),
    )


def test_the_canonical_json_reads_back_as_the_same_receipt() -> None:
    receipt = _receipt()
    data = receipt_json(receipt)
    assert parse_receipt(data) == receipt
    assert receipt_json(parse_receipt(data)) == data
    assert data.startswith(b'{"batch_id":"b-1","envelope_sha256":"')
    assert b'"received_at":"2026-01-05T08:00:00Z"' in data


def test_a_signed_receipt_verifies_for_its_batch_and_envelope(pki: Pki) -> None:
    register = recipient_key(pki.register.key, pki.register.cert)
    document = sign_receipt(_receipt(), register)
    got = verify_receipt(document, pki.register.cert, batch_id="b-1", envelope=ENVELOPE)
    assert got == _receipt()
    assert got.result_of("r-2") == Result("r-2", "rejected", "Abmeldung ohne offene Anmeldung")


@pytest.mark.parametrize(
    ("batch_id", "envelope", "message"),
    [("b-2", ENVELOPE, "for the batch b-1"), ("b-1", ENVELOPE + b"x", "another envelope")],
    ids=["other batch", "other envelope"],
)
def test_a_receipt_for_another_batch_or_envelope_is_refused(
    pki: Pki, batch_id: str, envelope: bytes, message: str
) -> None:
    document = sign_receipt(_receipt(), recipient_key(pki.register.key, pki.register.cert))
    with pytest.raises(ReceiptError, match=message):
        verify_receipt(document, pki.register.cert, batch_id=batch_id, envelope=envelope)


def test_a_receipt_signed_by_another_key_is_refused(pki: Pki) -> None:
    other = recipient_key(pki.other_register.key, pki.other_register.cert)
    document = sign_receipt(_receipt(), other)
    with pytest.raises(ReceiptError, match="does not verify"):
        verify_receipt(document, pki.register.cert, batch_id="b-1", envelope=ENVELOPE)


def test_a_changed_result_breaks_the_signature(pki: Pki) -> None:
    document = orjson.loads(
        sign_receipt(_receipt(), recipient_key(pki.register.key, pki.register.cert))
    )
    document["receipt"]["results"][1] = {"reason": None, "report_id": "r-2", "status": "accepted"}
    with pytest.raises(ReceiptError, match="does not verify"):
        verify_receipt(orjson.dumps(document), pki.register.cert, batch_id="b-1", envelope=ENVELOPE)


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_a_flipped_bit_anywhere_is_refused_or_changes_nothing(
    pki: Pki, position: int, bit: int
) -> None:
    """A document with one bit changed either fails as a receipt, or (a change in JSON
    whitespace-free syntax is not possible) reads as the very receipt that was signed."""
    document = bytearray(
        sign_receipt(_receipt(), recipient_key(pki.register.key, pki.register.cert))
    )
    document[position % len(document)] ^= 1 << bit
    try:
        got = verify_receipt(bytes(document), pki.register.cert, batch_id="b-1", envelope=ENVELOPE)
    except ReceiptError:
        return
    assert got == _receipt()  # e.g. a flip inside the base64 padding bits


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("notices"),
        lambda d: d.update(format="other/1"),
        lambda d: d.update(envelope_sha256="ABC"),
        lambda d: d.update(received_at="2026-01-05T08:00:00+01:00"),
        lambda d: d["results"].append({"reason": None, "report_id": "r-3", "status": "maybe"}),
        lambda d: d["results"].append({"reason": None, "report_id": "r-3", "status": "rejected"}),
    ],
    ids=["missing field", "format", "digest", "not UTC", "unknown status", "rejected no reason"],
)
def test_a_receipt_that_is_not_one_is_refused(change: object) -> None:
    document = orjson.loads(receipt_json(_receipt()))
    change(document)  # type: ignore[operator]
    with pytest.raises(ReceiptError):
        parse_receipt(orjson.dumps(document))
