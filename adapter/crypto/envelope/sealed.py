"""Seal a payload for the register and open a sealed one: sign, then encrypt.

    seal(payload)   SignedData(payload) by the practice's key, as a ContentInfo, encrypted
                    as AuthEnvelopedData to the register's checked certificate
    open_envelope   decrypt and authenticate, then verify the one signature: against the
                    signer certificate given, else against the one the SignedData carries
                    (integrity only: who signed is proven only by a certificate given)

The payload comes back exactly as it was signed, byte for byte, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms
from cryptography import x509

from adapter.crypto.envelope.asn1 import encoded, malformed_unless
from adapter.crypto.envelope.enveloped import decrypt, encrypt
from adapter.crypto.envelope.keys import RecipientKey, Signer, certificate_label, valid_at
from adapter.crypto.envelope.recipient import Recipient
from adapter.crypto.envelope.signed import sign, verify_signed
from adapter.errors import KeyMaterialError, MalformedEnvelopeError

__all__ = ["Opened", "open_envelope", "seal"]


@dataclass(frozen=True, slots=True)
class Opened:
    """The payload of an envelope whose content authenticated and whose signature verified."""

    payload: bytes
    signer: x509.Certificate
    signer_given: bool  # verified against a certificate given, not only the one carried
    signing_time: datetime | None


def seal(payload: bytes, *, signer: Signer, recipient: Recipient, signing_time: datetime) -> bytes:
    """The DER of the envelope of `payload`, signed by `signer` at `signing_time` (aware;
    within the signer certificate's validity) and encrypted to `recipient`."""
    if signing_time.utcoffset() is None:
        msg = "signing_time must be an aware datetime"
        raise ValueError(msg)
    if not valid_at(signer.certificate, signing_time):
        msg = (
            f"The signer certificate {certificate_label(signer.certificate)} is not valid at "
            f"{signing_time.isoformat()}: renew it before sealing."
        )
        raise KeyMaterialError(msg)
    signed = encoded(sign(payload, signer, signing_time)).dump()
    envelope: bytes = encoded(encrypt(signed, recipient)).dump()
    return envelope


def open_envelope(
    envelope: bytes, *, key: RecipientKey, signer_certificate: x509.Certificate | None = None
) -> Opened:
    """The payload of `envelope`, once it decrypts with `key` and its signature verifies.

    Raises MalformedEnvelopeError, NotForRecipientError, EnvelopeDecryptionError or
    SignatureError (adapter/errors.py); never returns a payload that did not verify."""
    decrypted = decrypt(envelope, key)
    with malformed_unless("The decrypted content"):
        if decrypted.content_type == "data":  # a ContentInfo, as openssl cms -encrypt makes it
            inner = cms.ContentInfo.load(decrypted.content, strict=True)
            if inner["content_type"].native != "signed_data":
                msg = f"The envelope holds CMS {inner['content_type'].native}, not SignedData."
                raise MalformedEnvelopeError(msg)
            signed_data = inner["content"]
        elif decrypted.content_type == "signed_data":  # the SignedData itself (RFC 5083)
            signed_data = cms.SignedData.load(decrypted.content, strict=True)
        else:
            msg = f"The envelope holds {decrypted.content_type}, not signed data."
            raise MalformedEnvelopeError(msg)
    verified = verify_signed(signed_data, signer_certificate)
    return Opened(
        payload=verified.payload,
        signer=verified.signer,
        signer_given=signer_certificate is not None,
        signing_time=verified.signing_time,
    )
