"""The blind index: a keyed hash that finds a row by a value without storing the value.

`subject_idx = HMAC-SHA256(K_idx[v], canonical reference)` (PRIVACY.md "Tables").
The caller builds the canonical reference; this module only fixes the Unicode form,
so that one string typed or exported in two normal forms yields one index. Only
canonical equivalence (NFC) is folded: compatibility forms ("ﬁ" and "fi") are
different values, as they are in the EHR.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

__all__ = ["blind_index", "mac", "mac_matches"]

_KEY_BYTES = 32


def blind_index(key: bytes, value: str) -> bytes:
    """HMAC-SHA256 of the NFC-normalised UTF-8 `value` under `key` (32 bytes)."""
    if len(key) != _KEY_BYTES:
        msg = f"A blind-index key has {_KEY_BYTES} bytes, not {len(key)}; use index_key()."
        raise ValueError(msg)
    try:
        data = unicodedata.normalize("NFC", value).encode("utf-8")
    except UnicodeEncodeError:
        # Not echoed: the value is a patient reference.
        msg = "The value to index is not valid Unicode text (it holds a lone surrogate)."
        raise ValueError(msg) from None
    return hmac.digest(key, data, hashlib.sha256)  # the one-shot C path: no HMAC object


def mac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` under `key` (32 bytes): a ledger row's seal."""
    if len(key) != _KEY_BYTES:
        msg = f"A MAC key has {_KEY_BYTES} bytes, not {len(key)}; use ledger_mac_key()."
        raise ValueError(msg)
    return hmac.digest(key, message, hashlib.sha256)


def mac_matches(key: bytes, message: bytes, expected: bytes) -> bool:
    """Whether `expected` is the MAC of `message` (compared in constant time)."""
    return hmac.compare_digest(mac(key, message), expected)
