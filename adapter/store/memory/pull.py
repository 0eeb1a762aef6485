"""`pull_checkpoint` and `subscription_seen` in memory (the twin of `sql.pull`)."""

from __future__ import annotations

from datetime import datetime

from adapter.store.memory.tables import Row, Tables


class MemoryPullRows:
    def __init__(self, tables: Tables) -> None:
        self.marks = tables["pull_checkpoint"]
        self.seen = tables["subscription_seen"]

    def checkpoints(self, server: str) -> dict[str, str]:
        return {kind: row["last_updated"] for (at, kind), row in self.marks.items() if at == server}

    def put_checkpoint(self, server: str, resource_type: str, value: str, at: datetime) -> None:
        self.marks[(server, resource_type)] = {
            "server": server,
            "resource_type": resource_type,
            "last_updated": value,
            "updated_at": at,
        }

    def drop_checkpoints(self, server: str) -> int:
        keys = [key for key in self.marks if key[0] == server]
        for key in keys:
            del self.marks[key]
        return len(keys)

    def subscription(self, subscription: str) -> Row | None:
        row = self.seen.get(subscription)
        return None if row is None else dict(row)

    def put_subscription(self, row: Row) -> None:
        self.seen[row["subscription"]] = dict(row)

    def subscriptions(self) -> list[Row]:
        return [dict(self.seen[key]) for key in sorted(self.seen)]
