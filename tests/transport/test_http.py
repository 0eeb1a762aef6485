"""The http transport against the real simulator under uvicorn on 127.0.0.1: receipts,
refusals, every fault switch, Retry-After, a lost answer survived with the same key."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapter.crypto.envelope import certificate_fingerprint, check_recipient, seal
from adapter.crypto.envelope.receipt import verify_receipt
from adapter.errors import PermanentTransportError, TransientTransportError
from adapter.registersim import Fault, Faults
from adapter.transport.base import Parcel
from adapter.transport.http import HttpTransport
from tests.registersim.helpers import (
    NOW,
    Practice,
    ServedSim,
    batch,
    register_certificate,
    report,
    sealed,
    served,
)

JAN5 = date(2026, 1, 5)


def parcel(state: Path, practice: Practice, batch_id: str = "b-1", codes: int = 2) -> Parcel:
    items = batch(
        batch_id,
        *(report("anmeldung", f"HAMÜF{280 + n}", JAN5, number=n) for n in range(codes)),
    )
    return Parcel(batch_id, sealed(items, state, practice.signer), items)


def transport(sim: ServedSim, state: Path, read: float = 10.0) -> HttpTransport:
    return HttpTransport(sim.endpoint, register_certificate(state), timeout=read, connect_timeout=5)


def counts(sim: ServedSim) -> dict[str, int]:
    seen: dict[str, int] = httpx.get(f"{sim.endpoint}/registrations").json()["counts"]
    return seen


@pytest.fixture
def sim(state: Path) -> Iterator[ServedSim]:
    """The simulator without faults."""
    with served(state) as running:
        yield running


def test_a_batch_is_delivered_with_a_receipt_that_verifies(
    sim: ServedSim, state: Path, practice: Practice
) -> None:
    """200: Delivered with the receipt document as the register sent it."""
    sent = parcel(state, practice)
    with transport(sim, state) as http:
        delivered = http.deliver(sent)
    assert delivered.receipt is not None
    receipt = verify_receipt(
        delivered.receipt, register_certificate(state), batch_id="b-1", envelope=sent.envelope
    )
    assert [r.status for r in receipt.results] == ["accepted", "accepted"]
    assert delivered.proof == f"{sim.endpoint}/submissions"


def test_sending_the_same_parcel_again_gives_the_same_receipt(
    sim: ServedSim, state: Path, practice: Practice
) -> None:
    """A retry of a delivered batch: the same document byte for byte, registered once."""
    sent = parcel(state, practice)
    with transport(sim, state) as http:
        first, second = http.deliver(sent), http.deliver(sent)
    assert first.receipt == second.receipt
    assert counts(sim)["reports"] == 2


def test_a_reused_key_for_another_envelope_is_a_permanent_409(
    sim: ServedSim, state: Path, practice: Practice
) -> None:
    """The register's reason comes through, behind the status."""
    with transport(sim, state) as http:
        http.deliver(parcel(state, practice))
        with pytest.raises(PermanentTransportError) as refused:
            http.deliver(parcel(state, practice))  # sealed again: other bytes, same key
    assert refused.value.reason.startswith("HTTP 409: The Idempotency-Key b-1 was used")


def test_an_envelope_that_does_not_open_is_a_permanent_400(
    sim: ServedSim, state: Path, practice: Practice
) -> None:
    """400 is permanent: the same bytes would be refused again."""
    sent = parcel(state, practice)
    broken = Parcel(sent.batch_id, sent.envelope[:-1] + bytes([sent.envelope[-1] ^ 1]), sent.batch)
    with transport(sim, state) as http, pytest.raises(PermanentTransportError) as refused:
        http.deliver(broken)
    assert refused.value.reason.startswith("HTTP 400: The envelope cannot be opened")


def test_a_payload_that_is_no_batch_is_a_permanent_422(
    sim: ServedSim, state: Path, practice: Practice
) -> None:
    """422 is permanent, with the register's reason."""
    cert = register_certificate(state)
    recipient = check_recipient(cert, now=NOW, pinned_sha256=certificate_fingerprint(cert))
    envelope = seal(b"[]", signer=practice.signer, recipient=recipient, signing_time=NOW)
    sent = parcel(state, practice)
    with transport(sim, state) as http, pytest.raises(PermanentTransportError) as refused:
        http.deliver(Parcel("b-1", envelope, sent.batch))
    assert refused.value.reason.startswith("HTTP 422: Not a valid batch")


