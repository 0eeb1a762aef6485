"""What the simulator's and the http transport's tests share: the practice's keys, a state
folder with the simulator's identity (made once: RSA 3072 is slow), reports and batches,
sealing, and the simulator served by uvicorn in a thread on a free port of 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from adapter.crypto.envelope import (
    Certificate,
    Signer,
    certificate_fingerprint,
    check_recipient,
    load_certificate,
    seal,
    signer,
)
from adapter.domain.batch import Batch, batch_bytes
from adapter.domain.model import Address, RegisterDoctor, Report
from adapter.registersim import Faults, create_app
from adapter.registersim.identity import CERTIFICATE_FILE, load_or_create
from adapter.registersim.server import server
from tests.crypto.pki import NOW, SIGNING, certificate

__all__ = ["NOW"]

DOCTOR = RegisterDoctor(
    "3990101", "Falkner", "Miriam", "1974-09-30", Address(("Lindenplatz 3",), "04109", "Leipzig"),
    "0341 5550101",
)  # fmt: skip
OTHER_DOCTOR = RegisterDoctor(
    "3990202", "Brandt", "Jonas", "1969-03-11", Address(("Ringstraße 9",), "04103", "Leipzig"),
    "0341 5550202",
)  # fmt: skip
CONTENT_TYPE = "application/pkcs7-mime; smime-type=authEnveloped-data"


def clock() -> datetime:
    """The simulator's clock in the tests: 2026-01-15 10:00 UTC."""
    return NOW


@dataclass(frozen=True)
class Practice:
    """The practices' signing pairs: each doctor's, and a stranger's for the same number."""

    signer: Signer  # RSA 3072
    stranger: Signer  # ECDSA P-256 (fast), another certificate


def make_practice() -> Practice:
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    other = ec.generate_private_key(ec.SECP256R1())
    return Practice(
        signer(key, certificate("Praxis (test)", key, usage=SIGNING, ca=True)),
        signer(other, certificate("Fremde Praxis", other, usage=SIGNING, ca=True)),
    )


def make_state_template(folder: Path) -> Path:
    """A state folder holding the simulator's identity, made at NOW."""
    load_or_create(folder, now=NOW)
    return folder


def fresh_state(template: Path, folder: Path) -> Path:
    """A copy of the template's identity: a simulator with no submission yet."""
    shutil.copytree(template, folder)
    return folder


def register_certificate(state: Path) -> Certificate:
    return load_certificate((state / CERTIFICATE_FILE).read_bytes())


def report(
    kind: str,
    code: str | None,
    day: date,
    *,
    number: int = 0,
    doctor: RegisterDoctor = DOCTOR,
    substance: str | None = "Methadon",
    made_on: date | None = None,
) -> Report:
    """A report as `derive` makes one; its id names kind, day and number (never the code)."""
    return Report(
        kind=kind,  # type: ignore[arg-type]
        made_on=made_on or day,
        date=day,
        patient_code=code,
        substance=substance if kind == "anmeldung" else None,
        doctor=doctor,
        consultant=None,
        remarks=(),
        rule="R-EP-1" if kind == "anmeldung" else "R-EP-3",
        sources=(f"MedicationAdministration/ma-{number}",),
        id=f"{kind[:3]}-{doctor.btm_number}-{day.isoformat()}-{number}",
    )


def batch(batch_id: str, *reports: Report) -> Batch:
    return Batch(batch_id, reports[0].doctor.btm_number or "", NOW, reports)


def sealed(items: Batch, state: Path, by: Signer) -> bytes:
    """The batch sealed to the simulator's certificate in `state`, signed by `by`."""
    cert = register_certificate(state)
    recipient = check_recipient(cert, now=NOW, pinned_sha256=certificate_fingerprint(cert))
    return seal(batch_bytes(items), signer=by, recipient=recipient, signing_time=NOW)


def headers(key: str) -> dict[str, str]:
    return {"Content-Type": CONTENT_TYPE, "Idempotency-Key": key}


class ServedSim:
    """The simulator under uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: FastAPI, tls: tuple[Path, Path] | None = None) -> None:
        self.app = app
        # IPPROTO_TCP named, not 0: only then does asyncio set TCP_NODELAY on the accepted
        # connections (`base_events._set_nodelay` checks the proto). Without it Nagle holds
        # the body uvicorn writes after the headers until the client's delayed ACK: some
        # 40 ms on every request of a kept-alive connection.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.server = server(app, host="127.0.0.1", port=self.port, log_level="warning", tls=tls)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                msg = "the simulator did not start"
                raise RuntimeError(msg)
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=20)
        self._socket.close()


@contextmanager
def served(
    state: Path, faults: Faults | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[ServedSim]:
    """The simulator on `state` with `faults`, served until the block ends."""
    sim = ServedSim(create_app(state, faults=faults, clock=clock), tls)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
