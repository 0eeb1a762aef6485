"""API keys of the service's tenants (D-121): 256 random bits, shown once, stored as
their SHA-256 only.

A key reads `srk_<key id>_<secret>`: the key id (16 hex digits) finds the stored row
without a scan, the secret (43 base64url characters) is compared as its digest in
constant time. A plain SHA-256 suffices (no password hash): the secret is random and
as long as the hash, so no dictionary or brute force can find it from a leaked digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = ["API_KEY_PREFIX", "NewKey", "digest_of", "matches", "new_api_key", "split_key"]

API_KEY_PREFIX = "srk_"


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    text: str  # the whole key, to show once; never stored
    digest: str  # what is stored


def new_api_key() -> NewKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, f"{API_KEY_PREFIX}{key_id}_{secret}", digest_of(secret))


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(text: str) -> tuple[str, str] | None:
    """(key id, secret) of a presented key, or None when it is not one of ours."""
    if not text.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, secret = text[len(API_KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 16 or not secret:
        return None
    return key_id, secret


def matches(stored_digest: str, secret: str) -> bool:
    return hmac.compare_digest(stored_digest, digest_of(secret))
