"""`outbox_batch` and `outbox_report` in memory (the twin of `sql.outbox`).

What the schema enforces is enforced here too: one batch per id (a second is a race), and
the foreign keys from a batch report to its batch and its ledger row, and from a sealed
receipt to its data key. Claims need no row locks: the twin has one writer at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapter.errors import ConcurrentUpdateError
from adapter.store.memory.tables import Tables
from adapter.store.rows import Row
from adapter.store.schema import outbox_batch, outbox_report

_BATCH = tuple(c.name for c in outbox_batch.c)
_ITEM = tuple(c.name for c in outbox_report.c)
_DUE_AGAIN = ("sealed", "sent")


class MemoryOutboxRows:
    def __init__(self, tables: Tables) -> None:
        self.made = tables["outbox_batch"]  # batch id -> row
        self.held = tables["outbox_report"]  # (batch id, position) -> row
        self.reports = tables["report"]
        self.data_keys = tables["data_key"]

    def add(self, batch: Row, items: list[Row]) -> None:
        batch_id = batch["batch_id"]
        if batch_id in self.made:  # the primary key: a parallel run sealed it first
            raise ConcurrentUpdateError(f"outbox_batch: the batch {batch_id} exists already")
        unknown = sorted({i["ledger_id"] for i in items} - set(self.reports))
        if unknown:  # the foreign key to the ledger
            raise KeyError(f"outbox_report: the ledger has no report {unknown[0]}")
        keys = [(batch_id, i["position"]) for i in items]
        if len(set(keys)) != len(keys) or any(i["batch_id"] != batch_id for i in items):
            raise KeyError("outbox_report: each position of the batch once, of this batch")
        self._check_key(batch)
        self.made[batch_id] = {c: _utc(batch.get(c)) for c in _BATCH}
        for item in items:
            self.held[(batch_id, item["position"])] = {c: item.get(c) for c in _ITEM}

    def batch(self, batch_id: str) -> Row | None:
        row = self.made.get(batch_id)
        return dict(row) if row is not None else None

    def batches(
        self, *, states: list[str] | None = None, batch_ids: list[str] | None = None
    ) -> list[Row]:
        wanted = None if batch_ids is None else set(batch_ids)
        found = [
            {c: v for c, v in row.items() if c != "envelope"}
            for row in self.made.values()
            if (states is None or row["state"] in states)
            and (wanted is None or row["batch_id"] in wanted)
        ]
        return sorted(found, key=lambda r: (r["created_at"], r["batch_id"]))

    def items(self, batch_id: str) -> list[Row]:
        return [dict(row) for key, row in sorted(self.held.items()) if key[0] == batch_id]

    def items_of(self, ledger_ids: list[str]) -> list[Row]:
        wanted = set(ledger_ids)
        return [dict(row) for _, row in sorted(self.held.items()) if row["ledger_id"] in wanted]

    def claim(self, now: datetime, until: datetime, worker: str) -> Row | None:
        due = [
            row
            for row in self.made.values()
            if (
                row["state"] in _DUE_AGAIN
                and row["next_attempt_at"] is not None
                and row["next_attempt_at"] <= now
            )
            or (row["state"] == "sending" and row["lease_until"] < now)
        ]
        if not due:
            return None
        row = min(due, key=lambda r: (r["created_at"], r["batch_id"]))
        row.update(
            state="sending", claimed_by=worker, lease_until=_utc(until), updated_at=_utc(now)
        )
        return dict(row)

    def update(self, batch_id: str, state: str, claimed_by: str | None, values: Row) -> bool:
        unknown = set(values) - set(_BATCH)
        if unknown:
            raise KeyError(f"outbox_batch has no column {sorted(unknown)[0]}")
        row = self.made.get(batch_id)
        if row is None or row["state"] != state or row["claimed_by"] != claimed_by:
            return False
        self._check_key(values)
        row.update({c: _utc(v) for c, v in values.items()})
        return True

    def set_results(self, batch_id: str, results: dict[int, str]) -> None:
        for position, result in results.items():
            item = self.held.get((batch_id, position))
            if item is not None:
                item["result"] = result

    def next_due(self) -> datetime | None:
        times = [
            row["next_attempt_at"]
            for row in self.made.values()
            if row["state"] in _DUE_AGAIN and row["next_attempt_at"] is not None
        ] + [row["lease_until"] for row in self.made.values() if row["state"] == "sending"]
        return min(times, default=None)

    def _check_key(self, values: Row) -> None:
        dek_id = values.get("dek_id")
        if dek_id is not None and dek_id not in self.data_keys:  # the foreign key
            raise KeyError(f"outbox_batch: no data key {dek_id}")


def _utc(value: object) -> object:
    return value.astimezone(UTC) if isinstance(value, datetime) else value
