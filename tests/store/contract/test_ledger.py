"""The ledger rows' contract (`LedgerRows`) on every backend."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.errors import ConcurrentUpdateError
from adapter.store.schema import report
from adapter.store.workspace import Database
from tests.storage import NOW
from tests.store.contract.ledger_rows import data_key, entry, mapping, report_row

CHAIN = "ledger.row"


def _ready(database: Database, *mapping_ids: str) -> None:
    with database.transaction() as rows:
        data_key(rows)
        for mapping_id in mapping_ids:
            mapping(rows, mapping_id)


def _insert(database: Database, *rows_to_add: dict[str, object]) -> set[str]:
    with database.transaction() as rows:
        return rows.ledger.insert_new(list(rows_to_add))


def test_new_rows_are_inserted_and_a_taken_slot_or_id_is_skipped(backend_db: Database) -> None:
    """A row whose slot or ledger id is taken (before, or earlier in the batch) is left out."""
    _ready(backend_db)
    assert _insert(backend_db, report_row("r1", slot="A"), report_row("r2", slot="B")) == {
        "r1",
        "r2",
    }
    again = _insert(
        backend_db,
        report_row("r3", slot="A"),  # slot of r1
        report_row("r1", slot="D"),  # id of r1
        report_row("r4", slot="C"),
        report_row("r5", slot="E"),
        report_row("r6", slot="E"),  # slot of r5, in the same batch
    )
    assert again == {"r4", "r5"}
    assert _insert(backend_db) == set()
    with backend_db.transaction(write=False) as rows:
        assert sorted(rows.ledger.ids()) == ["r1", "r2", "r4", "r5"]
        assert rows.ledger.row("r1")["slot_key"] == "A"  # type: ignore[index]


def test_a_row_comes_back_whole_with_the_columns_not_given_empty(backend_db: Database) -> None:
    """Every column of the schema, as written; the note's columns NULL."""
    _ready(backend_db, "m1")
    written = report_row("r1", mapping_id="m1")
    _insert(backend_db, written)
    with backend_db.transaction(write=False) as rows:
        got = rows.ledger.row("r1")
        assert rows.ledger.row("nope") is None
    assert got is not None
    assert set(got) == {column.name for column in report.c}
    assert got["note_nonce"] is None and got["note_ct"] is None
    times = ("created_at", "updated_at")  # SQLite keeps the wall-clock time only
    assert {k: v for k, v in got.items() if k in written and k not in times} == {
        k: v for k, v in written.items() if k not in times
    }
    assert got["created_at"].replace(tzinfo=None) == NOW.replace(tzinfo=None)


def test_rows_come_in_ledger_order_and_are_filtered(backend_db: Database) -> None:
    """Ordered by made on, date, kind; filtered by state, patients (with or without the
    notices), and the days made on."""
    _ready(backend_db, "m1", "m2")
    nov2, nov3, nov4 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)
    _insert(
        backend_db,
        report_row("late", mapping_id="m1", made_on=nov4, state="approved"),
        report_row("notice", made_on=nov3, kind="mitteilung", day=nov2),
        report_row("end", mapping_id="m2", made_on=nov3, kind="abmeldung", day=nov3),
        report_row("start", mapping_id="m1", made_on=nov3, kind="anmeldung", day=nov3),
        report_row("early", mapping_id="m2", made_on=nov2),
    )
    with backend_db.transaction(write=False) as rows:
        ledger = rows.ledger

        def ids(**filters: object) -> list[str]:
            return [row["ledger_id"] for row in ledger.rows(**filters)]

        assert ids() == ["early", "notice", "end", "start", "late"]
        assert ids(state="approved") == ["late"]
        assert ids(mapping_ids=["m1"]) == ["start", "late"]
        assert ids(mapping_ids=["m1"], notices=True) == ["notice", "start", "late"]
        assert ids(mapping_ids=[]) == []
        assert ids(mapping_ids=[], notices=True) == ["notice"]
        assert ids(since=nov3, until=nov3) == ["notice", "end", "start"]
        assert ids(since=nov3, mapping_ids=["m2"]) == ["end"]
        assert ids(until=nov2) == ["early"]


