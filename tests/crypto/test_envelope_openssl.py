"""Interop with an independent implementation: the installed `openssl cms` (OpenSSL 3.0).

Our envelopes decrypt with `openssl cms -decrypt` and the SignedData inside verifies with
`openssl cms -verify`; envelopes that openssl signs (RSASSA-PSS, ECDSA) and encrypts
(AuthEnvelopedData, AES-256-GCM, RSAES-OAEP SHA-256) open with `substreg envelope open`
and give the payload back byte for byte. What openssl makes outside the BSI choices
(OAEP with SHA-1, AES-CBC EnvelopedData, PKCS#1 v1.5 signatures) is refused. These tests
need the `openssl` command; they fail, not skip, without it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from adapter.domain.batch import batch_from_bytes
from tests.crypto.envelope_files import (
    Files,
    batch_file,
    one_line,
    substreg,
    substreg_child,
    write_files,
)
from tests.crypto.pki import Pki

# Every byte value, line ends of both kinds, and a batch: what -binary must keep as it is.
PAYLOADS = {
    "binary": bytes(range(256)) * 4 + b"\r\n\n\r",
    "text": "Anmeldung HAMÜF284 ü\r\n".encode() * 50,
}
OAEP_SHA256 = ("-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Files:
    """The PKI as PEM files (module scope: written once)."""
    return write_files(tmp_path_factory.mktemp("pki"), pki)


def openssl(*args: str) -> subprocess.CompletedProcess[bytes]:
    """`openssl ARGS`; fails the test with openssl's message when it exits non-zero."""
    command = shutil.which("openssl")
    assert command, "these tests need the openssl command (OpenSSL 3.0)"
    done = subprocess.run([command, *args], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done


def openssl_envelope(
    files: Files,
    folder: Path,
    payload: bytes,
    signer: str = "signer",
    *,
    cipher: str = "-aes-256-gcm",
    keyopts: tuple[str, ...] = OAEP_SHA256,
) -> Path:
    """`payload` signed by openssl (RSASSA-PSS for RSA) and encrypted by openssl to the
    register, with the commands of issue 12 (`cipher` and `keyopts` for the encryption)."""
    source, signed, envelope = folder / "payload", folder / "signed.der", folder / "env.der"
    source.write_bytes(payload)
    pss = ("-keyopt", "rsa_padding_mode:pss") if signer != "ec_signer" else ()
    openssl(
        "cms", "-sign", "-binary", "-nodetach", "-md", "sha256",
        "-signer", files.cert(signer), "-inkey", files.key(signer), *pss,
        "-in", str(source), "-outform", "DER", "-out", str(signed),
    )  # fmt: skip
    openssl(
        "cms", "-encrypt", "-binary", cipher, "-recip", files.cert("register"), *keyopts,
        "-in", str(signed), "-inform", "DER", "-outform", "DER", "-out", str(envelope),
    )  # fmt: skip
    return envelope


def test_openssl_is_3(files: Files) -> None:
    """The independent implementation is OpenSSL 3 (AuthEnvelopedData needs 3.0)."""
    assert openssl("version").stdout.startswith(b"OpenSSL 3.")


@pytest.mark.parametrize("signer", ["signer", "ec_signer"], ids=["rsassa-pss", "ecdsa-p256"])
def test_our_envelope_opens_with_openssl(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str], signer: str
) -> None:
    """`substreg envelope seal`, then `openssl cms -decrypt` and `openssl cms -verify` with
    the practice's self-signed certificate as the trust anchor: the batch, byte for byte."""
    source, payload = batch_file(tmp_path)
    envelope = tmp_path / "batch.p7m"
    sealed = substreg(
        capsys, "envelope", "seal", "--recipient-cert", files.cert("register"),
        "--signer-key", files.key(signer), "--signer-cert", files.cert(signer),
        "--config", files.config, str(source), str(envelope),
    )  # fmt: skip
    assert sealed.status == 0, sealed.err
    signed, back = tmp_path / "signed.der", tmp_path / "back.json"
    openssl(
        "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(envelope),
        "-recip", files.cert("register"), "-inkey", files.key("register"), "-out", str(signed),
    )  # fmt: skip
    verified = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signed),
        "-CAfile", files.cert(signer), "-out", str(back),
    )  # fmt: skip
    assert b"Verification successful" in verified.stderr
    assert back.read_bytes() == payload
    assert batch_from_bytes(back.read_bytes()).batch_id == "b-2026-01-15-1"


