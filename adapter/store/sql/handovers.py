"""`handover_in` on SQLAlchemy Core (the SQL twin of `memory.handovers`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, delete, select, update

from adapter.store.rows import Row
from adapter.store.schema import handover_in
from adapter.store.sql.outbox import _in_utc, _utc


class SqlHandoverRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, row: Row) -> bool:
        key = handover_in.c.handover_id == row["handover_id"]
        if self.connection.execute(select(handover_in.c.handover_id).where(key)).first():
            return False
        # A parallel import of the same document that was first makes this insert fail
        # (UNIQUE): the store runs the work again, and the select above then finds it.
        self.connection.execute(handover_in.insert().values(**_in_utc(row)))
        return True

    def rows(self, state: str | None = None) -> list[Row]:
        query = select(handover_in).order_by(handover_in.c.received_at, handover_in.c.handover_id)
        if state is not None:
            query = query.where(handover_in.c.state == state)
        return [_utc(dict(row)) for row in self.connection.execute(query).mappings()]

    def set_state(self, handover_id: str, state: str, released_on: date | None) -> bool:
        changed = self.connection.execute(
            update(handover_in)
            .where(handover_in.c.handover_id == handover_id)
            .values(state=state, released_on=released_on)
        )
        return bool(changed.rowcount)

    def remove(self, handover_id: str) -> None:
        self.connection.execute(delete(handover_in).where(handover_in.c.handover_id == handover_id))
