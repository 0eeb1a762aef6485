"""Ed25519 signatures over audit checkpoints and receipts (PRIVACY.md "audit_log").

The private key comes from `audit_signing_key()`; the key registry keeps the raw
public key of every audit key id, so an old checkpoint stays verifiable after its
key has been rotated out.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["public_key_bytes", "sign", "verify"]


def public_key_bytes(private: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key, as the key registry stores it."""
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(private: Ed25519PrivateKey, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of `message`."""
    return private.sign(message)


def verify(public_raw: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is valid for `message`; False for a malformed key, never an error."""
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError, TypeError):
        # A checkpoint check answers yes or no; a broken key or signature is a no.
        return False
    return True