def test_openssl_refuses_our_signature_under_another_trust_anchor(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: openssl's verify does fail when the anchor is not the signer's."""
    source, _ = batch_file(tmp_path)
    envelope, signed = tmp_path / "batch.p7m", tmp_path / "signed.der"
    assert substreg(
        capsys, "envelope", "seal", "--recipient-cert", files.cert("register"),
        "--signer-key", files.key("signer"), "--signer-cert", files.cert("signer"),
        "--config", files.config, str(source), str(envelope),
    ).status == 0  # fmt: skip
    openssl(
        "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(envelope),
        "-recip", files.cert("register"), "-inkey", files.key("register"), "-out", str(signed),
    )  # fmt: skip
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signed),
         "-CAfile", files.cert("other_signer"), "-out", str(tmp_path / "x")],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0


@pytest.mark.parametrize("signer", ["signer", "ec_signer"], ids=["rsassa-pss", "ecdsa-p256"])
@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_an_openssl_envelope_opens_with_substreg(
    files: Files, tmp_path: Path, signer: str, kind: str
) -> None:
    """openssl signs and encrypts; `substreg envelope open` (a child process, as installed)
    verifies against the signer's certificate and writes the payload byte for byte."""
    envelope = openssl_envelope(files, tmp_path, PAYLOADS[kind], signer)
    out = tmp_path / "opened"
    done = substreg_child(
        "envelope", "open", "--key", files.key("register"), "--cert", files.cert("register"),
        "--signer-cert", files.cert(signer), str(envelope), str(out),
    )  # fmt: skip
    assert done.status == 0, done.err
    assert done.err == ""
    assert out.read_bytes() == PAYLOADS[kind]
    assert "verified against the signer certificate given" in done.out


def test_an_openssl_envelope_of_a_batch_opens_and_is_the_batch(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch sealed by openssl opens with substreg as the same canonical batch."""
    _, payload = batch_file(tmp_path)
    envelope = openssl_envelope(files, tmp_path, payload)
    out = tmp_path / "opened.json"
    opened = substreg(
        capsys, "envelope", "open", "--key", files.key("register"),
        "--cert", files.cert("register"), "--signer-cert", files.cert("signer"),
        str(envelope), str(out),
    )  # fmt: skip
    assert opened.status == 0, opened.err
    assert out.read_bytes() == payload


def test_an_openssl_envelope_by_another_signer_exits_1(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signed by a stranger, opened with the practice's certificate: exit 1, one line, and
    no payload written."""
    envelope = openssl_envelope(files, tmp_path, PAYLOADS["text"], "other_signer")
    out = tmp_path / "opened"
    opened = substreg(
        capsys, "envelope", "open", "--key", files.key("register"),
        "--cert", files.cert("register"), "--signer-cert", files.cert("signer"),
        str(envelope), str(out),
    )  # fmt: skip
    assert opened.status == 1
    assert "signed by another signer" in one_line(opened.err)
    assert not out.exists()


def test_a_changed_byte_in_an_openssl_envelope_is_refused(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """openssl's envelope with one byte changed in its ciphertext: exit 1, nothing written."""
    envelope = openssl_envelope(files, tmp_path, PAYLOADS["text"])
    data = bytearray(envelope.read_bytes())
    data[-100] ^= 0x01  # inside the encrypted content
    envelope.write_bytes(bytes(data))
    out = tmp_path / "opened"
    opened = substreg(
        capsys, "envelope", "open", "--key", files.key("register"),
        "--cert", files.cert("register"), "--signer-cert", files.cert("signer"),
        str(envelope), str(out),
    )  # fmt: skip
    assert opened.status == 1
    assert "does not authenticate" in one_line(opened.err)
    assert not out.exists()


@pytest.mark.parametrize(
    ("cipher", "keyopts", "words"),
    [
        ("-aes-256-gcm", ("-keyopt", "rsa_padding_mode:oaep"), "RSAES-OAEP with the digest sha1"),
        ("-aes-256-cbc", OAEP_SHA256, "not AuthEnvelopedData"),
    ],
    ids=["oaep-sha1", "aes-cbc"],
)
def test_openssl_envelopes_outside_the_bsi_choices_are_refused(
    files: Files, tmp_path: Path, cipher: str, keyopts: tuple[str, ...], words: str
) -> None:
    """OAEP with SHA-1 (openssl's default digest) or AES-CBC EnvelopedData: refused, exit 2."""
    envelope = openssl_envelope(files, tmp_path, PAYLOADS["text"], cipher=cipher, keyopts=keyopts)
    opened = substreg_child(
        "envelope", "open", "--key", files.key("register"),
        "--cert", files.cert("register"), str(envelope), str(tmp_path / "opened"),
    )  # fmt: skip
    assert opened.status == 2
    assert words in one_line(opened.err)


def test_an_openssl_pkcs1_v15_signature_is_refused(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SignedData signed with RSA PKCS#1 v1.5 (openssl without the PSS option) does not
    pass as verified: exit 1."""
    source, signed, envelope = tmp_path / "p", tmp_path / "s.der", tmp_path / "e.der"
    source.write_bytes(PAYLOADS["text"])
    openssl(
        "cms", "-sign", "-binary", "-nodetach", "-md", "sha256", "-signer", files.cert("signer"),
        "-inkey", files.key("signer"), "-in", str(source), "-outform", "DER", "-out", str(signed),
    )  # fmt: skip
    openssl(
        "cms", "-encrypt", "-binary", "-aes-256-gcm", "-recip", files.cert("register"),
        *OAEP_SHA256, "-in", str(signed), "-inform", "DER", "-outform", "DER",
        "-out", str(envelope),
    )  # fmt: skip
    opened = substreg(
        capsys, "envelope", "open", "--key", files.key("register"),
        "--cert", files.cert("register"), "--signer-cert", files.cert("signer"),
        str(envelope), str(tmp_path / "opened"),
    )  # fmt: skip
    assert opened.status == 1
    assert "rsassa_pkcs1v15" in one_line(opened.err)
