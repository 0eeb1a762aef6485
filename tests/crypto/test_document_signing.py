"""The detached JWS over handover documents (D-160): it verifies for the bytes signed only,
names its signer's key, and the document key is the installation's own."""

from __future__ import annotations

import base64

import pytest

from adapter.crypto import (
    audit_signing_key,
    document_signing_key,
    fingerprint,
    generate_keyring,
    normal_fingerprint,
    public_key_bytes,
    sign_detached,
    verify_detached,
)

RING = generate_keyring("2026-01-01T00:00:00+00:00")
KEY = document_signing_key(RING.active("audit"))
PAYLOAD = b'{"resourceType":"Bundle","type":"document"}'


def test_a_signature_verifies_and_names_its_key() -> None:
    """The public key returned is the document key's."""
    token = sign_detached(KEY, PAYLOAD)
    assert token.split(".")[1] == ""  # detached: the payload is not in the token
    assert verify_detached(token, PAYLOAD) == public_key_bytes(KEY)


def test_changed_bytes_do_not_verify() -> None:
    """One byte changed in the document is a refusal."""
    token = sign_detached(KEY, PAYLOAD)
    assert verify_detached(token, PAYLOAD.replace(b"document", b"documenu")) is None


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a..b", "x.y.z", "eyJhbGciOiJub25lIn0..AAAA"],
    ids=["empty", "two-parts", "junk", "payload-inside", "alg-none"],
)
def test_what_is_no_valid_jws_does_not_verify(token: str) -> None:
    """Malformed tokens and other algorithms are a no, never an error."""
    assert verify_detached(token, PAYLOAD) is None


def test_a_key_swapped_in_the_header_does_not_verify() -> None:
    """Another key in the header cannot make the old signature verify."""
    token = sign_detached(KEY, PAYLOAD)
    other = sign_detached(
        document_signing_key(generate_keyring("2026-02-01T00:00:00+00:00").active("audit")), PAYLOAD
    )
    assert verify_detached(f"{other.split('.')[0]}..{token.split('.')[2]}", PAYLOAD) is None


def test_the_document_key_is_not_the_audit_key() -> None:
    """Derived from the audit master key under its own label: no key serves two purposes."""
    audit = public_key_bytes(audit_signing_key(RING.active("audit")))
    assert public_key_bytes(KEY) != audit


def test_fingerprints_are_read_in_any_spacing() -> None:
    """Colons, spaces and case do not matter; anything but 64 hex digits is None."""
    printed = fingerprint(public_key_bytes(KEY))
    assert len(printed.split()) == 16
    assert normal_fingerprint(printed.replace(" ", ":").upper()) == printed
    assert normal_fingerprint(printed.replace(" ", "")) == printed
    assert normal_fingerprint(printed[:-1]) is None
    assert normal_fingerprint(base64.b64encode(b"x" * 32).decode()) is None
