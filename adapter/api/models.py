"""The JSON shapes of the service's own routes (the OpenAPI schema documents them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from adapter.domain.ledger import State
from adapter.domain.payload import report_json
from adapter.domain.submission import BatchState
from adapter.services.reports import ShownReport
from adapter.store.ledger import Entry
from adapter.store.outbox import OutboxBatch
from adapter.store.registry import ApiKey, Role


class ReportOut(BaseModel):
    ledger_id: str
    state: State
    kind: str
    made_on: date
    date: date
    doctor_btm: str
    rule: str
    origin: str
    superseded: bool
    mapping_id: str | None
    integrity: str | None = Field(
        None, description="null: as written and recorded; else why it fails its check (D-44)"
    )

    @classmethod
    def of(cls, entry: Entry, problem: str | None = None) -> ReportOut:
        return cls.model_validate(  # validated: the states are the domain's (State)
            dict(
                ledger_id=entry.ledger_id,
                state=entry.state,
                kind=entry.kind,
                made_on=entry.made_on,
                date=entry.report_date,
                doctor_btm=entry.doctor_btm,
                rule=entry.rule,
                origin=entry.origin,
                superseded=entry.superseded,
                mapping_id=entry.mapping_id,
                integrity=problem,
            )
        )


class ReportList(BaseModel):
    reports: list[ReportOut]
    deleted: list[str] = Field(description="recorded by the audit log, missing from the ledger")


class ShownReportOut(ReportOut):
    payload: dict[str, Any] | None = Field(description="the report (REPORTS.md); null: shredded")
    shredded: bool
    note: str | None

    @classmethod
    def shown(cls, shown: ShownReport) -> ShownReportOut:
        base = ReportOut.of(shown.entry).model_dump()
        payload = report_json(shown.report) if shown.report is not None else None
        return cls(**base, payload=payload, shredded=shown.report is None, note=shown.note)


class Rejection(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why, kept with the report")


class FindingOut(BaseModel):
    severity: str
    rule: str
    message: str
    sources: list[str]


class SyncFindingsOut(BaseModel):
    run_id: str | None
    as_of: date
    at: datetime
    source: str
    findings: list[FindingOut]


class FindingsOut(BaseModel):
    runs: list[SyncFindingsOut] = Field(description="newest first, of this process's runs")


class BatchOut(BaseModel):
    batch_id: str
    doctor_btm: str
    transport: str
    state: BatchState
    reports: int
    attempts: int
    envelope_sha256: str
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    acknowledged_at: datetime | None
    receipt_received_at: datetime | None
    receipt_sha256: str | None
    proof: str | None
    last_error: str | None
    replaces: str | None
    replaced_by: str | None

    @classmethod
    def of(cls, batch: OutboxBatch) -> BatchOut:
        return cls.model_validate(  # validated: the states are the domain's (BatchState)
            dict(
                batch_id=batch.batch_id,
                doctor_btm=batch.doctor_btm,
                transport=batch.transport,
                state=batch.state,
                reports=batch.report_count,
                attempts=batch.attempts,
                envelope_sha256=batch.envelope_sha256,
                created_at=batch.created_at,
                next_attempt_at=batch.next_attempt_at,
                sent_at=batch.sent_at,
                acknowledged_at=batch.acknowledged_at,
                receipt_received_at=batch.received_at,
                receipt_sha256=batch.receipt_sha256,
                proof=batch.proof,
                last_error=batch.last_error,
                replaces=batch.replaces,
                replaced_by=batch.replaced_by,
            )
        )


class BatchList(BaseModel):
    batches: list[BatchOut]


class BatchReportOut(BaseModel):
    position: int
    ledger_id: str
    report_id: str
    result: str | None
    ledger_state: State


class ShownBatchOut(BatchOut):
    report_items: list[BatchReportOut]
    register_reason: str | None
    receipt: dict[str, Any] | None = Field(description="the register's receipt, parsed")


class KeyOut(BaseModel):
    key_id: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            key_id=key.key_id, role=key.role, created_at=key.created_at, revoked_at=key.revoked_at
        )


class KeyList(BaseModel):
    keys: list[KeyOut]


class NewKeyIn(BaseModel):
    role: Role


class NewKeyOut(KeyOut):
    key: str = Field(description="the whole key: shown this once, only its digest is kept")
