"""Sync's facts over the fact rows, on every backend: what they save is sealed under the
patient's (or the practice's) data key and opens again; what does not open is named."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from adapter.crypto import generate_keyring
from adapter.errors import StoredFormatError
from adapter.store.facts import Facts, StoredState
from adapter.store.keys import KeyStore
from adapter.store.workspace import Database
from tests.storage import NOW
from tests.store.contract.patients import mapping

LATER = NOW + timedelta(hours=1)
STATE = ("mapping_id", "format", "nonce", "ct", "walked_to", "live", "updated_at")
RING = generate_keyring(NOW.isoformat())


def _facts(rows: Any, now: datetime = NOW) -> Facts:
    """The facts over the rows of one transaction, with the keys of `RING`."""
    return Facts(rows.facts, KeyStore(rows.keys, RING, now), now)


def test_the_facts_seal_and_open_states_archives_and_the_practice(backend_db: Database) -> None:
    """Saved through the facts, every blob is stored sealed and opens again."""
    with backend_db.transaction() as rows:
        facts = _facts(rows)
        dek = facts.keys.create_data_key("patient")
        mapping(rows, "p1", dek)
        facts.save_states([(StoredState("p1", 1, b"state", date(2026, 6, 30), True), dek)])
        facts.append_archives([("p1", dek, 1, b"a1"), ("p1", dek, 1, b"a2")])
        facts.save_practice(1, b"doctors", facts.keys.create_data_key("practice"))
    with backend_db.transaction(write=False) as rows:
        facts = _facts(rows, LATER)
        assert facts.states(["p1"], with_live=False) == [
            StoredState("p1", 1, b"state", date(2026, 6, 30), True)
        ]
        assert facts.archive("p1", dek) == [b"a1", b"a2"]
        assert facts.practice() == (1, b"doctors")
        stored = rows.facts.archive("p1") + rows.facts.states([], with_live=True, every=False)
        assert all(b"a1" not in r["ct"] and b"state" not in r["ct"] for r in stored)


def test_a_state_moved_to_another_patient_is_named_unreadable(backend_db: Database) -> None:
    """A sealed state copied into another patient's row does not open: it is left out
    and named, and the others are read (issue 9.6)."""
    with backend_db.transaction() as rows:
        facts = _facts(rows)
        deks = {p: facts.keys.create_data_key("patient") for p in ("p1", "p2")}
        for p, dek in deks.items():
            mapping(rows, p, dek)
        facts.save_states([(StoredState(p, 1, p.encode(), None, True), deks[p]) for p in deks])
        (first,) = rows.facts.states(["p1"], with_live=False, every=False)
        rows.facts.put_states([{**{c: first[c] for c in STATE}, "mapping_id": "p2"}])
    with backend_db.transaction(write=False) as rows:
        facts = _facts(rows, LATER)
        assert [s.mapping_id for s in facts.states([], with_live=True)] == ["p1"]
        assert list(facts.unreadable) == ["p2"]


def test_replace_archive_compacts_and_another_format_is_refused(backend_db: Database) -> None:
    """After compaction the archive is one batch, seq 1; asked for another format it is
    refused, not misread."""
    with backend_db.transaction() as rows:
        facts = _facts(rows)
        dek = facts.keys.create_data_key("patient")
        mapping(rows, "p1", dek)
        facts.append_archives([("p1", dek, 1, b"a1")])
        facts.append_archives([("p1", dek, 1, b"a2")])
        facts.replace_archive("p1", dek, 2, b"everything")
    with backend_db.transaction(write=False) as rows:
        facts = _facts(rows, LATER)
        assert [r["seq"] for r in rows.facts.archive("p1")] == [1]
        assert facts.archive("p1", dek, 2) == [b"everything"]
        with pytest.raises(StoredFormatError):
            facts.archive("p1", dek, 1)