def test_a_guarded_update_changes_the_row_only_while_state_and_seal_match(
    backend_db: Database,
) -> None:
    """Another state, another seal or no such row: nothing changes and False says so."""
    _ready(backend_db)
    _insert(backend_db, report_row("r1", row_mac=b"a" * 32))
    values = {"state": "approved", "row_mac": b"b" * 32, "updated_at": NOW}
    with backend_db.transaction() as rows:
        ledger = rows.ledger
        assert not ledger.update_guarded("r1", "approved", b"a" * 32, values)
        assert not ledger.update_guarded("r1", "pending", b"x" * 32, values)
        assert not ledger.update_guarded("r9", "pending", b"a" * 32, values)
        assert ledger.row("r1")["state"] == "pending"  # type: ignore[index]
        assert ledger.update_guarded("r1", "pending", b"a" * 32, values)
        assert not ledger.update_guarded("r1", "pending", b"a" * 32, values)  # moved on
    with backend_db.transaction(write=False) as rows:
        got = rows.ledger.row("r1")
    assert got is not None
    assert (got["state"], got["row_mac"]) == ("approved", b"b" * 32)


def test_an_update_to_a_taken_slot_is_refused(backend_db: Database) -> None:
    """Two rows never share a slot: the update is refused and its transaction leaves nothing."""
    _ready(backend_db)
    _insert(backend_db, report_row("r1", slot="A"), report_row("r2", slot="B"))
    refused = (ConcurrentUpdateError, *backend_db.races)
    with pytest.raises(refused), backend_db.transaction() as rows:
        rows.ledger.update_guarded("r1", "pending", b"m" * 32, {"state": "rejected"})
        rows.ledger.update_guarded("r2", "pending", b"m" * 32, {"slot_key": "A"})
    with backend_db.transaction(write=False) as rows:
        assert [(r["slot_key"], r["state"]) for r in rows.ledger.rows()] == [
            ("A", "pending"),
            ("B", "pending"),
        ]


def test_unsealed_rows_are_found_and_sealed(backend_db: Database) -> None:
    """Rows without a seal (written before 0004) are listed until they carry one."""
    _ready(backend_db)
    _insert(backend_db, report_row("old", row_mac=None), report_row("new"))
    with backend_db.transaction() as rows:
        assert [row["ledger_id"] for row in rows.ledger.unsealed()] == ["old"]
        rows.ledger.set_seal("old", b"s" * 32, "audit-v2-cc")
        assert rows.ledger.unsealed() == []
    with backend_db.transaction(write=False) as rows:
        got = rows.ledger.row("old")
    assert got is not None
    assert (got["row_mac"], got["mac_key"]) == (b"s" * 32, "audit-v2-cc")


def test_the_last_chain_entry_of_each_row_is_given(backend_db: Database) -> None:
    """Only entries of the action, the last one per ledger id, keyed in the log's order."""
    _ready(backend_db)
    with backend_db.transaction() as rows:
        entry(rows, 1, CHAIN, "r2", state="pending", mapping_id="m1")
        entry(rows, 2, CHAIN, "r1", state="pending")
        entry(rows, 3, "reports.move", "r2", state="rejected")
        entry(rows, 4, CHAIN, "r2", state="approved", mapping_id="m1")
        entry(rows, 5, "sync", None, patients=1)
    with backend_db.transaction(write=False) as rows:
        chained = rows.ledger.chained(CHAIN)
        one = rows.ledger.chained(CHAIN, "r1")
        none = rows.ledger.chained("ledger.other")
    assert list(chained) == ["r2", "r1"]
    assert chained["r2"] == {"mapping_id": "m1", "details": '{"state":"approved"}'}
    assert chained["r1"] == {"mapping_id": None, "details": '{"state":"pending"}'}
    assert one == {"r1": chained["r1"]}
    assert none == {}


