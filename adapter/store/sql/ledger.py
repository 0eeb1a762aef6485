"""`report`, and the audit entries that chained its rows, on SQLAlchemy Core (the SQL
twin of `memory.ledger`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Connection, Select, select, update
from sqlalchemy.dialects import postgresql, sqlite

from adapter.store.rows import Row
from adapter.store.schema import audit_log, report
from adapter.store.sql.bulk import insert_arrays, is_postgresql


class SqlLedgerRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def insert_new(self, rows: list[Row]) -> set[str]:
        # The UNIQUE slot decides between parallel runs: ON CONFLICT DO NOTHING … RETURNING.
        if not rows:
            return set()
        if is_postgresql(self.connection):  # one statement over arrays (D-186)
            inserted = insert_arrays(
                self.connection, report, rows, skip_conflicts=True, returning="ledger_id"
            )
            return set(inserted)
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(report).on_conflict_do_nothing().returning(report.c.ledger_id)
        return set(self.connection.execute(statement, rows).scalars())

    def update_guarded(
        self, ledger_id: str, state: str, row_mac: bytes | None, values: Row
    ) -> bool:
        result = self.connection.execute(
            update(report)
            .where(report.c.ledger_id == ledger_id)
            .where(report.c.state == state)
            .where(report.c.row_mac == row_mac)
            .values(**values)
        )
        return result.rowcount == 1

    def set_seal(self, ledger_id: str, row_mac: bytes, mac_key: str) -> None:
        self.connection.execute(
            update(report)
            .where(report.c.ledger_id == ledger_id)
            .values(row_mac=row_mac, mac_key=mac_key)
        )

    def rows(
        self,
        *,
        state: str | None = None,
        mapping_ids: list[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        notices: bool = False,
    ) -> list[Row]:
        query = select(report).order_by(
            report.c.made_on, report.c.report_date, report.c.kind, report.c.ledger_id
        )
        if state is not None:
            query = query.where(report.c.state == state)
        if mapping_ids is not None:
            subjects: ColumnElement[bool] = report.c.mapping_id.in_(mapping_ids)
            if notices:
                subjects = subjects | report.c.mapping_id.is_(None)
            query = query.where(subjects)
        if since is not None:
            query = query.where(report.c.made_on >= since)
        if until is not None:
            query = query.where(report.c.made_on <= until)
        return self._all(query)

    def row(self, ledger_id: str) -> Row | None:
        found = self._all(select(report).where(report.c.ledger_id == ledger_id))
        return found[0] if found else None

    def ids(self) -> list[str]:
        return list(self.connection.execute(select(report.c.ledger_id)).scalars())

    def unsealed(self) -> list[Row]:
        return self._all(select(report).where(report.c.row_mac.is_(None)))

    def chained(self, action: str, ledger_id: str | None = None) -> dict[str, Row]:
        query = select(audit_log.c.ledger_id, audit_log.c.mapping_id, audit_log.c.details).where(
            audit_log.c.action == action
        )
        if ledger_id is not None:
            query = query.where(audit_log.c.ledger_id == ledger_id)
        last: dict[str, Row] = {}
        for row in self.connection.execute(query.order_by(audit_log.c.seq)):
            last[row.ledger_id] = {"mapping_id": row.mapping_id, "details": row.details}
        return last

    def _all(self, query: Select[tuple[object, ...]]) -> list[Row]:
        return [dict(row._mapping) for row in self.connection.execute(query)]
