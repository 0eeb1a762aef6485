"""Shared fixtures of the adapter.crypto tests: a fresh keyring with fixed creation times."""

from __future__ import annotations

import pytest

from adapter.crypto import Keyring, generate_keyring

CREATED = "2025-01-01T00:00:00+00:00"
LATER = "2025-07-01T00:00:00+00:00"


@pytest.fixture
def keyring() -> Keyring:
    """A new keyring with one active version-1 key per purpose."""
    return generate_keyring(CREATED)
