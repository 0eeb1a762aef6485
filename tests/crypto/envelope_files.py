"""Files for the `substreg envelope` tests: the PKI of tests/crypto/pki.py as PEM files, a
practice.toml that pins the register's certificate, a batch, and running the command."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from adapter.cli.main import main
from adapter.crypto.envelope import certificate_fingerprint
from adapter.domain.batch import Batch, batch_bytes
from adapter.domain.model import Address, RegisterDoctor, Report
from tests.crypto.pki import NOW, Pki

SENDER = "3990101"


@dataclass(frozen=True)
class Files:
    """Where the keys, certificates and configuration were written."""

    folder: Path

    def key(self, name: str) -> str:
        return str(self.folder / f"{name}.key")

    def cert(self, name: str) -> str:
        return str(self.folder / f"{name}.pem")

    @property
    def config(self) -> str:
        """practice.toml pinning the register's certificate."""
        return str(self.folder / "practice.toml")


def write_files(folder: Path, pki: Pki) -> Files:
    """Every party's key and certificate as PEM, and a practice.toml with the pin."""
    for name in ("signer", "ec_signer", "other_signer", "register", "other_register"):
        getattr(pki, name).write(folder, name)
    for name, certificate in pki.extra.items():
        (folder / f"{name}.pem").write_bytes(certificate.public_bytes(Encoding.PEM))
    pin = certificate_fingerprint(pki.register.cert)
    (folder / "practice.toml").write_text(
        f'[register]\ncertificate_sha256 = "{pin}"\n', encoding="utf-8"
    )
    return Files(folder)


def batch(reports: int = 2) -> Batch:
    """A batch of Anmeldungen of the demo practice's first doctor (invented)."""
    doctor = RegisterDoctor(
        SENDER, "Falkner", "Miriam", "1974-09-30", Address(("Lindenplatz 3",), "04109", "Leipzig"),
        "0341 5550101",
    )  # fmt: skip
    return Batch(
        "b-2026-01-15-1",
        SENDER,
        NOW,
        tuple(
            Report(
                kind="anmeldung",
                made_on=date(2026, 1, 5),
                date=date(2026, 1, 5),
                patient_code=f"HAMÜF28{n}",
                substance="Methadon",
                doctor=doctor,
                consultant=None,
                remarks=(),
                rule="R-EP-1",
                sources=(f"MedicationAdministration/ma-{n}",),
                id=f"anm-{n}",
            )
            for n in range(reports)
        ),
    )


def batch_file(folder: Path, reports: int = 2) -> tuple[Path, bytes]:
    """A batch written as its canonical JSON; the path and the bytes."""
    payload = batch_bytes(batch(reports))
    path = folder / "batch.json"
    path.write_bytes(payload)
    return path, payload


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


def substreg(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    """`substreg ARGV` through main() in this process."""
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse: a usage error
        status = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return Run(status, out, err)


def substreg_child(*argv: str, env: dict[str, str] | None = None) -> Run:
    """`substreg ARGV` as the installed command runs it, in a child process."""
    done = subprocess.run(
        [sys.executable, "-m", "adapter.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def one_line(err: str) -> str:
    """The single line of a refusal; fails on a traceback or on several lines."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("substreg: "), err
    return lines[0]
