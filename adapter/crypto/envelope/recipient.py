"""The register's certificate, checked before anything is sealed to it (fail closed).

Nothing is encrypted to a certificate unless it is the one pinned in the configuration
(its SHA-256 fingerprint), `now` lies within its validity period, its key usage allows
keyEncipherment (key transport), and its key is RSA of at least 3000 bits (BSI
TR-02102-1). The first check that fails raises RecipientCertificateError with a short
`reason` for the ledger and a sentence for a person; `now` is passed in, never read here.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from adapter.crypto.envelope.keys import (
    MIN_RSA_BITS,
    certificate_fingerprint,
    certificate_label,
)
from adapter.errors import RecipientCertificateError

__all__ = ["REASONS", "Recipient", "check_recipient", "normalise_fingerprint"]

# The `reason` of each refusal, in the order the checks run.
REASONS = ("no_pin", "unpinned", "not_yet_valid", "expired", "key_usage", "key_type", "key_size")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Recipient:
    """A register certificate that passed `check_recipient`: the only thing `seal` takes."""

    certificate: x509.Certificate
    public_key: rsa.RSAPublicKey
    fingerprint: str


def normalise_fingerprint(value: str) -> str | None:
    """A SHA-256 fingerprint as 64 lowercase hex digits (colons and spaces dropped, as
    `openssl x509 -fingerprint -sha256` writes it); None when it is not one."""
    plain = re.sub(r"[\s:]", "", value).lower()
    return plain if _HEX64.fullmatch(plain) else None


def check_recipient(
    certificate: x509.Certificate, *, now: datetime, pinned_sha256: str | None
) -> Recipient:
    """The certificate as a `Recipient`, or RecipientCertificateError with the reason."""
    if now.utcoffset() is None:
        msg = "now must be an aware datetime"
        raise ValueError(msg)
    label = certificate_label(certificate)
    pinned = normalise_fingerprint(pinned_sha256) if pinned_sha256 else None
    if pinned is None:
        _refuse(
            "no_pin",
            "no SHA-256 fingerprint of the register's certificate is pinned in the "
            "configuration, so nothing is sealed",
        )
    fingerprint = certificate_fingerprint(certificate)
    if not hmac.compare_digest(fingerprint, pinned):
        _refuse("unpinned", f"the certificate {label} is not the pinned one (sha256 {pinned})")
    if now < certificate.not_valid_before_utc:
        when = certificate.not_valid_before_utc.isoformat()
        _refuse("not_yet_valid", f"the certificate {label} is valid only from {when}")
    if now > certificate.not_valid_after_utc:
        when = certificate.not_valid_after_utc.isoformat()
        _refuse("expired", f"the certificate {label} expired on {when}")
    _key_usage(certificate, label)
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        _refuse("key_type", f"the certificate {label} has no RSA key (key transport is OAEP)")
    if public_key.key_size < MIN_RSA_BITS:
        _refuse(
            "key_size",
            f"the certificate {label} has an RSA key of {public_key.key_size} bits; "
            f"BSI TR-02102-1 asks for at least {MIN_RSA_BITS}",
        )
    return Recipient(certificate, public_key, fingerprint)


def _key_usage(certificate: x509.Certificate, label: str) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        _refuse("key_usage", f"the certificate {label} has no key usage (keyEncipherment needed)")
    if not usage.key_encipherment:
        _refuse("key_usage", f"the certificate {label} does not allow keyEncipherment")


def _refuse(reason: str, sentence: str) -> NoReturn:
    msg = f"Register certificate refused: {sentence}."
    raise RecipientCertificateError(msg, reason=reason)
