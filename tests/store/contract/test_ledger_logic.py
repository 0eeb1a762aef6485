"""The ledger (`Ledger`, `check_ledger`) over the ledger rows, on every backend: each slot
once, sealed payloads, and every row checked against its seal and its chain (D-44)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

import pytest

from adapter.crypto import generate_keyring
from adapter.errors import LedgerIntegrityError
from adapter.store.audit import Actor
from adapter.store.keys import KeyStore
from adapter.store.ledger import Ledger
from adapter.store.ledger_seal import check_ledger
from adapter.store.workspace import Database
from tests.storage import ACTOR, NOW
from tests.store.contract.ledger_rows import entry, mapping
from tests.store.helpers import CODE, make_report, notice, planned

T = TypeVar("T")
RING = generate_keyring(NOW.isoformat())
_SEQ = itertools.count(1)  # audit seqs, ascending across the tests' transactions


class _Log:
    """The audit log's part in chaining: entries written as the audit rows keep them."""

    def __init__(self, rows: Any) -> None:
        self.rows = rows

    def append(
        self,
        actor: Actor,
        action: str,
        *,
        mapping_id: str | None = None,
        ledger_id: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> int:
        seq = next(_SEQ)
        entry(self.rows, seq, action, ledger_id, mapping_id=mapping_id, **(details or {}))
        return seq


def _run(database: Database, work: Callable[[Any, Ledger], T]) -> T:
    """A unit of work: the ledger on the rows of one transaction, chained at its end."""
    with database.transaction() as rows:
        ledger = Ledger(rows.ledger, KeyStore(rows.keys, RING, NOW), NOW)
        result = work(rows, ledger)
        ledger.chain(_Log(rows), ACTOR)  # type: ignore[arg-type]
        return result


def _patient(database: Database, mapping_id: str = "m1") -> str:
    def work(rows: Any, ledger: Ledger) -> str:
        dek_id = ledger.keys.create_data_key("patient")
        mapping(rows, mapping_id, dek_id)
        return dek_id

    return _run(database, work)


def test_each_slot_is_recorded_once_and_read_back(backend_db: Database) -> None:
    """A slot taken (in the batch or before) gives None; payloads and the reconciler's
    view come back as recorded; the notices' data key is made once."""
    dek_id = _patient(backend_db)

    def record(rows: Any, ledger: Ledger) -> tuple[list[str | None], str]:
        items = [
            (planned("m1"), dek_id),
            (planned("m1"), dek_id),
            (notice(), ledger.practice_key()),
        ]
        return ledger.record_many(items), ledger.practice_key()

    (first, twice, note_id), practice = _run(backend_db, record)
    assert first is not None and twice is None and note_id is not None
    again, same_key = _run(backend_db, record)
    assert again == [None, None, None] and same_key == practice

    def read(rows: Any, ledger: Ledger) -> tuple[list[str], object, list[str | None], int]:
        entries = ledger.entries()
        known = ledger.reported(["m1"], notices=True)
        report = ledger.payload(ledger.entry(first))
        return (
            [e.ledger_id for e in entries],
            report,
            [r.code for r in known],
            len(ledger.unreadable),
        )

    ids, report, codes, unreadable = _run(backend_db, read)
    assert sorted(ids) == sorted([first, note_id]) and report == make_report()
    assert sorted(codes, key=str) == sorted([CODE, None], key=str) and unreadable == 0


def test_a_row_set_back_is_neither_moved_nor_sealed_over(backend_db: Database) -> None:
    """A row put back to an older version of itself (its old seal is valid) fails its
    chain: `move` refuses it, `problems` and `check_ledger` name it."""
    dek_id = _patient(backend_db)
    (ledger_id,) = _run(backend_db, lambda _, ledger: ledger.record_many([(planned("m1"), dek_id)]))
    assert ledger_id is not None
    old = _run(backend_db, lambda _, ledger: ledger.entry(ledger_id))
    new = _run(backend_db, lambda _, ledger: ledger.move(ledger_id, "approved", note="ok"))

    with backend_db.transaction() as rows:  # behind the ledger's back
        back = {"state": "pending", "row_mac": old.row_mac, "note_nonce": None, "note_ct": None}
        assert rows.ledger.update_guarded(ledger_id, "approved", new.row_mac, back)

    def move(_: Any, ledger: Ledger) -> None:
        ledger.move(ledger_id, "approved")

    with pytest.raises(LedgerIntegrityError, match="fails its integrity check"):
        _run(backend_db, move)

    def check(rows: Any, ledger: Ledger) -> tuple[dict[str, str], tuple[str, ...]]:
        found = ledger.problems(ledger.entries())
        return found, check_ledger(rows.ledger, ledger.keys, wiped=None).problems

    problems, checked = _run(backend_db, check)
    assert "not as the audit log last recorded it" in problems[ledger_id]
    assert checked == (f"report {ledger_id}: {problems[ledger_id]}",)


def test_the_check_names_unchained_deleted_rows_and_a_wiped_log(backend_db: Database) -> None:
    """A row the log never saw, a row the log saw and the ledger lacks, and what the
    wiped-log check found are each one problem; chained rows are none."""
    dek_id = _patient(backend_db)
    _run(backend_db, lambda _, ledger: ledger.record_many([(notice(), ledger.practice_key())]))

    def sneak(rows: Any, ledger: Ledger) -> str:
        row = ledger._row(planned("m1"), dek_id)
        rows.ledger.insert_new([row])  # past `record_many`: never chained
        entry(rows, next(_SEQ), "ledger.row", "gone", state="sent", mapping_id="m1")
        return str(row["ledger_id"])

    unchained = _run(backend_db, sneak)
    wiped = "the audit log is empty, but …"
    with backend_db.transaction(write=False) as rows:
        result = check_ledger(rows.ledger, KeyStore(rows.keys, RING, NOW), wiped=wiped)
    assert result.rows == 2
    assert result.problems == (
        f"report {unchained}: the audit log never recorded it (added outside substreg, or "
        "the log was cut)",
        "report gone was deleted from the ledger (the audit log last recorded it as sent)",
        wiped,
    )


def test_rows_without_a_seal_are_sealed_only_while_the_chain_is_empty(
    backend_db: Database,
) -> None:
    """Rows written before revision 0004 are sealed (and chained) once; one added without a
    seal after the chain began is refused."""
    dek_id = _patient(backend_db)

    def unsealed(day: date) -> Callable[[Any, Ledger], str]:
        def work(rows: Any, ledger: Ledger) -> str:
            row = ledger._row(planned("m1", day=day), dek_id)
            rows.ledger.insert_new([row | {"row_mac": None, "mac_key": None}])
            return str(row["ledger_id"])

        return work

    first = _run(backend_db, unsealed(date(2026, 11, 2)))
    assert _run(backend_db, lambda _, ledger: ledger.problem(ledger.entry(first))) is not None
    assert _run(backend_db, lambda _, ledger: ledger.seal_unsealed()) == (1, ())
    late = _run(backend_db, unsealed(date(2026, 11, 9)))
    assert _run(backend_db, lambda _, ledger: ledger.seal_unsealed()) == (0, (late,))
    with backend_db.transaction(write=False) as rows:
        checked = check_ledger(rows.ledger, KeyStore(rows.keys, RING, NOW), wiped=None)
    assert [p.split(":")[0] for p in checked.problems] == [f"report {late}"]
