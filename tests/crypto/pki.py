"""Keys and certificates for the envelope tests, made with `cryptography` once per session.

RSA 3072 key generation is slow, so `make_pki()` makes every key once and the session
fixture `pki` (tests/crypto/conftest.py) hands the same set to every test. Certificates
are valid from 2020 to 2040 (openssl checks them against this machine's clock); the
checks of our own code take `NOW` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
FROM = datetime(2020, 1, 1, tzinfo=UTC)
UNTIL = datetime(2040, 1, 1, tzinfo=UTC)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def key_usage(**allowed: bool) -> x509.KeyUsage:
    """A KeyUsage with only the named uses set."""
    uses = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    uses.update(allowed)
    return x509.KeyUsage(**uses)


SIGNING = key_usage(digital_signature=True, key_cert_sign=True)  # self-signed, usable as CA
TRANSPORT = key_usage(key_encipherment=True)


def certificate(
    name: str,
    key: PrivateKey,
    *,
    usage: x509.KeyUsage | None = TRANSPORT,
    ca: bool = False,
    valid: tuple[datetime, datetime] = (FROM, UNTIL),
) -> x509.Certificate:
    """A self-signed certificate for `key` named CN=`name`."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    return builder.sign(key, hashes.SHA256())


@dataclass(frozen=True)
class Party:
    """A key and its certificate."""

    key: PrivateKey
    cert: x509.Certificate

    def key_pem(self, passphrase: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        """`name`.key and `name`.pem in `folder`; their paths."""
        key, cert = folder / f"{name}.key", folder / f"{name}.pem"
        key.write_bytes(self.key_pem())
        cert.write_bytes(self.cert_pem())
        return key, cert


@dataclass(frozen=True)
class Pki:
    """Every party the envelope tests need."""

    signer: Party  # the practice: RSA 3072, self-signed CA, digitalSignature
    ec_signer: Party  # the practice with ECDSA P-256
    other_signer: Party  # a stranger's RSA 3072 signing key
    register: Party  # the register: RSA 3072, keyEncipherment
    other_register: Party  # another recipient, RSA 3072
    small: Party  # RSA 2048: below BSI TR-02102-1
    ec_register: Party  # an EC key: no key transport
    extra: dict[str, x509.Certificate] = field(default_factory=dict)


def make_pki() -> Pki:
    """Generate every key (slow: once per session) and certify it."""
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    register_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    other_register_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    small_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_register_key = ec.generate_private_key(ec.SECP256R1())
    register_cert = certificate("Substitutionsregister (test)", register_key)
    day = timedelta(days=1)
    return Pki(
        signer=Party(signer_key, certificate("Praxis (test)", signer_key, usage=SIGNING, ca=True)),
        ec_signer=Party(ec_key, certificate("Praxis EC (test)", ec_key, usage=SIGNING, ca=True)),
        other_signer=Party(other_key, certificate("Fremde", other_key, usage=SIGNING, ca=True)),
        register=Party(register_key, register_cert),
        other_register=Party(
            other_register_key, certificate("Anderes Register", other_register_key)
        ),
        small=Party(small_key, certificate("Klein", small_key)),
        ec_register=Party(ec_register_key, certificate("EC-Register", ec_register_key)),
        extra={
            "expired": certificate("Abgelaufen", register_key, valid=(FROM, NOW - day)),
            "not_yet_valid": certificate("Zu früh", register_key, valid=(NOW + day, UNTIL)),
            "last_second": certificate("Bis jetzt", register_key, valid=(FROM, NOW)),
            "signing_only": certificate(
                "Nur Signatur", register_key, usage=key_usage(digital_signature=True)
            ),
            "no_key_usage": certificate("Ohne Verwendung", register_key, usage=None),
            "small_signer": certificate("Klein", small_key, usage=SIGNING, ca=True),
            "expired_signer": certificate(
                "Praxis alt", signer_key, usage=SIGNING, ca=True, valid=(FROM, NOW - day)
            ),
        },
    )
