"""The audit log: a hash chain with signed checkpoints, and what tampering it detects.

On the in-memory twin (its rows changed behind the program's back as a raw SQL client
would); on SQLite and PostgreSQL as well where the SQL is what is tested: times stored as
UTC and compared across time zones, the details column's text, a changed time column (D-119).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Table

from adapter.crypto import Keyring, public_key_bytes, sign
from adapter.errors import KeyringError
from adapter.store.audit import Actor, Verification, _checkpoint_message, _utc_text, entry_hash
from adapter.store.audit import verify as verify_chain
from adapter.store.schema import audit_checkpoint, audit_log, key_registry
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, EVERY_KIND, NOW, SQL_KINDS, Database, open_store
from tests.store.helpers import (
    CODE,
    Target,
    change,
    delete,
    holds,
    insert,
    planned,
    raw_rows,
    reference,
)

LATER = "2027-01-01T00:00:00+00:00"
ATTACKER_KEY = "audit-v7-0123456789ab"
_HASHED = ("seq", "actor", "role", "action", "mapping_id", "ledger_id", "purpose", "ticket")


def _append(store: Store, *actions: str) -> None:
    """One run that appends an entry per action and signs the head when it commits."""

    def work(space: Workspace) -> None:
        for number, action in enumerate(actions):
            space.audit.append(ACTOR, action, details={"patients": number})

    store.run(ACTOR, work)


def _two_runs(store: Store) -> None:
    """Entries 1–2 signed at 2, entries 3–4 signed at 4."""
    _append(store, "sync", "derive")
    _append(store, "lookup", "lookup.match")


def _verify(store: Store, keyring: Keyring | None = None) -> Verification:
    """verify() as `substreg audit verify` runs it, with the store's keyring or `keyring`."""
    checker = store if keyring is None else store.with_keyring(keyring)
    return checker.run(ACTOR, lambda s: verify_chain(s.audit.rows, s.keys.public_keys()))


def _delete(target: Target, table: Table, *seqs: int) -> None:
    for seq in seqs:
        delete(target, table, seq=seq)


def _hashed(row: Mapping[str, Any], **changes: object) -> dict[str, object]:
    """The entry of a raw audit_log row as its hash covers it, with `changes`."""
    entry: dict[str, object] = {name: row[name] for name in _HASHED}
    entry.update(at=_utc_text(row["at"]), details=orjson.loads(row["details"]))
    entry.update(changes)
    return entry


def _forge(store: Store, seq: int, details: dict[str, object], signer: Ed25519PrivateKey) -> None:
    """Rewrite entry `seq` (the last one) with a recomputed hash and sign a checkpoint
    of it with `signer`, under the key id ATTACKER_KEY."""
    (row,) = [r for r in raw_rows(store, audit_log) if r["seq"] == seq]
    digest = entry_hash(bytes(row["prev_hash"]), _hashed(row, details=details))
    change(
        store, audit_log, {"seq": seq}, details=orjson.dumps(details).decode(), entry_hash=digest
    )
    change(
        store,
        audit_checkpoint,
        {"seq": seq},
        entry_hash=digest,
        key_id=ATTACKER_KEY,
        signature=sign(signer, _checkpoint_message(seq, digest)),
    )


# -- the chain as written ----------------------------------------------------------------


def test_appended_entries_with_their_checkpoints_verify(db: Database) -> None:
    """Two runs, each signing its head: the chain and both checkpoints verify."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    result = _verify(store)
    assert result.problems == ()
    assert (result.entries, result.checkpoints, result.head_seq) == (4, 2, 4)
    assert [r["seq"] for r in raw_rows(store, audit_checkpoint)] == [2, 4]


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_clock_in_another_time_zone_keeps_the_chain_verifiable(db: Database) -> None:
    """Entries written at a Berlin wall-clock time verify on both databases (stored as UTC)."""
    berlin = NOW.astimezone(ZoneInfo("Europe/Berlin"))
    store, _ = open_store(db, initialised=False, clock=lambda: berlin)
    _two_runs(store)
    assert _verify(store).problems == ()


# -- tampering ---------------------------------------------------------------------------


CHANGES = {
    "details": ("details", '{"patients":7}'),
    "actor": ("actor", "intruder"),
    "role": ("role", "admin"),
    "action": ("action", "sync"),
    "time": ("at", NOW - timedelta(days=1)),
    "purpose": ("purpose", "curiosity"),
    "mapping id": ("mapping_id", "00000000-0000-4000-8000-000000000000"),
}


@pytest.mark.parametrize(
    ("kind", "column", "value"),
    [pytest.param("memory", *change, id=name) for name, change in CHANGES.items()]
    + [pytest.param(kind, *CHANGES["time"], id=f"time-{kind}") for kind in SQL_KINDS],
)
def test_a_changed_column_is_detected(db: Database, column: str, value: object) -> None:
    """Changing any hashed column of entry 2 is reported as a change of entry 2."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    change(store, audit_log, {"seq": 2}, **{column: value})
    assert _verify(store).problems == ("entry 2 was changed after it was written",)


