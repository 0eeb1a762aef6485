"""`sync_run` and `sync_run_change` in memory, and the columns of the rows a run changes
(the twin of `sql.runs`)."""

from __future__ import annotations

from datetime import date, datetime

from adapter.errors import ConcurrentUpdateError
from adapter.store.memory.tables import Tables
from adapter.store.rows import Row

_TABLES = {"report": "report", "mapping": "patient_mapping", "state": "patient_state"}
_RESTORED = ("mapping", "state")  # a report is put back by the ledger: sealed and chained
_RUN = ("run_id", "seq", "as_of", "made_at", "actor", "recorded", "state", "undone_at")
_CHANGE = ("run_id", "item", "kind", "row_id", "before")


class MemoryRunRows:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.made = tables["sync_run"]  # run id -> row
        self.kept = tables["sync_run_change"]  # (run id, item) -> row

    def columns(self, kind: str, ids: list[str], names: tuple[str, ...]) -> dict[str, Row]:
        rows = self.tables[_TABLES[kind]]  # keyed by ledger id, mapping id
        return {i: {c: rows[i][c] for c in names} for i in dict.fromkeys(ids) if i in rows}

    def restore(self, kind: str, row_id: str, values: Row, at: datetime) -> None:
        if kind not in _RESTORED:
            raise KeyError(f"a {kind} row is not put back by the run journal")
        row = self.tables[_TABLES[kind]].get(row_id)
        if row is None:
            return  # as an UPDATE that matches no row
        row.update(values, updated_at=at)
        if kind == "mapping":
            row["row_version"] += 1

    def latest_walk_except(self, mapping_ids: list[str]) -> date | None:
        left_out = set(mapping_ids)
        walks = [
            row["walked_to"]
            for mapping_id, row in self.tables["patient_state"].items()
            if mapping_id not in left_out and row["walked_to"] is not None
        ]
        return max(walks, default=None)

    def newest_seq(self) -> int:
        return max((row["seq"] for row in self.made.values()), default=0)

    def add_run(self, row: Row) -> None:
        taken = row["run_id"] in self.made or any(
            other["seq"] == row["seq"] for other in self.made.values()
        )
        if taken:  # the keys of sync_run: a parallel sync took the seq first
            raise ConcurrentUpdateError(f"sync_run: the run {row['seq']} was written already")
        self.made[row["run_id"]] = {c: row.get(c) for c in _RUN}

    def add_changes(self, rows: list[Row]) -> None:
        keys = [(row["run_id"], row["item"]) for row in rows]
        if len(set(keys)) != len(keys) or any(key in self.kept for key in keys):
            raise ConcurrentUpdateError(f"sync_run_change: {keys} were written already")
        unknown = {run_id for run_id, _ in keys} - set(self.made)
        if unknown:  # the SQL schema's foreign key
            raise KeyError(f"sync_run_change: the runs {sorted(unknown)} were never written")
        self.kept.update(
            ((row["run_id"], row["item"]), {c: row.get(c) for c in _CHANGE}) for row in rows
        )

    def drop_changes_through(self, seq: int) -> None:
        old = {run_id for run_id, row in self.made.items() if row["seq"] <= seq}
        for key in [key for key in self.kept if key[0] in old]:
            del self.kept[key]

    def runs(self, limit: int) -> list[Row]:
        newest = sorted(self.made.values(), key=lambda row: row["seq"], reverse=True)
        return [dict(row) for row in newest[:limit]]

    def with_changes(self) -> set[str]:
        return {run_id for run_id, _ in self.kept}

    def changes(self, run_id: str) -> list[Row]:
        return [dict(row) for key, row in sorted(self.kept.items()) if key[0] == run_id]

    def mark_undone(self, run_id: str, at: datetime) -> None:
        row = self.made.get(run_id)
        if row is not None:
            row.update(state="undone", undone_at=at)
