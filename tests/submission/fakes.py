"""A register and transports in memory, for the outbox's tests.

`FakeRegister` is what the register promises (docs/SUBMISSION.md "wire protocol"): it
opens each envelope with its key, registers a batch once per idempotency key (the batch
id), answers the same envelope under that key with the same signed receipt, and refuses
another envelope under it (409). `FakeTransport` hands parcels to it, records every
parcel it was given, and plays the failures a test scripts, one per delivery.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from adapter.crypto.envelope import RecipientKey, open_envelope
from adapter.crypto.envelope.receipt import sign_receipt
from adapter.domain.batch import batch_from_bytes
from adapter.domain.receipt import Notice, Receipt, Result
from adapter.errors import PermanentTransportError, TransientTransportError
from adapter.transport.base import Delivered, Parcel
from tests.storage import NOW

# What one delivery does: "ok", "transient", "permanent", "lost" (reaches the register,
# the answer is lost: transient), "forged" (a receipt that does not verify), "crash" (an
# exception no transport should raise: a bug, a killed process).
Step = str


class Crash(Exception):
    """Raised where a test kills the worker."""


@dataclass
class FakeRegister:
    """The register: each batch registered once, receipts signed with its key."""

    key: RecipientKey
    clock: Callable[[], datetime] = lambda: NOW
    rejected: dict[str, str] = field(default_factory=dict)  # report id → reason
    silent: set[str] = field(default_factory=set)  # report ids the receipt leaves out
    duplicates: set[str] = field(default_factory=set)  # report ids with a duplicate notice
    registered: dict[str, str] = field(default_factory=dict)  # batch id → envelope SHA-256
    reports: dict[str, int] = field(default_factory=dict)  # report id → times registered
    receipts: dict[str, bytes] = field(default_factory=dict)

    def submit(self, batch_id: str, envelope: bytes) -> bytes:
        digest = hashlib.sha256(envelope).hexdigest()
        if batch_id in self.registered:
            if self.registered[batch_id] != digest:
                raise PermanentTransportError("409: the idempotency key was used already")
            return self.receipts[batch_id]
        batch = batch_from_bytes(open_envelope(envelope, key=self.key).payload)
        assert batch.batch_id == batch_id
        self.registered[batch_id] = digest
        for report in batch.reports:
            self.reports[report.id] = self.reports.get(report.id, 0) + 1
        receipt = Receipt(
            batch_id=batch_id,
            envelope_sha256=digest,
            received_at=self.clock(),
            results=tuple(
                Result(r.id, "rejected", self.rejected[r.id])
                if r.id in self.rejected
                else Result(r.id, "accepted")
                for r in batch.reports
                if r.id not in self.silent
            ),
            notices=tuple(
                Notice("duplicate", r.id, f"Code {r.patient_code} doppelt")
                for r in batch.reports
                if r.id in self.duplicates
            ),
        )
        self.receipts[batch_id] = sign_receipt(receipt, self.key)
        return self.receipts[batch_id]


@dataclass
class FakeTransport:
    """Records each parcel and plays the scripted steps (then "ok"); with a register it
    answers with its receipt (the http route), without one it is a folder (no receipt)."""

    register: FakeRegister | None = None
    script: list[Step] = field(default_factory=list)
    retry_after: float | None = None
    pause: float = 0.0  # seconds each delivery takes (parallel workers overlap)
    refusal: str = "422: Meldung 1 unvollständig (Code HAMÜF284)"  # a "permanent" step's words
    parcels: list[Parcel] = field(default_factory=list)
    name: str = "fake"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, parcel: Parcel) -> Delivered:
        with self._lock:
            self.parcels.append(parcel)
            step = self.script.pop(0) if self.script else "ok"
        if self.pause:
            threading.Event().wait(self.pause)
        if step == "crash":
            raise Crash(parcel.batch_id)
        if step == "transient":
            raise TransientTransportError("HTTP 503", retry_after=self.retry_after)
        if step == "permanent":
            raise PermanentTransportError(self.refusal)
        receipt = self._receipt(parcel) if self.register is not None else None
        if step == "lost":
            raise TransientTransportError("the connection dropped before the answer")
        if step == "forged" and receipt is not None:
            receipt = forged(receipt)
        return Delivered(at=NOW, receipt=receipt, proof=f"fake:{parcel.batch_id}")

    def _receipt(self, parcel: Parcel) -> bytes:
        assert self.register is not None
        return self.register.submit(parcel.batch_id, parcel.envelope)

    def delivered(self, batch_id: str) -> list[Parcel]:
        return [p for p in self.parcels if p.batch_id == batch_id]


def forged(document: bytes) -> bytes:
    """The receipt document with another signature: it does not verify."""
    outer = orjson.loads(document)
    outer["signature"] = base64.b64encode(bytes(384)).decode()
    return orjson.dumps(outer, option=orjson.OPT_SORT_KEYS)