def test_a_deleted_middle_entry_is_detected(db: Database) -> None:
    """Deleting entry 2 leaves a gap and breaks the link of entry 3."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    _delete(store, audit_log, 2)
    problems = _verify(store).problems
    assert "entry 2 is missing (the next entry is 3)" in problems
    assert "entry 3 does not follow the entry before it" in problems
    assert "the checkpoint at entry 2 does not match the log" in problems


def test_a_deleted_last_entry_is_detected_by_its_checkpoint(db: Database) -> None:
    """Deleting the head entry but not its checkpoint: the checkpoint outlives the log."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    _delete(store, audit_log, 4)
    assert _verify(store).problems == (
        "the checkpoint at entry 4 does not match the log",
        "entries 4–4 were deleted from the end",
    )


def test_a_deleted_last_entry_and_its_checkpoint_are_detected(db: Database) -> None:
    """Deleting the head entry with its checkpoint leaves entry 3 unsigned after checkpoint 2.

    The limit of a chain kept in the database: deleting every entry after a checkpoint
    together with the last checkpoint (here entries 3 and 4 and checkpoint 4) leaves a
    shorter chain that is valid in itself, so verify cannot tell it from the database
    alone; only a copy of the last head kept elsewhere (Verification.head_seq and
    head_hash) exposes it.
    """
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    _delete(store, audit_log, 4)
    _delete(store, audit_checkpoint, 4)
    assert _verify(store).problems == (
        "entries 3–3 follow the last signed checkpoint "
        "(written outside substreg, or the log was extended)",
    )


def test_a_truncation_to_the_previous_checkpoint_changes_the_reported_head(
    db: Database,
) -> None:
    """Truncating back to checkpoint 2 moves the head verify reports (a kept copy shows it)."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    head = _verify(store)
    _delete(store, audit_log, 3, 4)
    _delete(store, audit_checkpoint, 4)
    after = _verify(store)
    assert (after.head_seq, after.head_hash) != (head.head_seq, head.head_hash)


def test_entries_appended_behind_the_program_are_detected(db: Database) -> None:
    """An entry inserted after the last checkpoint (even with a correct hash) is unsigned."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    (last,) = [r for r in raw_rows(store, audit_log) if r["seq"] == 4]
    digest = entry_hash(bytes(last["entry_hash"]), _hashed(last, seq=5, details={}))
    appended = {**last, "seq": 5, "details": "{}", "prev_hash": last["entry_hash"]}
    insert(store, audit_log, **{**appended, "entry_hash": digest})
    assert _verify(store).problems == (
        "entries 5–5 follow the last signed checkpoint "
        "(written outside substreg, or the log was extended)",
    )


def test_two_swapped_entries_are_detected(db: Database) -> None:
    """Exchanging entries 2 and 3 (reordering the log) breaks both and the link after."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    rows = {r["seq"]: r for r in raw_rows(store, audit_log)}
    for seq, other in ((2, 3), (3, 2)):
        moved = {k: v for k, v in rows[other].items() if k != "seq"}
        change(store, audit_log, {"seq": seq}, **moved)
    problems = _verify(store).problems
    for seq in (2, 3):
        assert f"entry {seq} was changed after it was written" in problems
    assert "entry 2 does not follow the entry before it" in problems
    assert "entry 4 does not follow the entry before it" in problems


def test_a_forged_checkpoint_signature_is_detected(db: Database) -> None:
    """A checkpoint whose signature was altered names its entry."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    (cp,) = [r for r in raw_rows(store, audit_checkpoint) if r["seq"] == 2]
    forged = bytes([cp["signature"][0] ^ 1]) + bytes(cp["signature"][1:])
    change(store, audit_checkpoint, {"seq": 2}, signature=forged)
    assert _verify(store).problems == ("the checkpoint at entry 2 has no valid signature",)


def test_a_checkpoint_by_a_key_not_in_the_registry_is_detected(db: Database) -> None:
    """A rewritten entry signed with a key the registry does not know does not verify."""
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    _forge(store, 4, {"patients": 0}, Ed25519PrivateKey.generate())
    assert _verify(store).problems == ("the checkpoint at entry 4 has no valid signature",)


