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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, insert, select, update

from adapter.registersim.intake import KnownReport, Registration, Taken
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
    """The holdings and receipts on one connection (`intake.Holdings`, and the rest a
    submission needs)."""

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

    def keep_reports(self, batch_id: str, taken: list[Taken]) -> None:
        """Each report taken, once: a report rejected before and taken again is replaced."""
        for item in taken:
            values = {
                "batch_id": batch_id,
                "kind": item.report.kind,
                "doctor_btm_number": item.report.doctor.btm_number or "",
                "code_cryptogram": item.cryptogram,
                "content_mac": item.content_mac,
                "status": item.result.status,
                "reason": item.result.reason,
            }
            done = self._db.execute(
                update(reports).where(reports.c.report_id == item.report.id).values(**values)
            )
            if done.rowcount == 0:
                self._db.execute(insert(reports).values(report_id=item.report.id, **values))

    # -- intake.Holdings ------------------------------------------------------------------

    def known_report(self, report_id: str) -> KnownReport | None:
        row = self._db.execute(
            select(reports.c.batch_id, reports.c.content_mac, reports.c.status).where(
                reports.c.report_id == report_id
            )
        ).first()
        if row is None:
            return None
        return KnownReport(row.batch_id, row.content_mac, row.status == "accepted")

    def open_registrations(self, cryptogram: str) -> list[Registration]:
        return self._registrations(
            (registrations.c.code_cryptogram == cryptogram) & registrations.c.closed_on.is_(None)
        )

    def open_of_doctor(self, btm_number: str) -> list[Registration]:
        return self._registrations(
            (registrations.c.doctor_btm_number == btm_number) & registrations.c.closed_on.is_(None)
        )

    def register(self, taken: Taken, first_use: date) -> None:
        self._db.execute(
            insert(registrations).values(
                doctor_btm_number=taken.report.doctor.btm_number or "",
                code_cryptogram=taken.cryptogram,
                first_use=first_use,
                substance=taken.report.substance,
                opened_by=taken.report.id,
            )
        )

    def deregister(self, registration: Registration, closed_on: date, report_id: str) -> None:
        self._db.execute(
            update(registrations)
            .where(registrations.c.id == registration.id)
            .values(closed_on=closed_on, closed_by=report_id)
        )

    def note_duplicate(self, cryptogram: str, first: str, second: str, report_id: str) -> None:
        self._db.execute(
            insert(duplicates).values(
                code_cryptogram=cryptogram,
                first_btm_number=first,
                second_btm_number=second,
                report_id=report_id,
                noticed_at=_utc(self._now),
            )
        )

    def doctor_contact(self, btm_number: str) -> str | None:
        return self._db.execute(
            select(doctors.c.contact).where(doctors.c.btm_number == btm_number)
        ).scalar_one_or_none()

    def _registrations(self, where: Any) -> list[Registration]:
        rows = self._db.execute(
            select(registrations.c.id, registrations.c.doctor_btm_number, registrations.c.first_use)
            .where(where)
            .order_by(registrations.c.id)
        )
        return [Registration(row.id, row.doctor_btm_number, row.first_use) for row in rows]


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
