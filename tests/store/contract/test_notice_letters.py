"""The duplicate notices' rows (`NoticeLetterRows`) and the notices kept on them, on every
backend (D-233): the letter is sealed, opens again, is kept once, and is answered."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from adapter.crypto import generate_keyring
from adapter.domain.duplicate_notice import DuplicateNotice, OtherDoctor
from adapter.errors import ShreddedError
from adapter.store.keys import KeyStore
from adapter.store.notice_letters import ANSWERED, OPEN, NoticeLetters
from adapter.store.workspace import Database
from tests.storage import NOW

RING = generate_keyring(NOW.isoformat())
CODE = "THREM249"
OTHER = OtherDoctor("Dr. Anna Beispiel", "7654321", "Hauptstr. 1, Berlin", date(2025, 11, 3))
NOTICE = DuplicateNotice("Az. 2026-0042", date(2026, 1, 5), "3990101", CODE, (OTHER,))


def _letters(rows: Any, now: Any = NOW) -> NoticeLetters:
    return NoticeLetters(rows.notice_letters, KeyStore(rows.keys, RING, now), now)


def test_a_notice_is_sealed_and_opens_again(backend_db: Database) -> None:
    """The code and the reference are nowhere in the row in clear; listed, it opens."""
    with backend_db.transaction() as rows:
        kept, new = _letters(rows).record(NOTICE)
    assert new and kept.state == OPEN
    with backend_db.transaction(write=False) as rows:
        [stored] = rows.notice_letters.rows()
        assert CODE.encode() not in stored["ct"] and CODE not in repr(stored)
        assert "Az. 2026" not in repr(stored)
        [found] = _letters(rows).listed()
    assert (found.notice_id, found.notice, found.answer) == (kept.notice_id, NOTICE, None)
    assert (stored["doctor_btm"], stored["letter_date"]) == ("3990101", date(2026, 1, 5))


def test_the_same_letter_is_kept_once_another_one_apart(backend_db: Database) -> None:
    """Typed in again (another contact line too) it is the one kept; another day or
    another code is another notice."""
    retyped = replace(NOTICE, other_doctors=(replace(OTHER, contact="Tel. 030 1"),))
    with backend_db.transaction() as rows:
        first, _ = _letters(rows).record(NOTICE)
        again, new = _letters(rows, NOW + timedelta(minutes=1)).record(retyped)
        assert (again.notice_id, new) == (first.notice_id, False)
        _letters(rows).record(replace(NOTICE, letter_date=date(2026, 2, 1)))
        _letters(rows).record(replace(NOTICE, patient_code="CLBUF919"))
    with backend_db.transaction(write=False) as rows:
        assert len(_letters(rows).listed()) == 3


def test_an_answer_is_kept_with_its_report_and_time(backend_db: Database) -> None:
    """`answered` sets the state, the answer, the ledger id and the time, in clear."""
    later = NOW + timedelta(days=2)
    with backend_db.transaction() as rows:
        kept, _ = _letters(rows).record(NOTICE)
    with backend_db.transaction() as rows:
        _letters(rows, later).answered(kept.notice_id, "other", "led-1")
    with backend_db.transaction(write=False) as rows:
        [found] = _letters(rows).listed()
    assert (found.state, found.answer, found.ledger_id) == (ANSWERED, "other", "led-1")
    assert found.answered_at == later and found.received_at == NOW


def test_a_destroyed_notice_loses_its_key_and_its_row(backend_db: Database) -> None:
    """Retention (D-240): the notice's data key is destroyed (the sealed letter unreadable
    in every backup) and its row deleted; another notice stays, open as before."""
    with backend_db.transaction() as rows:
        gone, _ = _letters(rows).record(NOTICE)
        stays, _ = _letters(rows).record(replace(NOTICE, letter_date=date(2026, 2, 1)))
        [dek] = [
            r["dek_id"] for r in rows.notice_letters.rows() if r["notice_id"] == gone.notice_id
        ]
    with backend_db.transaction() as rows:
        _letters(rows).destroy(gone.notice_id)
    with backend_db.transaction(write=False) as rows:
        assert [k.notice_id for k in _letters(rows).listed()] == [stays.notice_id]
        with pytest.raises(ShreddedError):
            KeyStore(rows.keys, RING, NOW).data_key(dek)