def test_the_chain_of_some_patients_and_the_notices_is_given_alone(
    backend_db: Database,
) -> None:
    """With mapping ids, only the last entries naming them (and, with notices, those naming
    no patient); an entry of the patient under another action is left out (D-199)."""
    _ready(backend_db)
    with backend_db.transaction() as rows:
        entry(rows, 1, CHAIN, "r1", state="pending", mapping_id="m1")
        entry(rows, 2, CHAIN, "r2", state="pending", mapping_id="m2")
        entry(rows, 3, CHAIN, "n1", state="pending")
        entry(rows, 4, "reports.move", "r3", state="sent", mapping_id="m1")
        entry(rows, 5, CHAIN, "r1", state="approved", mapping_id="m1")
        entry(rows, 6, CHAIN, "r4", state="pending", mapping_id="m3")
    with backend_db.transaction(write=False) as rows:
        whole = rows.ledger.chained(CHAIN)
        some = rows.ledger.chained(CHAIN, mapping_ids=["m1", "m3"])
        with_notices = rows.ledger.chained(CHAIN, mapping_ids=["m2"], notices=True)
        notices_only = rows.ledger.chained(CHAIN, mapping_ids=[], notices=True)
        nobody = rows.ledger.chained(CHAIN, mapping_ids=[])
        one = rows.ledger.chained(CHAIN, "r1", mapping_ids=["m2"])
    assert list(some) == ["r1", "r4"]
    assert some["r1"] == {"mapping_id": "m1", "details": '{"state":"approved"}'}
    assert some == {k: whole[k] for k in ("r1", "r4")}
    assert list(with_notices) == ["r2", "n1"]
    assert with_notices == {k: whole[k] for k in ("r2", "n1")}
    assert notices_only == {"n1": whole["n1"]}
    assert (nobody, one) == ({}, {})


def test_a_row_must_refer_to_a_data_key_and_a_mapping(backend_db: Database) -> None:
    """The foreign keys: an unknown data key or patient is refused, nothing is written."""
    _ready(backend_db, "m1")
    unknown_key = report_row("r1") | {"dek_id": "dek-9"}
    for bad in (unknown_key, report_row("r2", mapping_id="m9")):
        with pytest.raises((KeyError, *backend_db.races)):
            _insert(backend_db, report_row("ok"), bad)
    with backend_db.transaction(write=False) as rows:
        assert rows.ledger.ids() == []


def test_a_failed_transaction_leaves_no_row(backend_db: Database) -> None:
    """Rows inserted and sealed in a transaction that fails are gone."""
    _ready(backend_db)
    _insert(backend_db, report_row("old", row_mac=None))
    with pytest.raises(RuntimeError), backend_db.transaction() as rows:
        rows.ledger.insert_new([report_row("r1")])
        rows.ledger.set_seal("old", b"s" * 32, "audit-v1-bb")
        raise RuntimeError("the work failed")
    with backend_db.transaction(write=False) as rows:
        assert rows.ledger.ids() == ["old"]
        assert rows.ledger.row("old")["row_mac"] is None  # type: ignore[index]


def test_ties_come_in_ledger_id_order_on_every_backend(backend_db: Database) -> None:
    """Equal made on, date and kind: the ledger id decides, also after a row changed
    (PostgreSQL would otherwise give an updated row last)."""
    _ready(backend_db)
    same = {"made_on": date(2026, 11, 3), "day": date(2026, 11, 3)}
    _insert(backend_db, *(report_row(f"r{i}", slot=f"S{i}", **same) for i in (3, 0, 4, 1, 2)))
    with backend_db.transaction() as rows:
        rows.ledger.update_guarded("r0", "pending", None, {"state": "approved"})
    with backend_db.transaction(write=False) as rows:
        assert [r["ledger_id"] for r in rows.ledger.rows()] == ["r0", "r1", "r2", "r3", "r4"]


def test_a_row_without_a_required_column_is_refused(backend_db: Database) -> None:
    _ready(backend_db)
    incomplete = report_row("r1")
    del incomplete["payload_digest"]
    with pytest.raises(Exception), backend_db.transaction() as rows:  # noqa: B017
        rows.ledger.insert_new([incomplete])
    with backend_db.transaction(write=False) as rows:
        assert rows.ledger.ids() == []
