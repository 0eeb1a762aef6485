"""Own key pairs and self-signed certificates: the register simulator's, and a practice's
signing pair for a demo or a test installation.

One RSA-3072 key (BSI TR-02102-1) serves both uses of the register's certificate: it is
encrypted to (keyEncipherment: RSAES-OAEP key transport) and it signs receipts
(digitalSignature: RSASSA-PSS). `new_identity` makes both as PEM, for files;
`new_signer_identity` makes an ECDSA P-256 key with a certificate that may only sign
(digitalSignature), what `substreg envelope keygen` writes. The time is passed in, never
read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "IDENTITY_BITS",
    "Identity",
    "certificate_pem",
    "new_identity",
    "new_signer_identity",
]

IDENTITY_BITS = 3072  # BSI TR-02102-1 asks for at least 3000 (keys.MIN_RSA_BITS)


@dataclass(frozen=True, slots=True)
class Identity:
    """A private key (PKCS#8 PEM, unencrypted: write it mode 0600) and its certificate."""

    key_pem: bytes
    certificate_pem: bytes


def new_identity(common_name: str, *, now: datetime, days: int) -> Identity:
    """A fresh RSA-3072 key and a self-signed certificate for it, CN=`common_name`,
    valid from an hour before `now` (aware) for `days` days, with the key usages
    digitalSignature and keyEncipherment (critical) and no CA rights."""
    if now.utcoffset() is None:
        msg = "now must be an aware datetime"
        raise ValueError(msg)
    key = rsa.generate_private_key(public_exponent=65537, key_size=IDENTITY_BITS)
    return _self_signed(key, common_name, now=now, days=days, encipherment=True)


def new_signer_identity(common_name: str, *, now: datetime, days: int) -> Identity:
    """A fresh ECDSA P-256 key (BSI TR-02102-1, D-71) and a self-signed certificate for it,
    CN=`common_name`, valid from an hour before `now` (aware) for `days` days, with the key
    usage digitalSignature only (critical) and no CA rights: a practice's signing pair."""
    return _self_signed(
        ec.generate_private_key(ec.SECP256R1()), common_name, now=now, days=days, encipherment=False
    )


def _self_signed(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    common_name: str,
    *,
    now: datetime,
    days: int,
    encipherment: bool,
) -> Identity:
    if now.utcoffset() is None:
        msg = "now must be an aware datetime"
        raise ValueError(msg)
    if days < 1:
        msg = "days must be at least 1"
        raise ValueError(msg)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Identity(key_pem, certificate_pem(certificate))


def certificate_pem(certificate: x509.Certificate) -> bytes:
    """The certificate as PEM."""
    return certificate.public_bytes(serialization.Encoding.PEM)
