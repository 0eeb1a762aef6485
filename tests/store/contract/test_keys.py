"""The key rows' contract (`KeyRows`), and the key store on it, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapter.crypto import generate_keyring
from adapter.store.keys import KeyStore
from adapter.store.memory.backend import MemoryDatabase
from adapter.store.rows import RegisteredKey
from adapter.store.workspace import Database
from tests.storage import NOW

LATER = NOW + timedelta(hours=1)


def _wrap_key(database: Database, key_id: str = "wrap-v1-aa") -> None:
    with database.transaction() as rows:
        rows.keys.register(RegisteredKey(key_id, "wrap", 1, "active", None), "AES-KW", NOW)


def test_registered_keys_come_back_as_registered(backend_db: Database) -> None:
    with backend_db.transaction() as rows:
        rows.keys.register(
            RegisteredKey("audit-v1-bb", "audit", 1, "active", b"pub"), "Ed25519", NOW
        )
        rows.keys.register(RegisteredKey("index-v1-cc", "index", 1, "active", None), "HMAC", NOW)
    with backend_db.transaction(write=False) as rows:
        got = sorted(rows.keys.registered(), key=lambda k: k.key_id)
    assert got == [
        RegisteredKey("audit-v1-bb", "audit", 1, "active", b"pub"),
        RegisteredKey("index-v1-cc", "index", 1, "active", None),
    ]


def test_a_key_id_is_registered_once(backend_db: Database) -> None:
    _wrap_key(backend_db)
    with pytest.raises(Exception), backend_db.transaction() as rows:  # noqa: B017
        rows.keys.register(RegisteredKey("wrap-v1-aa", "wrap", 1, "active", None), "x", NOW)
    with backend_db.transaction(write=False) as rows:
        assert len(rows.keys.registered()) == 1


def test_states_change_and_destroyed_marks_every_key_of_that_version(backend_db: Database) -> None:
    _wrap_key(backend_db, "wrap-v1-aa")
    with backend_db.transaction() as rows:
        rows.keys.register(RegisteredKey("wrap-v2-dd", "wrap", 2, "active", None), "AES-KW", NOW)
        rows.keys.set_state("wrap-v2-dd", "decrypt-only", LATER)
        rows.keys.mark_destroyed("wrap", 1, LATER)
    with backend_db.transaction(write=False) as rows:
        states = {k.key_id: k.state for k in rows.keys.registered()}
    assert states == {"wrap-v1-aa": "destroyed", "wrap-v2-dd": "decrypt-only"}


def test_data_keys_are_found_rewrapped_and_destroyed(backend_db: Database) -> None:
    _wrap_key(backend_db, "wrap-v1-aa")
    with backend_db.transaction() as rows:
        rows.keys.register(RegisteredKey("wrap-v2-dd", "wrap", 2, "active", None), "AES-KW", NOW)
        rows.keys.add_data_key("d1", "wrap-v1-aa", b"w1", "practice", NOW)
        rows.keys.add_data_key("d2", "wrap-v1-aa", b"w2", "patient", LATER)
        rows.keys.add_data_key("d0", "wrap-v1-aa", b"w0", "practice", LATER)
    with backend_db.transaction() as rows:
        keys = rows.keys
        assert set(keys.data_keys(["d1", "d2", "nope"])) == {"d1", "d2"}
        assert keys.first_live_key_of("practice") == "d1"  # the oldest
        keys.destroy_data_key("d1", LATER)
        assert keys.data_keys(["d1"])["d1"].wrapped is None
        assert keys.first_live_key_of("practice") == "d0"
        assert [k.dek_id for k in keys.live_data_keys_not_under("wrap-v2-dd")] == ["d0", "d2"]
        keys.rewrap("d2", "wrap-v2-dd", b"w2'")
        assert keys.count_wrapped_under("wrap-v2-dd") == 1
        assert keys.count_wrapped_under("wrap-v1-aa") == 1  # d0; d1 destroyed
    with backend_db.transaction(write=False) as rows:
        assert rows.keys.data_keys(["d2"])["d2"].wrapped == b"w2'"


def test_a_failed_transaction_leaves_nothing(backend_db: Database) -> None:
    with pytest.raises(RuntimeError), backend_db.transaction() as rows:
        rows.keys.register(RegisteredKey("wrap-v1-aa", "wrap", 1, "active", None), "x", NOW)
        raise RuntimeError("the work failed")
    with backend_db.transaction(write=False) as rows:
        assert rows.keys.registered() == []


def test_a_read_only_transaction_writes_nothing(backend_db: Database) -> None:
    with backend_db.transaction(write=False) as rows:
        rows.keys.register(RegisteredKey("wrap-v1-aa", "wrap", 1, "active", None), "x", NOW)
    with backend_db.transaction(write=False) as rows:
        assert rows.keys.registered() == []


def test_the_key_store_seals_and_opens_on_every_backend(backend_db: Database) -> None:
    """The logic over the rows: register the keyring, make a data key, seal, reopen."""
    ring = generate_keyring(NOW.isoformat())
    with backend_db.transaction() as rows:
        keys = KeyStore(rows.keys, ring, NOW)
        dek_id = keys.create_data_key("practice")
        sealed = keys.seal(dek_id, "report/1", "code", b"HAMUF284")
    with backend_db.transaction(write=False) as rows:
        keys = KeyStore(rows.keys, ring, LATER)
        assert keys.first_data_key_of("practice") == dek_id
        assert keys.open(dek_id, "report/1", "code", sealed.nonce, sealed.ct) == b"HAMUF284"
        assert {k.purpose for k in keys.registered()} == {"index", "wrap", "audit"}


def test_a_data_key_id_is_never_overwritten(backend_db: Database) -> None:
    _wrap_key(backend_db)
    with backend_db.transaction() as rows:
        rows.keys.add_data_key("d1", "wrap-v1-aa", b"first", "practice", NOW)
    with pytest.raises(Exception), backend_db.transaction() as rows:  # noqa: B017
        rows.keys.add_data_key("d1", "wrap-v1-aa", b"second", "practice", LATER)
    with backend_db.transaction(write=False) as rows:
        assert rows.keys.data_keys(["d1"])["d1"].wrapped == b"first"


def test_the_twin_refuses_a_unit_of_work_inside_another() -> None:
    """On SQL the inner one would wait for the outer one's lock for ever; the twin says so
    at once instead of letting the outer commit drop the inner one's writes."""
    twin = MemoryDatabase()
    twin.create()
    with (
        twin.transaction(),
        pytest.raises(RuntimeError, match="inside another"),
        twin.transaction(),
    ):
        pass
    with twin.transaction(write=False) as rows:  # the lock was given back
        assert rows.keys.registered() == []
