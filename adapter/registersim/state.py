"""The simulator's state in SQLite (SQLAlchemy Core): the register's holdings, the receipts
it sent, and the sender certificates it trusts on first use. The only module of the
simulator that speaks SQL (with `tables.py`).

`RegisterState.transaction(now)` gives `Books` (one transaction: everything of a
submission or nothing); `overview()` what `GET /registrations` shows: counts and
cryptograms, never a code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)

from adapter.registersim.holdings import BatchHoldings, Changes, OpenRow
from adapter.registersim.intake import KnownReport, Taken
from adapter.registersim.tables import (
    doctors,
    duplicates,
    metadata,
    registrations,
    reports,
    senders,
    submissions,
)

__all__ = ["Books", "RegisterState", "StoredSubmission"]


@dataclass(frozen=True, slots=True)
class StoredSubmission:
    envelope_sha256: str
    receipt: bytes


class RegisterState:
    """The SQLite file of one simulator."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._engine: Engine = create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False}
        )
        event.listen(self._engine, "connect", _write_ahead)
        metadata.create_all(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def transaction(self, now: datetime) -> Iterator[Books]:
        """One transaction at `now`: committed when the block ends, rolled back when it
        raises."""
        with self._engine.begin() as connection:
            yield Books(connection, now)

    def submission(self, key: str) -> StoredSubmission | None:
        with self._engine.connect() as connection:
            return _submission(connection, key)

    def overview(self) -> dict[str, Any]:
        """Counts, the registrations by cryptogram, the reports by id, the duplicates."""
        with self._engine.connect() as connection:
            return {
                "counts": _counts(connection),
                "registrations": [
                    _registration_json(row)
                    for row in connection.execute(
                        select(registrations).order_by(registrations.c.id)
                    ).mappings()
                ],
                "reports": [
                    {"report_id": r.report_id, "batch_id": r.batch_id, "kind": r.kind,
                     "status": r.status}
                    for r in connection.execute(select(reports).order_by(reports.c.report_id))
                ],
                "duplicates": [
                    {"code_cryptogram": d.code_cryptogram,
                     "doctors": [d.first_btm_number, d.second_btm_number],
                     "report_id": d.report_id, "noticed_at": d.noticed_at}
                    for d in connection.execute(select(duplicates).order_by(duplicates.c.id))
                ],
            }  # fmt: skip


class Books:
    """The register's books on one connection: receipts, senders, doctors, and the
    holdings of a batch (`load`, then `apply` what the intake changed)."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self._db = connection
        self._now = now

    # -- submissions and senders ----------------------------------------------------------

    def submission(self, key: str) -> StoredSubmission | None:
        return _submission(self._db, key)

    def keep_submission(self, key: str, envelope_sha256: str, sender: str, receipt: bytes) -> None:
        self._db.execute(
            insert(submissions).values(
                idempotency_key=key,
                envelope_sha256=envelope_sha256,
                sender_btm_number=sender,
                received_at=_utc(self._now),
                receipt=receipt,
            )
        )

    def sender_certificate(self, btm_number: str) -> str | None:
        return self._db.execute(
            select(senders.c.certificate_sha256).where(senders.c.btm_number == btm_number)
        ).scalar_one_or_none()

    def trust_sender(self, btm_number: str, certificate_sha256: str) -> None:
        self._db.execute(
            insert(senders).values(
                btm_number=btm_number,
                certificate_sha256=certificate_sha256,
                first_seen=_utc(self._now),
            )
        )

    def keep_doctor(self, btm_number: str, contact: str) -> None:
        found = self._db.execute(
            select(doctors.c.contact).where(doctors.c.btm_number == btm_number)
        ).first()
        if found is None:
            self._db.execute(insert(doctors).values(btm_number=btm_number, contact=contact))
        elif found.contact != contact:
            self._db.execute(
                update(doctors).where(doctors.c.btm_number == btm_number).values(contact=contact)
            )

    # -- the holdings of one batch ------------------------------------------------------

    def load(self, cryptograms: set[str], report_ids: set[str]) -> BatchHoldings:
        """What the register holds for a batch with these codes and reports."""
        known = {
            row.report_id: KnownReport(row.batch_id, row.content_mac, row.status == "accepted")
            for ids in _chunks(report_ids)
            for row in self._db.execute(
                select(reports.c.report_id, reports.c.batch_id, reports.c.content_mac,
                       reports.c.status).where(reports.c.report_id.in_(ids))
            )
        }  # fmt: skip
        open_rows = [
            row
            for codes in _chunks(cryptograms)
            for row in self._open_rows(registrations.c.code_cryptogram.in_(codes))
        ]
        doctors_named = {row.doctor_btm_number for row in open_rows}
        contacts = {
            row.btm_number: row.contact
            for names in _chunks(doctors_named)
            for row in self._db.execute(select(doctors).where(doctors.c.btm_number.in_(names)))
        }
        return BatchHoldings(
            known,
            open_rows,
            contacts,
            lambda btm: self._open_rows(registrations.c.doctor_btm_number == btm),
        )

    def apply(self, batch_id: str, changes: Changes, taken: list[Taken]) -> None:
        """Write what the intake changed, and every report it took (once: a report
        rejected before and taken again replaces its row)."""
        ids = [item.report.id for item in taken]
        for chunk in _chunks(set(ids)):
            self._db.execute(delete(reports).where(reports.c.report_id.in_(chunk)))
        self._many(insert(reports), [_report_row(batch_id, item) for item in taken])
        self._many(
            insert(registrations),
            [
                {
                    "doctor_btm_number": o.taken.report.doctor.btm_number or "",
                    "code_cryptogram": o.taken.cryptogram,
                    "first_use": o.first_use,
                    "substance": o.taken.report.substance,
                    "opened_by": o.taken.report.id,
                    "closed_on": o.closed_on,
                    "closed_by": o.closed_by,
                }
                for o in changes.openings
            ],
        )
        self._many(
            update(registrations)
            .where(registrations.c.id == bindparam("registration"))
            .values(closed_on=bindparam("day"), closed_by=bindparam("by")),
            [
                {"registration": c.registration_id, "day": c.closed_on, "by": c.report_id}
                for c in changes.closings
            ],
        )
        self._many(
            insert(duplicates),
            [
                {"code_cryptogram": code, "first_btm_number": first,
                 "second_btm_number": second, "report_id": report_id,
                 "noticed_at": _utc(self._now)}
                for code, first, second, report_id in changes.duplicates
            ],
        )  # fmt: skip

    def _many(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._db.execute(statement, rows)

    def _open_rows(self, where: Any) -> list[OpenRow]:
        rows = self._db.execute(
            select(
                registrations.c.id,
                registrations.c.doctor_btm_number,
                registrations.c.code_cryptogram,
                registrations.c.first_use,
            )
            .where(where & registrations.c.closed_on.is_(None))
            .order_by(registrations.c.id)
        )
        return [OpenRow(r.id, r.doctor_btm_number, r.code_cryptogram, r.first_use) for r in rows]


def _report_row(batch_id: str, item: Taken) -> dict[str, Any]:
    return {
        "report_id": item.report.id,
        "batch_id": batch_id,
        "kind": item.report.kind,
        "doctor_btm_number": item.report.doctor.btm_number or "",
        "code_cryptogram": item.cryptogram,
        "content_mac": item.content_mac,
        "status": item.result.status,
        "reason": item.result.reason,
    }


def _chunks(values: set[str], size: int = 500) -> list[list[str]]:
    """`values` in lists of at most `size` (SQLite's limit of bound parameters)."""
    ordered = sorted(values)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


def _write_ahead(connection: Any, _record: Any) -> None:
    """WAL, synced at checkpoints: a commit survives the simulator's process being killed
    (the crash tests kill workers, not the register) without an fsync per submission."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _submission(connection: Connection, key: str) -> StoredSubmission | None:
    row = connection.execute(
        select(submissions.c.envelope_sha256, submissions.c.receipt).where(
            submissions.c.idempotency_key == key
        )
    ).first()
    return StoredSubmission(row.envelope_sha256, bytes(row.receipt)) if row else None


def _counts(connection: Connection) -> dict[str, int]:
    open_ = registrations.c.closed_on.is_(None)
    return {
        "submissions": _count(connection, submissions),
        "reports": _count(connection, reports),
        "accepted": _count(connection, reports, reports.c.status == "accepted"),
        "rejected": _count(connection, reports, reports.c.status == "rejected"),
        "open": _count(connection, registrations, open_),
        "closed": _count(connection, registrations, ~open_),
        "duplicates": _count(connection, duplicates),
    }


def _count(connection: Connection, table: Any, where: Any = None) -> int:
    query = select(func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    return int(connection.execute(query).scalar_one())


def _registration_json(row: Any) -> dict[str, Any]:
    return {
        "doctor_btm_number": row["doctor_btm_number"],
        "code_cryptogram": row["code_cryptogram"],
        "first_use": row["first_use"].isoformat(),
        "substance": row["substance"],
        "closed_on": row["closed_on"].isoformat() if row["closed_on"] else None,
    }


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
