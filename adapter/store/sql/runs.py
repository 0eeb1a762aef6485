"""`sync_run` and `sync_run_change` on SQLAlchemy Core, and the columns of the rows a run
changes (the SQL twin of `memory.runs`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, update

from adapter.store.rows import Row
from adapter.store.schema import patient_mapping, patient_state, report, sync_run, sync_run_change
from adapter.store.sql.bulk import insert_arrays, is_postgresql

_CHUNK = 500  # bound parameters per IN list
_ROWS: dict[str, tuple[Table, str]] = {
    "report": (report, "ledger_id"),
    "mapping": (patient_mapping, "mapping_id"),
    "state": (patient_state, "mapping_id"),
}
_RESTORED = ("mapping", "state")  # a report is put back by the ledger: sealed and chained


class SqlRunRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def columns(self, kind: str, ids: list[str], names: tuple[str, ...]) -> dict[str, Row]:
        table, key_name = _ROWS[kind]
        key = table.c[key_name]
        found: dict[str, Row] = {}
        for start in range(0, len(ids), _CHUNK):
            rows = self.connection.execute(
                select(key, *(table.c[c] for c in names)).where(
                    key.in_(ids[start : start + _CHUNK])
                )
            )
            for row in rows:
                values = row._asdict()
                found[str(values.pop(key_name))] = values
        return found

    def restore(self, kind: str, row_id: str, values: Row, at: datetime) -> None:
        if kind not in _RESTORED:
            raise KeyError(f"a {kind} row is not put back by the run journal")
        table, key_name = _ROWS[kind]
        changed: dict[str, Any] = {**values, "updated_at": at}
        if kind == "mapping":  # its optimistic lock: a reader of the old version must not write
            changed["row_version"] = patient_mapping.c.row_version + 1
        self.connection.execute(update(table).where(table.c[key_name] == row_id).values(**changed))

    def latest_walk_except(self, mapping_ids: list[str]) -> date | None:
        query = select(func.max(patient_state.c.walked_to)).where(
            patient_state.c.mapping_id.not_in(mapping_ids)
        )
        latest: date | None = self.connection.execute(query).scalar_one()
        return latest

    def newest_seq(self) -> int:
        query = select(func.coalesce(func.max(sync_run.c.seq), 0))
        return int(self.connection.execute(query).scalar_one())

    def add_run(self, row: Row) -> None:
        self.connection.execute(sync_run.insert().values(**row))

    def add_changes(self, rows: list[Row]) -> None:
        if rows and is_postgresql(self.connection):  # one statement over arrays (D-186)
            insert_arrays(self.connection, sync_run_change, rows)
        elif rows:
            self.connection.execute(sync_run_change.insert(), rows)

    def drop_changes_through(self, seq: int) -> None:
        old = select(sync_run.c.run_id).where(sync_run.c.seq <= seq)
        self.connection.execute(delete(sync_run_change).where(sync_run_change.c.run_id.in_(old)))

    def runs(self, limit: int) -> list[Row]:
        query = select(sync_run).order_by(sync_run.c.seq.desc()).limit(limit)
        return [row._asdict() for row in self.connection.execute(query)]

    def with_changes(self) -> set[str]:
        query = select(sync_run_change.c.run_id).distinct()
        return set(self.connection.execute(query).scalars())

    def changes(self, run_id: str) -> list[Row]:
        query = (
            select(sync_run_change)
            .where(sync_run_change.c.run_id == run_id)
            .order_by(sync_run_change.c.item)
        )
        return [row._asdict() for row in self.connection.execute(query)]

    def mark_undone(self, run_id: str, at: datetime) -> None:
        self.connection.execute(
            update(sync_run).where(sync_run.c.run_id == run_id).values(state="undone", undone_at=at)
        )
