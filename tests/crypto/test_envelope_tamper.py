"""A changed byte anywhere in an envelope is rejected; a wrong payload never comes out.

Every byte of a whole envelope is flipped in turn (its lowest bit, then all its bits):
each one is refused with an EnvelopeError (at `make test`'s quick depth every fourth
byte, each test from another offset; tests/depth.py, D-218). Hypothesis then changes bytes at random
positions with random masks. Inside the encryption (a forger who encrypts to the register
himself) every byte of the SignedData is flipped in turn: the open is refused, or gives
exactly the payload that was signed (a changed byte in a part no signature covers, such
as the carried certificate when the signer's is given).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.crypto.envelope import (
    RecipientKey,
    certificate_fingerprint,
    check_recipient,
    open_envelope,
    recipient_key,
    seal,
    signer,
)
from adapter.crypto.envelope.enveloped import encrypt
from adapter.crypto.envelope.signed import sign
from adapter.errors import EnvelopeError, SignatureError
from tests.crypto.pki import NOW, Pki
from tests.depth import STRIDE, sampled

# Small, so that every position can be tried: a batch of one short report.
PAYLOAD = b'{"batch_id":"b-7","reports":[{"kind":"anmeldung","patient_code":"HAMUF284"}]}'


@pytest.fixture(scope="module")
def envelope(pki: Pki) -> bytes:
    """One envelope of PAYLOAD, sealed by the practice to the register."""
    recipient = check_recipient(
        pki.register.cert, now=NOW, pinned_sha256=certificate_fingerprint(pki.register.cert)
    )
    return seal(
        PAYLOAD,
        signer=signer(pki.signer.key, pki.signer.cert),
        recipient=recipient,
        signing_time=NOW,
    )


@pytest.fixture(scope="module")
def key(pki: Pki) -> RecipientKey:
    """The register's key pair."""
    return recipient_key(pki.register.key, pki.register.cert)


def flipped(data: bytes, at: int, mask: int) -> bytes:
    """`data` with the byte at `at` XORed with `mask`."""
    changed = bytearray(data)
    changed[at] ^= mask
    return bytes(changed)


def refusals(
    envelope: bytes, key: RecipientKey, mask: int, signer_cert: object, offset: int
) -> list[int]:
    """The positions at which a flip with `mask` was NOT refused (should be none): every
    position, or every STRIDE-th from `offset` at the quick depth (tests/depth.py)."""
    accepted = []
    for at in sampled(len(envelope), offset):
        try:
            open_envelope(flipped(envelope, at, mask), key=key, signer_certificate=signer_cert)  # type: ignore[arg-type]
        except EnvelopeError:
            continue
        accepted.append(at)
    return accepted


def test_the_untouched_envelope_opens(envelope: bytes, key: RecipientKey, pki: Pki) -> None:
    """The baseline: without a change the envelope opens (so refusals below are the flip's)."""
    opened = open_envelope(envelope, key=key, signer_certificate=pki.signer.cert)
    assert opened.payload == PAYLOAD


@pytest.mark.parametrize(("mask", "offset"), [(0x01, 0), (0xFF, 1)], ids=["lowest-bit", "all-bits"])
def test_a_flip_at_every_position_is_refused(
    envelope: bytes, key: RecipientKey, pki: Pki, mask: int, offset: int
) -> None:
    """Each of the envelope's bytes changed in turn: every one is refused."""
    assert len(envelope) > 2000  # the whole envelope: recipient info, GCM parameters, MAC …
    assert refusals(envelope, key, mask, pki.signer.cert, offset=offset) == []


def test_a_flip_at_every_position_is_refused_without_a_signer_certificate(
    envelope: bytes, key: RecipientKey
) -> None:
    """Without a signer certificate (checked against the carried one) as well."""
    assert refusals(envelope, key, 0x80, None, offset=2) == []


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_changes_are_refused(
    envelope: bytes, key: RecipientKey, pki: Pki, data: st.DataObject
) -> None:
    """Up to four bytes changed at random positions with random masks: refused."""
    changed = bytearray(envelope)
    count = data.draw(st.integers(1, 4), label="count")
    for _ in range(count):
        at = data.draw(st.integers(0, len(envelope) - 1), label="at")
        changed[at] ^= data.draw(st.integers(1, 255), label="mask")
    if bytes(changed) == envelope:  # two changes that cancel out
        return
    with pytest.raises(EnvelopeError):
        open_envelope(bytes(changed), key=key, signer_certificate=pki.signer.cert)


@dataclass(frozen=True)
class Forgeries:
    """Every byte of one SignedData flipped in turn, each encrypted anew to the register
    (made once: both parametrisations below open the same envelopes)."""

    envelopes: dict[int, bytes]  # the one with the byte at position `at` flipped, by `at`
    covered: set[int]  # the positions a signature covers: payload, attributes, signature


@pytest.fixture(scope="module")
def forgeries(pki: Pki) -> Forgeries:
    recipient = check_recipient(
        pki.register.cert, now=NOW, pinned_sha256=certificate_fingerprint(pki.register.cert)
    )
    info = sign(PAYLOAD, signer(pki.signer.key, pki.signer.cert), NOW)
    content = info.dump()
    signer_info = info["content"]["signer_infos"][0]
    covered = set()
    for part in (PAYLOAD, signer_info["signed_attrs"].contents, signer_info["signature"].native):
        start = content.index(part)
        covered |= set(range(start, start + len(part)))
    envelopes = {
        at: encrypt(flipped(content, at, 0x01), recipient).dump()
        for at in sampled(len(content), offset=3)
    }
    return Forgeries(envelopes, covered)


@pytest.mark.parametrize("given_signer", [True, False], ids=["signer-given", "carried"])
def test_a_forger_who_reencrypts_never_gets_a_changed_payload_out(
    pki: Pki, key: RecipientKey, forgeries: Forgeries, given_signer: bool
) -> None:
    """Every byte of the SignedData flipped, then encrypted anew to the register: refused,
    or exactly the signed payload. A flip in the payload, the signed attributes or the
    signature is always refused; what opens had a byte changed that no signature covers
    (the carried certificate when the signer's is given, a digest's NULL parameters)."""
    signer_cert = pki.signer.cert if given_signer else None
    wrong, opened_at = [], []
    for at, envelope in forgeries.envelopes.items():
        try:
            opened = open_envelope(envelope, key=key, signer_certificate=signer_cert)
        except EnvelopeError:
            continue
        opened_at.append(at)
        if opened.payload != PAYLOAD:
            wrong.append(at)
    assert wrong == []
    assert sorted(set(opened_at) & forgeries.covered) == []
    assert len(forgeries.covered) > 500  # payload, attributes and a 384-byte signature
    assert len(set(forgeries.envelopes) & forgeries.covered) > 500 // STRIDE


def test_a_flipped_payload_byte_is_a_signature_error(pki: Pki, key: RecipientKey) -> None:
    """A change of the signed content is named as a signature failure (exit 1)."""
    recipient = check_recipient(
        pki.register.cert, now=NOW, pinned_sha256=certificate_fingerprint(pki.register.cert)
    )
    content = sign(PAYLOAD, signer(pki.signer.key, pki.signer.cert), NOW).dump()
    envelope = encrypt(flipped(content, content.index(PAYLOAD), 0x20), recipient).dump()
    with pytest.raises(SignatureError) as caught:
        open_envelope(envelope, key=key, signer_certificate=pki.signer.cert)
    assert caught.value.exit_status == 1
