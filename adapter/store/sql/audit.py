"""`audit_log` and `audit_checkpoint` on SQLAlchemy Core (the SQL twin of `memory.audit`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from adapter.store.rows import Row
from adapter.store.schema import (
    audit_checkpoint,
    audit_log,
    key_registry,
    patient_mapping,
    report,
    sync_run,
)
from adapter.store.sql.bulk import insert_arrays, is_postgresql

_CHUNK = 500  # bound parameters per IN list
_HELD = (report, key_registry, patient_mapping, sync_run)


class SqlAuditRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def head(self) -> tuple[int, bytes] | None:
        row = self.connection.execute(
            select(audit_log.c.seq, audit_log.c.entry_hash)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).one_or_none()
        return (row.seq, row.entry_hash) if row is not None else None

    def add(self, entries: list[Row]) -> None:
        if entries and is_postgresql(self.connection):  # one statement over arrays (D-186)
            insert_arrays(self.connection, audit_log, entries)
        elif entries:
            self.connection.execute(audit_log.insert(), entries)

    def entries(
        self, *, action: str | None = None, ledger_ids: list[str] | None = None
    ) -> list[Row]:
        query = select(audit_log).order_by(audit_log.c.seq)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        if ledger_ids is None:
            return [row._asdict() for row in self.connection.execute(query)]
        found: list[Row] = []
        for start in range(0, len(ledger_ids), _CHUNK):
            chunk = ledger_ids[start : start + _CHUNK]
            found += [
                row._asdict()
                for row in self.connection.execute(query.where(audit_log.c.ledger_id.in_(chunk)))
            ]
        return sorted(found, key=lambda row: int(row["seq"]))

    def count(self, action: str, actor: str, since: datetime) -> int:
        return int(
            self.connection.execute(
                select(func.count())
                .select_from(audit_log)
                .where(audit_log.c.action == action)
                .where(audit_log.c.actor == actor)
                .where(audit_log.c.at >= since)
            ).scalar_one()
        )

    def add_checkpoint(self, row: Row) -> None:
        self.connection.execute(audit_checkpoint.insert().values(**row))

    def checkpoints(self) -> list[Row]:
        query = select(audit_checkpoint).order_by(audit_checkpoint.c.seq)
        return [row._asdict() for row in self.connection.execute(query)]

    def has_entries(self) -> bool:
        return self.connection.execute(select(audit_log.c.seq).limit(1)).first() is not None

    def held(self) -> dict[str, int]:
        return {
            table.name: int(
                self.connection.execute(select(func.count()).select_from(table)).scalar_one()
            )
            for table in _HELD
        }
