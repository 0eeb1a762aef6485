"""The submission envelope (adapter/crypto/envelope): sealed, opened, and refused.

Round trips with an RSASSA-PSS and an ECDSA P-256 signer, the structure written (read back
with asn1crypto: AuthEnvelopedData, OAEP SHA-256, AES-256-GCM with a 12-byte nonce and a
16-byte ICV), the wrong recipient, a stranger's signature, keys below BSI TR-02102-1.
"""

from __future__ import annotations

import os

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7

from adapter.crypto.envelope import (
    GCM_NONCE_BYTES,
    GCM_TAG_BYTES,
    Recipient,
    certificate_fingerprint,
    check_recipient,
    load_certificate,
    load_private_key,
    open_envelope,
    recipient_key,
    seal,
    signer,
)
from adapter.crypto.envelope.algorithms import GcmParameters
from adapter.crypto.envelope.enveloped import encrypt
from adapter.crypto.envelope.keys import RecipientKey, Signer
from adapter.crypto.envelope.signed import sign
from adapter.errors import (
    DecryptionError,
    EnvelopeDecryptionError,
    EnvelopeError,
    KeyMaterialError,
    MalformedEnvelopeError,
    NotForRecipientError,
    SignatureError,
)
from tests.crypto.pki import NOW, SIGNING, Party, Pki, certificate

PAYLOAD = '{"batch_id":"b-1","reports":[{"patient_code":"HAMÜF284"}]}'.encode()


def recipient(party: Party) -> Recipient:
    """The party's certificate, checked and pinned."""
    fingerprint = certificate_fingerprint(party.cert)
    return check_recipient(party.cert, now=NOW, pinned_sha256=fingerprint)


def sealed(pki: Pki, payload: bytes = PAYLOAD, by: Party | None = None) -> bytes:
    """`payload` sealed by the practice (or `by`) to the register."""
    party = by or pki.signer
    return seal(
        payload,
        signer=signer(party.key, party.cert),
        recipient=recipient(pki.register),
        signing_time=NOW,
    )


def register_key(pki: Pki) -> RecipientKey:
    """The register's key pair, for opening."""
    return recipient_key(pki.register.key, pki.register.cert)


@pytest.mark.parametrize("which", ["signer", "ec_signer"], ids=["rsassa-pss", "ecdsa-p256"])
def test_a_sealed_payload_opens_byte_for_byte(pki: Pki, which: str) -> None:
    """Sealed by the practice, opened by the register with the signer's certificate: the
    payload comes back exactly, with who signed it and when."""
    party: Party = getattr(pki, which)
    opened = open_envelope(
        sealed(pki, by=party), key=register_key(pki), signer_certificate=party.cert
    )
    assert opened.payload == PAYLOAD
    assert opened.signer == party.cert
    assert opened.signer_given is True
    assert opened.signing_time == NOW


@pytest.mark.parametrize(
    "payload", [b"", b"\x00\xff" * 3000, os.urandom(70_000)], ids=["empty", "binary", "70k"]
)
def test_any_bytes_come_back_exactly(pki: Pki, payload: bytes) -> None:
    """The envelope carries bytes, not text: empty, binary and long payloads come back."""
    opened = open_envelope(sealed(pki, payload), key=register_key(pki))
    assert opened.payload == payload


def test_without_a_signer_certificate_the_carried_one_is_checked(pki: Pki) -> None:
    """Without a signer certificate the signature is checked against the one it carries,
    and the result says so (integrity, not who signed)."""
    opened = open_envelope(sealed(pki), key=register_key(pki))
    assert opened.payload == PAYLOAD
    assert opened.signer == pki.signer.cert
    assert opened.signer_given is False


