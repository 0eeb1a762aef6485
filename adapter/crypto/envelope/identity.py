"""A register's own key pair and self-signed certificate (the register simulator's).

One RSA-3072 key (BSI TR-02102-1) serves both uses of the register's certificate: it is
encrypted to (keyEncipherment: RSAES-OAEP key transport) and it signs receipts
(digitalSignature: RSASSA-PSS). `new_identity` makes both as PEM, for files; the time is
passed in, never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["IDENTITY_BITS", "Identity", "certificate_pem", "new_identity"]

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
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
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
