"""`audit_log` and `audit_checkpoint` in memory (the twin of `sql.audit`)."""

from __future__ import annotations

from datetime import datetime

from adapter.errors import ConcurrentUpdateError
from adapter.store.memory.tables import Tables
from adapter.store.rows import Row

_ENTRY = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "mapping_id",
    "ledger_id",
    "purpose",
    "ticket",
    "details",
    "prev_hash",
    "entry_hash",
)
_CHECKPOINT = ("seq", "entry_hash", "key_id", "signature", "at")
_HELD = ("report", "key_registry", "patient_mapping", "sync_run")


class MemoryAuditRows:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.log = tables["audit_log"]  # seq -> row; the seq is the logic's (no autoincrement)
        self.signed = tables["audit_checkpoint"]  # seq -> row

    def head(self) -> tuple[int, bytes] | None:
        if not self.log:
            return None
        row = self.log[max(self.log)]
        return row["seq"], row["entry_hash"]

    def add(self, entries: list[Row]) -> None:
        rows = [{c: entry.get(c) for c in _ENTRY} for entry in entries]
        seqs = [row["seq"] for row in rows]
        if len(set(seqs)) != len(seqs) or any(seq in self.log for seq in seqs):
            # The primary key: a parallel writer appended at that seq first (SQL refuses
            # the insert, and the store runs the work again).
            raise ConcurrentUpdateError(f"audit_log: the entry {seqs} was written already")
        self.log.update((row["seq"], row) for row in rows)

    def entries(
        self, *, action: str | None = None, ledger_ids: list[str] | None = None
    ) -> list[Row]:
        wanted = set(ledger_ids) if ledger_ids is not None else None
        return [
            dict(row)
            for _, row in sorted(self.log.items())
            if (action is None or row["action"] == action)
            and (wanted is None or row["ledger_id"] in wanted)
        ]

    def count(self, action: str, actor: str, since: datetime) -> int:
        return sum(
            1
            for row in self.log.values()
            if row["action"] == action and row["actor"] == actor and row["at"] >= since
        )

    def add_checkpoint(self, row: Row) -> None:
        if row["seq"] in self.signed:
            raise ConcurrentUpdateError(f"audit_checkpoint: entry {row['seq']} is signed already")
        if row["key_id"] not in self.tables["key_registry"]:  # the SQL schema's foreign key
            raise KeyError(f"audit_checkpoint: the key {row['key_id']} is not registered")
        self.signed[row["seq"]] = {c: row.get(c) for c in _CHECKPOINT}

    def checkpoints(self) -> list[Row]:
        return [dict(row) for _, row in sorted(self.signed.items())]

    def has_entries(self) -> bool:
        return bool(self.log)

    def held(self) -> dict[str, int]:
        return {name: len(self.tables[name]) for name in _HELD}
