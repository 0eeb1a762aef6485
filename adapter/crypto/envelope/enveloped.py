"""CMS AuthEnvelopedData (RFC 5083) with AES-256-GCM (RFC 5084) and RSAES-OAEP key transport.

`cryptography` has no builder for it (its PKCS#7 envelope is AES-CBC with PKCS#1 v1.5), so
the structure is asn1crypto's and the cryptography is `cryptography`'s:

    ContentInfo  id-ct-authEnvelopedData
      AuthEnvelopedData  version 0
        recipientInfos   one KeyTransRecipientInfo, version 0: the register's certificate
                         by issuer and serial, RSAES-OAEP(SHA-256, MGF1-SHA-256) of the key
        authEncryptedContentInfo  id-data, AES-256-GCM(12-byte nonce, ICV 16), ciphertext
        mac              the 16-byte GCM tag

The content is the DER of a ContentInfo holding the SignedData, as `openssl cms -sign`
writes it and `openssl cms -encrypt` encrypts it as data (D-70). We write no authAttrs;
when an envelope has them they are the GCM's additional data (their DER as a SET OF) and
must name the content type, as RFC 5083 §2.1 says.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from adapter.crypto.envelope import algorithms as alg
from adapter.crypto.envelope.asn1 import (
    attribute,
    constant,
    der_framed,
    encoded,
    malformed_unless,
)
from adapter.crypto.envelope.keys import RecipientKey, certificate_label
from adapter.crypto.envelope.recipient import Recipient
from adapter.errors import (
    EnvelopeDecryptionError,
    MalformedEnvelopeError,
    NotForRecipientError,
)

__all__ = ["Decrypted", "decrypt", "encrypt"]

_KEY_BYTES = 32  # AES-256
_KTRI_VERSION = {"issuer_and_serial_number": "v0", "subject_key_identifier": "v2"}


@dataclass(frozen=True, slots=True)
class Decrypted:
    """The authenticated content of an envelope and the type it was declared as."""

    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class _Parsed:
    content_type: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes
    tag: bytes
    auth_attrs: core.Asn1Value | None


def encrypt(content: bytes, recipient: Recipient) -> cms.ContentInfo:
    """`content` (as id-data) in an AuthEnvelopedData to the checked `recipient`."""
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(alg.GCM_NONCE_BYTES)
    # The streaming form of the same AES-256-GCM gives the ciphertext and the tag apart:
    # AESGCM.encrypt appends the tag, and splitting it off copied the whole ciphertext.
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    ciphertext = encryptor.update(content) + encryptor.finalize()  # GCM: finalize gives b""
    tag = encryptor.tag
    transport = cms.KeyTransRecipientInfo(
        {
            "version": constant(cms.CMSVersion, "v0"),
            "rid": cms.RecipientIdentifier.load(_rid(recipient.certificate)),
            "key_encryption_algorithm": alg.oaep_sha256(),
            "encrypted_key": recipient.public_key.encrypt(key, _oaep()),
        }
    )
    content_info = cms.EncryptedContentInfo(
        {
            "content_type": constant(cms.ContentType, "data"),
            "content_encryption_algorithm": encoded(alg.aes256_gcm(nonce)),
            "encrypted_content": ciphertext,
        }
    )
    recipients = cms.RecipientInfos([cms.RecipientInfo({"ktri": encoded(transport)})])
    enveloped = cms.AuthEnvelopedData(
        {
            "version": constant(cms.CMSVersion, "v0"),
            "recipient_infos": encoded(recipients),
            "auth_encrypted_content_info": encoded(content_info),
            "mac": tag,
        }
    )
    kind = constant(cms.ContentType, "authenticated_enveloped_data")
    return cms.ContentInfo({"content_type": kind, "content": encoded(enveloped)})


def decrypt(envelope: bytes, key: RecipientKey) -> Decrypted:
    """The content of `envelope`, authenticated; nothing of it when it does not authenticate.

    MalformedEnvelopeError when it is not an AuthEnvelopedData of the algorithms accepted,
    NotForRecipientError when it is not addressed to `key`'s certificate,
    EnvelopeDecryptionError when the key does not unwrap or the GCM tag does not verify."""
    parsed = _parse(envelope, key.certificate)
    try:
        content_key = key.key.decrypt(parsed.wrapped_key, _oaep())
    except ValueError:
        msg = "The envelope does not decrypt: its content key does not unwrap (altered)."
        raise EnvelopeDecryptionError(msg) from None
    if len(content_key) != _KEY_BYTES:
        msg = f"The envelope's content key has {len(content_key)} bytes, not 32 (AES-256)."
        raise EnvelopeDecryptionError(msg)
    aad = None if parsed.auth_attrs is None else parsed.auth_attrs.untag().dump()
    try:
        content = AESGCM(content_key).decrypt(parsed.nonce, parsed.ciphertext + parsed.tag, aad)
    except InvalidTag:
        msg = "The envelope does not authenticate (AES-GCM tag): it was altered."
        raise EnvelopeDecryptionError(msg) from None
    if parsed.auth_attrs is not None:
        _check_auth_attrs(parsed.auth_attrs, parsed.content_type)
    return Decrypted(parsed.content_type, content)


def _parse(envelope: bytes, certificate: x509.Certificate) -> _Parsed:
    with malformed_unless("The envelope"):
        if not der_framed(envelope):
            msg = "The envelope is not DER: a length is indefinite or not in its fewest bytes."
            raise MalformedEnvelopeError(msg)
        info = cms.ContentInfo.load(envelope, strict=True)
        info.native  # noqa: B018  (every part parsed now, as its type: asn1crypto is lazy)
        kind = info["content_type"].native
        if kind != "authenticated_enveloped_data":
            msg = f"The envelope is CMS {kind}, not AuthEnvelopedData (RFC 5083)."
            raise MalformedEnvelopeError(msg)
        data = info["content"]
        if data["version"].native != "v0":
            msg = f"The AuthEnvelopedData has version {data['version'].native}, not 0."
            raise MalformedEnvelopeError(msg)
        transport = _addressed(data["recipient_infos"], certificate)
        problem = alg.oaep_problem(transport["key_encryption_algorithm"])
        if problem is not None:
            msg = f"The envelope uses {problem}."
            raise MalformedEnvelopeError(msg)
        content = data["auth_encrypted_content_info"]
        nonce = alg.gcm_nonce(content["content_encryption_algorithm"])
        if isinstance(nonce, str):
            msg = f"The envelope uses {nonce}."
            raise MalformedEnvelopeError(msg)
        ciphertext, tag = content["encrypted_content"].native, data["mac"].native
        if not isinstance(ciphertext, bytes) or len(tag) != alg.GCM_TAG_BYTES:
            msg = "The envelope has no encrypted content, or a MAC that is not 16 bytes."
            raise MalformedEnvelopeError(msg)
        auth_attrs = data["auth_attrs"]
        return _Parsed(
            content_type=content["content_type"].native,
            wrapped_key=transport["encrypted_key"].native,
            nonce=nonce,
            ciphertext=ciphertext,
            tag=tag,
            auth_attrs=None if isinstance(auth_attrs, core.Void) else auth_attrs,
        )


def _addressed(
    recipient_infos: cms.RecipientInfos, certificate: x509.Certificate
) -> cms.KeyTransRecipientInfo:
    """The KeyTransRecipientInfo for `certificate`; NotForRecipientError when none is."""
    issuer, serial = _issuer_serial(certificate)
    key_id = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER)).key_identifier
    for info in recipient_infos:
        if info.name != "ktri":
            continue
        rid = info.chosen["rid"]
        if info.chosen["version"].native != _KTRI_VERSION[rid.name]:  # RFC 5652 §6.2.1
            msg = (
                f"A recipient info has version {info.chosen['version'].native} for its {rid.name}."
            )
            raise MalformedEnvelopeError(msg)
        if rid.name == "issuer_and_serial_number":
            chosen = rid.chosen
            if (
                chosen["issuer"].dump() == issuer.dump()
                and chosen["serial_number"].native == serial
            ):
                return info.chosen
        elif key_id is not None and rid.chosen.native == key_id:
            return info.chosen
    msg = f"The envelope is not addressed to the certificate {certificate_label(certificate)}."
    raise NotForRecipientError(msg)


def _check_auth_attrs(auth_attrs: core.Asn1Value, content_type: str) -> None:
    with malformed_unless("The authenticated attributes"):
        declared = attribute(auth_attrs, "content_type")
        if declared is None or declared.native != content_type:
            msg = "The authenticated attributes do not name the content type (RFC 5083 §2.1)."
            raise MalformedEnvelopeError(msg)


@lru_cache(maxsize=8)
def _rid(certificate: x509.Certificate) -> bytes:
    """The DER of the recipient identifier (issuer and serial), built once per certificate."""
    issuer, serial = _issuer_serial(certificate)
    rid = cms.RecipientIdentifier(
        {"issuer_and_serial_number": {"issuer": issuer, "serial_number": serial}}
    )
    der: bytes = rid.dump()
    return der


def _issuer_serial(certificate: x509.Certificate) -> tuple[asn1_x509.Name, int]:
    parsed = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
    return parsed.issuer, parsed.serial_number


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
