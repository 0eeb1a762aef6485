"""The fact rows' contract (`FactRows`), and sync's facts on it, on every backend."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from adapter.errors import ConcurrentUpdateError
from adapter.store.rows import Row
from adapter.store.workspace import Database
from tests.storage import NOW
from tests.store.contract.patients import data_key, mapping

IDX = [bytes([n]) * 32 for n in range(4)]
DIGEST = [bytes([0xD0 + n]) * 32 for n in range(4)]
STATE = ("mapping_id", "format", "nonce", "ct", "walked_to", "live")
ARCHIVE = ("mapping_id", "seq", "format", "nonce", "ct")


def _refused_foreign_key(database: Database) -> tuple[type[Exception], ...]:
    return (KeyError, *database.races)  # the twin's KeyError, SQL's IntegrityError


def _state(mapping_id: str, ct: bytes, *, live: bool, walked_to: date | None) -> Row:
    return {
        "mapping_id": mapping_id,
        "format": 1,
        "nonce": b"n" * 12,
        "ct": ct,
        "walked_to": walked_to,
        "live": live,
        "updated_at": NOW,
    }


def _archive(mapping_id: str, seq: int, ct: bytes, fmt: int = 1) -> Row:
    return {
        "mapping_id": mapping_id,
        "seq": seq,
        "format": fmt,
        "nonce": b"n" * 12,
        "ct": ct,
        "created_at": NOW,
    }


def _only(row: Row, columns: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(row[c] for c in columns)


# -- practice ----------------------------------------------------------------------------


def test_the_practice_row_is_inserted_then_replaced(backend_db: Database) -> None:
    """practice() is None at first, then the row last put: one row, the new values."""
    with backend_db.transaction() as rows:
        assert rows.facts.practice() is None
        dek = data_key(rows, "dek-practice")
        values = {"dek_id": dek, "format": 1, "nonce": b"n1", "ct": b"c1", "updated_at": NOW}
        rows.facts.put_practice(values)
    with backend_db.transaction() as rows:
        first = rows.facts.practice()
        rows.facts.put_practice({**values, "format": 2, "nonce": b"n2", "ct": b"c2"})
    with backend_db.transaction(write=False) as rows:
        second = rows.facts.practice()
    columns = ("state_id", "dek_id", "format", "nonce", "ct")
    assert _only(first, columns) == (1, dek, 1, b"n1", b"c1")
    assert _only(second, columns) == (1, dek, 2, b"n2", b"c2")


def test_the_practice_row_needs_its_data_key(backend_db: Database) -> None:
    """A practice row under a data key that does not exist is refused (foreign key)."""
    values = {"dek_id": "no-such-key", "format": 1, "nonce": b"n", "ct": b"c", "updated_at": NOW}
    with pytest.raises(_refused_foreign_key(backend_db)), backend_db.transaction() as rows:
        rows.facts.put_practice(values)
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.practice() is None


# -- patient state -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("with_live", "every", "expected"),
    [(False, False, {"p3"}), (True, False, {"p1", "p3"}), (False, True, {"p1", "p2", "p3"})],
    ids=["asked only", "asked and live", "every patient"],
)
def test_states_are_the_asked_the_live_or_every_one_with_their_data_key(
    backend_db: Database, with_live: bool, every: bool, expected: set[str]
) -> None:
    """with_live adds every live patient to the ones asked for; every gives them all;
    each row carries its patient's data key."""
    with backend_db.transaction() as rows:
        for p in ("p1", "p2", "p3"):
            mapping(rows, p)
        rows.facts.put_states(
            [
                _state(p, p.encode(), live=p == "p1", walked_to=date(2026, 6, 30))
                for p in ("p1", "p2", "p3")
            ]
        )
    with backend_db.transaction(write=False) as rows:
        found = rows.facts.states(["p3"], with_live=with_live, every=every)
    assert {r["mapping_id"]: (r["ct"], r["dek_id"]) for r in found} == {
        p: (p.encode(), f"dek-{p}") for p in expected
    }


def test_states_are_inserted_then_replaced_by_mapping_id(backend_db: Database) -> None:
    """A second put of a patient's state replaces the first, every column."""
    with backend_db.transaction() as rows:
        mapping(rows, "p1")
        rows.facts.put_states([_state("p1", b"first", live=True, walked_to=None)])
    second = {**_state("p1", b"second", live=False, walked_to=date(2026, 6, 30)), "format": 2}
    with backend_db.transaction() as rows:
        rows.facts.put_states([second])
        rows.facts.put_states([])
    with backend_db.transaction(write=False) as rows:
        (found,) = rows.facts.states([], with_live=False, every=True)
    assert _only(found, STATE) == _only(second, STATE)


