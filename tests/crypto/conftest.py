"""Shared fixtures of the adapter.crypto tests: a fresh keyring with fixed creation times, and
the keys and certificates of the envelope tests (once per session: RSA 3072 is slow)."""

from __future__ import annotations

import pytest

from adapter.crypto import Keyring, generate_keyring
from tests.crypto.pki import Pki, make_pki

CREATED = "2025-01-01T00:00:00+00:00"
LATER = "2025-07-01T00:00:00+00:00"


@pytest.fixture
def keyring() -> Keyring:
    """A new keyring with one active version-1 key per purpose."""
    return generate_keyring(CREATED)


@pytest.fixture(scope="session")
def pki() -> Pki:
    """The envelope tests' keys and certificates (tests/crypto/pki.py), generated once."""
    return make_pki()