def test_the_structure_is_auth_enveloped_data_with_the_bsi_algorithms(pki: Pki) -> None:
    """Read back independently: AuthEnvelopedData v0, one KeyTransRecipientInfo naming the
    register's certificate with RSAES-OAEP SHA-256/MGF1-SHA-256, AES-256-GCM with a
    12-byte nonce and a 16-byte MAC, the content a SignedData with RSASSA-PSS SHA-256."""
    info = cms.ContentInfo.load(sealed(pki))
    assert info["content_type"].native == "authenticated_enveloped_data"
    data = info["content"]
    assert data["version"].native == "v0"
    (only,) = data["recipient_infos"]
    transport = only.chosen
    assert only.name == "ktri"
    assert transport["rid"].chosen["serial_number"].native == pki.register.cert.serial_number
    oaep = transport["key_encryption_algorithm"]
    assert oaep["algorithm"].native == "rsaes_oaep"
    assert oaep["parameters"]["hash_algorithm"]["algorithm"].native == "sha256"
    mgf = oaep["parameters"]["mask_gen_algorithm"]
    assert (mgf["algorithm"].native, mgf["parameters"]["algorithm"].native) == ("mgf1", "sha256")
    content = data["auth_encrypted_content_info"]
    algorithm = content["content_encryption_algorithm"]
    assert algorithm["algorithm"].native == "aes256_gcm"
    params = algorithm["parameters"].parse(GcmParameters)
    assert len(params["aes_nonce"].native) == GCM_NONCE_BYTES
    assert params["aes_icvlen"].native == GCM_TAG_BYTES
    assert len(data["mac"].native) == GCM_TAG_BYTES
    assert isinstance(data["auth_attrs"], type(data["unauth_attrs"]))  # both absent
    inner = sign(PAYLOAD, signer(pki.signer.key, pki.signer.cert), NOW)["content"]
    (signer_info,) = inner["signer_infos"]
    assert signer_info["signature_algorithm"]["algorithm"].native == "rsassa_pss"
    pss = signer_info["signature_algorithm"]["parameters"]
    assert pss["hash_algorithm"]["algorithm"].native == "sha256"
    assert pss["salt_length"].native == 32
    names = {a["type"].native for a in signer_info["signed_attrs"]}
    assert names == {"content_type", "message_digest", "signing_time"}


def test_two_seals_of_one_payload_differ(pki: Pki) -> None:
    """Every envelope has a fresh content key and nonce: the same payload twice gives two
    different ciphertexts."""
    assert sealed(pki) != sealed(pki)


def test_an_envelope_for_another_register_is_not_for_this_key(pki: Pki) -> None:
    """An envelope sealed to another certificate is refused by name, not tried."""
    envelope = seal(
        PAYLOAD,
        signer=signer(pki.signer.key, pki.signer.cert),
        recipient=recipient(pki.other_register),
        signing_time=NOW,
    )
    with pytest.raises(NotForRecipientError, match="not addressed to the certificate"):
        open_envelope(envelope, key=register_key(pki))


def test_the_wrong_key_under_the_right_certificate_is_refused_at_once(pki: Pki) -> None:
    """A private key that is not the certificate's is refused before anything is tried."""
    with pytest.raises(KeyMaterialError, match="not the key of the certificate"):
        recipient_key(pki.other_register.key, pki.register.cert)


def test_a_key_that_unwraps_nothing_is_a_decryption_error(pki: Pki) -> None:
    """An envelope whose recipient names our certificate but whose key was wrapped for
    another key does not decrypt (exit 1), and is also a DecryptionError."""
    other = recipient(pki.other_register)
    forged = Recipient(pki.register.cert, other.public_key, other.fingerprint)
    envelope = encrypt(sign(PAYLOAD, signer(pki.signer.key, pki.signer.cert), NOW).dump(), forged)
    with pytest.raises(EnvelopeDecryptionError, match="does not unwrap") as caught:
        open_envelope(envelope.dump(), key=register_key(pki))
    assert isinstance(caught.value, DecryptionError)
    assert caught.value.exit_status == 1


def test_a_strangers_signature_is_refused_when_the_signer_is_given(pki: Pki) -> None:
    """Anyone can encrypt to the register: an envelope signed by another key does not
    verify against the practice's certificate, and gives out no payload."""
    envelope = sealed(pki, by=pki.other_signer)
    with pytest.raises(SignatureError, match="another signer") as caught:
        open_envelope(envelope, key=register_key(pki), signer_certificate=pki.signer.cert)
    assert caught.value.exit_status == 1


def test_a_stranger_with_the_practices_certificate_does_not_verify(pki: Pki) -> None:
    """A SignedData that names the practice's certificate but was signed by another key
    does not verify."""
    impostor = Signer(pki.other_signer.key, pki.signer.cert)  # unchecked, as a forger has it
    content = sign(PAYLOAD, impostor, NOW).dump()
    envelope = encrypt(content, recipient(pki.register)).dump()
    with pytest.raises(SignatureError, match="does not verify against"):
        open_envelope(envelope, key=register_key(pki), signer_certificate=pki.signer.cert)
    with pytest.raises(SignatureError, match="does not verify against"):
        open_envelope(envelope, key=register_key(pki))


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("small_signer", "RSA with 2048 bits"),
        ("expired_signer", "is not valid at"),
    ],
    ids=["rsa-2048", "expired"],
)
def test_a_signer_below_the_rules_does_not_seal(pki: Pki, which: str, message: str) -> None:
    """RSA under 3000 bits, or a certificate no longer valid, seals nothing."""
    key = pki.small.key if which == "small_signer" else pki.signer.key
    with pytest.raises(KeyMaterialError, match=message):
        seal(
            PAYLOAD,
            signer=signer(key, pki.extra[which]),
            recipient=recipient(pki.register),
            signing_time=NOW,
        )


