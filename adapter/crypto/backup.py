"""The passphrase-protected backup of the keyring.

Losing the wrap keys loses every code (PRIVACY.md "Keys"), so the keyring is backed
up and the restore is tested: `import_backup(export_backup(k, p), p) == k`.

The container `substreg-keyring-backup/1` is JSON that describes itself:

    {"format": "substreg-keyring-backup/1",
     "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<base64, 16 bytes>"},
     "nonce": "<base64, 12 bytes>", "ciphertext": "<base64>"}

scrypt turns the passphrase into a 256-bit key; AES-256-GCM encrypts the keyring
file's JSON under it, with the format and the kdf header as associated data.
"""

from __future__ import annotations

import base64
import json
import os
import unicodedata
from typing import Any, Final, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from adapter.crypto.keyring import keyring_from_json, keyring_to_json
from adapter.crypto.master_keys import Keyring
from adapter.errors import KeyringError

__all__ = ["BACKUP_FORMAT", "MIN_PASSPHRASE_LENGTH", "export_backup", "import_backup"]

BACKUP_FORMAT: Final = "substreg-keyring-backup/1"
MIN_PASSPHRASE_LENGTH: Final = 12

_SCRYPT = {"n": 2**15, "r": 8, "p": 1}  # 32 MiB of memory per attempt
_SALT_BYTES = 16
_NONCE_BYTES = 12
# Bounds for what a backup may ask of import: a tampered header must not make the
# import spend minutes or gigabytes before the passphrase is even checked. scrypt
# needs 128·n·r bytes; the default takes 32 MiB, a backup may ask 8 times that.
_MIN_N, _MAX_MEMORY, _MAX_P = 2**14, 2**28, 4
_CONTAINER_FIELDS = frozenset({"format", "kdf", "nonce", "ciphertext"})
_KDF_FIELDS = frozenset({"name", "n", "r", "p", "salt"})


def export_backup(keyring: Keyring, passphrase: str) -> bytes:
    """The keyring encrypted under `passphrase`, as a `substreg-keyring-backup/1` container."""
    secret = _passphrase_bytes(passphrase)
    salt = os.urandom(_SALT_BYTES)
    kdf = {"name": "scrypt", **_SCRYPT, "salt": _b64(salt)}
    header = {"format": BACKUP_FORMAT, "kdf": kdf}
    nonce = os.urandom(_NONCE_BYTES)
    key = _derive(secret, salt, _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"])
    ciphertext = AESGCM(key).encrypt(nonce, keyring_to_json(keyring), _aad(header))
    container = {**header, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}
    return (json.dumps(container, indent=2) + "\n").encode("utf-8")


def import_backup(blob: bytes, passphrase: str) -> Keyring:
    """The keyring inside a backup; KeyringError on a wrong passphrase, tampering or format."""
    secret = _passphrase_bytes(passphrase)
    container = _container(blob)
    kdf = container["kdf"]
    salt = _unb64(kdf["salt"], "salt", exact=_SALT_BYTES)
    nonce = _unb64(container["nonce"], "nonce", exact=_NONCE_BYTES)
    ciphertext = _unb64(container["ciphertext"], "ciphertext")
    key = _derive(secret, salt, kdf["n"], kdf["r"], kdf["p"])
    header = {"format": container["format"], "kdf": kdf}
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _aad(header))
    except InvalidTag:
        msg = (
            "The keyring backup cannot be opened: the passphrase is wrong, "
            "or the backup was altered or damaged."
        )
        raise KeyringError(msg) from None
    return keyring_from_json(
        plaintext, source="in the backup", fix="make a new backup from a working keyring"
    )


def _passphrase_bytes(passphrase: str) -> bytes:
    # NFC, so that a passphrase typed where the system composes accents differently
    # (macOS keyboards produce NFD) still opens the backup.
    normalised = unicodedata.normalize("NFC", passphrase)
    if len(normalised) < MIN_PASSPHRASE_LENGTH:
        msg = (
            f"A keyring backup passphrase needs at least {MIN_PASSPHRASE_LENGTH} "
            "characters; choose a longer one."
        )
        raise ValueError(msg)
    return normalised.encode("utf-8")


def _derive(secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def _aad(header: dict[str, Any]) -> bytes:
    # Canonical JSON of the header: the same bytes on export and on import.
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _container(blob: bytes) -> dict[str, Any]:
    try:
        container = json.loads(blob)
    except ValueError:
        _refuse("it is not JSON")
    if not isinstance(container, dict) or set(container) != _CONTAINER_FIELDS:
        _refuse("it needs exactly the fields format, kdf, nonce and ciphertext")
    if container["format"] != BACKUP_FORMAT:
        _refuse(f"its format is not {BACKUP_FORMAT}")
    kdf = container["kdf"]
    if not isinstance(kdf, dict) or set(kdf) != _KDF_FIELDS:
        _refuse("its kdf needs exactly the fields name, n, r, p and salt")
    if kdf["name"] != "scrypt" or not _scrypt_params_ok(kdf["n"], kdf["r"], kdf["p"]):
        _refuse(
            f"its kdf must be scrypt with n a power of two from {_MIN_N}, "
            f"at most {_MAX_MEMORY // 2**20} MiB of memory and p up to {_MAX_P}"
        )
    return container


def _scrypt_params_ok(n: Any, r: Any, p: Any) -> bool:
    if not all(type(value) is int for value in (n, r, p)):  # a bool is no parameter
        return False
    power_of_two = n > 0 and n & (n - 1) == 0
    fits = n >= _MIN_N and r >= 1 and 128 * n * r <= _MAX_MEMORY and 1 <= p <= _MAX_P
    return bool(power_of_two and fits)


def _unb64(value: Any, what: str, *, exact: int | None = None) -> bytes:
    try:
        data = base64.b64decode(value, validate=True)
    except (TypeError, ValueError):  # binascii.Error is a ValueError
        _refuse(f"its {what} is not base64")
    if exact is not None and len(data) != exact:
        _refuse(f"its {what} has {len(data)} bytes, not {exact}")
    return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _refuse(reason: str) -> NoReturn:
    msg = f"This is not a keyring backup in the format {BACKUP_FORMAT}: {reason}."
    raise KeyringError(msg) from None  # the parser's own message adds nothing for the reader
