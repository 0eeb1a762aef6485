"""Benchmark submitting to the register simulator over loopback, against the seal itself.

    python benchmarks/register_roundtrip.py [--reports 1000] [--batch-sizes 10 100 1000]
                                            [--rounds 3]

For each batch size, `--reports` Anmeldungen of one doctor (distinct codes and ids) are
cut into batches of that size. In each of `--rounds` rounds a fresh simulator is started
as its own process (`substreg register-sim` under uvicorn on 127.0.0.1, a new SQLite state
beside the same key and certificate), and then:

- seal:  every batch is sealed (`adapter.crypto.envelope.seal` of its canonical JSON),
         each timed alone: the bare cost of making what is sent, the baseline;
- post:  every envelope is handed to the `http` transport (`HttpTransport.deliver`: one
         POST /submissions, the simulator opens it, checks the signature, takes each
         report into SQLite, signs a receipt; the transport verifies the receipt), each
         timed alone;
- again: every envelope is posted once more under the same key: the idempotent answer
         (the stored receipt, byte for byte), each timed alone.

The table gives per batch the median seal time, the median and p99 of the round trip and
of the repeat, and reports per second for posting alone and for seal + post. Every
receipt must accept every report and be the same when asked again: exit 2 otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerun import run_with_adapter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SENDER = "3990101"
LETTERS = "ABDEFGHKLMNOPRSTÄÖÜ"  # 19 letters: 19^4 × 2 × 1000 codes, far more than needed

if TYPE_CHECKING:
    from adapter.domain.batch import Batch


def code(n: int) -> str:
    """The n-th of many distinct patient codes."""
    letters = ""
    for _ in range(4):
        n, digit = divmod(n, len(LETTERS))
        letters += LETTERS[digit]
    return f"{letters}{'FM'[n % 2]}{(n // 2) % 1000:03d}"


def make_batches(reports: int, size: int, prefix: str) -> list[Batch]:
    from adapter.domain.batch import Batch
    from adapter.domain.model import Address, RegisterDoctor, Report

    doctor = RegisterDoctor(
        SENDER, "Falkner", "Miriam", "1974-09-30", Address(("Lindenplatz 3",), "04109", "Leipzig"),
        "0341 5550101",
    )  # fmt: skip
    now = datetime.now(UTC)
    every = [
        Report(
            kind="anmeldung",
            made_on=date(2025, 1, 1) + timedelta(days=n % 300),
            date=date(2025, 1, 1) + timedelta(days=n % 300),
            patient_code=code(n),
            substance="Methadon",
            doctor=doctor,
            consultant=None,
            remarks=(),
            rule="R-EP-1",
            sources=(f"MedicationAdministration/ma-{n}",),
            id=f"{prefix}-anm-{n:06d}",
        )
        for n in range(reports)
    ]
    return [
        Batch(f"{prefix}-b{start // size:05d}", SENDER, now, tuple(every[start : start + size]))
        for start in range(0, reports, size)
    ]


def make_signer() -> Any:
    """The practice's RSA-3072 key and a self-signed certificate valid around now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from adapter.crypto.envelope import signer

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Praxis (benchmark)")])
    now = datetime.now(UTC)
    usage = {k: False for k in ("content_commitment", "key_encipherment", "data_encipherment",
                                "key_agreement", "key_cert_sign", "crl_sign", "encipher_only",
                                "decipher_only")}  # fmt: skip
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(digital_signature=True, **usage), critical=True)
        .sign(key, hashes.SHA256())
    )
    return signer(key, certificate)


@dataclass
class Simulator:
    process: subprocess.Popen[bytes]
    endpoint: str

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_simulator(state: Path, log: Path) -> Simulator:
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "adapter.cli", "register-sim", "--state", str(state)]
    with log.open("ab") as out:
        process = subprocess.Popen([*argv, "--port", str(port)], stdout=out, stderr=out)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{endpoint}/health", timeout=1)
            return Simulator(process, endpoint)
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                sys.exit(f"the simulator did not start: see {log}")
            time.sleep(0.05)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclass
class Row:
    size: int
    reports: int
    batches: int
    seal: list[float]
    post: list[float]
    again: list[float]


