"""The in-memory twin's tables: one dict of rows per table of `adapter.store.schema`.

A row is a dict by column name, as the SQL row stores hand them over. A transaction
works on a deep copy and replaces the tables only when it succeeds, so a failed unit
of work leaves nothing behind, as a rolled-back database transaction would.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

Row = dict[str, Any]


class Tables:
    """`table name -> primary key -> row`; tables without a natural key use a counter."""

    def __init__(self) -> None:
        self.rows: defaultdict[str, dict[Any, Row]] = defaultdict(dict)
        self.sequences: defaultdict[str, int] = defaultdict(int)

    def __getitem__(self, table: str) -> dict[Any, Row]:
        return self.rows[table]

    def next_id(self, table: str) -> int:
        """The next value of a table's autoincrement key (1, 2, …), never reused."""
        self.sequences[table] += 1
        return self.sequences[table]

    def copy(self) -> Tables:
        """Each table and each row copied, the values shared: a row holds column values
        (str, bytes, numbers, dates, None), which nobody changes in place, so a copy of
        every row dict isolates a transaction as a deep copy did, at a tenth of its cost."""
        twin = Tables()
        for name, rows in self.rows.items():
            twin.rows[name] = {key: dict(row) for key, row in rows.items()}
        twin.sequences = self.sequences.copy()
        return twin

    def held(self) -> dict[str, int]:
        """How many rows each table holds (for `status` and the wiped-log check)."""
        return {name: len(rows) for name, rows in self.rows.items() if rows}
