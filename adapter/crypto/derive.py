"""Purpose keys derived from master keys with HKDF-SHA256, and the public id of a key.

Each purpose has its own master secrets, and each derivation its own `info` label
(`substreg/idx/v1`, `substreg/wrap/v1`, `substreg/audit/v1`,
`substreg/ledger-mac/v1`, `substreg/handover/v1`), so no derived key serves two
purposes or two versions (PRIVACY.md "Keys").

A key id (`wrap-v2-1a2b3c4d5e6f`) names a master key without revealing it: the
fingerprint is a separate HKDF output of the secret. The database's key registry
stores key ids, so a keyring that is not the one the data was written under is
recognised before anything is decrypted with it.
"""

from __future__ import annotations

import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapter.crypto.master_keys import PURPOSES, Keyring, MasterKey, Purpose
from adapter.errors import KeyringError, UnknownKeyError

__all__ = [
    "audit_signing_key",
    "document_signing_key",
    "index_key",
    "key_id",
    "ledger_mac_key",
    "parse_key_id",
    "resolve_key_id",
    "wrap_key",
]

_FINGERPRINT_BYTES = 6
_KEY_ID = re.compile(r"(index|wrap|audit)-v([1-9][0-9]*)-([0-9a-f]{12})")


def index_key(master: MasterKey) -> bytes:
    """The 32-byte HMAC key of the blind index, from an index master key."""
    return _hkdf(_secret_for(master, "index"), b"substreg/idx/v%d" % master.version)


def wrap_key(master: MasterKey) -> bytes:
    """The 32-byte AES-256 key that wraps data keys, from a wrap master key."""
    return _hkdf(_secret_for(master, "wrap"), b"substreg/wrap/v%d" % master.version)


def audit_signing_key(master: MasterKey) -> Ed25519PrivateKey:
    """The Ed25519 key that signs audit checkpoints, from an audit master key."""
    seed = _hkdf(_secret_for(master, "audit"), b"substreg/audit/v%d" % master.version)
    return Ed25519PrivateKey.from_private_bytes(seed)


def document_signing_key(master: MasterKey) -> Ed25519PrivateKey:
    """The Ed25519 key that signs handover documents, from an audit master key: like the
    checkpoint signature it vouches for what the installation wrote, under its own label."""
    seed = _hkdf(_secret_for(master, "audit"), b"substreg/handover/v%d" % master.version)
    return Ed25519PrivateKey.from_private_bytes(seed)


def ledger_mac_key(master: MasterKey) -> bytes:
    """The 32-byte HMAC key that seals the ledger's clear columns, from an audit master
    key: like the checkpoint signature it vouches for the record, under its own label."""
    return _hkdf(_secret_for(master, "audit"), b"substreg/ledger-mac/v%d" % master.version)


def key_id(master: MasterKey) -> str:
    """`purpose-vN-fingerprint`: names the key, reveals nothing of it."""
    secret = _secret_for(master, master.purpose)
    fingerprint = _hkdf(secret, b"substreg/key-id", _FINGERPRINT_BYTES).hex()
    return f"{master.purpose}-v{master.version}-{fingerprint}"


def parse_key_id(value: str) -> tuple[Purpose, int, str]:
    """The purpose, version and fingerprint of a key id; UnknownKeyError when it is none."""
    match = _KEY_ID.fullmatch(value)
    if match is None:
        # The value is not echoed: a corrupted column could hold anything.
        msg = "A stored key id is malformed; key ids look like wrap-v2-1a2b3c4d5e6f."
        raise UnknownKeyError(msg)
    purpose = next(known for known in PURPOSES if known == match[1])  # typed as a Purpose
    return purpose, int(match[2]), match[3]


def resolve_key_id(keyring: Keyring, value: str) -> MasterKey:
    """The master key a stored key id names; UnknownKeyError when this keyring lacks it."""
    purpose, version, fingerprint = parse_key_id(value)
    if not any(key.purpose == purpose and key.version == version for key in keyring.keys):
        msg = (
            f"The keyring has no key {purpose}-v{version} (fingerprint {fingerprint}); "
            "restore the keyring backup that holds it."
        )
        raise UnknownKeyError(msg)
    master = keyring.get(purpose, version)  # raises when the key was destroyed
    found = key_id(master)
    if found != value:
        msg = (
            f"The keyring's key {master.label} is {found}, but the data was written under "
            f"{value}: this keyring belongs to another installation or was regenerated; "
            "restore the keyring backup that holds the right key."
        )
        raise UnknownKeyError(msg)
    return master


def _secret_for(master: MasterKey, purpose: Purpose) -> bytes:
    if master.purpose != purpose:
        msg = (
            f"The key {master.label} is a {master.purpose} key, not a {purpose} key; "
            "no key serves two purposes."
        )
        raise KeyringError(msg)
    if master.state == "destroyed":
        # Its secret is wiped; deriving from the empty string would yield a fixed key.
        msg = f"The key {master.label} was destroyed; nothing can be derived from it."
        raise UnknownKeyError(msg)
    return master.secret


def _hkdf(secret: bytes, info: bytes, length: int = 32) -> bytes:
    # No salt: the master secrets are 32 uniformly random bytes, for which RFC 5869
    # (section 3.1) needs none; the info label alone separates purposes and versions.
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)
