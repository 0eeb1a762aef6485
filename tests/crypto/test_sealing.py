"""Envelope encryption: data keys wrapped under a KEK, fields sealed under the data key.

Covers adapter/crypto/sealing.py: round trips, tampering, ciphertexts moved between
rows or fields, wrong keys and key ids, and wrapping-key rotation.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.crypto import (
    Keyring,
    field_aad,
    key_id,
    new_data_key,
    open_sealed,
    rewrap_data_key,
    seal,
    unwrap_data_key,
    wrap_data_key,
    wrap_key,
)
from adapter.errors import DecryptionError

from .conftest import LATER

KEK = bytes(range(32))
OTHER_KEK = bytes(range(1, 33))
KEK_ID = "wrap-v1-1a2b3c4d5e6f"
DEK = bytes(range(100, 132))
CODE = b"ABCDE12345678"  # a patient code, as the domain renders it
AAD = field_aad("0b6c3f0e-0000-4000-8000-000000000001", "code", 1)

keys32 = st.binary(min_size=32, max_size=32)


def _flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def test_a_new_data_key_is_32_random_bytes() -> None:
    """new_data_key: 256 bits, fresh each time."""
    first, second = new_data_key(), new_data_key()
    assert len(first) == len(second) == 32
    assert first != second


def test_a_sealed_field_opens_with_its_key_and_aad() -> None:
    """seal then open_sealed gives back the plaintext."""
    nonce, ciphertext = seal(DEK, CODE, AAD)
    assert open_sealed(DEK, nonce, ciphertext, AAD) == CODE


def test_sealing_uses_a_fresh_96_bit_nonce_each_time() -> None:
    """Two seals of one plaintext differ: 12-byte random nonces, ciphertext plus 16-byte tag."""
    (nonce1, ct1), (nonce2, ct2) = seal(DEK, CODE, AAD), seal(DEK, CODE, AAD)
    assert len(nonce1) == len(nonce2) == 12
    assert nonce1 != nonce2
    assert ct1 != ct2
    assert len(ct1) == len(CODE) + 16


@pytest.mark.parametrize("position", [0, 5, 11], ids=["first", "middle", "last"])
def test_a_flipped_nonce_byte_fails(position: int) -> None:
    """Any change to the nonce is a DecryptionError."""
    nonce, ciphertext = seal(DEK, CODE, AAD)
    with pytest.raises(DecryptionError):
        open_sealed(DEK, _flip(nonce, position), ciphertext, AAD)


@pytest.mark.parametrize("position", [0, 7, -1], ids=["first", "middle", "tag"])
def test_a_flipped_ciphertext_byte_fails(position: int) -> None:
    """Any change to the ciphertext or its tag is a DecryptionError, with no partial plaintext."""
    nonce, ciphertext = seal(DEK, CODE, AAD)
    with pytest.raises(DecryptionError, match="altered or moved") as caught:
        open_sealed(DEK, nonce, _flip(ciphertext, position), AAD)
    assert CODE.decode() not in str(caught.value)


@pytest.mark.parametrize(
    "other_aad",
    [
        field_aad("0b6c3f0e-0000-4000-8000-000000000002", "code", 1),
        field_aad("0b6c3f0e-0000-4000-8000-000000000001", "payload", 1),
        field_aad("0b6c3f0e-0000-4000-8000-000000000001", "code", 2),
    ],
    ids=["other-row", "other-field", "other-schema-version"],
)
def test_a_ciphertext_moved_elsewhere_fails(other_aad: bytes) -> None:
    """A ciphertext copied to another row, field or schema version does not open."""
    nonce, ciphertext = seal(DEK, CODE, AAD)
    with pytest.raises(DecryptionError):
        open_sealed(DEK, nonce, ciphertext, other_aad)


def test_another_data_key_fails() -> None:
    """Only the row's own data key opens its fields."""
    nonce, ciphertext = seal(DEK, CODE, AAD)
    with pytest.raises(DecryptionError):
        open_sealed(new_data_key(), nonce, ciphertext, AAD)


@pytest.mark.parametrize(
    ("nonce", "ciphertext"),
    [(b"", b"x" * 32), (b"n" * 8, b"x" * 32), (b"n" * 12, b""), (b"n" * 12, b"x" * 15)],
    ids=["no-nonce", "short-nonce", "no-ciphertext", "shorter-than-a-tag"],
)
def test_malformed_sealed_data_fails(nonce: bytes, ciphertext: bytes) -> None:
    """A nonce that is not 12 bytes or a ciphertext shorter than its tag is a DecryptionError."""
    with pytest.raises(DecryptionError):
        open_sealed(DEK, nonce, ciphertext, AAD)


def test_a_wrapped_data_key_unwraps_under_its_kek_and_kek_id() -> None:
    """wrap then unwrap gives back the data key; the wrapped form is nonce, key and tag."""
    wrapped = wrap_data_key(KEK, KEK_ID, DEK)
    assert len(wrapped) == 12 + 32 + 16
    assert DEK not in wrapped
    assert unwrap_data_key(KEK, KEK_ID, wrapped) == DEK


def test_wrapping_twice_gives_two_different_blobs() -> None:
    """Each wrap draws its own nonce."""
    assert wrap_data_key(KEK, KEK_ID, DEK) != wrap_data_key(KEK, KEK_ID, DEK)


