"""`substreg envelope seal|open|keygen`: a batch sealed for the register, an envelope
opened, a practice's signing pair made (a demo's or a test installation's; a real practice
takes its certificate from its trust service provider).

The command reads the files, reads the clock once (`clock`, which the tests set) and
hands bytes and that time to `adapter.crypto.envelope`; every refusal is an error of the
tree (adapter/errors.py) that `adapter.cli.run` turns into one line: exit 2 for what a
person can fix (a missing file, a key that is not one, not CMS, not addressed to this
certificate, a recipient certificate refused), exit 1 when the envelope was read and does
not authenticate or its signature does not verify. Output files are written whole, mode
0600 (an opened batch holds patient codes in clear).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from adapter.crypto.envelope import (
    Certificate,
    PrivateKey,
    certificate_fingerprint,
    certificate_label,
    check_recipient,
    load_certificate,
    load_private_key,
    new_signer_identity,
    open_envelope,
    recipient_key,
    seal,
    signer,
)
from adapter.domain.batch import batch_bytes, batch_from_bytes
from adapter.errors import BatchError, InputError, UsageError
from adapter.settings.environment import key_passphrase
from adapter.settings.files import write_private
from adapter.settings.practice import PracticeConfig, load_config


def clock() -> datetime:
    """This machine's time (UTC), read once per command."""
    return datetime.now(UTC)


def dispatch(name: str, args: argparse.Namespace) -> int:
    """Run `envelope_seal`, `envelope_open` or `envelope_keygen`."""
    if name == "envelope_keygen":
        return _keygen(args)
    return _seal(args) if name == "envelope_seal" else _open(args)


def _seal(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else PracticeConfig()
    source = _read(args.source)
    try:
        batch = batch_from_bytes(source)
    except BatchError as exc:
        msg = f"{args.source}: not a batch: {exc}"
        raise BatchError(msg) from None
    now = clock()
    recipient = check_recipient(
        _certificate(args.recipient_cert),
        now=now,
        pinned_sha256=config.register_certificate_sha256,
    )
    sealer = signer(_private_key(args.signer_key), _certificate(args.signer_cert))
    envelope = seal(batch_bytes(batch), signer=sealer, recipient=recipient, signing_time=now)
    _write(args.target, envelope)
    print(
        f"Sealed batch {batch.batch_id} ({len(batch.reports)} report(s)) for "
        f"{certificate_label(recipient.certificate)}: {args.target} ({len(envelope)} bytes)."
    )
    return 0


def _open(args: argparse.Namespace) -> int:
    key = recipient_key(_private_key(args.key), _certificate(args.cert))
    given = _certificate(args.signer_cert) if args.signer_cert else None
    opened = open_envelope(_read(args.source), key=key, signer_certificate=given)
    _write(args.target, opened.payload)
    when = opened.signing_time.isoformat() if opened.signing_time else "an unstated time"
    against = (
        "the signer certificate given"
        if opened.signer_given
        else "the certificate it carries (give --signer-cert to prove who signed)"
    )
    print(
        f"Opened {args.source}: signed by {certificate_label(opened.signer)} at {when}, "
        f"verified against {against}; {len(opened.payload)} bytes to {args.target}."
    )
    return 0


def _keygen(args: argparse.Namespace) -> int:
    """Both files are new: an existing key is never replaced (what was signed with it, and
    a register that trusts its certificate, would be left behind)."""
    name = args.name.strip()
    if not name or not name.isprintable():
        msg = "envelope keygen: --name must be a printable, non-empty common name"
        raise UsageError(msg)
    if args.days < 1:
        msg = "envelope keygen: --days must be at least 1"
        raise UsageError(msg)
    if args.out_key.resolve() == args.out_cert.resolve():
        msg = "envelope keygen: --out-key and --out-cert must be two files"
        raise UsageError(msg)
    for path in (args.out_key, args.out_cert):
        if path.exists():
            msg = f"{path}: exists already; a key is never replaced: choose a new file"
            raise InputError(msg)
    made = new_signer_identity(name, now=clock(), days=args.days)
    _write(args.out_key, made.key_pem)
    _write(args.out_cert, made.certificate_pem)
    certificate = load_certificate(made.certificate_pem)
    print(
        f"Made a signing key (ECDSA P-256) in {args.out_key} and its self-signed certificate "
        f"CN={name} in {args.out_cert}, valid until "
        f"{certificate.not_valid_after_utc:%Y-%m-%d} (sha256 "
        f"{certificate_fingerprint(certificate)}). Name them in practice.toml's [submission] "
        "as signer_key and signer_certificate."
    )
    return 0


def _certificate(path: Path) -> Certificate:
    return load_certificate(_read(path), what=str(path))


def _private_key(path: Path) -> PrivateKey:
    passphrase = key_passphrase()
    secret = passphrase.encode("utf-8") if passphrase is not None else None
    return load_private_key(_read(path), passphrase=secret, what=str(path))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        msg = f"{path}: no such file"
        raise InputError(msg) from None
    except OSError as exc:  # a folder, no permission …
        msg = f"{path}: cannot be read ({exc.strerror or type(exc).__name__})"
        raise InputError(msg) from None


def _write(path: Path, data: bytes) -> None:
    try:
        write_private(path, data)
    except OSError as exc:
        msg = f"{path}: cannot be written ({exc.strerror or type(exc).__name__})"
        raise InputError(msg) from None
