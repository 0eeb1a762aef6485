"""CMS SignedData (RFC 5652 §5) around the payload: made, and verified.

One signer, the payload encapsulated (`id-data`, never detached), signed attributes
content-type, signing-time and message-digest, the signer's certificate carried along,
the signer named by issuer and serial number. What is signed is the DER of the signed
attributes as a SET OF; asn1crypto sorts a SET OF as DER wants, which is also how
OpenSSL encodes them again to check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from adapter.crypto.envelope import algorithms as alg
from adapter.crypto.envelope.asn1 import attribute, constant, encoded, malformed_unless
from adapter.crypto.envelope.keys import (
    MIN_RSA_BITS,
    Signer,
    certificate_label,
    load_certificate,
)
from adapter.errors import MalformedEnvelopeError, SignatureError

__all__ = ["Verified", "sign", "verify_signed"]

_SIGNER_INFO_VERSION = {"issuer_and_serial_number": "v1", "subject_key_identifier": "v3"}


@dataclass(frozen=True, slots=True)
class Verified:
    """The payload of a SignedData whose signature verified, and who signed it when."""

    payload: bytes
    signer: x509.Certificate
    signing_time: datetime | None


def sign(payload: bytes, signer: Signer, signing_time: datetime) -> cms.ContentInfo:
    """A ContentInfo holding the SignedData of `payload` by `signer` at `signing_time`."""
    signed = _attributes(payload, signing_time)  # the DER of the SET OF: what is signed
    if isinstance(signer.key, rsa.RSAPrivateKey):
        signature = signer.key.sign(signed, _pss(alg.PSS_SALT_BYTES), hashes.SHA256())
        algorithm = alg.pss_sha256()
    else:
        signature = signer.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        algorithm = alg.ecdsa_sha256()
    sid, certificates = _signer_parts(signer.certificate)
    signer_info = cms.SignerInfo(
        {
            "version": constant(cms.CMSVersion, "v1"),
            "sid": cms.SignerIdentifier.load(sid),
            "digest_algorithm": alg.sha256(),
            "signed_attrs": cms.CMSAttributes.load(signed),
            "signature_algorithm": algorithm,
            "signature": signature,
        }
    )
    data = constant(cms.ContentType, "data")
    signed_data = cms.SignedData(
        {
            "version": constant(cms.CMSVersion, "v1"),
            "digest_algorithms": encoded(cms.DigestAlgorithms([alg.sha256()])),
            "encap_content_info": encoded(
                cms.ContentInfo({"content_type": data, "content": payload})
            ),
            "certificates": cms.CertificateSet.load(certificates),
            "signer_infos": [encoded(signer_info)],
        }
    )
    kind = constant(cms.ContentType, "signed_data")
    return cms.ContentInfo({"content_type": kind, "content": encoded(signed_data)})


def _attributes(payload: bytes, signing_time: datetime) -> bytes:
    """The DER of the signed attributes as a SET OF (asn1crypto sorts it, as DER wants)."""
    digest = hashlib.sha256(payload).digest()
    attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute.load(_content_type_data()),
            encoded(cms.CMSAttribute({"type": "signing_time", "values": [_time(signing_time)]})),
            encoded(cms.CMSAttribute({"type": "message_digest", "values": [digest]})),
        ]
    )
    der: bytes = attributes.dump()
    return der


# What is the same in every envelope of one signer is built once (asn1crypto builds
# slowly, and a batch of one report should cost little more than its signature).


@cache
def _content_type_data() -> bytes:
    der: bytes = cms.CMSAttribute({"type": "content_type", "values": ["data"]}).dump()
    return der


@lru_cache(maxsize=8)
def _signer_parts(certificate: x509.Certificate) -> tuple[bytes, bytes]:
    """The DER of the signer's identifier (issuer and serial) and of the certificate set."""
    parsed = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
    sid = cms.SignerIdentifier(
        {
            "issuer_and_serial_number": {
                "issuer": parsed.issuer,
                "serial_number": parsed.serial_number,
            }
        }
    )
    return sid.dump(), cms.CertificateSet([parsed]).dump()


def verify_signed(
    signed_data: cms.SignedData, signer_certificate: x509.Certificate | None
) -> Verified:
    """The payload of `signed_data` once its one signature verifies: against
    `signer_certificate` when given, else against the certificate it carries.

    MalformedEnvelopeError when it is not a SignedData we read; SignatureError when the
    signature does not verify, is by another signer, or uses an algorithm not accepted."""
    with malformed_unless("The signed data"):
        info = _one_signer(signed_data)
        payload = _content(signed_data)
        signed = _signed_attributes(info, payload)
        certificate = signer_certificate or _carried(signed_data, info)
        if not _identifies(info["sid"], certificate):
            label = certificate_label(certificate)
            msg = f"The envelope was signed by another signer than {label}."
            raise SignatureError(msg)
        _check_signature(info, signed.untag().dump(), certificate)
        when = attribute(signed, "signing_time")
        signing_time = None if when is None else when.native
    return Verified(payload, certificate, signing_time)


