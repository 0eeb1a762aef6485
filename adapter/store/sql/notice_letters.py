"""`duplicate_notice` on SQLAlchemy Core (the SQL twin of `memory.notice_letters`)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from adapter.store.rows import Row
from adapter.store.schema import duplicate_notice
from adapter.store.sql.outbox import _in_utc, _utc


class SqlNoticeLetterRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, row: Row) -> None:
        self.connection.execute(duplicate_notice.insert().values(**_in_utc(row)))

    def rows(self) -> list[Row]:
        query = select(duplicate_notice).order_by(
            duplicate_notice.c.received_at, duplicate_notice.c.notice_id
        )
        return [_utc(dict(row)) for row in self.connection.execute(query).mappings()]

    def update(self, notice_id: str, values: Row) -> bool:
        changed = self.connection.execute(
            update(duplicate_notice)
            .where(duplicate_notice.c.notice_id == notice_id)
            .values(**_in_utc(values))
        )
        return bool(changed.rowcount)

    def remove(self, notice_id: str) -> None:
        self.connection.execute(
            delete(duplicate_notice).where(duplicate_notice.c.notice_id == notice_id)
        )
