"""`pull_checkpoint` and `subscription_seen` on SQLAlchemy Core (the SQL twin of
`memory.pull`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select, update

from adapter.store.rows import Row
from adapter.store.schema import pull_checkpoint, subscription_seen
from adapter.store.sql.outbox import _in_utc, _utc


class SqlPullRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def checkpoints(self, server: str) -> dict[str, str]:
        query = select(pull_checkpoint.c.resource_type, pull_checkpoint.c.last_updated).where(
            pull_checkpoint.c.server == server
        )
        return {kind: value for kind, value in self.connection.execute(query)}

    def put_checkpoint(self, server: str, resource_type: str, value: str, at: datetime) -> None:
        changed = self.connection.execute(
            update(pull_checkpoint)
            .where(pull_checkpoint.c.server == server)
            .where(pull_checkpoint.c.resource_type == resource_type)
            .values(last_updated=value, updated_at=at.astimezone(UTC))
        )
        if changed.rowcount == 0:
            self.connection.execute(
                pull_checkpoint.insert().values(
                    server=server,
                    resource_type=resource_type,
                    last_updated=value,
                    updated_at=at.astimezone(UTC),
                )
            )

    def drop_checkpoints(self, server: str) -> int:
        dropped = self.connection.execute(
            delete(pull_checkpoint).where(pull_checkpoint.c.server == server)
        )
        return int(dropped.rowcount)

    def subscription(self, subscription: str) -> Row | None:
        query = select(subscription_seen).where(subscription_seen.c.subscription == subscription)
        row = self.connection.execute(query).mappings().first()
        return None if row is None else _utc(dict(row))

    def put_subscription(self, row: Row) -> None:
        key = subscription_seen.c.subscription == row["subscription"]
        row = _in_utc(row)
        values = {k: v for k, v in row.items() if k != "subscription"}
        changed = self.connection.execute(update(subscription_seen).where(key).values(**values))
        if changed.rowcount == 0:
            self.connection.execute(subscription_seen.insert().values(**row))

    def subscriptions(self) -> list[Row]:
        query = select(subscription_seen).order_by(subscription_seen.c.subscription)
        return [_utc(dict(row)) for row in self.connection.execute(query).mappings()]
