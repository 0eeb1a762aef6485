"""The arguments of `substreg envelope seal|open|keygen`. Only argparse here: `adapter.cli.envelope`
runs the command, and loads cryptography and asn1crypto for it alone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

_Actions = argparse._SubParsersAction  # the type argparse gives subcommand groups

_PASSPHRASE = "an encrypted key takes its passphrase from SUBSTREG_KEY_PASSPHRASE"


def add_envelope_commands(
    commands: _Actions[Any], parser_class: type[argparse.ArgumentParser]
) -> None:
    """Add `envelope seal`, `envelope open` and `envelope keygen` to the `substreg` parser."""
    envelope = commands.add_parser(
        "envelope", help="sign and encrypt a batch for the register (CMS), or open one"
    )
    actions = envelope.add_subparsers(dest="action", required=True, parser_class=parser_class)
    seal = actions.add_parser(
        "seal",
        help="sign a batch (RSASSA-PSS or ECDSA P-256) and encrypt it to the register's "
        "pinned certificate (AuthEnvelopedData, AES-256-GCM, RSAES-OAEP)",
    )
    seal.add_argument("--recipient-cert", type=Path, required=True, metavar="C")
    seal.add_argument("--signer-key", type=Path, required=True, metavar="K", help=_PASSPHRASE)
    seal.add_argument("--signer-cert", type=Path, required=True, metavar="S")
    seal.add_argument(
        "--config",
        type=Path,
        metavar="practice.toml",
        help="[register] certificate_sha256: the pinned fingerprint of C (required to seal)",
    )
    seal.add_argument("source", type=Path, metavar="IN", help="the batch (JSON)")
    seal.add_argument("target", type=Path, metavar="OUT", help="the envelope (DER)")
    seal.set_defaults(handler="envelope_seal")
    opening = actions.add_parser(
        "open", help="decrypt an envelope and verify its signature (exit 1 when it does not)"
    )
    opening.add_argument("--key", type=Path, required=True, metavar="K", help=_PASSPHRASE)
    opening.add_argument("--cert", type=Path, required=True, metavar="C")
    opening.add_argument(
        "--signer-cert",
        type=Path,
        metavar="S",
        help="verify against S (without it: against the certificate the envelope carries, "
        "which proves integrity, not who signed)",
    )
    opening.add_argument("source", type=Path, metavar="IN", help="the envelope (DER)")
    opening.add_argument("target", type=Path, metavar="OUT", help="the payload, byte for byte")
    opening.set_defaults(handler="envelope_open")
    keygen = actions.add_parser(
        "keygen",
        help="make a practice's signing key (ECDSA P-256) and a self-signed certificate for "
        "it (digitalSignature), each written mode 0600: for a demo or a test installation",
    )
    keygen.add_argument("--out-key", type=Path, required=True, metavar="K")
    keygen.add_argument("--out-cert", type=Path, required=True, metavar="S")
    keygen.add_argument("--name", required=True, help="the certificate's common name (CN)")
    keygen.add_argument(
        "--days", type=int, default=730, help="valid for this many days (default 730)"
    )
    keygen.set_defaults(handler="envelope_keygen")