def test_a_state_needs_its_patient(backend_db: Database) -> None:
    """A state of no mapping row is refused (foreign key), and nothing is kept."""
    with pytest.raises(_refused_foreign_key(backend_db)), backend_db.transaction() as rows:
        rows.facts.put_states([_state("nobody", b"s", live=True, walked_to=None)])
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.states([], with_live=True, every=True) == []


def test_latest_walk_is_the_furthest_day_walked_to(backend_db: Database) -> None:
    """None without states (or with none walked), else the maximum walked_to."""
    with backend_db.transaction() as rows:
        assert rows.facts.latest_walk() is None
        for p in ("p1", "p2", "p3"):
            mapping(rows, p)
        rows.facts.put_states([_state("p1", b"s", live=True, walked_to=None)])
        assert rows.facts.latest_walk() is None
        rows.facts.put_states(
            [
                _state("p2", b"s", live=True, walked_to=date(2026, 11, 30)),
                _state("p3", b"s", live=False, walked_to=date(2026, 6, 30)),
            ]
        )
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.latest_walk() == date(2026, 11, 30)


# -- archive -----------------------------------------------------------------------------


def test_archives_come_back_by_seq_with_their_heads(backend_db: Database) -> None:
    """archive() gives a patient's rows by seq, archive_heads the highest seq of those
    asked that have one, archived_patients each patient once."""
    with backend_db.transaction() as rows:
        for p in ("p1", "p2", "p3"):
            mapping(rows, p)
        rows.facts.add_archives(
            [_archive("p1", 3, b"a3", fmt=2), _archive("p2", 1, b"b1"), _archive("p1", 1, b"a1")]
        )
        rows.facts.add_archives([_archive("p1", 2, b"a2")])
        rows.facts.add_archives([])
    with backend_db.transaction(write=False) as rows:
        facts = rows.facts
        assert [_only(r, ARCHIVE) for r in facts.archive("p1")] == [
            _only(_archive("p1", 1, b"a1"), ARCHIVE),
            _only(_archive("p1", 2, b"a2"), ARCHIVE),
            _only(_archive("p1", 3, b"a3", fmt=2), ARCHIVE),
        ]
        assert facts.archive("p3") == []
        assert facts.archive_heads(["p1", "p2", "p3"]) == {"p1": 3, "p2": 1}
        assert facts.archive_heads(["p2"]) == {"p2": 1}
        assert sorted(facts.archived_patients()) == ["p1", "p2"]


def test_archive_heads_are_found_for_many_patients(backend_db: Database) -> None:
    """More patients than one IN list holds (SQL chunks them) are all found."""
    ids = [f"p{n:04}" for n in range(1200)]
    with backend_db.transaction() as rows:
        dek = data_key(rows, "dek-shared")
        for p in ids:
            mapping(rows, p, dek)
        rows.facts.add_archives([_archive(p, 1, b"a") for p in ids])
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.archive_heads(ids) == dict.fromkeys(ids, 1)


def test_dropping_an_archive_keeps_the_other_patients(backend_db: Database) -> None:
    """drop_archive deletes one patient's rows; its seq can be used again."""
    with backend_db.transaction() as rows:
        mapping(rows, "p1")
        mapping(rows, "p2")
        rows.facts.add_archives([_archive("p1", 1, b"a1"), _archive("p2", 1, b"b1")])
    with backend_db.transaction() as rows:
        rows.facts.drop_archive("p1")
        rows.facts.add_archives([_archive("p1", 1, b"all")])
    with backend_db.transaction(write=False) as rows:
        assert [r["ct"] for r in rows.facts.archive("p1")] == [b"all"]
        assert [r["ct"] for r in rows.facts.archive("p2")] == [b"b1"]


def test_a_batch_number_is_kept_once(backend_db: Database) -> None:
    """A (mapping id, seq) kept already is refused as a race, and the transaction that
    tried leaves nothing, not even its other rows."""
    with backend_db.transaction() as rows:
        mapping(rows, "p1")
        mapping(rows, "p2")
        rows.facts.add_archives([_archive("p1", 1, b"first")])
    races = (ConcurrentUpdateError, *backend_db.races)
    with pytest.raises(races), backend_db.transaction() as rows:
        rows.facts.add_archives([_archive("p2", 1, b"b1")])
        rows.facts.add_archives([_archive("p1", 1, b"second")])
    with backend_db.transaction(write=False) as rows:
        assert [r["ct"] for r in rows.facts.archive("p1")] == [b"first"]
        assert rows.facts.archive("p2") == []


def test_one_batch_number_twice_in_one_call_is_refused(backend_db: Database) -> None:
    """Two rows of one (mapping id, seq) in one call are refused as a race; none is kept."""
    with backend_db.transaction() as rows:
        mapping(rows, "p1")
    races = (ConcurrentUpdateError, *backend_db.races)
    with pytest.raises(races), backend_db.transaction() as rows:
        rows.facts.add_archives([_archive("p1", 1, b"a"), _archive("p1", 1, b"b")])
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.archive("p1") == []