def one_round(
    folder: Path, identity: Path, signer: Any, *, reports: int, size: int, prefix: str
) -> tuple[list[float], list[float], list[float]]:
    from adapter.crypto.envelope import (
        certificate_fingerprint,
        check_recipient,
        load_certificate,
        seal,
    )
    from adapter.domain.batch import batch_bytes
    from adapter.registersim.identity import CERTIFICATE_FILE, KEY_FILE, SECRET_FILE
    from adapter.transport.base import Parcel
    from adapter.transport.http import HttpTransport

    state = folder / prefix
    state.mkdir(mode=0o700)
    for name in (KEY_FILE, CERTIFICATE_FILE, SECRET_FILE):
        shutil.copy2(identity / name, state / name)
    certificate = load_certificate((state / CERTIFICATE_FILE).read_bytes())
    now = datetime.now(UTC)
    recipient = check_recipient(
        certificate, now=now, pinned_sha256=certificate_fingerprint(certificate)
    )
    seals, posts, agains, parcels = [], [], [], []
    for batch in make_batches(reports, size, prefix):
        start = time.perf_counter()
        envelope = seal(batch_bytes(batch), signer=signer, recipient=recipient, signing_time=now)
        seals.append(time.perf_counter() - start)
        parcels.append(Parcel(batch.batch_id, envelope, batch))
    simulator = start_simulator(state, folder / "simulator.log")
    try:
        with HttpTransport(simulator.endpoint, certificate, timeout=120) as http:
            receipts = []
            for parcel in parcels:
                start = time.perf_counter()
                receipts.append(http.deliver(parcel).receipt)
                posts.append(time.perf_counter() - start)
            for parcel, receipt in zip(parcels, receipts, strict=True):
                start = time.perf_counter()
                again = http.deliver(parcel).receipt
                agains.append(time.perf_counter() - start)
                if again != receipt:
                    sys.exit(f"FAILED: {parcel.batch_id}: another receipt when asked again")
    finally:
        simulator.stop()
    check(receipts, reports)
    return seals, posts, agains


def check(receipts: list[bytes | None], reports: int) -> None:
    import orjson

    accepted = sum(
        result["status"] == "accepted"
        for receipt in receipts
        for result in orjson.loads(receipt or b"{}")["receipt"]["results"]
    )
    if accepted != reports:
        sys.exit(f"FAILED: {accepted} of {reports} reports accepted")


def main(argv: list[str] | None = None) -> int:
    run_with_adapter(__file__)
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from adapter.registersim.identity import load_or_create

    started = time.perf_counter()
    signer = make_signer()
    with tempfile.TemporaryDirectory(prefix="substreg-roundtrip-") as temp:
        folder = Path(temp)
        load_or_create(folder / "identity", now=datetime.now(UTC))
        print(
            f"python {sys.version.split()[0]}; keys made in {time.perf_counter() - started:.1f} s;"
            f" {args.reports:,} reports per round, {args.rounds} round(s), simulator: its own"
            " process (uvicorn, h11) on 127.0.0.1"
        )
        rows = []
        for size in args.batch_sizes:
            row = Row(size, args.reports * args.rounds, 0, [], [], [])
            for n in range(args.rounds):
                seals, posts, agains = one_round(
                    folder,
                    folder / "identity",
                    signer,
                    reports=args.reports,
                    size=size,
                    prefix=f"s{size}r{n}",
                )
                row.seal += seals
                row.post += posts
                row.again += agains
            row.batches = len(row.post)
            rows.append(row)
    print_table(rows)
    return 0


def print_table(rows: list[Row]) -> None:
    print()
    header = (
        f"{'batch':>6}{'batches':>9}{'seal ms':>9}{'post ms':>9}{'p99 ms':>9}{'× seal':>8}"
        f"{'again ms':>10}{'p99 ms':>9}{'post rep/s':>12}{'seal+post rep/s':>17}"
    )
    print(header)
    print("-" * len(header))
    median = statistics.median
    for row in rows:
        reports = row.reports
        print(
            f"{row.size:>6,}{row.batches:>9,}{median(row.seal) * 1000:>9.1f}"
            f"{median(row.post) * 1000:>9.1f}{p99(row.post) * 1000:>9.1f}"
            f"{median(row.post) / median(row.seal):>8.1f}"
            f"{median(row.again) * 1000:>10.1f}{p99(row.again) * 1000:>9.1f}"
            f"{reports / sum(row.post):>12,.0f}"
            f"{reports / (sum(row.post) + sum(row.seal)):>17,.0f}"
        )
    print()
    print("seal: sealing one batch in this process (the baseline); post: one delivery over")
    print("loopback (POST, open, verify, register into SQLite, sign, verify the receipt);")
    print("again: the same envelope under the same key (the stored receipt).")


if __name__ == "__main__":
    sys.exit(main())
