"""The simulator's own key, certificate and code secret, in its state folder.

    register.key    RSA-3072 private key, PKCS#8 PEM, mode 0600
    register.pem    its self-signed certificate (digitalSignature, keyEncipherment): what a
                    practice pins (`[register] certificate_sha256`) and encrypts to
    code-secret     32 random bytes (hex), mode 0600: the key of the codes' cryptograms

Made on the first start, read on every later one. A key without its certificate is made
anew (the certificate was never shown to anyone); a certificate without its key, or a
missing secret beside a database, is refused: what was encrypted to that key, or the
cryptograms made with that secret, could never be read or matched again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from adapter.crypto.envelope import (
    RecipientKey,
    certificate_fingerprint,
    certificate_pem,
    load_certificate,
    load_private_key,
    new_identity,
    recipient_key,
)
from adapter.errors import KeyMaterialError
from adapter.settings.files import make_private_dirs, write_private

__all__ = ["COMMON_NAME", "VALID_DAYS", "RegisterIdentity", "load_or_create"]

COMMON_NAME = "Substitutionsregister (Simulator)"
VALID_DAYS = 3650
KEY_FILE, CERTIFICATE_FILE, SECRET_FILE = "register.key", "register.pem", "code-secret"
DATABASE_FILE = "register.sqlite"


@dataclass(frozen=True, slots=True)
class RegisterIdentity:
    """What the simulator opens, signs and hides codes with."""

    key: RecipientKey
    certificate_pem: bytes
    fingerprint: str
    certificate_path: Path
    created: bool  # made on this start
    _secret: bytes = field(repr=False)

    def cryptogram(self, code: str) -> str:
        """The code's cryptogram (R-CH-3): HMAC-SHA256 under the simulator's secret, hex."""
        return hmac.new(self._secret, code.encode("utf-8"), hashlib.sha256).hexdigest()

    def mac(self, data: bytes) -> str:
        """A keyed digest of `data` (a report's JSON holds its code: no plain hash)."""
        return hmac.new(self._secret, b"report|" + data, hashlib.sha256).hexdigest()


def load_or_create(folder: Path, *, now: datetime) -> RegisterIdentity:
    """The identity kept in `folder`, made (and `folder` with mode 0700) when absent."""
    make_private_dirs(folder)
    key_path, cert_path = folder / KEY_FILE, folder / CERTIFICATE_FILE
    secret_path = folder / SECRET_FILE
    created = False
    if cert_path.exists() and not key_path.exists():
        msg = (
            f"{cert_path} has no key beside it ({KEY_FILE}): envelopes sealed to it cannot be "
            "opened; restore the key, or start with a new state folder"
        )
        raise KeyMaterialError(msg)
    if not cert_path.exists():
        made = new_identity(COMMON_NAME, now=now, days=VALID_DAYS)
        write_private(key_path, made.key_pem)
        write_private(cert_path, made.certificate_pem)
        cert_path.chmod(0o644)  # public: a practice may copy it
        created = True
    if not secret_path.exists():
        if (folder / DATABASE_FILE).exists():
            msg = (
                f"{secret_path} is missing beside {DATABASE_FILE}: the cryptograms it holds "
                "could not be matched again; restore it, or start with a new state folder"
            )
            raise KeyMaterialError(msg)
        write_private(secret_path, secrets.token_hex(32).encode() + b"\n")
    certificate = load_certificate(cert_path.read_bytes(), what=str(cert_path))
    key = recipient_key(load_private_key(key_path.read_bytes(), what=str(key_path)), certificate)
    return RegisterIdentity(
        key=key,
        certificate_pem=certificate_pem(certificate),
        fingerprint=certificate_fingerprint(certificate),
        certificate_path=cert_path,
        created=created,
        _secret=_secret(secret_path),
    )


def _secret(path: Path) -> bytes:
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (UnicodeDecodeError, ValueError):
        secret = b""
    if len(secret) < 32:
        msg = f"{path}: not a secret of 32 bytes in hex; restore it from a backup"
        raise KeyMaterialError(msg)
    return secret