def test_an_archive_needs_its_patient(backend_db: Database) -> None:
    """An archive row of no mapping row is refused (foreign key)."""
    with pytest.raises(_refused_foreign_key(backend_db)), backend_db.transaction() as rows:
        rows.facts.add_archives([_archive("nobody", 1, b"a")])
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.archived_patients() == []


# -- resources read ----------------------------------------------------------------------


def test_remembered_digests_are_seen_by_index_and_version(backend_db: Database) -> None:
    """remember inserts (owner, digest) per index and version, or replaces them; seen
    finds only the indexes kept under the version asked."""
    with backend_db.transaction() as rows:
        rows.facts.remember([(IDX[0], "p1", DIGEST[0]), (IDX[1], None, DIGEST[1])], 1, new=True)
        rows.facts.remember([(IDX[0], "p2", DIGEST[2]), (IDX[2], "p3", DIGEST[3])], 1, new=False)
        rows.facts.remember([(IDX[0], "p9", DIGEST[3])], 2, new=True)
        rows.facts.remember([], 1, new=True)
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.seen(IDX, 1) == {
            IDX[0]: ("p2", DIGEST[2]),
            IDX[1]: (None, DIGEST[1]),
            IDX[2]: ("p3", DIGEST[3]),
        }
        assert rows.facts.seen(IDX, 2) == {IDX[0]: ("p9", DIGEST[3])}
        assert rows.facts.seen(IDX, 3) == {}
        assert rows.facts.seen([], 1) == {}


def test_the_marks_of_shredded_treatments_are_counted_by_index_version(
    backend_db: Database,
) -> None:
    """count_marks_under counts the rows under one version whose owner is shredded: not
    a live patient's, not a practice-wide one, not one of an owner without a row (D-150)."""
    with backend_db.transaction() as rows:
        mapping(rows, "gone", status="shredded")
        mapping(rows, "live")
        rows.facts.remember([(IDX[0], "gone", DIGEST[0]), (IDX[1], "gone", DIGEST[1])], 1, new=True)
        rows.facts.remember([(IDX[2], "live", DIGEST[2]), (IDX[3], None, DIGEST[3])], 1, new=True)
        rows.facts.remember(
            [(IDX[0], "gone", DIGEST[0]), (IDX[1], "nobody", DIGEST[1])], 2, new=True
        )
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.count_marks_under(1) == 2
        assert rows.facts.count_marks_under(2) == 1
        assert rows.facts.count_marks_under(3) == 0


def test_many_digests_are_kept_and_found(backend_db: Database) -> None:
    """More indexes than one IN list holds (SQLite chunks them) are all kept and found."""
    indexes = [n.to_bytes(32, "big") for n in range(1200)]
    with backend_db.transaction() as rows:
        rows.facts.remember([(i, None, i) for i in indexes], 1, new=True)
    with backend_db.transaction(write=False) as rows:
        found = rows.facts.seen(indexes, 1)
    assert found == {i: (None, i) for i in indexes}


def test_forget_drops_only_the_version_named(backend_db: Database) -> None:
    """forget deletes (version, index) rows; the same index under another version stays."""
    with backend_db.transaction() as rows:
        rows.facts.remember([(IDX[0], None, DIGEST[0]), (IDX[1], None, DIGEST[1])], 1, new=True)
        rows.facts.remember([(IDX[0], None, DIGEST[2])], 2, new=True)
    with backend_db.transaction() as rows:
        rows.facts.forget([(1, IDX[0]), (1, IDX[3])])
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.seen(IDX, 1) == {IDX[1]: (None, DIGEST[1])}
        assert rows.facts.seen(IDX, 2) == {IDX[0]: (None, DIGEST[2])}


def test_a_new_digest_of_an_index_kept_already_is_refused(backend_db: Database) -> None:
    """remember(new=True) is a plain insert: an index kept under that version is refused
    as a race, and the transaction leaves nothing."""
    with backend_db.transaction() as rows:
        rows.facts.remember([(IDX[0], None, DIGEST[0])], 1, new=True)
    races = (ConcurrentUpdateError, *backend_db.races)
    with pytest.raises(races), backend_db.transaction() as rows:
        rows.facts.remember([(IDX[1], None, DIGEST[1]), (IDX[0], "p1", DIGEST[2])], 1, new=True)
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.seen(IDX, 1) == {IDX[0]: (None, DIGEST[0])}


def test_one_new_index_twice_in_one_call_is_refused(backend_db: Database) -> None:
    """remember(new=True) naming one index twice is refused as a race; none is kept."""
    races = (ConcurrentUpdateError, *backend_db.races)
    with pytest.raises(races), backend_db.transaction() as rows:
        rows.facts.remember([(IDX[0], None, DIGEST[0]), (IDX[0], None, DIGEST[1])], 1, new=True)
    with backend_db.transaction(write=False) as rows:
        assert rows.facts.seen(IDX, 1) == {}
