"""The register's duplicate notices received (004 §10, D-233): each letter sealed, its
state in clear.

A row keeps the letter as typed in (D-170's JSON: reference, patient code, the other
doctors) sealed under a data key of its own; in clear only our random id, the doctor
written to, the letter's day, the state (`open`, then `answered` with the doctors' answer
and the ledger id of its report) and times. The code is never indexed (PRIVACY.md: no
HMAC of a code): finding a letter received before opens the rows of that doctor and day,
few by nature, as the handover rows are opened (D-162).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from adapter.domain.duplicate_notice import DuplicateNotice, notice_json, parse_notice
from adapter.store.keys import KeyStore
from adapter.store.rows import NoticeLetterRows, Row

_FIELD = "notice"
OPEN, ANSWERED = "open", "answered"


@dataclass(frozen=True, slots=True)
class KeptNotice:
    """A duplicate notice received, opened, with its state."""

    notice_id: str
    notice: DuplicateNotice
    state: str
    received_at: datetime
    answer: str | None  # the `--continues` answer: us, other, different-people
    ledger_id: str | None  # the agreement report that answer was recorded as
    answered_at: datetime | None


def same_letter(a: DuplicateNotice, b: DuplicateNotice) -> bool:
    """One letter typed in twice: the same reference and day, to the same doctor, about
    the same code (the other doctors' lines may be typed differently)."""
    return (a.reference, a.letter_date, a.doctor_btm_number, a.patient_code) == (
        b.reference,
        b.letter_date,
        b.doctor_btm_number,
        b.patient_code,
    )


class NoticeLetters:
    def __init__(self, rows: NoticeLetterRows, keys: KeyStore, now: datetime) -> None:
        self.rows = rows
        self.keys = keys
        self.now = now

    def record(self, notice: DuplicateNotice) -> tuple[KeptNotice, bool]:
        """Keep the notice as `open`; the one kept before and False when the same letter
        was received already (importing it again changes nothing)."""
        before = self.find(notice)
        if before is not None:
            return before, False
        notice_id = str(uuid.uuid4())
        dek_id = self.keys.create_data_key("duplicate_notice")
        sealed = self.keys.seal(dek_id, _row(notice_id), _FIELD, notice_json(notice))
        row = {
            "notice_id": notice_id,
            "dek_id": dek_id,
            "doctor_btm": notice.doctor_btm_number,
            "letter_date": notice.letter_date,
            "state": OPEN,
            "answer": None,
            "ledger_id": None,
            "received_at": self.now,
            "answered_at": None,
            "nonce": sealed.nonce,
            "ct": sealed.ct,
        }
        self.rows.add(row)
        return self._opened(row), True

    def find(self, notice: DuplicateNotice) -> KeptNotice | None:
        """The notice kept of the same letter, or None."""
        candidates = [
            row
            for row in self.rows.rows()
            if row["doctor_btm"] == notice.doctor_btm_number
            and row["letter_date"] == notice.letter_date
        ]
        for kept in self._opened_all(candidates):
            if same_letter(kept.notice, notice):
                return kept
        return None

    def answered(self, notice_id: str, answer: str, ledger_id: str) -> None:
        """The doctors' answer to the notice, recorded as report `ledger_id` (a different
        one replaces it only once its report stands no more, D-204)."""
        values = {"state": ANSWERED, "answer": answer, "ledger_id": ledger_id}
        self.rows.update(notice_id, values | {"answered_at": self.now})

    def destroy(self, notice_id: str) -> None:
        """Retention (D-240): the notice's data key goes (the letter it sealed, the code
        with it), then the row."""
        for row in self.rows.rows():
            if row["notice_id"] == notice_id:
                self.keys.destroy_data_key(row["dek_id"])
                self.rows.remove(notice_id)

    def listed(self) -> list[KeptNotice]:
        """Every notice received, oldest first, opened with its data key."""
        return self._opened_all(self.rows.rows())

    def _opened_all(self, rows: list[Row]) -> list[KeptNotice]:
        self.keys.preload([row["dek_id"] for row in rows])
        return [self._opened(row) for row in rows]

    def _opened(self, row: Row) -> KeptNotice:
        plain = self.keys.open(
            row["dek_id"], _row(row["notice_id"]), _FIELD, row["nonce"], row["ct"]
        )
        return KeptNotice(
            row["notice_id"],
            parse_notice(plain),
            row["state"],
            row["received_at"],
            row["answer"],
            row["ledger_id"],
            row["answered_at"],
        )


def _row(notice_id: str) -> str:
    """The sealed field's row: the notice's own id, bound into the ciphertext."""
    return f"duplicate/{notice_id}"
