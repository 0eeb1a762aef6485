"""`outbox_batch` and `outbox_report` on SQLAlchemy Core (the SQL twin of `memory.outbox`).

Claiming is one SELECT … FOR UPDATE SKIP LOCKED and one UPDATE in the claimer's
transaction: on PostgreSQL parallel workers each lock a different due batch and never
wait for one another; SQLite has one writer at a time (BEGIN IMMEDIATE) and ignores the
locking clause.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, and_, func, or_, select, union_all, update

from adapter.store.rows import Row
from adapter.store.schema import outbox_batch, outbox_report

_CHUNK = 500  # bound parameters per IN list
_LISTED = [c for c in outbox_batch.c if c.name != "envelope"]
_DUE_AGAIN = ("sealed", "sent")


class SqlOutboxRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, batch: Row, items: list[Row]) -> None:
        self.connection.execute(outbox_batch.insert().values(**_in_utc(batch)))
        if items:
            self.connection.execute(outbox_report.insert(), items)

    def batch(self, batch_id: str) -> Row | None:
        query = select(outbox_batch).where(outbox_batch.c.batch_id == batch_id)
        row = self.connection.execute(query).first()
        return _utc(row._asdict()) if row is not None else None

    def batches(
        self, *, states: list[str] | None = None, batch_ids: list[str] | None = None
    ) -> list[Row]:
        query = select(*_LISTED).order_by(outbox_batch.c.created_at, outbox_batch.c.batch_id)
        if states is not None:
            query = query.where(outbox_batch.c.state.in_(states))
        if batch_ids is None:
            return [_utc(r._asdict()) for r in self.connection.execute(query)]
        found: list[Row] = []
        for start in range(0, len(batch_ids), _CHUNK):
            chunk = query.where(outbox_batch.c.batch_id.in_(batch_ids[start : start + _CHUNK]))
            found += [_utc(r._asdict()) for r in self.connection.execute(chunk)]
        return sorted(found, key=lambda r: (r["created_at"], r["batch_id"]))

    def items(self, batch_id: str) -> list[Row]:
        query = (
            select(outbox_report)
            .where(outbox_report.c.batch_id == batch_id)
            .order_by(outbox_report.c.position)
        )
        return [r._asdict() for r in self.connection.execute(query)]

    def items_of(self, ledger_ids: list[str]) -> list[Row]:
        found: list[Row] = []
        for start in range(0, len(ledger_ids), _CHUNK):
            query = select(outbox_report).where(
                outbox_report.c.ledger_id.in_(ledger_ids[start : start + _CHUNK])
            )
            found += [r._asdict() for r in self.connection.execute(query)]
        return sorted(found, key=lambda r: (r["batch_id"], r["position"]))

    def claim(self, now: datetime, until: datetime, worker: str) -> Row | None:
        at, lease = now.astimezone(UTC), until.astimezone(UTC)
        due = or_(
            and_(outbox_batch.c.state.in_(_DUE_AGAIN), outbox_batch.c.next_attempt_at <= at),
            and_(outbox_batch.c.state == "sending", outbox_batch.c.lease_until < at),
        )
        query = (
            select(outbox_batch.c.batch_id)
            .where(due)
            .order_by(outbox_batch.c.created_at, outbox_batch.c.batch_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        batch_id = self.connection.execute(query).scalar()
        if batch_id is None:
            return None
        self.connection.execute(
            update(outbox_batch)
            .where(outbox_batch.c.batch_id == batch_id)
            .values(state="sending", claimed_by=worker, lease_until=lease, updated_at=at)
        )
        return self.batch(batch_id)

    def update(self, batch_id: str, state: str, claimed_by: str | None, values: Row) -> bool:
        holder = (
            outbox_batch.c.claimed_by.is_(None)
            if claimed_by is None
            else outbox_batch.c.claimed_by == claimed_by
        )
        result = self.connection.execute(
            update(outbox_batch)
            .where(outbox_batch.c.batch_id == batch_id)
            .where(outbox_batch.c.state == state)
            .where(holder)
            .values(**_in_utc(values))
        )
        return result.rowcount == 1

    def set_results(self, batch_id: str, results: dict[int, str]) -> None:
        for position, result in sorted(results.items()):
            self.connection.execute(
                update(outbox_report)
                .where(outbox_report.c.batch_id == batch_id)
                .where(outbox_report.c.position == position)
                .values(result=result)
            )

    def next_due(self) -> datetime | None:
        attempts = select(outbox_batch.c.next_attempt_at.label("at")).where(
            outbox_batch.c.state.in_(_DUE_AGAIN), outbox_batch.c.next_attempt_at.is_not(None)
        )
        leases = select(outbox_batch.c.lease_until.label("at")).where(
            outbox_batch.c.state == "sending"
        )
        both = union_all(attempts, leases).subquery()
        earliest: datetime | str | None = self.connection.execute(
            select(func.min(both.c.at))
        ).scalar()
        return _aware(earliest)


def _in_utc(values: Row) -> Row:
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}


def _utc(row: Row) -> Row:
    """SQLite gives back the UTC wall-clock time it was given, without a zone: say so."""
    return {k: _aware(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _aware(moment: datetime | str | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite's MIN() over a union gives the stored text
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
