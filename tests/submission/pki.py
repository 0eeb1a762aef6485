"""The keys and certificates of the submission tests, made once per session.

One RSA-3072 key for the register (its certificate allows digitalSignature, for receipts,
and keyEncipherment, for envelopes) and an ECDSA P-256 key for the practice: fast to make,
and allowed by BSI TR-02102-1 (D-71). The register's expired and unpinned certificates
are further certificates of the same key, so no second RSA key is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapter.crypto.envelope import RecipientKey, certificate_fingerprint, recipient_key
from tests.crypto.pki import FROM, SIGNING, UNTIL, Party, certificate, key_usage
from tests.storage import NOW

RECEIPTS_AND_ENVELOPES = key_usage(digital_signature=True, key_encipherment=True)


@dataclass(frozen=True)
class SubmissionPki:
    signer: Party  # the practice (ECDSA P-256)
    register: Party  # the register (RSA 3072)
    expired: Party  # the register's key, a certificate that ended before NOW
    stranger: Party  # the register's key under another certificate: not the pinned one

    @property
    def pin(self) -> str:
        return certificate_fingerprint(self.register.cert)

    def register_key(self) -> RecipientKey:
        key = self.register.key
        assert isinstance(key, rsa.RSAPrivateKey)
        return recipient_key(key, self.register.cert)

    def write(self, folder: Path) -> dict[str, Path]:
        """The PEM files a practice.toml names: signer.key/.pem, register.pem and the
        refused ones (expired.pem, stranger.pem)."""
        folder.mkdir(parents=True, exist_ok=True)
        signer_key, signer_cert = self.signer.write(folder, "signer")
        files = {"signer_key": signer_key, "signer_certificate": signer_cert}
        for name in ("register", "expired", "stranger"):
            path = folder / f"{name}.pem"
            path.write_bytes(getattr(self, name).cert_pem())
            files[name] = path
        return files


def make_submission_pki() -> SubmissionPki:
    register_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    signer_key = ec.generate_private_key(ec.SECP256R1())
    day = timedelta(days=1)
    return SubmissionPki(
        signer=Party(signer_key, certificate("Praxis (Test)", signer_key, usage=SIGNING)),
        register=Party(
            register_key,
            certificate("Register (Test)", register_key, usage=RECEIPTS_AND_ENVELOPES),
        ),
        expired=Party(
            register_key,
            certificate(
                "Register (abgelaufen)",
                register_key,
                usage=RECEIPTS_AND_ENVELOPES,
                valid=(FROM, NOW - day),
            ),
        ),
        stranger=Party(
            register_key,
            certificate("Register (fremd)", register_key, usage=RECEIPTS_AND_ENVELOPES),
        ),
    )


assert UNTIL > NOW  # the certificates hold at the tests' NOW (2026-12-01)
