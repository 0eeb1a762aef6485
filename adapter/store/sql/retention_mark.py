"""`retention_mark` on SQLAlchemy Core (the SQL twin of `memory.retention_mark`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, delete, func, select, update

from adapter.store.schema import patient_mapping, retention_mark

_MARK_ROW = 1  # retention_mark holds one row


class SqlMarkRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def cutoff(self) -> date | None:
        cutoff: date | None = self.connection.execute(
            select(retention_mark.c.cutoff).where(retention_mark.c.mark_id == _MARK_ROW)
        ).scalar_one_or_none()
        return cutoff

    def put(self, cutoff: date, at: datetime) -> None:
        changed = self.connection.execute(
            update(retention_mark)
            .where(retention_mark.c.mark_id == _MARK_ROW)
            .values(cutoff=cutoff, applied_at=at)
        )
        if changed.rowcount == 0:
            self.connection.execute(
                retention_mark.insert().values(mark_id=_MARK_ROW, cutoff=cutoff, applied_at=at)
            )

    def drop(self) -> None:
        self.connection.execute(delete(retention_mark).where(retention_mark.c.mark_id == _MARK_ROW))

    def last_shredded_closed_on(self) -> date | None:
        last: date | None = self.connection.execute(
            select(func.max(patient_mapping.c.closed_on)).where(
                patient_mapping.c.status == "shredded"
            )
        ).scalar_one()
        return last
