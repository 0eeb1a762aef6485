"""The exceptions of adapter.crypto, drawn as one tree.

    CryptoError                  anything this package refuses or cannot do
    ├── KeyringError             the keyring file or its backup is missing, unreadable,
    │                            not JSON, of a wrong format or insecure, or its keys
    │                            break a rule (two active keys of one purpose, …)
    ├── UnknownKeyError          a key id or version the keyring does not hold, or
    │                            holds only as destroyed
    └── DecryptionError          authentication failed: a wrong key or key id, or data
                                 that was altered or moved to another row or field

Messages are sentences that name the file or the key id and the fix. They never
carry a secret, a plaintext, a patient id, a code or a name (PRIVACY.md T2).

Mistakes of the calling code (a key of the wrong length, an empty row id, a
passphrase that is too short) are ValueError, not CryptoError: they are bugs or
input errors, not states of the keyring or the data.
"""

from __future__ import annotations

__all__ = ["CryptoError", "DecryptionError", "KeyringError", "UnknownKeyError"]


class CryptoError(Exception):
    """Base of every error adapter.crypto raises on purpose."""


class KeyringError(CryptoError):
    """The keyring (file, backup or in memory) cannot be used; the message says why and the fix."""


class UnknownKeyError(CryptoError):
    """A key id or version is not in the keyring, or the key was destroyed."""


class DecryptionError(CryptoError):
    """Authentication failed: nothing was decrypted, not even in part."""
