"""The audit rows' contract (`AuditRows`), and the audit log on it, on every backend."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import orjson
import pytest

from adapter.crypto import generate_keyring
from adapter.errors import ConcurrentUpdateError
from adapter.store.audit import GENESIS, AuditLog, verify, wiped_log
from adapter.store.keys import KeyStore
from adapter.store.rows import RegisteredKey, Row
from adapter.store.runs import RunJournal
from adapter.store.workspace import Database
from tests.storage import ACTOR, NOW
from tests.store.contract.seeding import data_key, ledger_row, patient, utc

LATER = NOW + timedelta(hours=1)
AUDIT_KEY = "audit-v1-bb"


def _entry(seq: int, action: str = "sync", **values: Any) -> Row:
    """An entry as the audit log writes it (the hashes need not chain here)."""
    return {
        "seq": seq,
        "at": NOW,
        "actor": "tester",
        "role": "operator",
        "action": action,
        "mapping_id": None,
        "ledger_id": None,
        "purpose": None,
        "ticket": None,
        "details": orjson.dumps({"n": seq}).decode(),
        "prev_hash": bytes([seq - 1]) * 32,
        "entry_hash": bytes([seq]) * 32,
        **values,
    }


def _checkpoint(seq: int, **values: Any) -> Row:
    return {
        "seq": seq,
        "entry_hash": bytes([seq]) * 32,
        "key_id": AUDIT_KEY,
        "signature": b"s" * 64,
        "at": NOW,
        **values,
    }


def _audit_key(rows: Any) -> None:
    rows.keys.register(RegisteredKey(AUDIT_KEY, "audit", 1, "active", b"pub"), "Ed25519", NOW)


def _races(database: Database) -> tuple[type[Exception], ...]:
    """What a refused race looks like: the twin's error, or the database's refusal."""
    return (ConcurrentUpdateError, *database.races)


def test_an_empty_log_has_no_head_entries_or_checkpoints(backend_db: Database) -> None:
    """A new database: nothing to chain on, nothing to verify."""
    with backend_db.transaction(write=False) as rows:
        assert rows.audit.head() is None
        assert rows.audit.has_entries() is False
        assert rows.audit.entries() == []
        assert rows.audit.checkpoints() == []


def test_entries_come_back_as_written_by_seq(backend_db: Database) -> None:
    """Every column comes back as stored (details as its JSON text), ordered by seq."""
    with backend_db.transaction() as rows:
        rows.audit.add([_entry(3, purpose="sealed:v1:x", ticket="sealed:v1:y")])
        rows.audit.add([_entry(1, mapping_id="m1"), _entry(2, ledger_id="l1", at=LATER)])
    with backend_db.transaction(write=False) as rows:
        got = rows.audit.entries()
        assert rows.audit.head() == (3, bytes([3]) * 32)
        assert rows.audit.has_entries() is True
    assert [e["seq"] for e in got] == [1, 2, 3]
    assert [utc(e["at"]) for e in got] == [NOW, LATER, NOW]
    assert {**got[2], "at": NOW} == _entry(3, purpose="sealed:v1:x", ticket="sealed:v1:y")
    assert got[0]["mapping_id"] == "m1"
    assert got[1]["ledger_id"] == "l1"
    assert got[1]["details"] == '{"n":2}'


def test_entries_of_an_action_and_of_ledger_rows(backend_db: Database) -> None:
    """The filters narrow by action and by ledger id (more ids than one IN list holds)."""
    with backend_db.transaction() as rows:
        rows.audit.add(
            [
                _entry(1, "ledger.row", ledger_id="l1"),
                _entry(2, "lookup", ledger_id="l1"),
                _entry(3, "ledger.row", ledger_id="l2"),
                _entry(4, "ledger.row", ledger_id="l3"),
            ]
        )
    many = [f"x{i}" for i in range(700)] + ["l3", "l1"]
    with backend_db.transaction(write=False) as rows:
        audit = rows.audit
        assert [e["seq"] for e in audit.entries(action="ledger.row")] == [1, 3, 4]
        assert [e["seq"] for e in audit.entries(ledger_ids=["l1"])] == [1, 2]
        assert [e["seq"] for e in audit.entries(action="ledger.row", ledger_ids=many)] == [1, 4]
        assert audit.entries(ledger_ids=[]) == []
        assert audit.entries(action="nothing") == []


def test_a_seq_is_written_once(backend_db: Database) -> None:
    """A seq taken (a parallel writer appended first) is refused, and nothing of the batch
    is kept."""
    with backend_db.transaction() as rows:
        rows.audit.add([_entry(1)])
    with pytest.raises(_races(backend_db)), backend_db.transaction() as rows:
        rows.audit.add([_entry(2), _entry(1, action="other")])
    with backend_db.transaction(write=False) as rows:
        assert [(e["seq"], e["action"]) for e in rows.audit.entries()] == [(1, "sync")]


def test_count_by_action_actor_and_time(backend_db: Database) -> None:
    """Counted: the action by the actor at or after the moment given."""
    with backend_db.transaction() as rows:
        rows.audit.add(
            [
                _entry(1, "lookup", at=NOW - timedelta(seconds=1)),
                _entry(2, "lookup", at=NOW),
                _entry(3, "lookup", at=LATER),
                _entry(4, "lookup", actor="other", at=LATER),
                _entry(5, "sync", at=LATER),
            ]
        )
    with backend_db.transaction(write=False) as rows:
        assert rows.audit.count("lookup", "tester", NOW) == 2
        assert rows.audit.count("lookup", "tester", LATER + timedelta(seconds=1)) == 0
        assert rows.audit.count("lookup", "other", NOW) == 1


def test_checkpoints_come_back_by_seq_each_seq_signed_once(backend_db: Database) -> None:
    """Checkpoints as written, ordered; a second one at a seq is refused."""
    with backend_db.transaction() as rows:
        _audit_key(rows)
        rows.audit.add_checkpoint(_checkpoint(4))
        rows.audit.add_checkpoint(_checkpoint(2, at=LATER))
    with pytest.raises(_races(backend_db)), backend_db.transaction() as rows:
        rows.audit.add_checkpoint(_checkpoint(4, signature=b"t" * 64))
    with backend_db.transaction(write=False) as rows:
        got = rows.audit.checkpoints()
    assert [(c["seq"], utc(c["at"])) for c in got] == [(2, LATER), (4, NOW)]
    assert {**got[1], "at": NOW} == _checkpoint(4)


def test_a_checkpoint_names_a_registered_key(backend_db: Database) -> None:
    """The key id is a foreign key of the registry (as the SQL schema has it)."""
    with pytest.raises(Exception), backend_db.transaction() as rows:  # noqa: B017
        rows.audit.add_checkpoint(_checkpoint(1))
    with backend_db.transaction(write=False) as rows:
        assert rows.audit.checkpoints() == []


def test_held_counts_reports_keys_mappings_and_runs(backend_db: Database) -> None:
    """What the wiped-log check counts, by table."""
    with backend_db.transaction(write=False) as rows:
        assert rows.audit.held() == {
            "report": 0,
            "key_registry": 0,
            "patient_mapping": 0,
            "sync_run": 0,
        }
    with backend_db.transaction() as rows:
        data_key(rows)
        patient(rows, "m1")
        patient(rows, "m2")
        ledger_row(rows, "l1", "m1")
        RunJournal(rows.runs, NOW).finish(date(2026, 11, 30), "tester", 1)
    with backend_db.transaction(write=False) as rows:
        assert rows.audit.held() == {
            "report": 1,
            "key_registry": 1,
            "patient_mapping": 2,
            "sync_run": 1,
        }


def test_a_failed_or_read_only_transaction_leaves_no_entry(backend_db: Database) -> None:
    """Rolled back: the entries and checkpoints written in it are gone."""
    with pytest.raises(RuntimeError), backend_db.transaction() as rows:
        _audit_key(rows)
        rows.audit.add([_entry(1)])
        rows.audit.add_checkpoint(_checkpoint(1))
        raise RuntimeError("the work failed")
    with backend_db.transaction(write=False) as rows:
        _audit_key(rows)
        rows.audit.add([_entry(1)])
    with backend_db.transaction(write=False) as rows:
        assert rows.audit.entries() == []
        assert rows.audit.checkpoints() == []


# -- the audit log over the rows ------------------------------------------------------------


def test_the_log_chains_signs_and_verifies_on_every_backend(backend_db: Database) -> None:
    """Two units of work append and sign; the chain verifies; an entry appended without a
    checkpoint is named."""
    ring = generate_keyring(NOW.isoformat())
    for moment in (NOW, LATER):
        with backend_db.transaction() as rows:
            keys = KeyStore(rows.keys, ring, moment)
            log = AuditLog(rows.audit, moment)
            assert log.append(ACTOR, "sync", details={"patients": 2}) > 0
            log.append(ACTOR, "lookup", purpose="Rückfrage")
            assert log.count("lookup", ACTOR, moment) == 1  # what it appended, flushed
            log.checkpoint(keys)
    with backend_db.transaction(write=False) as rows:
        keys = KeyStore(rows.keys, ring, LATER)
        result = verify(rows.audit, keys.public_keys())
        entries = rows.audit.entries()
    assert (result.entries, result.checkpoints, result.head_seq, result.problems) == (4, 2, 4, ())
    assert entries[0]["prev_hash"] == GENESIS
    assert [e["prev_hash"] for e in entries[1:]] == [e["entry_hash"] for e in entries[:-1]]
    assert orjson.loads(entries[0]["details"]) == {"patients": 2}
    with backend_db.transaction() as rows:
        first = AuditLog(rows.audit, LATER)
        first.append(ACTOR, "sync")
        first.flush()  # written, not signed
        assert AuditLog(rows.audit, LATER).entries(action="sync")[-1]["seq"] == 5
    with backend_db.transaction(write=False) as rows:
        assert verify(rows.audit, KeyStore(rows.keys, ring, LATER).public_keys()).problems == (
            "entries 5–5 follow the last signed checkpoint (written outside substreg, or the "
            "log was extended)",
        )


def test_the_log_sees_what_it_appended_before_it_is_written(backend_db: Database) -> None:
    """`entries` and `count` flush first: the unit of work reads its own entries."""
    with backend_db.transaction() as rows:
        log = AuditLog(rows.audit, NOW)
        log.append(ACTOR, "ledger.row", ledger_id="l1", details={"state": "sent"})
        log.append(ACTOR, "lookup")
        got = log.entries(action="ledger.row", ledger_ids=["l1"])
        assert [(e["seq"], orjson.loads(e["details"])) for e in got] == [(1, {"state": "sent"})]
        assert log.count("lookup", ACTOR, NOW) == 1


def test_a_wiped_log_is_told_from_a_new_database(backend_db: Database) -> None:
    """An empty log is a deleted one only when the database holds data."""
    with backend_db.transaction() as rows:
        assert wiped_log(rows.audit) is None  # nothing held: a new database
        data_key(rows)
        patient(rows, "m1")
        assert wiped_log(rows.audit) == (
            "the audit log is empty, but the database holds 0 report(s), 1 key(s), "
            "1 patient mapping(s) and 0 sync run(s): the log was deleted"
        )
        log = AuditLog(rows.audit, NOW)
        log.append(ACTOR, "init")
        log.flush()
        rows.audit.add([])  # nothing to write is no error
    with backend_db.transaction(write=False) as rows:
        assert wiped_log(rows.audit) is None
