"""`key_registry` and `data_key` in memory (the twin of `sql.keys`)."""

from __future__ import annotations

from datetime import datetime

from adapter.errors import ConcurrentUpdateError
from adapter.store.memory.tables import Tables
from adapter.store.rows import RegisteredKey, WrappedKey


class MemoryKeyRows:
    def __init__(self, tables: Tables) -> None:
        self.registry = tables["key_registry"]
        self.data = tables["data_key"]

    def registered(self) -> list[RegisteredKey]:
        return [
            RegisteredKey(r["key_id"], r["purpose"], r["version"], r["state"], r["public_key"])
            for r in self.registry.values()
        ]

    def register(self, key: RegisteredKey, algorithm: str, at: datetime) -> None:
        if key.key_id in self.registry:
            raise KeyError(f"key_registry: {key.key_id} is registered already")
        self.registry[key.key_id] = {
            "key_id": key.key_id,
            "purpose": key.purpose,
            "version": key.version,
            "algorithm": algorithm,
            "state": key.state,
            "public_key": key.public_key,
            "created_at": at,
            "changed_at": at,
        }

    def set_state(self, key_id: str, state: str, at: datetime) -> None:
        row = self.registry.get(key_id)
        if row is not None:
            row.update(state=state, changed_at=at)

    def mark_destroyed(self, purpose: str, version: int, at: datetime) -> None:
        for row in self.registry.values():
            same = row["purpose"] == purpose and row["version"] == version
            if same and row["state"] != "destroyed":
                row.update(state="destroyed", changed_at=at)

    def add_data_key(
        self, dek_id: str, kek_id: str, wrapped: bytes, owner: str, at: datetime
    ) -> None:
        if kek_id not in self.registry:  # the foreign key of the SQL schema
            raise KeyError(f"data_key: the wrapping key {kek_id} is not registered")
        if dek_id in self.data:  # its primary key: never overwritten
            raise ConcurrentUpdateError(f"data_key: {dek_id} exists already")
        self.data[dek_id] = {
            "dek_id": dek_id,
            "kek_id": kek_id,
            "wrapped": wrapped,
            "owner": owner,
            "created_at": at,
            "destroyed_at": None,
        }

    def data_keys(self, dek_ids: list[str]) -> dict[str, WrappedKey]:
        return {
            d: WrappedKey(d, self.data[d]["kek_id"], self.data[d]["wrapped"])
            for d in dek_ids
            if d in self.data
        }

    def destroy_data_key(self, dek_id: str, at: datetime) -> None:
        row = self.data.get(dek_id)
        if row is not None:
            row.update(wrapped=None, destroyed_at=at)

    def live_data_keys_not_under(self, kek_id: str) -> list[WrappedKey]:
        return [
            WrappedKey(r["dek_id"], r["kek_id"], r["wrapped"])
            for _, r in sorted(self.data.items())
            if r["wrapped"] is not None and r["kek_id"] != kek_id
        ]

    def rewrap(self, dek_id: str, kek_id: str, wrapped: bytes) -> None:
        self.data[dek_id].update(kek_id=kek_id, wrapped=wrapped)

    def first_live_key_of(self, owner: str) -> str | None:
        live = [
            (r["created_at"], r["dek_id"])
            for r in self.data.values()
            if r["owner"] == owner and r["wrapped"] is not None
        ]
        return min(live)[1] if live else None

    def count_wrapped_under(self, kek_id: str) -> int:
        return sum(
            1 for r in self.data.values() if r["kek_id"] == kek_id and r["wrapped"] is not None
        )
