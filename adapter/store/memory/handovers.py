"""`handover_in` in memory (the twin of `sql.handovers`)."""

from __future__ import annotations

from datetime import date

from adapter.store.memory.tables import Row, Tables


class MemoryHandoverRows:
    def __init__(self, tables: Tables) -> None:
        self.table = tables["handover_in"]

    def add(self, row: Row) -> bool:
        if row["handover_id"] in self.table:
            return False
        self.table[row["handover_id"]] = dict(row)
        return True

    def rows(self, state: str | None = None) -> list[Row]:
        found = [dict(r) for r in self.table.values() if state is None or r["state"] == state]
        return sorted(found, key=lambda r: (r["received_at"], r["handover_id"]))

    def set_state(self, handover_id: str, state: str, released_on: date | None) -> bool:
        row = self.table.get(handover_id)
        if row is None:
            return False
        row.update(state=state, released_on=released_on)
        return True

    def remove(self, handover_id: str) -> None:
        self.table.pop(handover_id, None)
