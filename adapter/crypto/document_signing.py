"""Detached JWS (RFC 7515, appendix F) over a handover document, and the signer's fingerprint.

The handover document (`substreg handover export`) is signed with an Ed25519 key derived
from the installation's active audit master key under its own label (derive.py,
`document_signing_key`): no new key to back up, and no derived key serves two purposes.
The JWS header carries the public key (`jwk`, OKP Ed25519); a receiver trusts it only
when its fingerprint is one it confirmed with the sender (docs/DECISIONS.md D-160).
"""

from __future__ import annotations

import base64
import hashlib
import re

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["fingerprint", "normal_fingerprint", "sign_detached", "verify_detached"]

_HEX = re.compile(r"[0-9a-f]{64}")


def fingerprint(public_raw: bytes) -> str:
    """SHA-256 of the raw public key, hex in groups of four (to be read out on the phone)."""
    digest = hashlib.sha256(public_raw).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def normal_fingerprint(value: str) -> str | None:
    """A fingerprint as `fingerprint` prints it, from any spacing, colons or case; None
    when it is not 64 hex digits."""
    digits = re.sub(r"[\s:]", "", value).lower()
    if not _HEX.fullmatch(digits):
        return None
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_detached(private: Ed25519PrivateKey, payload: bytes) -> str:
    """`header..signature`: a compact JWS (EdDSA) of `payload`, the payload left out."""
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    header = {"alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": _b64(public)}}
    protected = _b64(orjson.dumps(header, option=orjson.OPT_SORT_KEYS))
    signature = private.sign(f"{protected}.{_b64(payload)}".encode())
    return f"{protected}..{_b64(signature)}"


def verify_detached(token: str, payload: bytes) -> bytes | None:
    """The signer's raw public key when `token` is a valid detached JWS of `payload`;
    None for anything else (a changed payload, a foreign algorithm, bytes that are no JWS)."""
    parts = token.split(".")
    if len(parts) != 3 or parts[1]:  # header, an empty payload, the signature
        return None
    try:
        header = orjson.loads(_unb64(parts[0]))
        jwk = header["jwk"]
        if header.get("alg") != "EdDSA" or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            return None
        public = _unb64(jwk["x"])
        signing_input = f"{parts[0]}.{_b64(payload)}".encode()
        Ed25519PublicKey.from_public_bytes(public).verify(_unb64(parts[2]), signing_input)
    except (InvalidSignature, ValueError, TypeError, KeyError, AttributeError):
        # A document that is no valid signature is refused as a whole: yes or no.
        return None
    return public
