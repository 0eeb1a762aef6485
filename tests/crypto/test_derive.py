"""Purpose keys from master keys (HKDF-SHA256) and key ids (adapter/crypto/derive.py)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapter.crypto import (
    Keyring,
    MasterKey,
    audit_signing_key,
    index_key,
    key_id,
    parse_key_id,
    public_key_bytes,
    resolve_key_id,
    wrap_key,
)
from adapter.errors import KeyringError, UnknownKeyError

from .conftest import CREATED, LATER

SECRET = bytes(range(32))


def _rfc5869(secret: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 without salt written out from RFC 5869, independent of `cryptography`."""
    prk = hmac.new(b"\x00" * 32, secret, hashlib.sha256).digest()
    block, out = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
    return out[:length]


def _master(purpose: str, version: int = 1, secret: bytes = SECRET) -> MasterKey:
    return MasterKey(purpose, version, secret, "active", CREATED)  # type: ignore[arg-type]


def test_index_key_is_hkdf_sha256_with_the_documented_label() -> None:
    """index_key is HKDF-SHA256(secret, info "substreg/idx/v<version>"); indexes rely on it."""
    assert index_key(_master("index", 3)) == _rfc5869(SECRET, b"substreg/idx/v3")


def test_wrap_key_is_hkdf_sha256_with_the_documented_label() -> None:
    """wrap_key = HKDF-SHA256(secret, info "substreg/wrap/v<version>"), 32 bytes for AES-256."""
    assert wrap_key(_master("wrap", 2)) == _rfc5869(SECRET, b"substreg/wrap/v2")


def test_audit_key_is_seeded_by_hkdf_with_the_documented_label() -> None:
    """The Ed25519 key's seed is HKDF-SHA256(secret, info "substreg/audit/v<version>")."""
    derived = audit_signing_key(_master("audit"))
    expected = Ed25519PrivateKey.from_private_bytes(_rfc5869(SECRET, b"substreg/audit/v1"))
    assert public_key_bytes(derived) == public_key_bytes(expected)


def test_purpose_keys_differ_per_purpose_even_from_one_secret() -> None:
    """The labels separate purposes: one secret under index, wrap and audit yields three keys."""
    index = index_key(_master("index"))
    wrap = wrap_key(_master("wrap"))
    audit_seed = _rfc5869(SECRET, b"substreg/audit/v1")
    assert len({index, wrap, audit_seed}) == 3


@pytest.mark.parametrize(
    ("derive", "purpose"), [(index_key, "index"), (wrap_key, "wrap")], ids=["index", "wrap"]
)
def test_purpose_keys_differ_per_version_even_from_one_secret(
    derive: Callable[[MasterKey], bytes], purpose: str
) -> None:
    """The version is in the label: v1 and v2 of one secret yield different keys."""
    assert derive(_master(purpose, 1)) != derive(_master(purpose, 2))


def test_audit_keys_differ_per_version() -> None:
    """Each audit period's key id has its own signing key."""
    first = public_key_bytes(audit_signing_key(_master("audit", 1)))
    second = public_key_bytes(audit_signing_key(_master("audit", 2)))
    assert first != second


def test_derivation_is_deterministic(keyring: Keyring) -> None:
    """The same master key always yields the same purpose key: indexes stay findable."""
    master = keyring.active("index")
    assert index_key(master) == index_key(master)
    assert len(index_key(master)) == 32


@pytest.mark.parametrize(
    ("derive", "purpose"),
    [
        (index_key, "wrap"),
        (index_key, "audit"),
        (wrap_key, "index"),
        (wrap_key, "audit"),
        (audit_signing_key, "index"),
        (audit_signing_key, "wrap"),
    ],
    ids=[
        "index-from-wrap",
        "index-from-audit",
        "wrap-from-index",
        "wrap-from-audit",
        "audit-from-index",
        "audit-from-wrap",
    ],
)
def test_a_master_key_of_another_purpose_is_refused(
    derive: Callable[[MasterKey], object], purpose: str
) -> None:
    """No key serves two purposes: deriving from a master of the wrong purpose is a KeyringError."""
    with pytest.raises(KeyringError, match=f"is a {purpose} key, not a"):
        derive(_master(purpose))


def test_nothing_is_derived_from_a_destroyed_key(keyring: Keyring) -> None:
    """A destroyed key's empty secret would give a fixed key: derivation and key id refuse it."""
    ring = keyring.rotated("wrap", LATER).with_state("wrap", 1, "destroyed")
    destroyed = next(k for k in ring.keys if k.state == "destroyed")
    with pytest.raises(UnknownKeyError, match="wrap-v1 was destroyed"):
        wrap_key(destroyed)
    with pytest.raises(UnknownKeyError, match="wrap-v1 was destroyed"):
        key_id(destroyed)