@pytest.mark.parametrize(
    "position", [0, 11, 12, 40, -1], ids=["nonce", "nonce-end", "key", "key-end", "tag"]
)
def test_a_flipped_byte_in_the_wrapped_key_fails(position: int) -> None:
    """Any change to a wrapped data key is a DecryptionError naming the key id."""
    wrapped = wrap_data_key(KEK, KEK_ID, DEK)
    with pytest.raises(DecryptionError, match=f"wrapped under {KEK_ID} cannot be unwrapped"):
        unwrap_data_key(KEK, KEK_ID, _flip(wrapped, position))


def test_the_wrong_kek_fails() -> None:
    """A data key does not unwrap under another wrapping key."""
    wrapped = wrap_data_key(KEK, KEK_ID, DEK)
    with pytest.raises(DecryptionError):
        unwrap_data_key(OTHER_KEK, KEK_ID, wrapped)


def test_the_wrong_kek_id_fails() -> None:
    """The kek_id is bound: a wrapped key relabelled with another key id does not unwrap."""
    wrapped = wrap_data_key(KEK, KEK_ID, DEK)
    with pytest.raises(DecryptionError):
        unwrap_data_key(KEK, "wrap-v2-1a2b3c4d5e6f", wrapped)


@pytest.mark.parametrize("size", [0, 12, 59, 61], ids=["empty", "nonce-only", "short", "long"])
def test_a_wrapped_key_of_the_wrong_length_fails(size: int) -> None:
    """A truncated or padded wrapped key is a DecryptionError, not an unwrapped fragment."""
    wrapped = (wrap_data_key(KEK, KEK_ID, DEK) + b"\x00")[:size]
    with pytest.raises(DecryptionError):
        unwrap_data_key(KEK, KEK_ID, wrapped)


@pytest.mark.parametrize("size", [0, 16, 31, 33], ids=["empty", "aes-128", "31", "33"])
def test_keys_other_than_256_bits_are_refused(size: int) -> None:
    """KEKs and data keys must be AES-256 keys: anything else is a ValueError, before any crypto."""
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_data_key(bytes(size), KEK_ID, DEK)
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_data_key(KEK, KEK_ID, bytes(size))
    with pytest.raises(ValueError, match="32 bytes"):
        seal(bytes(size), CODE, AAD)


def test_rotating_the_kek_rewraps_the_data_key_and_keeps_the_ciphertext(keyring: Keyring) -> None:
    """Wrap-key rotation: the data key moves to the new KEK, the sealed field opens unchanged."""
    old_master = keyring.active("wrap")
    new_master = keyring.rotated("wrap", LATER).active("wrap")
    old_kek, old_id = wrap_key(old_master), key_id(old_master)
    new_kek, new_id = wrap_key(new_master), key_id(new_master)
    wrapped = wrap_data_key(old_kek, old_id, DEK)
    nonce, ciphertext = seal(DEK, CODE, AAD)

    rewrapped = rewrap_data_key(old_kek, old_id, new_kek, new_id, wrapped)

    dek = unwrap_data_key(new_kek, new_id, rewrapped)
    assert open_sealed(dek, nonce, ciphertext, AAD) == CODE
    with pytest.raises(DecryptionError):
        unwrap_data_key(old_kek, old_id, rewrapped)


def test_field_aad_is_length_prefixed_so_parts_cannot_shift() -> None:
    """("ab", "c") and ("a", "bc") give different associated data."""
    assert field_aad("ab", "c", 1) != field_aad("a", "bc", 1)
    assert field_aad("r", "f1", 1) != field_aad("r", "f", 11)


def test_field_aad_is_deterministic() -> None:
    """The same row, field and schema version always give the same bytes: a field stays openable."""
    assert field_aad("row", "code", 3) == field_aad("row", "code", 3)


@pytest.mark.parametrize(
    ("row_id", "field", "schema_version"),
    [("", "code", 1), ("row", "", 1), ("row", "code", -1), ("row", "code", True)],
    ids=["empty-row", "empty-field", "negative-version", "bool-version"],
)
def test_field_aad_refuses_empty_parts_and_bad_versions(
    row_id: str, field: str, schema_version: int
) -> None:
    """An empty row id or field name, or a schema version that is not a whole number, is refused."""
    with pytest.raises(ValueError, match=r"row id|schema version"):
        field_aad(row_id, field, schema_version)


@given(dek=keys32, plaintext=st.binary(), aad=st.binary())
def test_seal_then_open_round_trips(dek: bytes, plaintext: bytes, aad: bytes) -> None:
    """Property: any plaintext sealed under any data key and aad opens to itself."""
    nonce, ciphertext = seal(dek, plaintext, aad)
    assert open_sealed(dek, nonce, ciphertext, aad) == plaintext


@given(kek=keys32, kek_id=st.text(), dek=keys32)
def test_wrap_then_unwrap_round_trips(kek: bytes, kek_id: str, dek: bytes) -> None:
    """Property: any data key wrapped under any KEK and key id unwraps to itself."""
    assert unwrap_data_key(kek, kek_id, wrap_data_key(kek, kek_id, dek)) == dek


parts = st.tuples(st.text(min_size=1), st.text(min_size=1), st.integers(min_value=0))


@given(first=parts, second=parts)
def test_field_aad_is_injective(first: tuple[str, str, int], second: tuple[str, str, int]) -> None:
    """Property: two different (row, field, version) triples never share associated data."""
    assert (field_aad(*first) == field_aad(*second)) == (first == second)
