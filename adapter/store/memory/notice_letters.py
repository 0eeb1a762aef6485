"""`duplicate_notice` in memory (the twin of `sql.notice_letters`)."""

from __future__ import annotations

from adapter.store.memory.tables import Row, Tables


class MemoryNoticeLetterRows:
    def __init__(self, tables: Tables) -> None:
        self.table = tables["duplicate_notice"]

    def add(self, row: Row) -> None:
        if row["notice_id"] in self.table:
            msg = f"duplicate_notice {row['notice_id']} exists"
            raise KeyError(msg)
        self.table[row["notice_id"]] = dict(row)

    def rows(self) -> list[Row]:
        found = [dict(r) for r in self.table.values()]
        return sorted(found, key=lambda r: (r["received_at"], r["notice_id"]))

    def update(self, notice_id: str, values: Row) -> bool:
        row = self.table.get(notice_id)
        if row is None:
            return False
        row.update(values)
        return True

    def remove(self, notice_id: str) -> None:
        self.table.pop(notice_id, None)
