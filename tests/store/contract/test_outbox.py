"""The outbox rows' contract (`OutboxRows`), and the outbox on it (`Outbox`), on every
backend: batches kept with their exact bytes, claimed when due and by one worker at a
time, what came back recorded only by the worker that holds the batch."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import update

from adapter.crypto import generate_keyring
from adapter.errors import ConcurrentUpdateError, DamagedRowError, OutboxError
from adapter.store.keys import KeyStore
from adapter.store.memory.backend import MemoryBackend
from adapter.store.outbox import Outbox
from adapter.store.rows import Row
from adapter.store.schema import outbox_batch
from adapter.store.sql.backend import SqlDatabase
from adapter.store.workspace import Database
from tests.storage import NOW
from tests.store.contract.seeding import data_key, ledger_row, utc

T = TypeVar("T")
RING = generate_keyring(NOW.isoformat())
MINUTE = timedelta(minutes=1)
ENVELOPE = bytes(range(256)) * 4  # not text: every byte value, kept as it is


def _batch(batch_id: str, **values: Any) -> Row:
    envelope = values.pop("envelope", ENVELOPE)
    return {
        "batch_id": batch_id,
        "doctor_btm": "1234567",
        "transport": "folder",
        "state": "sealed",
        "envelope": envelope,
        "envelope_sha256": hashlib.sha256(envelope).hexdigest(),
        "report_count": 1,
        "attempts": 0,
        "next_attempt_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
        **values,
    }


def _item(batch_id: str, position: int, ledger_id: str) -> Row:
    return {
        "batch_id": batch_id,
        "position": position,
        "ledger_id": ledger_id,
        "report_id": f"anm-{ledger_id}",
    }


def _seed(database: Database, *ledger_ids: str) -> None:
    with database.transaction() as rows:
        data_key(rows)
        for ledger_id in ledger_ids:
            ledger_row(rows, ledger_id, None, state="queued")


def _add(database: Database, batch_id: str, *ledger_ids: str, **values: Any) -> None:
    with database.transaction() as rows:
        items = [_item(batch_id, n, i) for n, i in enumerate(ledger_ids, 1)]
        rows.outbox.add(_batch(batch_id, report_count=len(items), **values), items)


def _claim(database: Database, at: Any = NOW, worker: str = "w1") -> Row | None:
    with database.transaction(exclusive=False) as rows:
        claimed: Row | None = rows.outbox.claim(at, at + MINUTE, worker)
        return claimed


def _races(database: Database) -> tuple[type[Exception], ...]:
    return (ConcurrentUpdateError, KeyError, *database.races)


def test_a_batch_comes_back_with_its_bytes_and_its_reports_in_order(
    backend_db: Database,
) -> None:
    """The envelope byte for byte, times in UTC, the reports by position; a listing leaves
    the envelope out."""
    _seed(backend_db, "l1", "l2")
    _add(backend_db, "b1", "l2", "l1")
    with backend_db.transaction(write=False) as rows:
        row = rows.outbox.batch("b1")
        listed = rows.outbox.batches()
        items = rows.outbox.items("b1")
        assert rows.outbox.batch("nope") is None
    assert row is not None and bytes(row["envelope"]) == ENVELOPE
    assert utc(row["created_at"]) == NOW and row["next_attempt_at"] == NOW
    assert [r["batch_id"] for r in listed] == ["b1"] and "envelope" not in listed[0]
    assert [(i["position"], i["ledger_id"], i["result"]) for i in items] == [
        (1, "l2", None),
        (2, "l1", None),
    ]


def test_a_batch_id_is_taken_once_and_its_reports_must_be_in_the_ledger(
    backend_db: Database,
) -> None:
    """A second batch under one id is refused (a race), so is a report the ledger lacks;
    neither leaves anything behind."""
    _seed(backend_db, "l1")
    _add(backend_db, "b1", "l1")
    with pytest.raises(_races(backend_db)):
        _add(backend_db, "b1", "l1")
    with pytest.raises(_races(backend_db)):
        _add(backend_db, "b2", "l1", "no-such-report")
    with backend_db.transaction(write=False) as rows:
        assert [r["batch_id"] for r in rows.outbox.batches()] == ["b1"]
        assert rows.outbox.items("b2") == []


def test_the_oldest_due_batch_is_claimed_and_held_until_its_lease_ends(
    backend_db: Database,
) -> None:
    """Due: sealed or sent with the next attempt now or earlier, or sending with an ended
    lease. Not due: a later attempt, a sent batch without a next attempt, a live lease."""
    _seed(backend_db, "l1", "l2", "l3", "l4")
    _add(backend_db, "later", "l1", next_attempt_at=NOW + MINUTE)
    _add(backend_db, "delivered", "l2", state="sent", next_attempt_at=None)
    _add(backend_db, "young", "l3", created_at=NOW)
    _add(backend_db, "old", "l4", created_at=NOW - MINUTE)
    first = _claim(backend_db)
    assert first is not None and first["batch_id"] == "old"
    assert (first["state"], first["claimed_by"]) == ("sending", "w1")
    assert first["lease_until"] == NOW + MINUTE and bytes(first["envelope"]) == ENVELOPE
    second = _claim(backend_db, worker="w2")
    assert second is not None and second["batch_id"] == "young"
    assert _claim(backend_db) is None  # the leases hold, the rest is not due
    again = _claim(backend_db, at=NOW + 2 * MINUTE, worker="w3")  # "old"'s lease ended
    assert again is not None and (again["batch_id"], again["claimed_by"]) == ("old", "w3")
    with backend_db.transaction(write=False) as rows:
        assert rows.outbox.next_due() == NOW + MINUTE  # "later", and "young"'s lease


def test_a_batch_is_changed_only_in_its_state_and_by_the_worker_holding_it(
    backend_db: Database,
) -> None:
    """`update` is guarded by state and holder: the worker whose lease was taken over
    changes nothing."""
    _seed(backend_db, "l1")
    _add(backend_db, "b1", "l1")
    _claim(backend_db, worker="w1")
    _claim(backend_db, at=NOW + 2 * MINUTE, worker="w2")
    with backend_db.transaction() as rows:
        assert not rows.outbox.update("b1", "sending", "w1", {"state": "sent"})
        assert not rows.outbox.update("b1", "sealed", "w2", {"state": "sent"})
        assert rows.outbox.update("b1", "sending", "w2", {"state": "sent", "claimed_by": None})
        assert rows.outbox.update("b1", "sent", None, {"attempts": 3})
    with backend_db.transaction(write=False) as rows:
        row = rows.outbox.batch("b1")
    assert row is not None and (row["state"], row["claimed_by"], row["attempts"]) == (
        "sent",
        None,
        3,
    )


def test_results_are_kept_per_report_and_found_by_ledger_id(backend_db: Database) -> None:
    """`set_results` writes the receipt's word by position; `items_of` finds a report in
    every batch that held it."""
    _seed(backend_db, "l1", "l2")
    _add(backend_db, "b1", "l1", "l2")
    _add(backend_db, "b2", "l2", created_at=NOW + MINUTE)
    with backend_db.transaction() as rows:
        rows.outbox.set_results("b1", {1: "accepted", 2: "missing"})
    with backend_db.transaction(write=False) as rows:
        found = rows.outbox.items_of(["l2"])
        assert [i["result"] for i in rows.outbox.items("b1")] == ["accepted", "missing"]
    assert [(i["batch_id"], i["result"]) for i in found] == [("b1", "missing"), ("b2", None)]


@pytest.mark.parametrize("backend_db", ["postgresql"], indirect=True)
def test_parallel_claims_on_postgresql_skip_a_locked_batch_instead_of_waiting(
    backend_db: Database,
) -> None:
    """Two open claims (no writer's lock) take two different batches at once: the second
    skips the row the first holds (FOR UPDATE SKIP LOCKED) and does not wait for it."""
    assert isinstance(backend_db, SqlDatabase)
    _seed(backend_db, "l1", "l2")
    _add(backend_db, "b1", "l1", created_at=NOW - MINUTE)
    _add(backend_db, "b2", "l2")
    with backend_db.transaction(exclusive=False) as first:
        one = first.outbox.claim(NOW, NOW + MINUTE, "w1")
        with backend_db.transaction(exclusive=False) as second:
            second.connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            two = second.outbox.claim(NOW, NOW + MINUTE, "w2")
            three = second.outbox.claim(NOW, NOW + MINUTE, "w2")
    assert one is not None and two is not None
    assert (one["batch_id"], two["batch_id"], three) == ("b1", "b2", None)


# -- the outbox over the rows --------------------------------------------------------------


def _outbox(database: Database, work: Callable[[Outbox], T], *, exclusive: bool = True) -> T:
    with database.transaction(exclusive=exclusive) as rows:
        keys = KeyStore(rows.keys, RING, NOW)

        def practice_key() -> str:
            return keys.first_data_key_of("practice") or keys.create_data_key("practice")

        return work(Outbox(rows.outbox, keys, NOW, practice_key))


def _sealed(database: Database) -> None:
    """Ledger rows under a data key of the keyring, and a batch b1 of two of them."""
    with database.transaction() as rows:
        dek_id = KeyStore(rows.keys, RING, NOW).create_data_key("practice")
        for ledger_id in ("l1", "l2"):
            ledger_row(rows, ledger_id, None, state="queued", dek_id=dek_id)
    _outbox(
        database,
        lambda outbox: outbox.add(
            batch_id="b1",
            doctor_btm="1234567",
            transport="http",
            envelope=ENVELOPE,
            created_at=NOW,
            reports=[("l1", "anm-1"), ("l2", "abm-2")],
        ),
    )


def test_a_receipt_and_a_reason_are_sealed_and_come_back_byte_for_byte(
    backend_db: Database,
) -> None:
    """The receipt document and the register's reason are stored sealed under the
    practice's key (no clear text in the row) and open to exactly what was given."""
    _sealed(backend_db)
    document = '{"receipt":{"results":[{"reason":"Code HAMÜF284 unbekannt"}]}}'.encode()
    claimed = _outbox(backend_db, lambda o: o.claim("w1", MINUTE), exclusive=False)
    assert claimed is not None and [r.ledger_id for r in claimed.reports] == ["l1", "l2"]

    def acknowledge(outbox: Outbox) -> bool:
        values = outbox.receipt_values("b1", document, NOW)
        values |= outbox.reason_values("b1", "Ablehnung für HAMÜF284")
        return outbox.record(claimed.batch, "acknowledged", acknowledged_at=NOW, **values)

    assert _outbox(backend_db, acknowledge)
    batch = _outbox(backend_db, lambda o: o.get("b1"))
    assert batch.state == "acknowledged" and batch.claimed_by is None and batch.has_reason
    assert batch.receipt_sha256 == hashlib.sha256(document).hexdigest()
    assert _outbox(backend_db, lambda o: o.receipt(batch)) == document
    assert _outbox(backend_db, lambda o: o.reason(batch)) == "Ablehnung für HAMÜF284"
    with backend_db.transaction(write=False) as rows:
        row = rows.outbox.batch("b1")
    assert row is not None
    assert "HAMÜF284".encode() not in bytes(row["receipt_ct"]) + bytes(row["reason_ct"])


def test_a_receipt_changed_in_the_database_is_refused_when_opened(backend_db: Database) -> None:
    """The sealed receipt is bound to its batch: moved to another batch it does not open."""
    _sealed(backend_db)
    _add(backend_db, "b2", "l1")
    claimed = _outbox(backend_db, lambda o: o.claim("w1", MINUTE), exclusive=False)
    assert claimed is not None and claimed.batch.batch_id == "b1"
    _outbox(
        backend_db,
        lambda o: o.record(claimed.batch, "acknowledged", **o.receipt_values("b1", b"{}", NOW)),
    )
    with backend_db.transaction() as rows:
        row = rows.outbox.batch("b1")
        assert row is not None
        moved = {k: row[k] for k in ("dek_id", "receipt_nonce", "receipt_ct")}
        assert rows.outbox.update("b2", "sealed", None, moved)
    with pytest.raises(DamagedRowError, match="receipt of batch b2"):
        _outbox(backend_db, lambda o: o.receipt(o.get("b2")))


def test_an_envelope_changed_in_the_database_is_never_handed_out(backend_db: Database) -> None:
    """A claim checks the stored bytes against their SHA-256: a changed envelope is not
    handed out, and the claim says why, naming the batch; so does `envelope`."""
    _sealed(backend_db)
    with backend_db.transaction() as rows:
        if isinstance(rows, MemoryBackend):
            rows.tables["outbox_batch"]["b1"]["envelope"] = b"changed"
        else:
            rows.connection.execute(update(outbox_batch).values(envelope=b"changed"))
    claimed = _outbox(backend_db, lambda o: o.claim("w1", MINUTE), exclusive=False)
    assert claimed is not None and claimed.envelope is None
    assert "b1 does not match its SHA-256" in str(claimed.problem)
    with pytest.raises(OutboxError, match="b1 does not match its SHA-256"):
        _outbox(backend_db, lambda o: o.envelope("b1"))


def test_only_the_worker_holding_a_batch_records_what_came_back(backend_db: Database) -> None:
    """A worker whose lease ran out and whose batch another worker claimed writes nothing;
    the holder's outcome stands."""
    _sealed(backend_db)
    slow = _outbox(backend_db, lambda o: o.claim("w1", -MINUTE), exclusive=False)  # ended
    fast = _outbox(backend_db, lambda o: o.claim("w2", MINUTE), exclusive=False)
    assert slow is not None and fast is not None and fast.batch.claimed_by == "w2"
    assert _outbox(backend_db, lambda o: o.record(fast.batch, "sent", sent_at=NOW))
    assert not _outbox(backend_db, lambda o: o.record(slow.batch, "failed", attempts=9))
    batch = _outbox(backend_db, lambda o: o.get("b1"))
    assert (batch.state, batch.attempts, batch.sent_at) == ("sent", 0, NOW)


def test_retry_puts_only_a_failed_batch_back_with_its_attempts_afresh(
    backend_db: Database,
) -> None:
    """`retry`: failed → sealed, due now, attempts 0; any other state is refused, naming it."""
    _sealed(backend_db)
    with pytest.raises(OutboxError, match="cannot become sealed: it is sealed"):
        _outbox(backend_db, lambda o: o.retry("b1"))
    claimed = _outbox(backend_db, lambda o: o.claim("w1", MINUTE), exclusive=False)
    assert claimed is not None
    _outbox(backend_db, lambda o: o.record(claimed.batch, "failed", attempts=10))
    again = _outbox(backend_db, lambda o: o.retry("b1"))
    assert (again.state, again.attempts, again.next_attempt_at) == ("sealed", 0, NOW)
    with pytest.raises(OutboxError, match="no batch nope"):
        _outbox(backend_db, lambda o: o.retry("nope"))


def test_the_proof_of_a_report_is_its_newest_batch(backend_db: Database) -> None:
    """`proofs`: per ledger id the newest batch that held it, with the receipt's word."""
    _sealed(backend_db)
    _add(backend_db, "b2", "l2", created_at=NOW + MINUTE, state="sent", sent_at=NOW)
    with backend_db.transaction() as rows:
        rows.outbox.set_results("b2", {1: "accepted"})
    proofs = _outbox(backend_db, lambda o: o.proofs(["l1", "l2", "l3"]))
    assert set(proofs) == {"l1", "l2"}
    assert (proofs["l1"].batch_id, proofs["l1"].state, proofs["l1"].result) == (
        "b1",
        "sealed",
        None,
    )
    assert (proofs["l2"].batch_id, utc(proofs["l2"].sent_at), proofs["l2"].result) == (
        "b2",
        NOW,
        "accepted",
    )
