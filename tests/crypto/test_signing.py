"""Ed25519 signatures of audit checkpoints (adapter/crypto/signing.py)."""

from __future__ import annotations

import pytest

from adapter.crypto import Keyring, audit_signing_key, public_key_bytes, sign, verify

from .conftest import LATER

CHECKPOINT = b'{"seq":1000,"hash":"9f86d081884c7d659a2feaa0c55ad015"}'


def test_a_signature_verifies_under_its_public_key(keyring: Keyring) -> None:
    """sign then verify with the raw public key is True; sizes are Ed25519's 32 and 64 bytes."""
    private = audit_signing_key(keyring.active("audit"))
    signature = sign(private, CHECKPOINT)
    public = public_key_bytes(private)
    assert (len(public), len(signature)) == (32, 64)
    assert verify(public, CHECKPOINT, signature) is True


def test_the_audit_key_is_the_same_after_reloading_the_master(keyring: Keyring) -> None:
    """The signing key is derived, not stored: one master key, one public key."""
    master = keyring.active("audit")
    assert public_key_bytes(audit_signing_key(master)) == public_key_bytes(
        audit_signing_key(master)
    )


def test_an_altered_checkpoint_does_not_verify(keyring: Keyring) -> None:
    """A changed message fails verification."""
    private = audit_signing_key(keyring.active("audit"))
    signature = sign(private, CHECKPOINT)
    assert (
        verify(public_key_bytes(private), CHECKPOINT.replace(b"1000", b"1001"), signature) is False
    )


def test_an_altered_signature_does_not_verify(keyring: Keyring) -> None:
    """A signature with one bit flipped fails verification."""
    private = audit_signing_key(keyring.active("audit"))
    signature = bytearray(sign(private, CHECKPOINT))
    signature[10] ^= 0x01
    assert verify(public_key_bytes(private), CHECKPOINT, bytes(signature)) is False


def test_another_periods_key_does_not_verify(keyring: Keyring) -> None:
    """After rotation, a checkpoint signed with the old key fails under the new public key."""
    old = audit_signing_key(keyring.active("audit"))
    new = audit_signing_key(keyring.rotated("audit", LATER).active("audit"))
    signature = sign(old, CHECKPOINT)
    assert verify(public_key_bytes(new), CHECKPOINT, signature) is False
    assert verify(public_key_bytes(old), CHECKPOINT, signature) is True


@pytest.mark.parametrize(
    ("public", "signature"),
    [(b"", None), (b"\x01" * 31, None), (b"\x01" * 33, None), (None, b""), (None, b"\x00" * 63)],
    ids=["empty-key", "short-key", "long-key", "empty-signature", "short-signature"],
)
def test_malformed_keys_and_signatures_verify_false_without_raising(
    keyring: Keyring, public: bytes | None, signature: bytes | None
) -> None:
    """verify answers False for a malformed public key or signature; it never raises."""
    private = audit_signing_key(keyring.active("audit"))
    good_public, good_signature = public_key_bytes(private), sign(private, CHECKPOINT)
    result = verify(
        good_public if public is None else public,
        CHECKPOINT,
        good_signature if signature is None else signature,
    )
    assert result is False
