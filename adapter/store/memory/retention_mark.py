"""`retention_mark` in memory (the twin of `sql.retention_mark`)."""

from __future__ import annotations

from datetime import date, datetime

from adapter.store.memory.tables import Tables

_MARK_ROW = 1  # retention_mark holds one row


class MemoryMarkRows:
    def __init__(self, tables: Tables) -> None:
        self.marks = tables["retention_mark"]
        self.mappings = tables["patient_mapping"]

    def cutoff(self) -> date | None:
        row = self.marks.get(_MARK_ROW)
        return None if row is None else row["cutoff"]

    def put(self, cutoff: date, at: datetime) -> None:
        self.marks[_MARK_ROW] = {"mark_id": _MARK_ROW, "cutoff": cutoff, "applied_at": at}

    def drop(self) -> None:
        self.marks.pop(_MARK_ROW, None)

    def last_shredded_closed_on(self) -> date | None:
        days = [
            row["closed_on"]
            for row in self.mappings.values()
            if row["status"] == "shredded" and row["closed_on"] is not None
        ]
        return max(days, default=None)
