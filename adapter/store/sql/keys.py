"""`key_registry` and `data_key` on SQLAlchemy Core (the SQL twin of `memory.keys`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select, update

from adapter.store.rows import RegisteredKey, WrappedKey
from adapter.store.schema import data_key, key_registry

_CHUNK = 500  # bound parameters per IN list


class SqlKeyRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def registered(self) -> list[RegisteredKey]:
        rows = self.connection.execute(
            select(
                key_registry.c.key_id,
                key_registry.c.purpose,
                key_registry.c.version,
                key_registry.c.state,
                key_registry.c.public_key,
            )
        )
        return [RegisteredKey(r.key_id, r.purpose, r.version, r.state, r.public_key) for r in rows]

    def register(self, key: RegisteredKey, algorithm: str, at: datetime) -> None:
        self.connection.execute(
            key_registry.insert().values(
                key_id=key.key_id,
                purpose=key.purpose,
                version=key.version,
                algorithm=algorithm,
                state=key.state,
                public_key=key.public_key,
                created_at=at,
                changed_at=at,
            )
        )

    def set_state(self, key_id: str, state: str, at: datetime) -> None:
        self.connection.execute(
            update(key_registry)
            .where(key_registry.c.key_id == key_id)
            .values(state=state, changed_at=at)
        )

    def mark_destroyed(self, purpose: str, version: int, at: datetime) -> None:
        self.connection.execute(
            update(key_registry)
            .where(key_registry.c.purpose == purpose)
            .where(key_registry.c.version == version)
            .where(key_registry.c.state != "destroyed")
            .values(state="destroyed", changed_at=at)
        )

    def add_data_key(
        self, dek_id: str, kek_id: str, wrapped: bytes, owner: str, at: datetime
    ) -> None:
        self.connection.execute(
            data_key.insert().values(
                dek_id=dek_id, kek_id=kek_id, wrapped=wrapped, owner=owner, created_at=at
            )
        )

    def data_keys(self, dek_ids: list[str]) -> dict[str, WrappedKey]:
        found: dict[str, WrappedKey] = {}
        for start in range(0, len(dek_ids), _CHUNK):
            rows = self.connection.execute(
                select(data_key.c.dek_id, data_key.c.kek_id, data_key.c.wrapped).where(
                    data_key.c.dek_id.in_(dek_ids[start : start + _CHUNK])
                )
            )
            for row in rows:
                found[row.dek_id] = WrappedKey(row.dek_id, row.kek_id, row.wrapped)
        return found

    def destroy_data_key(self, dek_id: str, at: datetime) -> None:
        self.connection.execute(
            update(data_key)
            .where(data_key.c.dek_id == dek_id)
            .values(wrapped=None, destroyed_at=at)
        )

    def live_data_keys_not_under(self, kek_id: str) -> list[WrappedKey]:
        rows = self.connection.execute(
            select(data_key.c.dek_id, data_key.c.kek_id, data_key.c.wrapped)
            .where(data_key.c.wrapped.is_not(None))
            .where(data_key.c.kek_id != kek_id)
            .order_by(data_key.c.dek_id)
        )
        return [WrappedKey(r.dek_id, r.kek_id, r.wrapped) for r in rows]

    def rewrap(self, dek_id: str, kek_id: str, wrapped: bytes) -> None:
        self.connection.execute(
            update(data_key)
            .where(data_key.c.dek_id == dek_id)
            .values(kek_id=kek_id, wrapped=wrapped)
        )

    def first_live_key_of(self, owner: str) -> str | None:
        return self.connection.execute(
            select(data_key.c.dek_id)
            .where(data_key.c.owner == owner)
            .where(data_key.c.wrapped.is_not(None))
            .order_by(data_key.c.created_at, data_key.c.dek_id)
            .limit(1)
        ).scalar_one_or_none()

    def count_wrapped_under(self, kek_id: str) -> int:
        query = (
            select(func.count())
            .select_from(data_key)
            .where(data_key.c.kek_id == kek_id)
            .where(data_key.c.wrapped.is_not(None))
        )
        return int(self.connection.execute(query).scalar_one())