def test_an_ec_signer_off_p256_is_refused() -> None:
    """ECDSA only on P-256."""
    key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(KeyMaterialError, match="only P-256"):
        signer(key, certificate("P-384", key, usage=SIGNING, ca=True))


def test_an_encrypted_key_needs_its_passphrase(pki: Pki) -> None:
    """A PEM key under a passphrase loads with it, and is refused in one sentence without
    it or with a wrong one."""
    pem = pki.signer.key_pem(b"correct horse")
    key = load_private_key(pem, passphrase=b"correct horse", what="signer-key")
    assert signer(key, pki.signer.cert).certificate == pki.signer.cert
    with pytest.raises(KeyMaterialError, match="signer-key: the key is encrypted"):
        load_private_key(pem, what="signer-key")
    with pytest.raises(KeyMaterialError, match="passphrase is wrong"):
        load_private_key(pem, passphrase=b"wrong", what="signer-key")


def test_certificates_load_from_pem_and_der_and_nothing_else(pki: Pki) -> None:
    """PEM and DER are read; anything else is a one-line refusal naming the file."""
    der = pki.register.cert.public_bytes(serialization.Encoding.DER)
    assert load_certificate(der) == load_certificate(pki.register.cert_pem())
    with pytest.raises(KeyMaterialError, match="C-pem: not an X"):
        load_certificate(b"hello", what="C-pem")


@pytest.mark.parametrize(
    "data",
    [b"", b"not CMS at all", bytes.fromhex("3003020100"), bytes.fromhex("30800000")],
    ids=["empty", "text", "a-sequence", "indefinite"],
)
def test_what_is_not_cms_is_malformed(pki: Pki, data: bytes) -> None:
    """Bytes that are no CMS ContentInfo are refused as malformed (exit 2), in a sentence
    that names no Python exception class."""
    with pytest.raises(MalformedEnvelopeError) as caught:
        open_envelope(data, key=register_key(pki))
    assert caught.value.exit_status == 2
    message = str(caught.value)
    assert "Error" not in message and "(" not in message and message.endswith(".")


def test_a_truncated_or_extended_envelope_is_malformed(pki: Pki) -> None:
    """A byte missing at the end, or one too many, is refused."""
    envelope = sealed(pki)
    for changed in (envelope[:-1], envelope + b"\x00"):
        with pytest.raises(MalformedEnvelopeError):
            open_envelope(changed, key=register_key(pki))


def test_cryptographys_cbc_envelope_is_refused(pki: Pki) -> None:
    """CMS EnvelopedData (AES-CBC, PKCS#1 v1.5: what cryptography builds) is not accepted."""
    envelope = (
        pkcs7.PKCS7EnvelopeBuilder()
        .set_data(PAYLOAD)
        .add_recipient(pki.register.cert)
        .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    with pytest.raises(MalformedEnvelopeError, match="not AuthEnvelopedData"):
        open_envelope(envelope, key=register_key(pki))


def test_a_changed_payload_under_a_valid_encryption_is_refused(pki: Pki) -> None:
    """Encryption proves nothing about origin: a SignedData whose content was changed and
    then encrypted anew to the register fails its message digest."""
    content = bytearray(sign(PAYLOAD, signer(pki.signer.key, pki.signer.cert), NOW).dump())
    at = bytes(content).index(PAYLOAD)
    content[at + 2] ^= 0x01
    envelope = encrypt(bytes(content), recipient(pki.register)).dump()
    with pytest.raises(SignatureError, match="message digest"):
        open_envelope(envelope, key=register_key(pki), signer_certificate=pki.signer.cert)


def test_every_error_is_an_envelope_error() -> None:
    """One branch of the tree: a caller catches EnvelopeError for all of them."""
    for kind in (
        KeyMaterialError,
        MalformedEnvelopeError,
        NotForRecipientError,
        EnvelopeDecryptionError,
        SignatureError,
    ):
        assert issubclass(kind, EnvelopeError)
