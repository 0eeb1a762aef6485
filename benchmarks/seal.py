"""Benchmark sealing a batch for the register against the bare primitives, in-process.

    python benchmarks/seal.py [--sizes 1 100 1000] [--repeat 200]

For each batch size a batch of that many reports of one doctor is made (REPORTS.md report
objects, like the demo's) and written as its canonical JSON (`batch_bytes`). Then, in
`--repeat` rounds that interleave the two sides (a slow spell of a shared machine hits
both alike), each timed alone:

- bare:  what the envelope cannot do without, over the same payload bytes: one RSASSA-PSS
         SHA-256 signature of the payload (RSA 3072), one AES-256-GCM encryption of the
         payload under a fresh key and nonce, one RSAES-OAEP SHA-256 wrap of that key
         (RSA 3072);
- seal:  `adapter.crypto.envelope.seal(payload, …)`: the SignedData (digest, signed
         attributes, signature, certificate) and the AuthEnvelopedData around it, as DER;
- seal + JSON: `seal(batch_bytes(batch), …)`, the batch written as JSON first.

The recipient certificate is checked once (`check_recipient`) and the signer pair made
once, as an outbox worker would. The table gives the median of each side, the ratio
seal / bare (target ≤ 1.5× at every size) and batches and reports sealed per second.
Every envelope of the last round is opened again (`open_envelope`): exit 2 when one does
not give its payload back, 1 when the target is missed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerun import run_with_adapter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RATIO_TARGET = 1.5  # seal ÷ bare primitives, at most
NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
SENDER = "3990101"

if TYPE_CHECKING:  # the adapter is imported late: this file may run without it first
    from adapter.domain.batch import Batch


# -- keys and data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    signer_key: Any
    signer_cert: Any
    register_key: Any
    register_cert: Any


def make_keys() -> Keys:
    """An RSA 3072 practice key and register key, with self-signed certificates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def certify(name: str, key: Any, usage: x509.KeyUsage) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=365))
            .add_extension(usage, critical=True)
            .sign(key, hashes.SHA256())
        )

    def usage(**on: bool) -> x509.KeyUsage:
        names = ("digital_signature", "content_commitment", "key_encipherment")
        names += ("data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")
        uses = dict.fromkeys((*names, "encipher_only", "decipher_only"), False)
        return x509.KeyUsage(**{**uses, **on})

    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    register_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return Keys(
        signer_key,
        certify("Praxis (benchmark)", signer_key, usage(digital_signature=True)),
        register_key,
        certify("Register (benchmark)", register_key, usage(key_encipherment=True)),
    )


def make_batch(size: int) -> Batch:
    """`size` Anmeldungen of one doctor, each with a code, a consultant and sources."""
    from adapter.domain.batch import Batch
    from adapter.domain.model import Address, RegisterDoctor, Report

    doctor = RegisterDoctor(
        SENDER, "Falkner", "Miriam", "1974-09-30", Address(("Lindenplatz 3",), "04109", "Leipzig"),
        "0341 5550101",
    )  # fmt: skip
    consultant = RegisterDoctor("3990303", "Aydin", "Selin", None, None, None)
    reports = tuple(
        Report(
            kind="anmeldung",
            made_on=date(2025, 1, 1) + timedelta(days=n % 365),
            date=date(2025, 1, 1) + timedelta(days=n % 365),
            patient_code=f"HAMÜF{n % 1000:03d}",
            substance="Methadon",
            doctor=doctor,
            consultant=consultant,
            remarks=(),
            rule="R-EP-1",
            sources=(f"MedicationAdministration/ma-{n}", f"MedicationRequest/mr-{n}"),
            id=f"anm-{n:08x}",
        )
        for n in range(size)
    )
    return Batch(f"bench-{size}", SENDER, NOW, reports)


# -- timing -------------------------------------------------------------------------------


def bare(keys: Keys, payload: bytes) -> None:
    """One PSS signature of the payload, AES-256-GCM over it, one OAEP wrap of the key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    keys.signer_key.sign(payload, pss, hashes.SHA256())
    key = AESGCM.generate_key(bit_length=256)
    AESGCM(key).encrypt(os.urandom(12), payload, None)
    keys.register_cert.public_key().encrypt(key, oaep)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Row:
    size: int
    payload_bytes: int
    envelope_bytes: int
    bare: float
    seal: float
    seal_json: float


def measure(keys: Keys, size: int, repeat: int) -> Row:
    from adapter.crypto.envelope import (
        certificate_fingerprint,
        check_recipient,
        open_envelope,
        recipient_key,
        seal,
        signer,
    )
    from adapter.domain.batch import batch_bytes

    batch = make_batch(size)
    payload = batch_bytes(batch)
    sealer = signer(keys.signer_key, keys.signer_cert)
    pin = certificate_fingerprint(keys.register_cert)
    recipient = check_recipient(keys.register_cert, now=NOW, pinned_sha256=pin)
    times: dict[str, list[float]] = {"bare": [], "seal": [], "json": []}
    envelope = b""

    def sealing() -> None:
        nonlocal envelope
        envelope = seal(payload, signer=sealer, recipient=recipient, signing_time=NOW)

    def with_json() -> None:
        seal(batch_bytes(batch), signer=sealer, recipient=recipient, signing_time=NOW)

    for work in (lambda: bare(keys, payload), sealing, with_json):  # warm-up
        work()
    for _ in range(repeat):
        times["bare"].append(timed(lambda: bare(keys, payload)))
        times["seal"].append(timed(sealing))
        times["json"].append(timed(with_json))
    opened = open_envelope(
        envelope,
        key=recipient_key(keys.register_key, keys.register_cert),
        signer_certificate=keys.signer_cert,
    )
    if opened.payload != payload:
        print(f"FAILED: the envelope of the batch of {size} does not give its payload back")
        sys.exit(2)
    median = statistics.median
    return Row(
        size,
        len(payload),
        len(envelope),
        median(times["bare"]),
        median(times["seal"]),
        median(times["json"]),
    )


def main(argv: list[str] | None = None) -> int:
    run_with_adapter(__file__)
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--repeat", type=int, default=200, help="rounds per size (default 200)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    keys = make_keys()
    print(
        f"python {sys.version.split()[0]}; RSA 3072 keys made in "
        f"{time.perf_counter() - started:.1f} s; median of {args.repeat} interleaved rounds"
    )
    rows = [measure(keys, size, args.repeat) for size in args.sizes]
    print()
    header = (
        f"{'reports':>8}{'payload B':>11}{'envelope B':>12}{'bare ms':>9}{'seal ms':>9}"
        f"{'× bare':>8}{'+JSON ms':>10}{'× bare':>8}{'batches/s':>11}{'reports/s':>11}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.size:>8,}{row.payload_bytes:>11,}{row.envelope_bytes:>12,}"
            f"{row.bare * 1000:>9.2f}{row.seal * 1000:>9.2f}{row.seal / row.bare:>8.2f}"
            f"{row.seal_json * 1000:>10.2f}{row.seal_json / row.bare:>8.2f}"
            f"{1 / row.seal:>11,.0f}{row.size / row.seal:>11,.0f}"
        )
    print()
    missed = False
    for row in rows:
        ratio = row.seal / row.bare
        passed = ratio <= RATIO_TARGET
        missed = missed or not passed
        print(
            f"{'PASS' if passed else 'MISS'}  seal / bare primitives at {row.size:,} report(s): "
            f"{ratio:.2f} (target ≤ {RATIO_TARGET})"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
