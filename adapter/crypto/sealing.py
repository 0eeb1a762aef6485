"""Envelope encryption of database fields: data keys, wrapped under a wrapping key.

Each mapping row has its own random data key (DEK). The DEK seals the row's secret
fields with AES-256-GCM; the wrapping key (KEK, from `wrap_key()`) wraps the DEK
with AES-256-GCM too, and the row stores `dek_wrapped` and `kek_id`. Deleting the
wrapped DEK crypto-shreds the row (PRIVACY.md "Keys").

What each layer's associated data binds:
- a wrapped DEK binds the KEK's id (`b"substreg/dek|" + kek_id`), so a wrapped key
  that is relabelled with another key id fails to unwrap;
- a sealed field binds the row id, the field name and the schema version
  (`field_aad()`), so a ciphertext copied to another row or field fails to open.

The field's associated data deliberately leaves the kek_id out, although PRIVACY.md
lists it there. PRIVACY.md also says that rotating the wrapping key re-wraps the
data keys only and leaves the ciphertexts as they are; with the kek_id inside every
field's associated data, a rotation would have to decrypt and re-seal every field.
Both cannot hold. Binding the kek_id in the wrapped DEK keeps rotation cheap and
still ties every ciphertext to its key: the field opens only under the row's DEK,
and the DEK unwraps only under the KEK its kek_id names.

Nonces are random 96-bit values. NIST SP 800-38D allows 2**32 messages per key with
random nonces; a DEK seals a handful of fields and a KEK wraps one DEK per row, far
below that.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapter.errors import DecryptionError

__all__ = [
    "field_aad",
    "new_data_key",
    "open_sealed",
    "rewrap_data_key",
    "seal",
    "unwrap_data_key",
    "wrap_data_key",
]

_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_FIELD_LABEL = b"substreg/field/v1"


def new_data_key() -> bytes:
    """A fresh random 256-bit data key for one row."""
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(kek: bytes, kek_id: str, dek: bytes) -> bytes:
    """`nonce ‖ AES-256-GCM(kek, dek)`, with the kek_id bound as associated data."""
    _require_key(kek, "wrapping key")
    _require_key(dek, "data key")
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, dek, _dek_aad(kek_id))


def unwrap_data_key(kek: bytes, kek_id: str, wrapped: bytes) -> bytes:
    """The data key inside `wrapped`; DecryptionError on a wrong KEK or kek_id, or tampering."""
    _require_key(kek, "wrapping key")
    nonce, body = wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:]
    msg = (
        f"A data key wrapped under {kek_id} cannot be unwrapped: the wrapping key or its "
        "id is wrong, or the wrapped key was altered; check that this is the right keyring."
    )
    if len(body) != _KEY_BYTES + _TAG_BYTES:
        raise DecryptionError(msg)
    try:
        return AESGCM(kek).decrypt(nonce, body, _dek_aad(kek_id))
    except InvalidTag:
        raise DecryptionError(msg) from None


def rewrap_data_key(
    old_kek: bytes, old_kek_id: str, new_kek: bytes, new_kek_id: str, wrapped: bytes
) -> bytes:
    """The data key of `wrapped` wrapped again under a new KEK (wrapping-key rotation)."""
    return wrap_data_key(new_kek, new_kek_id, unwrap_data_key(old_kek, old_kek_id, wrapped))


def field_aad(row_id: str, field: str, schema_version: int) -> bytes:
    """The associated data of one field of one row: length-prefixed, so it is unambiguous."""
    if not row_id or not field:
        msg = "A sealed field needs a row id and a field name; neither may be empty."
        raise ValueError(msg)
    if type(schema_version) is not int or schema_version < 0:
        msg = f"The schema version must be a whole number from 0, not {schema_version!r}."
        raise ValueError(msg)
    # Each part carries its length (4 bytes, big-endian), so ("ab", "c") and ("a", "bc")
    # differ; the label keeps this encoding apart from any other associated data.
    parts = (_FIELD_LABEL, row_id.encode("utf-8"), field.encode("utf-8"), b"%d" % schema_version)
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def seal(dek: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """`(nonce, ciphertext)` of AES-256-GCM under the data key, bound to `aad`."""
    _require_key(dek, "data key")
    nonce = os.urandom(_NONCE_BYTES)
    return nonce, AESGCM(dek).encrypt(nonce, plaintext, aad)


def open_sealed(dek: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """The plaintext of a sealed field, or DecryptionError: never a part of it."""
    _require_key(dek, "data key")
    msg = (
        "A sealed field cannot be opened: the data key is wrong, or the ciphertext was "
        "altered or moved to another row or field."
    )
    if len(nonce) != _NONCE_BYTES or len(ciphertext) < _TAG_BYTES:
        raise DecryptionError(msg)
    try:
        return AESGCM(dek).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise DecryptionError(msg) from None


def _dek_aad(kek_id: str) -> bytes:
    # One variable part at the end of a fixed prefix: unambiguous without a length.
    return b"substreg/dek|" + kek_id.encode("utf-8")


def _require_key(key: bytes, what: str) -> None:
    if len(key) != _KEY_BYTES:
        msg = f"A {what} has {_KEY_BYTES} bytes, not {len(key)}."
        raise ValueError(msg)
