"""What the use cases are given in the tests: the sealing material as files, and a
worker's delivery around a fake transport."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from adapter.domain.submission import RetryPolicy
from adapter.services.submit import Sealing
from adapter.services.worker import Delivery
from tests.submission.fakes import FakeTransport
from tests.submission.pki import SubmissionPki

POLICY = RetryPolicy(initial=30.0, maximum=600.0, attempts=4, jitter=0.5)
LEASE = timedelta(minutes=2)


def sealing_for(
    pki: SubmissionPki,
    folder: Path,
    *,
    register: str = "register",
    pinned: str | None = "",
    max_reports: int = 200,
    weekdays: tuple[str, ...] = (),
) -> Sealing:
    """The files written into `folder`, `register` naming the register's certificate used
    (register, expired, stranger); `pinned` "" for the right pin, None for none."""
    files = pki.write(folder)
    return Sealing(
        signer_key=files["signer_key"],
        signer_certificate=files["signer_certificate"],
        register_certificate=files[register],
        pinned_sha256=pki.pin if pinned == "" else pinned,
        passphrase=None,
        transport="fake",
        max_reports=max_reports,
        bundle_weekdays=weekdays,
    )


def delivery_for(
    pki: SubmissionPki,
    transport: FakeTransport,
    *,
    worker: str = "w1",
    policy: RetryPolicy = POLICY,
    lease: timedelta = LEASE,
) -> Delivery:
    return Delivery(
        transport=transport,
        policy=policy,
        lease=lease,
        worker=worker,
        register_certificate=lambda: pki.register.cert,
        draw=lambda: 0.5,
    )
