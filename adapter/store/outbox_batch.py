"""A batch of the outbox and its reports as read (`adapter.store.outbox`): the clear
columns; only a claim carries the envelope's bytes, to hand them over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapter.store.rows import Row


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    """A batch as listed: everything but the envelope and what is sealed."""

    batch_id: str
    doctor_btm: str
    transport: str
    state: str
    envelope_sha256: str
    report_count: int
    attempts: int
    next_attempt_at: datetime | None
    claimed_by: str | None
    lease_until: datetime | None
    last_error: str | None
    proof: str | None
    receipt_sha256: str | None
    received_at: datetime | None
    replaces: str | None
    replaced_by: str | None
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    updated_at: datetime
    has_reason: bool


@dataclass(frozen=True, slots=True)
class BatchReport:
    """A report of a batch: its place, its ledger row, its id in the batch, the receipt's word."""

    position: int
    ledger_id: str
    report_id: str
    result: str | None  # accepted, rejected, missing; None before a receipt


@dataclass(frozen=True, slots=True)
class Claimed:
    """A batch a worker holds until `batch.lease_until`: the bytes to send, and its reports;
    `envelope` None (and `problem` why) when the stored bytes fail their SHA-256."""

    batch: OutboxBatch
    envelope: bytes | None
    reports: tuple[BatchReport, ...]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Proof:
    """What the outbox proves of one report (R-CH-2): the last batch that held it."""

    batch_id: str
    transport: str
    state: str
    sent_at: datetime | None
    received_at: datetime | None  # the time the register's receipt gives
    result: str | None
    proof: str | None


def batch_of(row: Row) -> OutboxBatch:
    return OutboxBatch(
        batch_id=row["batch_id"],
        doctor_btm=row["doctor_btm"],
        transport=row["transport"],
        state=row["state"],
        envelope_sha256=row["envelope_sha256"],
        report_count=row["report_count"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        claimed_by=row["claimed_by"],
        lease_until=row["lease_until"],
        last_error=row["last_error"],
        proof=row["proof"],
        receipt_sha256=row["receipt_sha256"],
        received_at=row["received_at"],
        replaces=row["replaces"],
        replaced_by=row["replaced_by"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        acknowledged_at=row["acknowledged_at"],
        updated_at=row["updated_at"],
        has_reason=row["reason_ct"] is not None,
    )


def item_of(row: Row) -> BatchReport:
    return BatchReport(row["position"], row["ledger_id"], row["report_id"], row["result"])