def _one_signer(signed_data: cms.SignedData) -> cms.SignerInfo:
    """The one SignerInfo, once versions and digest algorithms agree (RFC 5652 §5)."""
    if signed_data["version"].native not in {"v1", "v3"}:
        msg = f"The SignedData has version {signed_data['version'].native}, not 1 or 3."
        raise MalformedEnvelopeError(msg)
    infos = signed_data["signer_infos"]
    if len(infos) != 1:
        msg = f"The signed data has {len(infos)} signers; exactly one is read."
        raise MalformedEnvelopeError(msg)
    info = infos[0]
    if info["version"].native != _SIGNER_INFO_VERSION[info["sid"].name]:
        msg = f"The signer info has version {info['version'].native} for its {info['sid'].name}."
        raise MalformedEnvelopeError(msg)
    listed = {digest["algorithm"].native for digest in signed_data["digest_algorithms"]}
    if info["digest_algorithm"]["algorithm"].native not in listed:
        msg = "The signer's digest algorithm is not among the SignedData's."
        raise MalformedEnvelopeError(msg)
    return info


def _content(signed_data: cms.SignedData) -> bytes:
    encap = signed_data["encap_content_info"]
    if encap["content_type"].native != "data":
        msg = f"The signed data holds {encap['content_type'].native}, not data."
        raise MalformedEnvelopeError(msg)
    if isinstance(encap["content"], core.Void):
        msg = "The signed data holds no content (a detached signature); nothing to open."
        raise MalformedEnvelopeError(msg)
    payload = encap["content"].native
    if not isinstance(payload, bytes):
        msg = "The signed content is not an OCTET STRING."
        raise MalformedEnvelopeError(msg)
    return payload


def _signed_attributes(info: cms.SignerInfo, payload: bytes) -> cms.CMSAttributes:
    """The signed attributes, once they name data and the digest of the payload."""
    problem = alg.sha256_problem(info["digest_algorithm"])
    if problem is not None:
        msg = f"The signature uses {problem}."
        raise SignatureError(msg)
    signed = info["signed_attrs"]
    absent = isinstance(signed, core.Void)
    content_type = None if absent else attribute(signed, "content_type")
    digest = None if absent else attribute(signed, "message_digest")
    if content_type is None or digest is None:
        msg = "The signature has no signed content-type and message-digest attributes."
        raise SignatureError(msg)
    if content_type.native != "data":
        msg = "The signed content-type is not data."
        raise SignatureError(msg)
    if digest.native != hashlib.sha256(payload).digest():
        msg = "The payload does not match the signed message digest: it was changed."
        raise SignatureError(msg)
    return signed


def _carried(signed_data: cms.SignedData, info: cms.SignerInfo) -> x509.Certificate:
    for choice in signed_data["certificates"] or []:
        if choice.name != "certificate":
            continue
        certificate = load_certificate(choice.chosen.dump(), what="the carried certificate")
        if _identifies(info["sid"], certificate):
            return certificate
    msg = "The signed data carries no certificate of its signer: give the signer certificate."
    raise SignatureError(msg)


def _identifies(sid: cms.SignerIdentifier, certificate: x509.Certificate) -> bool:
    parsed = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
    if sid.name == "issuer_and_serial_number":
        chosen = sid.chosen
        return bool(
            chosen["issuer"].dump() == parsed.issuer.dump()
            and chosen["serial_number"].native == parsed.serial_number
        )
    key_id = parsed.key_identifier
    return key_id is not None and bool(sid.chosen.native == key_id)


def _check_signature(info: cms.SignerInfo, signed: bytes, certificate: x509.Certificate) -> None:
    key = certificate.public_key()
    algorithm = info["signature_algorithm"]
    name = algorithm["algorithm"].native
    signature: bytes = info["signature"].native
    label = certificate_label(certificate)
    try:
        if name == "rsassa_pss" and isinstance(key, rsa.RSAPublicKey):
            if key.key_size < MIN_RSA_BITS:
                msg = f"The signer's RSA key has {key.key_size} bits (at least {MIN_RSA_BITS})."
                raise SignatureError(msg)
            salt = alg.pss_salt_length(algorithm)
            if isinstance(salt, str):
                msg = f"The signature uses {salt}."
                raise SignatureError(msg)
            key.verify(signature, signed, _pss(salt), hashes.SHA256())
        elif name in {"sha256_ecdsa", "ecdsa"} and isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, ec.SECP256R1):
                msg = f"The signer's EC key is on {key.curve.name}, not P-256."
                raise SignatureError(msg)
            key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        else:
            msg = (
                f"The signature algorithm {name} with the key of {label} is not accepted "
                "(RSASSA-PSS with RSA ≥ 3000 bits, or ECDSA P-256, each with SHA-256)."
            )
            raise SignatureError(msg)
    except InvalidSignature:
        msg = f"The signature does not verify against {label}."
        raise SignatureError(msg) from None


def _pss(salt: int) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt)


def _time(moment: datetime) -> cms.Time:
    """signing-time as RFC 5652 §11.3 asks: UTCTime from 1950 to 2049, else GeneralizedTime."""
    whole = moment.replace(microsecond=0)
    if 1950 <= whole.year <= 2049:
        return cms.Time({"utc_time": whole})
    return cms.Time({"general_time": whole})
