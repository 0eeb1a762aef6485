"""The keys and certificates of an envelope: read from PEM (or DER), held to BSI TR-02102-1.

A signer is the practice's private key with its certificate (RSA ≥ 3000 bits, signing
RSASSA-PSS, or ECDSA on P-256); a recipient key is the register's private key with its
certificate (RSA ≥ 3000 bits, RSAES-OAEP), for opening. Each pair is checked to be one
pair: a key that does not belong to its certificate is refused at once, not when a
signature later fails to verify.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from adapter.errors import KeyMaterialError

__all__ = [
    "MIN_RSA_BITS",
    "Certificate",
    "PrivateKey",
    "RecipientKey",
    "Signer",
    "SignerKey",
    "certificate_fingerprint",
    "certificate_label",
    "load_certificate",
    "load_private_key",
    "recipient_key",
    "signer",
    "valid_at",
]

MIN_RSA_BITS = 3000  # BSI TR-02102-1: RSA moduli of at least 3000 bits

# The types callers outside adapter.crypto annotate with (they may not import cryptography).
Certificate: TypeAlias = x509.Certificate
PrivateKey: TypeAlias = PrivateKeyTypes
SignerKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class Signer:
    """The practice's signing key and its certificate, checked to be one pair."""

    key: SignerKey
    certificate: x509.Certificate


@dataclass(frozen=True, slots=True)
class RecipientKey:
    """The register's private key and its certificate, checked to be one pair."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


def load_certificate(data: bytes, *, what: str = "certificate") -> x509.Certificate:
    """An X.509 certificate from PEM or DER; KeyMaterialError naming `what` otherwise."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (ValueError, x509.InvalidVersion):
        msg = f"{what}: not an X.509 certificate in PEM or DER"
        raise KeyMaterialError(msg) from None


def load_private_key(
    data: bytes, *, passphrase: bytes | None = None, what: str = "private key"
) -> PrivateKey:
    """A private key from PEM (PKCS#8 or traditional, encrypted or not) or DER.

    The type is checked where the key is used (`signer`, `recipient_key`)."""
    pem = data.lstrip().startswith(b"-----BEGIN")
    load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        return load(data, password=passphrase)
    except TypeError:  # encrypted without a passphrase, or a passphrase for a plain key
        needs = "is encrypted: give its passphrase" if passphrase is None else "is not encrypted"
        msg = f"{what}: the key {needs}"
        raise KeyMaterialError(msg) from None
    except ValueError:
        msg = f"{what}: not a private key in PEM or DER, or the passphrase is wrong"
        raise KeyMaterialError(msg) from None
    except UnsupportedAlgorithm:
        msg = f"{what}: a key of a kind this program does not read"
        raise KeyMaterialError(msg) from None


def signer(key: PrivateKey, certificate: x509.Certificate) -> Signer:
    """The signing pair; KeyMaterialError unless RSA ≥ 3000 bits or ECDSA P-256, one pair."""
    if isinstance(key, rsa.RSAPrivateKey):
        _rsa_size(key.key_size, "signer key")
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            msg = f"signer key: an EC key on {key.curve.name}; only P-256 (secp256r1) is allowed"
            raise KeyMaterialError(msg)
    else:
        msg = "signer key: neither RSA nor EC (ECDSA P-256)"
        raise KeyMaterialError(msg)
    _same_pair(key, certificate, "signer")
    return Signer(key, certificate)


def recipient_key(key: PrivateKey, certificate: x509.Certificate) -> RecipientKey:
    """The opening pair; KeyMaterialError unless an RSA key ≥ 3000 bits of `certificate`."""
    if not isinstance(key, rsa.RSAPrivateKey):
        msg = "recipient key: not an RSA key (key transport is RSAES-OAEP)"
        raise KeyMaterialError(msg)
    _rsa_size(key.key_size, "recipient key")
    _same_pair(key, certificate, "recipient")
    return RecipientKey(key, certificate)


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint of the certificate's DER, 64 lowercase hex digits."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def certificate_label(certificate: x509.Certificate) -> str:
    """Subject and fingerprint, for a message: `CN=… (sha256 ab12cd34…)`."""
    return f"{certificate.subject.rfc4514_string()} (sha256 {certificate_fingerprint(certificate)})"


def valid_at(certificate: x509.Certificate, moment: datetime) -> bool:
    """Whether `moment` (aware) lies within the certificate's validity period."""
    return certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc


def _rsa_size(bits: int, what: str) -> None:
    if bits < MIN_RSA_BITS:
        msg = f"{what}: RSA with {bits} bits; BSI TR-02102-1 asks for at least {MIN_RSA_BITS}"
        raise KeyMaterialError(msg)


def _same_pair(key: SignerKey, certificate: x509.Certificate, what: str) -> None:
    public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*public) != certificate.public_key().public_bytes(*public):
        msg = f"{what} key: not the key of the certificate {certificate_label(certificate)}"
        raise KeyMaterialError(msg)
