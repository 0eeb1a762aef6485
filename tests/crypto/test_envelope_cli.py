"""`substreg envelope seal|open` at the command line: exit statuses and one-line messages.

0: sealed or opened; 1: the envelope was read and does not authenticate or verify; 2: what
a person can fix (a missing file, a key that is not one, a batch that is not one, not CMS,
not for this certificate, the register's certificate refused). Nothing is written when a
command refuses; what is written is the owner's only (mode 0600).
"""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest

import adapter.cli.envelope
from adapter.domain.batch import batch_from_bytes
from tests.crypto.envelope_files import Files, Run, batch_file, one_line, substreg, write_files
from tests.crypto.pki import NOW, Pki


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Files:
    """The PKI as PEM files and a practice.toml pinning the register (written once)."""
    return write_files(tmp_path_factory.mktemp("pki"), pki)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands read the clock once; here it says NOW."""
    monkeypatch.setattr(adapter.cli.envelope, "clock", lambda: NOW)
    monkeypatch.delenv("SUBSTREG_KEY_PASSPHRASE", raising=False)


def seal(
    capsys: pytest.CaptureFixture[str], files: Files, source: Path, out: Path, *more: str
) -> Run:
    """`envelope seal` by the practice to the register's certificate, `more` options last."""
    options = {
        "--recipient-cert": files.cert("register"),
        "--signer-key": files.key("signer"),
        "--signer-cert": files.cert("signer"),
        "--config": files.config,
    }
    for name, value in zip(more[::2], more[1::2], strict=True):
        options[name] = value
    argv = [part for pair in options.items() for part in pair if pair[1] != "-"]
    return substreg(capsys, "envelope", "seal", *argv, str(source), str(out))


def open_(
    capsys: pytest.CaptureFixture[str], files: Files, source: Path, out: Path, *more: str
) -> Run:
    """`envelope open` with the register's key, `more` options added."""
    return substreg(
        capsys, "envelope", "open", "--key", files.key("register"),
        "--cert", files.cert("register"), *more, str(source), str(out),
    )  # fmt: skip


def refused(run: Run, status: int = 2) -> str:
    assert run.status == status, (run.out, run.err)
    assert run.out == ""
    return one_line(run.err)


def test_seal_then_open_gives_the_batch_back(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sealed and opened at the command line: the batch byte for byte, both files 0600, one
    line of output each naming what was done (never a code)."""
    source, payload = batch_file(tmp_path)
    envelope, opened = tmp_path / "b.p7m", tmp_path / "b.json"
    sealed = seal(capsys, files, source, envelope)
    assert sealed.status == 0, sealed.err
    assert sealed.err == ""
    assert sealed.out.startswith("Sealed batch b-2026-01-15-1 (2 report(s)) for CN=")
    assert "HAMÜF" not in sealed.out
    done = open_(capsys, files, envelope, opened, "--signer-cert", files.cert("signer"))
    assert done.status == 0, done.err
    assert opened.read_bytes() == payload
    assert "verified against the signer certificate given" in done.out
    assert "2026-01-15T10:00:00+00:00" in done.out
    for path in (envelope, opened):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_open_without_a_signer_certificate_says_what_it_proved(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --signer-cert the carried certificate is checked, and the output says so."""
    source, payload = batch_file(tmp_path)
    envelope, opened = tmp_path / "b.p7m", tmp_path / "b.json"
    assert seal(capsys, files, source, envelope).status == 0
    done = open_(capsys, files, envelope, opened)
    assert done.status == 0, done.err
    assert opened.read_bytes() == payload
    assert "give --signer-cert to prove who signed" in done.out


def test_a_non_canonical_batch_is_sealed_in_its_canonical_form(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch written with spaces and another key order is sealed as its canonical JSON."""
    _, payload = batch_file(tmp_path)
    pretty = tmp_path / "pretty.json"
    reordered = dict(reversed(json.loads(payload).items()))
    pretty.write_text(json.dumps(reordered, indent=2, ensure_ascii=False), encoding="utf-8")
    assert pretty.read_bytes() != payload
    envelope, opened = tmp_path / "b.p7m", tmp_path / "b.json"
    assert seal(capsys, files, pretty, envelope).status == 0
    assert open_(capsys, files, envelope, opened).status == 0
    assert opened.read_bytes() == payload
    assert batch_from_bytes(opened.read_bytes()).reports[0].patient_code == "HAMÜF280"


@pytest.mark.parametrize(
    ("more", "words"),
    [
        (("--config", "-"), "no SHA-256 fingerprint of the register's certificate is pinned"),
        (("--recipient-cert", "other_register"), "is not the pinned one"),
        (("--recipient-cert", "missing"), "missing.pem: no such file"),
        (("--signer-key", "missing"), "missing.key: no such file"),
        (("--signer-key", "register"), "signer key: not the key of the certificate"),
        (("--signer-cert", "expired_signer"), "is not valid at 2026-01-15T10:00:00+00:00"),
    ],
    ids=["no-pin", "unpinned", "no-recipient-cert", "no-signer-key", "key-not-cert", "expired"],
)
def test_seal_refuses_in_one_line_and_writes_nothing(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str], more: tuple[str, str],
    words: str,
) -> None:  # fmt: skip
    """Each refusal of `seal`: exit 2, one line naming what is wrong, no OUT file."""
    name, value = more
    if name != "--config":
        value = files.key(value) if name == "--signer-key" else files.cert(value)
    source, _ = batch_file(tmp_path)
    envelope = tmp_path / "b.p7m"
    line = refused(seal(capsys, files, source, envelope, name, value))
    assert words in line
    assert not envelope.exists()


def test_seal_refuses_an_expired_register_certificate(
    files: Files,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The clock of the machine decides: the pinned certificate a day after it expired."""
    source, _ = batch_file(tmp_path)
    envelope = tmp_path / "b.p7m"
    monkeypatch.setattr(adapter.cli.envelope, "clock", lambda: NOW + timedelta(days=365 * 15))
    line = refused(seal(capsys, files, source, envelope))
    assert "Register certificate refused: the certificate CN=Substitutionsregister" in line
    assert "expired on 2040-01-01" in line
    assert not envelope.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not json", "not a batch: not JSON"),
        (b"[]", "not a batch: a batch is one JSON object"),
        (b'{"format": "x"}', "not a batch: a batch is one JSON object"),
    ],
    ids=["text", "list", "fields"],
)
def test_seal_refuses_what_is_not_a_batch(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: str
) -> None:
    """IN must be a batch: exit 2 with the file named."""
    source = tmp_path / "in.json"
    source.write_bytes(content)
    line = refused(seal(capsys, files, source, tmp_path / "b.p7m"))
    assert line.startswith(f"substreg: {source}: {words}")


