"""The envelope of a submission to the register (PRIVACY.md "Envelope for submissions").

CMS SignedData (RSASSA-PSS SHA-256, or ECDSA P-256) inside CMS AuthEnvelopedData (RFC
5083/5084: AES-256-GCM, key transport RSAES-OAEP SHA-256 to the register's certificate,
RSA ≥ 3000 bits, BSI TR-02102-1), built with asn1crypto around `cryptography`'s
primitives and opened by `openssl cms` (tests/crypto/test_envelope_openssl.py).

    identity.py    a register's own RSA-3072 key and self-signed certificate (the simulator),
                   a practice's ECDSA P-256 signing pair (`envelope keygen`)
    keys.py        PEM/DER keys and certificates, the signer and recipient-key pairs
    recipient.py   the register's certificate checked before sealing (pin, period, usage,
                   size): `check_recipient(certificate, now=…, pinned_sha256=…)`
    algorithms.py  the algorithm identifiers we write and the only ones we read
    signed.py      SignedData: sign, verify
    enveloped.py   AuthEnvelopedData: encrypt, decrypt
    sealed.py      `seal(payload, …)` and `open_envelope(envelope, …)`

A subpackage of its own: `adapter.crypto` does not import it, so only the commands that
seal or open load asn1crypto. Errors: the EnvelopeError branch of adapter/errors.py.
"""

from __future__ import annotations

from adapter.crypto.envelope.algorithms import (
    GCM_NONCE_BYTES,
    GCM_TAG_BYTES,
    PSS_SALT_BYTES,
)
from adapter.crypto.envelope.identity import (
    Identity,
    certificate_pem,
    new_identity,
    new_signer_identity,
)
from adapter.crypto.envelope.keys import (
    MIN_RSA_BITS,
    Certificate,
    PrivateKey,
    RecipientKey,
    Signer,
    SignerKey,
    certificate_fingerprint,
    certificate_label,
    load_certificate,
    load_private_key,
    recipient_key,
    signer,
    valid_at,
)
from adapter.crypto.envelope.recipient import (
    REASONS,
    Recipient,
    check_recipient,
    normalise_fingerprint,
)
from adapter.crypto.envelope.sealed import Opened, open_envelope, seal

__all__ = [
    "GCM_NONCE_BYTES",
    "GCM_TAG_BYTES",
    "MIN_RSA_BITS",
    "PSS_SALT_BYTES",
    "REASONS",
    "Certificate",
    "Identity",
    "Opened",
    "PrivateKey",
    "Recipient",
    "RecipientKey",
    "Signer",
    "SignerKey",
    "certificate_fingerprint",
    "certificate_label",
    "certificate_pem",
    "check_recipient",
    "load_certificate",
    "load_private_key",
    "new_identity",
    "new_signer_identity",
    "normalise_fingerprint",
    "open_envelope",
    "recipient_key",
    "seal",
    "signer",
    "valid_at",
]