def test_key_id_names_purpose_version_and_a_fingerprint(keyring: Keyring) -> None:
    """key_id is purpose-vN-fingerprint, the fingerprint HKDF(secret, "substreg/key-id")[:6]."""
    master = keyring.active("wrap")
    value = key_id(master)
    assert re.fullmatch(r"wrap-v1-[0-9a-f]{12}", value)
    assert value.endswith(_rfc5869(master.secret, b"substreg/key-id", 6).hex())


def test_key_id_is_stable(keyring: Keyring) -> None:
    """The same key has the same id each time, and after rotation of other keys."""
    master = keyring.active("index")
    rotated = keyring.rotated("wrap", LATER)
    assert key_id(master) == key_id(master) == key_id(rotated.active("index"))


def test_key_id_differs_per_key(keyring: Keyring) -> None:
    """Every key of a keyring, and a regenerated one, has its own id."""
    ring = keyring.rotated("wrap", LATER).rotated("index", LATER)
    ids = [key_id(key) for key in ring.keys]
    assert len(set(ids)) == len(ids) == 5
    assert key_id(_master("wrap", 1, SECRET)) != key_id(_master("wrap", 1, SECRET[::-1]))


def test_key_id_reveals_neither_the_secret_nor_a_purpose_key(keyring: Keyring) -> None:
    """The fingerprint is its own HKDF output, not a prefix of the secret or the derived key."""
    master = keyring.active("wrap")
    fingerprint = key_id(master).rsplit("-", 1)[1]
    assert fingerprint not in master.secret.hex()
    assert fingerprint not in wrap_key(master).hex()


def test_parse_key_id_splits_a_key_id(keyring: Keyring) -> None:
    """parse_key_id gives back the purpose, version and fingerprint."""
    value = key_id(keyring.active("audit"))
    purpose, version, fingerprint = parse_key_id(value)
    assert (purpose, version) == ("audit", 1)
    assert value == f"audit-v1-{fingerprint}"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "wrap-1-1a2b3c4d5e6f",
        "wrap-v0-1a2b3c4d5e6f",
        "sign-v1-1a2b3c4d5e6f",
        "wrap-v1-1A2B3C4D5E6F",
        "wrap-v1-1a2b3c",
    ],
    ids=["empty", "no-v", "version-0", "purpose", "upper-case", "short-fingerprint"],
)
def test_a_malformed_key_id_is_refused_without_echoing_it(value: str) -> None:
    """A malformed stored key id is an UnknownKeyError showing the expected form, not the value."""
    with pytest.raises(UnknownKeyError, match="malformed") as caught:
        parse_key_id(value)
    assert value == "" or value not in str(caught.value)


def test_resolve_key_id_finds_the_key_it_names(keyring: Keyring) -> None:
    """A key id from the key registry leads back to its master key."""
    rotated = keyring.rotated("wrap", LATER)
    old = rotated.get("wrap", 1)
    assert resolve_key_id(rotated, key_id(old)) == old


def test_resolve_key_id_of_an_absent_key_names_it_and_its_fingerprint(keyring: Keyring) -> None:
    """A key id of a version the keyring lacks: restore the backup, and here is which key."""
    rotated = keyring.rotated("wrap", LATER)
    value = key_id(rotated.active("wrap"))
    fingerprint = value.rsplit("-", 1)[1]
    with pytest.raises(
        UnknownKeyError,
        match=f"no key wrap-v2 \\(fingerprint {fingerprint}\\); restore the keyring backup",
    ):
        resolve_key_id(keyring, value)


def test_resolve_key_id_detects_another_installations_keyring(keyring: Keyring) -> None:
    """Same label, other secret: the fingerprint tells that the keyring is the wrong one."""
    foreign = _master("wrap", 1)
    with pytest.raises(UnknownKeyError, match="belongs to another installation or was regenerated"):
        resolve_key_id(keyring, key_id(foreign))


def test_resolve_key_id_of_a_destroyed_key_says_so(keyring: Keyring) -> None:
    """A key id of a destroyed key is an UnknownKeyError that says the key was destroyed."""
    value = key_id(keyring.active("wrap"))
    ring = keyring.rotated("wrap", LATER).with_state("wrap", 1, "destroyed")
    with pytest.raises(UnknownKeyError, match="wrap-v1 was destroyed"):
        resolve_key_id(ring, value)