def test_an_encrypted_signer_key_takes_its_passphrase_from_the_environment(
    files: Files, pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """SUBSTREG_KEY_PASSPHRASE opens an encrypted PEM key; without it: one line, exit 2."""
    key = tmp_path / "locked.key"
    key.write_bytes(pki.signer.key_pem(b"Praxis am Lindenplatz"))
    source, _ = batch_file(tmp_path)
    envelope = tmp_path / "b.p7m"
    line = refused(seal(capsys, files, source, envelope, "--signer-key", str(key)))
    assert line == f"substreg: {key}: the key is encrypted: give its passphrase"
    monkeypatch.setenv("SUBSTREG_KEY_PASSPHRASE", "Praxis am Lindenplatz")
    assert seal(capsys, files, source, envelope, "--signer-key", str(key)).status == 0
    monkeypatch.setenv("SUBSTREG_KEY_PASSPHRASE", "falsch")
    line = refused(seal(capsys, files, source, envelope, "--signer-key", str(key)))
    assert "the passphrase is wrong" in line


@pytest.fixture
def envelope(files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A batch sealed by the practice to the register."""
    source, _ = batch_file(tmp_path)
    path = tmp_path / "b.p7m"
    assert seal(capsys, files, source, path).status == 0
    capsys.readouterr()
    return path


def test_open_exits_1_when_the_signature_is_not_the_signers(
    files: Files, envelope: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Verified against another signer's certificate: exit 1, one line, nothing written."""
    out = tmp_path / "out.json"
    line = refused(
        open_(capsys, files, envelope, out, "--signer-cert", files.cert("other_signer")), 1
    )
    assert "The envelope was signed by another signer than CN=Fremde" in line
    assert not out.exists()


@pytest.mark.parametrize(
    "at", [-1, -20, -600, 40], ids=["mac", "ciphertext-end", "ciphertext", "recipient"]
)
def test_open_refuses_a_changed_envelope(
    files: Files, envelope: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], at: int
) -> None:
    """A changed byte: exit 1 (does not authenticate) or 2 (not addressed to this
    certificate, not DER), one line, nothing written."""
    data = bytearray(envelope.read_bytes())
    data[at] ^= 0x01
    changed = tmp_path / "changed.p7m"
    changed.write_bytes(bytes(data))
    out = tmp_path / "out.json"
    run = open_(capsys, files, changed, out, "--signer-cert", files.cert("signer"))
    assert run.status in (1, 2)
    one_line(run.err)
    assert not out.exists()
    if at < 0:
        assert run.status == 1
        assert "does not authenticate" in run.err


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("missing", "no such file"),
        ("text", "is not well-formed CMS"),
        ("folder", "cannot be read"),
    ],
)
def test_open_refuses_unusable_input_with_exit_2(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, words: str
) -> None:
    """A missing file, a folder, or bytes that are not CMS: exit 2, one line."""
    source = tmp_path / "in.p7m"
    if setup == "text":
        source.write_bytes(b"Sehr geehrte Damen und Herren")
    elif setup == "folder":
        source.mkdir()
    line = refused(open_(capsys, files, source, tmp_path / "out"))
    assert words in line