@pytest.mark.parametrize("state", ["active", "retired"])
def test_a_key_smuggled_into_the_registry_does_not_vouch_for_a_rewritten_log(
    db: Database, state: str
) -> None:
    """A key inserted into key_registry is refused (active) or not trusted (retired) by verify."""
    # Only keys the keyring holds vouch for checkpoints, not public keys in the database.
    store, _ = open_store(db, initialised=False)
    _two_runs(store)
    attacker = Ed25519PrivateKey.generate()
    insert(
        store,
        key_registry,
        key_id=ATTACKER_KEY,
        purpose="audit",
        version=7,
        algorithm="Ed25519",
        state=state,
        public_key=public_key_bytes(attacker),
        created_at=NOW,
        changed_at=NOW,
    )
    _forge(store, 4, {"patients": 0}, attacker)
    if state == "active":
        with pytest.raises(KeyringError, match=f"does not hold the key {ATTACKER_KEY}"):
            _verify(store)
    else:
        assert _verify(store).problems == ("the checkpoint at entry 4 has no valid signature",)


# -- audit-key rotation ------------------------------------------------------------------


def test_old_checkpoints_verify_after_audit_key_rotation(db: Database) -> None:
    """Checkpoints of audit-v1 verify after rotation, and after v1 is destroyed (registry copy)."""
    store, keyring = open_store(db, initialised=False)
    _append(store, "sync")
    rotated = keyring.rotated("audit", LATER)
    _append(store.with_keyring(rotated), "sync")
    signers = [r["key_id"] for r in raw_rows(store, audit_checkpoint)]
    assert [re.sub(r"-[0-9a-f]{12}$", "", k) for k in signers] == ["audit-v1", "audit-v2"]
    assert _verify(store, rotated).problems == ()
    retired = rotated.with_state("audit", 1, "retired")
    assert _verify(store, retired).problems == ()
    destroyed = retired.with_state("audit", 1, "destroyed")
    assert _verify(store, destroyed).problems == ()


# -- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_count_counts_by_action_actor_and_time(db: Database) -> None:
    """count() takes only entries of that action, by that actor, from `since` on."""
    moments = iter([NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=2)])
    store, keyring = open_store(db, initialised=False, clock=lambda: next(moments))
    other = Actor("someone-else", "operator")

    def lookups(actor: Actor) -> None:
        store.run(actor, lambda space: space.audit.append(actor, "lookup"))

    lookups(ACTOR)
    lookups(other)
    lookups(ACTOR)

    def count(action: str, actor: Actor, since: datetime) -> int:
        reader = Store(store.database, lambda: keyring, clock=lambda: NOW)
        return reader.run(ACTOR, lambda space: space.audit.count(action, actor, since))

    assert count("lookup", ACTOR, NOW) == 2
    assert count("lookup", other, NOW) == 1
    assert count("lookup", ACTOR, NOW + timedelta(minutes=1)) == 1
    assert count("lookup", ACTOR, NOW.astimezone(ZoneInfo("Europe/Berlin"))) == 2
    assert count("sync", ACTOR, NOW) == 0


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_details_are_stored_as_exactly_the_canonical_json_given(db: Database) -> None:
    """Counts in, the same counts out: the details column is the sorted JSON, nothing more."""
    store, _ = open_store(db, initialised=False)
    store.run(ACTOR, lambda s: s.audit.append(ACTOR, "sync", details={"reports": 2, "patients": 3}))
    (row,) = raw_rows(store, audit_log)
    assert row["details"] == '{"patients":3,"reports":2}'


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_entries_of_a_sync_hold_no_personal_data(db: Database) -> None:
    """What a sync writes to the log holds our ids and counts, no reference and no code."""
    store, _ = open_store(db, initialised=False)

    def sync(space: Workspace) -> None:
        row, _ = space.mappings.find_or_create(reference("pat-81723"))
        ledger_id = space.ledger.record(planned(row.mapping_id), row.dek_id)
        space.audit.append(ACTOR, "report.recorded", mapping_id=row.mapping_id, ledger_id=ledger_id)
        space.audit.append(ACTOR, "sync", details={"patients": 1, "reports": 1})

    store.run(ACTOR, sync)
    rows = raw_rows(store, audit_log) + raw_rows(store, audit_checkpoint)
    for needle in ("pat-81723", "ehr.example.org", CODE, "Muster"):
        assert not holds(rows, needle), needle
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    recorded = raw_rows(store, audit_log)[0]
    assert uuid.fullmatch(recorded["mapping_id"])
    assert uuid.fullmatch(recorded["ledger_id"])
    details = [orjson.loads(r["details"]) for r in raw_rows(store, audit_log)]
    assert details[:2] == [{}, {"patients": 1, "reports": 1}]
    # The row as recorded, chained at the end of the run (D-44): its state and seal only.
    assert set(details[2]) == {"state", "superseded", "seal"}
    assert re.fullmatch(r"[0-9a-f]{64}", details[2]["seal"])
