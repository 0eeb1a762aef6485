"""The outbox: sealed batches waiting for, or done with, the register (docs/SUBMISSION.md).

A batch is written with its envelope and its reports before any byte of it is sent, and
every delivery hands over exactly the stored bytes (their SHA-256 is checked first), so a
crash at any point resends the same ciphertext under the same batch id. A worker claims a
due batch for a lease (`claim`), sends it outside any transaction, and records what came
back only while it still holds the batch (`record`): a worker whose lease ran out and
whose batch another worker took records nothing. The register's receipt and its reason
for refusing a whole batch may quote anything, so both are sealed under the practice's
data key; the receipt comes back byte for byte, the proof the practice keeps (R-CH-2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from adapter.domain.submission import batch_move_problem
from adapter.errors import OutboxError, UnknownBatchError
from adapter.store.keys import KeyStore
from adapter.store.outbox_batch import (
    BatchReport,
    Claimed,
    OutboxBatch,
    Proof,
    batch_of,
    item_of,
)
from adapter.store.rows import OutboxRows, Row

__all__ = ["BatchReport", "Claimed", "Outbox", "OutboxBatch", "Proof"]

_RECEIPT, _REASON = "receipt", "reason"


class Outbox:
    def __init__(
        self, rows: OutboxRows, keys: KeyStore, now: datetime, practice_key: Callable[[], str]
    ) -> None:
        self.rows = rows
        self.keys = keys
        self.now = now
        self._practice_key = practice_key

    # -- writing a batch ------------------------------------------------------------------

    def add(
        self,
        *,
        batch_id: str,
        doctor_btm: str,
        transport: str,
        envelope: bytes,
        created_at: datetime,
        reports: list[tuple[str, str]],
        replaces: str | None = None,
    ) -> OutboxBatch:
        """Store a sealed batch, due at once; `reports`: (ledger id, report id) in order."""
        row: Row = {
            "batch_id": batch_id,
            "doctor_btm": doctor_btm,
            "transport": transport,
            "state": "sealed",
            "envelope": envelope,
            "envelope_sha256": hashlib.sha256(envelope).hexdigest(),
            "report_count": len(reports),
            "attempts": 0,
            "next_attempt_at": self.now,
            "replaces": replaces,
            "created_at": created_at,
            "updated_at": self.now,
        }
        items = [
            {"batch_id": batch_id, "position": n, "ledger_id": ledger_id, "report_id": report_id}
            for n, (ledger_id, report_id) in enumerate(reports, 1)
        ]
        self.rows.add(row, items)
        return self.get(batch_id)

    # -- reading ----------------------------------------------------------------------------

    def get(self, batch_id: str) -> OutboxBatch:
        return batch_of(self._row(batch_id))

    def _row(self, batch_id: str) -> Row:
        row = self.rows.batch(batch_id)
        if row is None:
            msg = f"There is no batch {batch_id} in the outbox (`substreg outbox list`)."
            raise UnknownBatchError(msg)
        return row

    def listed(self, states: list[str] | None = None) -> list[OutboxBatch]:
        return [batch_of(row) for row in self.rows.batches(states=states)]

    def reports(self, batch_id: str) -> list[BatchReport]:
        return [item_of(row) for row in self.rows.items(batch_id)]

    def envelope(self, batch_id: str) -> bytes:
        """The stored envelope, once it matches its SHA-256 (never send a changed one)."""
        envelope, problem = _checked(self._row(batch_id))
        if envelope is None:
            raise OutboxError(problem)
        return envelope

    def receipt(self, batch: OutboxBatch) -> bytes | None:
        """The register's receipt document as received, byte for byte."""
        return self._open(batch.batch_id, _RECEIPT)

    def reason(self, batch: OutboxBatch) -> str | None:
        """The register's reason for refusing the batch as a whole."""
        opened = self._open(batch.batch_id, _REASON)
        return opened.decode() if opened is not None else None

    def proofs(self, ledger_ids: list[str]) -> dict[str, Proof]:
        """The proof of each report that was ever in a batch: its newest batch."""
        items = self.rows.items_of(ledger_ids)
        batches = {
            row["batch_id"]: row
            for row in self.rows.batches(batch_ids=sorted({i["batch_id"] for i in items}))
        }
        found: dict[str, Proof] = {}
        for item in sorted(items, key=lambda i: batches[i["batch_id"]]["created_at"]):
            b = batches[item["batch_id"]]
            found[item["ledger_id"]] = Proof(
                batch_id=b["batch_id"],
                transport=b["transport"],
                state=b["state"],
                sent_at=b["sent_at"],
                received_at=b["received_at"],
                result=item["result"],
                proof=b["proof"],
            )
        return found

    def next_due(self) -> datetime | None:
        return self.rows.next_due()

    # -- a worker's claim, and what it records ------------------------------------------------

    def claim(
        self, worker: str, lease: timedelta, *, due_by: datetime | None = None
    ) -> Claimed | None:
        """The oldest batch due by `due_by` (default now), held by `worker` until now +
        `lease`; None when none is due. Its envelope is checked against its SHA-256."""
        row = self.rows.claim(due_by or self.now, self.now + lease, worker)
        if row is None:
            return None
        batch = batch_of(row)
        envelope, problem = _checked(row)
        return Claimed(batch, envelope, tuple(self.reports(batch.batch_id)), problem)

    def record(self, claimed: OutboxBatch, state: str, **values: Any) -> bool:
        """Move a batch the worker `claimed` (as claimed) to `state` with `values`, lease
        released; False when the worker no longer holds it (its lease ran out and another
        worker took it): then nothing is written."""
        _allowed(claimed, "sending", state)
        changes = {"state": state, "claimed_by": None, "lease_until": None, **values}
        return self.rows.update(
            claimed.batch_id, "sending", claimed.claimed_by, changes | {"updated_at": self.now}
        )

    def receipt_values(
        self, batch_id: str, document: bytes, received_at: datetime
    ) -> dict[str, Any]:
        """The columns that keep a verified receipt: sealed, with its SHA-256 and time."""
        return self._sealed(batch_id, document, _RECEIPT) | {
            "receipt_sha256": hashlib.sha256(document).hexdigest(),
            "received_at": received_at,
        }

    def reason_values(self, batch_id: str, reason: str) -> dict[str, Any]:
        """The columns that keep the register's reason for refusing the batch: sealed."""
        return self._sealed(batch_id, reason.encode(), _REASON)

    def set_results(self, batch_id: str, results: dict[int, str]) -> None:
        self.rows.set_results(batch_id, results)

    # -- a person's moves ---------------------------------------------------------------------

    def retry(self, batch_id: str) -> OutboxBatch:
        """A failed batch back to `sealed`, due now, its attempts counted afresh: the same
        bytes under the same id."""
        batch = self.get(batch_id)
        if batch.replaced_by is not None:
            msg = f"The batch {batch_id} was sealed again as {batch.replaced_by}; retry that one."
            raise OutboxError(msg)
        _allowed(batch, "failed", "sealed", person=True)
        values = {"state": "sealed", "attempts": 0, "next_attempt_at": self.now}
        if not self.rows.update(batch_id, "failed", None, values | {"updated_at": self.now}):
            msg = f"The batch {batch_id} was changed by another run; look at it again."
            raise OutboxError(msg)
        return self.get(batch_id)

    def mark_replaced(self, batch: OutboxBatch, by: str) -> None:
        """Note that the batch's reports were sealed again as `by` (`outbox resend`); it is
        never claimed again."""
        values = {"replaced_by": by, "next_attempt_at": None, "updated_at": self.now}
        if not self.rows.update(batch.batch_id, batch.state, None, values):
            msg = f"The batch {batch.batch_id} was changed by another run; look at it again."
            raise OutboxError(msg)

    # -- sealing ---------------------------------------------------------------------------

    def _sealed(self, batch_id: str, plaintext: bytes, field: str) -> dict[str, Any]:
        dek_id = self._practice_key()
        sealed = self.keys.seal(dek_id, f"outbox/{batch_id}", field, plaintext)
        return {"dek_id": dek_id, f"{field}_nonce": sealed.nonce, f"{field}_ct": sealed.ct}

    def _open(self, batch_id: str, field: str) -> bytes | None:
        row = self.rows.batch(batch_id)
        if row is None or row[f"{field}_ct"] is None:
            return None
        return self.keys.open(
            row["dek_id"], f"outbox/{batch_id}", field, row[f"{field}_nonce"], row[f"{field}_ct"]
        )


def _checked(row: Row) -> tuple[bytes | None, str]:
    envelope = bytes(row["envelope"])
    if hashlib.sha256(envelope).hexdigest() == row["envelope_sha256"]:
        return envelope, ""
    batch_id = row["batch_id"]
    return None, (
        f"The envelope of batch {batch_id} does not match its SHA-256: it was changed outside "
        f"substreg and is not sent. Seal its reports again (`substreg outbox resend {batch_id}`)."
    )


def _allowed(batch: OutboxBatch, expected: str, new: str, *, person: bool = False) -> None:
    problem = (f"it is {batch.state}" if batch.state != expected else None) or batch_move_problem(
        expected, new
    )
    if problem is not None:
        msg = f"The batch {batch.batch_id} cannot become {new}: {problem}."
        if person and batch.state != expected:
            msg += f" Only a {expected} batch can."
        raise OutboxError(msg)