def test_open_with_another_registers_key_is_not_for_it(
    files: Files, envelope: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The wrong recipient key and certificate: exit 2, the envelope is not addressed to it."""
    run = substreg(
        capsys, "envelope", "open", "--key", files.key("other_register"),
        "--cert", files.cert("other_register"), str(envelope), str(tmp_path / "out"),
    )  # fmt: skip
    assert "not addressed to the certificate CN=Anderes Register" in refused(run)


def test_open_with_a_key_that_is_not_the_certificates_is_refused(
    files: Files, envelope: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--key and --cert that are not one pair: exit 2 before anything is tried."""
    run = substreg(
        capsys, "envelope", "open", "--key", files.key("other_register"),
        "--cert", files.cert("register"), str(envelope), str(tmp_path / "out"),
    )  # fmt: skip
    assert "recipient key: not the key of the certificate" in refused(run)


def test_an_unwritable_out_is_one_line(
    files: Files, envelope: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OUT in a folder that does not exist: exit 2, one line naming it."""
    out = tmp_path / "nowhere" / "out.json"
    assert f"{out}: cannot be written" in refused(open_(capsys, files, envelope, out))


def test_the_commands_show_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`substreg envelope --help` names seal, open and keygen."""
    done = substreg(capsys, "envelope", "--help")
    assert done.status == 0
    assert "{seal,open,keygen}" in done.out


def test_keygen_makes_a_signing_pair_that_seals_and_never_replaces_a_key(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`envelope keygen`: an ECDSA P-256 key and a self-signed certificate that may only
    sign, valid from NOW, both 0600; a batch sealed with them opens and verifies against
    that certificate; a second keygen onto the same files refuses and changes nothing."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from adapter.crypto.envelope import load_certificate, load_private_key, signer

    key, cert = tmp_path / "keys" / "signer.key", tmp_path / "keys" / "signer.pem"
    key.parent.mkdir()
    made = substreg(
        capsys, "envelope", "keygen", "--out-key", str(key), "--out-cert", str(cert),
        "--name", "Praxis am Lindenplatz (Demo)", "--days", "30",
    )  # fmt: skip
    assert made.status == 0, made.err
    assert made.out.startswith(f"Made a signing key (ECDSA P-256) in {key} ")
    assert "valid until 2026-02-14" in made.out  # NOW 2026-01-15 + 30 days
    for path in (key, cert):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    certificate = load_certificate(cert.read_bytes())
    pair = signer(load_private_key(key.read_bytes()), certificate)
    assert isinstance(pair.key, ec.EllipticCurvePrivateKey)
    assert isinstance(pair.key.curve, ec.SECP256R1)
    assert certificate.subject.rfc4514_string() == "CN=Praxis am Lindenplatz (Demo)"
    assert certificate.not_valid_before_utc <= NOW <= certificate.not_valid_after_utc
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment and not usage.key_cert_sign
    source, _ = batch_file(tmp_path)
    envelope, opened = tmp_path / "b.p7m", tmp_path / "b.json"
    sealed = seal(
        capsys, files, source, envelope, "--signer-key", str(key), "--signer-cert", str(cert)
    )
    assert sealed.status == 0, sealed.err
    verified = open_(capsys, files, envelope, opened, "--signer-cert", str(cert))
    assert verified.status == 0, verified.err
    before = key.read_bytes(), cert.read_bytes()
    again = substreg(
        capsys, "envelope", "keygen", "--out-key", str(key),
        "--out-cert", str(tmp_path / "new.pem"), "--name", "Praxis",
    )  # fmt: skip
    assert "exists already; a key is never replaced" in refused(again)
    assert (key.read_bytes(), cert.read_bytes()) == before
    assert not (tmp_path / "new.pem").exists()
    for argv, words in (
        (("--name", " "), "--name must be"),
        (("--name", "P", "--days", "0"), "--days must be at least 1"),
    ):
        bad = substreg(
            capsys, "envelope", "keygen", "--out-key", str(tmp_path / "k2"),
            "--out-cert", str(tmp_path / "c2"), *argv,
        )  # fmt: skip
        assert words in refused(bad)
