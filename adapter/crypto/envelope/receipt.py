"""The register's signature over a receipt (docs/SUBMISSION.md "Receipt").

The receipt document the register sends back, and the practice keeps byte for byte:

    {"receipt": {…canonical receipt…}, "signature": "base64", "certificate_sha256": "hex"}

The signature is RSASSA-PSS SHA-256 (salt 32) over the canonical receipt JSON, made with
the key of the register's certificate. `verify_receipt` checks it against the register's
certificate the practice pinned, and that the receipt is for the batch and the envelope
that were sent: a receipt that fails any of this is never stored as proof.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapter.crypto.envelope.algorithms import PSS_SALT_BYTES
from adapter.crypto.envelope.keys import MIN_RSA_BITS, RecipientKey, certificate_fingerprint
from adapter.domain.receipt import Receipt, parse_receipt, receipt_json
from adapter.errors import ReceiptError

__all__ = ["sign_receipt", "verify_receipt"]

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_BYTES)


def sign_receipt(receipt: Receipt, register: RecipientKey) -> bytes:
    """The receipt document, signed with the register's key (the simulator's side)."""
    body = receipt_json(receipt)
    signature = register.key.sign(body, _PSS, hashes.SHA256())
    document = {
        "certificate_sha256": certificate_fingerprint(register.certificate),
        "receipt": orjson.Fragment(body),
        "signature": base64.b64encode(signature).decode(),
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def verify_receipt(
    document: bytes, certificate: x509.Certificate, *, batch_id: str, envelope: bytes
) -> Receipt:
    """The receipt in `document`, once its signature verifies against the register's
    `certificate` and it names `batch_id` and the SHA-256 of `envelope`; ReceiptError
    saying what failed otherwise."""
    try:
        outer = orjson.loads(document)
    except orjson.JSONDecodeError:
        raise ReceiptError("the register's answer is not a receipt document (not JSON)") from None
    if not isinstance(outer, dict) or set(outer) != {"certificate_sha256", "receipt", "signature"}:
        raise ReceiptError("a receipt document has exactly receipt, signature, certificate_sha256")
    receipt = parse_receipt(orjson.dumps(outer["receipt"]))
    body = receipt_json(receipt)  # the canonical bytes the register signed
    _check_signature(body, outer["signature"], certificate)
    if receipt.batch_id != batch_id:
        raise ReceiptError(f"the receipt is for the batch {receipt.batch_id}, not {batch_id}")
    if receipt.envelope_sha256 != hashlib.sha256(envelope).hexdigest():
        raise ReceiptError("the receipt names another envelope than the one sent")
    return receipt


def _check_signature(body: bytes, signature: object, certificate: x509.Certificate) -> None:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise ReceiptError("the register's certificate does not hold an RSA key ≥ 3000 bits")
    if not isinstance(signature, str):
        raise ReceiptError("the receipt's signature is not base64 text")
    try:
        key.verify(base64.b64decode(signature, validate=True), body, _PSS, hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        raise ReceiptError(
            "the receipt's signature does not verify against the register's certificate"
        ) from None