@pytest.mark.parametrize(
    ("faults", "kind", "message", "retry_after"),
    [
        (Faults(error=Fault(1.0)), TransientTransportError, "HTTP 500", None),
        (Faults(unavailable=Fault(1.0), retry_after=7), TransientTransportError, "HTTP 503", 7),
        (Faults(drop=Fault(1.0)), TransientTransportError, "connection was dropped", None),
        (Faults(delay=Fault(1.0), delay_seconds=1.0), TransientTransportError, "timed out", None),
        (Faults(reject=Fault(1.0)), PermanentTransportError, "HTTP 422: simulated fault", None),
    ],
    ids=["500", "503 Retry-After", "dropped", "delay past the timeout", "422"],
)
def test_each_fault_before_the_intake_maps_to_its_error_and_registers_nothing(
    state: Path,
    practice: Practice,
    *,
    faults: Faults,
    kind: type[Exception],
    message: str,
    retry_after: float | None,
) -> None:
    """Transient or permanent as the protocol says; the message names status and kind."""
    with served(state, faults) as sim, transport(sim, state, read=0.3) as http:
        with pytest.raises(kind) as failed:
            http.deliver(parcel(state, practice))
        assert message in str(failed.value)
        if isinstance(failed.value, TransientTransportError):
            assert failed.value.retry_after == retry_after
        assert "HAMÜF" not in str(failed.value)
        assert counts(sim)["reports"] == 0


@pytest.mark.parametrize(
    "faults",
    [
        Faults(drop=Fault(1.0, "after")),
        Faults(error=Fault(1.0, "after")),
        Faults(unavailable=Fault(1.0, "after")),
        Faults(delay=Fault(1.0, "after"), delay_seconds=1.0),
    ],
    ids=["dropped", "500", "503", "delay past the timeout"],
)
def test_a_lost_answer_is_survived_by_sending_the_same_bytes_under_the_same_key(
    state: Path, practice: Practice, faults: Faults
) -> None:
    """The register took the batch and the answer was lost: the retry gets the receipt it
    kept, byte for byte, and nothing is registered twice."""
    sent = parcel(state, practice)
    with served(state, faults) as sim, transport(sim, state, read=0.3) as http:
        with pytest.raises(TransientTransportError):
            http.deliver(sent)
        assert counts(sim)["reports"] == 2  # registered although the answer was lost
    with served(state) as sim, transport(sim, state) as http:
        delivered = http.deliver(sent)
        assert counts(sim)["reports"] == 2
        assert counts(sim)["submissions"] == 1
    assert delivered.receipt is not None
    receipt = verify_receipt(
        delivered.receipt, register_certificate(state), batch_id="b-1", envelope=sent.envelope
    )
    assert receipt.received_at == NOW


def test_faults_drawn_from_a_seed_come_again_with_the_seed(state: Path, practice: Practice) -> None:
    """The same seed, the same sequence of failures and successes."""
    faults = Faults(error=Fault(0.5), seed=1234)

    def outcomes(prefix: str) -> list[str]:
        seen = []
        with served(state, faults) as sim, transport(sim, state) as http:
            for n in range(12):
                try:
                    http.deliver(parcel(state, practice, f"{prefix}-{n}", codes=1))
                    seen.append("ok")
                except TransientTransportError:
                    seen.append("500")
        return seen

    first = outcomes("s")
    assert {"ok", "500"} <= set(first)
    assert outcomes("t") == first


def test_a_closed_port_is_transient(state: Path) -> None:
    """Connection refused: try again later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = HttpTransport(f"http://127.0.0.1:{port}", register_certificate(state), timeout=2)
    with http, pytest.raises(TransientTransportError, match="refused or the host cannot"):
        http.deliver(Parcel("b-1", b"x", batch("b-1", report("anmeldung", "HAMÜF284", JAN5))))


def _tls_pair(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW.replace(year=2020))
        .not_valid_after(NOW.replace(year=2040) + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.pem", folder / "tls.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_is_verified_against_the_trust_store_or_the_ca_file(
    state: Path, practice: Practice, tmp_path: Path
) -> None:
    """An HTTPS register whose certificate the system does not trust is not talked to;
    with its CA file it is."""
    tls = _tls_pair(tmp_path)
    sent = parcel(state, practice)
    with served(state, tls=tls) as sim:
        untrusted = HttpTransport(sim.endpoint, register_certificate(state), timeout=5)
        with untrusted, pytest.raises(TransientTransportError, match="does not verify"):
            untrusted.deliver(sent)
        assert counts_tls(sim, tls[0])["reports"] == 0
        trusted = HttpTransport(sim.endpoint, register_certificate(state), ca_file=tls[0])
        with trusted:
            assert trusted.deliver(sent).receipt is not None


def counts_tls(sim: ServedSim, ca: Path) -> dict[str, int]:
    context = ssl.create_default_context(cafile=str(ca))
    seen: dict[str, int] = httpx.get(f"{sim.endpoint}/registrations", verify=context).json()[
        "counts"
    ]
    return seen


def test_a_rejection_after_the_intake_is_permanent_though_the_register_holds_the_batch(
    state: Path, practice: Practice
) -> None:
    """reject@after: the worker is told 422 (permanent) while the register took the batch;
    the same bytes under the same key would give the kept receipt (D-108)."""
    sent = parcel(state, practice)
    with served(state, Faults(reject=Fault(1.0, "after"))) as sim, transport(sim, state) as http:
        with pytest.raises(PermanentTransportError, match="HTTP 422: simulated fault"):
            http.deliver(sent)
        assert counts(sim)["reports"] == 2
    with served(state) as sim, transport(sim, state) as http:
        assert http.deliver(sent).receipt is not None
        assert counts(sim)["submissions"] == 1
