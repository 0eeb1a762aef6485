"""The run rows' contract (`RunRows`), and the run journal on it, on every backend."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from adapter.errors import ConcurrentUpdateError
from adapter.store.rows import Row
from adapter.store.runs import KEPT_RUNS, Change, RunJournal
from adapter.store.workspace import Database
from tests.storage import NOW
from tests.store.contract.seeding import data_key, ledger_row, patient, state, utc

LATER = NOW + timedelta(hours=1)
DAY = date(2026, 11, 30)


def _run(seq: int, run_id: str | None = None, **values: Any) -> Row:
    return {
        "run_id": run_id or f"run-{seq}",
        "seq": seq,
        "as_of": DAY,
        "made_at": NOW,
        "actor": "tester",
        "recorded": seq,
        "state": "done",
        **values,
    }


def _change(run_id: str, item: int, kind: str = "recorded", before: str | None = None) -> Row:
    return {"run_id": run_id, "item": item, "kind": kind, "row_id": f"r{item}", "before": before}


def _races(database: Database) -> tuple[type[Exception], ...]:
    return (ConcurrentUpdateError, *database.races)


def _patients(rows: Any) -> None:
    """Two patients (one walked, one not), and a report of the first."""
    data_key(rows)
    patient(rows, "m1", codes_nonce=b"n1", codes_ct=b"c1", first_use=date(2026, 1, 2))
    patient(rows, "m2", status="shredded")
    state(rows, "m1", walked_to=date(2026, 11, 1), live=True)
    state(rows, "m2", walked_to=None)
    ledger_row(rows, "l1", "m1", note_nonce=b"nn", note_ct=b"nc")


def test_no_runs_before_the_first(backend_db: Database) -> None:
    """A new database: seq 0, no runs, no changes."""
    with backend_db.transaction(write=False) as rows:
        assert rows.runs.newest_seq() == 0
        assert rows.runs.runs(20) == []
        assert rows.runs.with_changes() == set()
        assert rows.runs.changes("run-1") == []


def test_runs_come_back_newest_first_up_to_the_limit(backend_db: Database) -> None:
    """Every column as written, newest first, at most `limit`."""
    with backend_db.transaction() as rows:
        rows.runs.add_run(_run(2))
        rows.runs.add_run(_run(1, made_at=LATER))
        rows.runs.add_run(_run(3))
    with backend_db.transaction(write=False) as rows:
        assert rows.runs.newest_seq() == 3
        assert [r["seq"] for r in rows.runs.runs(2)] == [3, 2]
        got = rows.runs.runs(20)
    assert [r["run_id"] for r in got] == ["run-3", "run-2", "run-1"]
    assert {**got[2], "made_at": utc(got[2]["made_at"])} == {
        **_run(1, made_at=LATER),
        "undone_at": None,
    }


def test_a_seq_or_run_id_is_taken_once(backend_db: Database) -> None:
    """A second run at a seq (a parallel sync was first), or under an id, is refused."""
    with backend_db.transaction() as rows:
        rows.runs.add_run(_run(1))
    for taken in (_run(1, "other"), _run(2, "run-1")):
        with pytest.raises(_races(backend_db)), backend_db.transaction() as rows:
            rows.runs.add_run(taken)
    with backend_db.transaction(write=False) as rows:
        assert [(r["run_id"], r["seq"]) for r in rows.runs.runs(20)] == [("run-1", 1)]


def test_changes_come_back_by_item(backend_db: Database) -> None:
    """A run's changes in the order they were noted; runs with changes are known."""
    with backend_db.transaction() as rows:
        rows.runs.add_run(_run(1))
        rows.runs.add_run(_run(2))
        rows.runs.add_changes(
            [_change("run-1", 2, "report", '{"state":"pending"}'), _change("run-1", 1)]
        )
        rows.runs.add_changes([])
    with backend_db.transaction(write=False) as rows:
        assert rows.runs.changes("run-1") == [
            _change("run-1", 1),
            _change("run-1", 2, "report", '{"state":"pending"}'),
        ]
        assert rows.runs.changes("run-2") == []
        assert rows.runs.with_changes() == {"run-1"}


def test_a_change_is_kept_once_and_of_a_run_written(backend_db: Database) -> None:
    """(run, item) is a key; a change of a run never written is refused (foreign key)."""
    with backend_db.transaction() as rows:
        rows.runs.add_run(_run(1))
        rows.runs.add_changes([_change("run-1", 1)])
    with pytest.raises(_races(backend_db)), backend_db.transaction() as rows:
        rows.runs.add_changes([_change("run-1", 2), _change("run-1", 1, "state")])
    with pytest.raises(Exception), backend_db.transaction() as rows:  # noqa: B017
        rows.runs.add_changes([_change("nope", 1)])
    with backend_db.transaction(write=False) as rows:
        assert rows.runs.changes("run-1") == [_change("run-1", 1)]


def test_old_runs_lose_their_changes_not_their_rows(backend_db: Database) -> None:
    """Dropping through a seq drops the changes of that run and older ones only."""
    with backend_db.transaction() as rows:
        for seq in (1, 2, 3):
            rows.runs.add_run(_run(seq))
            rows.runs.add_changes([_change(f"run-{seq}", 1)])
        rows.runs.drop_changes_through(2)
    with backend_db.transaction(write=False) as rows:
        assert rows.runs.with_changes() == {"run-3"}
        assert rows.runs.changes("run-1") == []
        assert len(rows.runs.runs(20)) == 3


def test_a_run_is_marked_undone(backend_db: Database) -> None:
    """State and time of the undo; other runs stay done."""
    with backend_db.transaction() as rows:
        rows.runs.add_run(_run(1))
        rows.runs.add_run(_run(2))
        rows.runs.mark_undone("run-2", LATER)
    with backend_db.transaction(write=False) as rows:
        got = {r["run_id"]: (r["state"], utc(r["undone_at"])) for r in rows.runs.runs(20)}
    assert got == {"run-2": ("undone", LATER), "run-1": ("done", None)}


def test_columns_of_reports_mappings_and_states(backend_db: Database) -> None:
    """The columns asked for, by id; ids without a row left out (over one IN list)."""
    with backend_db.transaction() as rows:
        _patients(rows)
    many = [f"x{i}" for i in range(700)] + ["m2", "m1"]
    with backend_db.transaction(write=False) as rows:
        runs = rows.runs
        assert runs.columns("report", ["l1", "l9"], ("state", "superseded", "note_ct")) == {
            "l1": {"state": "pending", "superseded": False, "note_ct": b"nc"}
        }
        assert runs.columns("mapping", many, ("status", "codes_ct", "first_use")) == {
            "m1": {"status": "active", "codes_ct": b"c1", "first_use": date(2026, 1, 2)},
            "m2": {"status": "shredded", "codes_ct": None, "first_use": None},
        }
        assert runs.columns("state", ["m1"], ("walked_to", "live")) == {
            "m1": {"walked_to": date(2026, 11, 1), "live": True}
        }
        assert runs.columns("state", [], ("live",)) == {}


def test_mappings_and_states_are_put_back(backend_db: Database) -> None:
    """The columns given are set with the time; a mapping's row version goes up; a row
    that is gone is no error, and a report is not put back here."""
    with backend_db.transaction() as rows:
        _patients(rows)
        rows.runs.restore(
            "mapping", "m1", {"status": "closed", "codes_ct": None, "closed_on": DAY}, LATER
        )
        rows.runs.restore("state", "m1", {"format": 0, "live": False, "walked_to": None}, LATER)
        rows.runs.restore("mapping", "gone", {"status": "closed"}, LATER)
        with pytest.raises(KeyError):
            rows.runs.restore("report", "l1", {"state": "sent"}, LATER)
    columns = ("status", "codes_ct", "codes_nonce", "closed_on", "row_version", "updated_at")
    with backend_db.transaction(write=False) as rows:
        mapping = rows.runs.columns("mapping", ["m1", "m2"], columns)
        walk = rows.runs.columns("state", ["m1"], ("format", "live", "walked_to", "updated_at"))
        report = rows.runs.columns("report", ["l1"], ("state",))
    assert {**mapping["m1"], "updated_at": utc(mapping["m1"]["updated_at"])} == {
        "status": "closed",
        "codes_ct": None,
        "codes_nonce": b"n1",
        "closed_on": DAY,
        "row_version": 2,
        "updated_at": LATER,
    }
    assert mapping["m2"]["row_version"] == 1
    assert {**walk["m1"], "updated_at": utc(walk["m1"]["updated_at"])} == {
        "format": 0,
        "live": False,
        "walked_to": None,
        "updated_at": LATER,
    }
    assert report == {"l1": {"state": "pending"}}


def test_the_latest_walk_of_the_other_patients(backend_db: Database) -> None:
    """The furthest `walked_to` of the states not left out; none without one."""
    with backend_db.transaction() as rows:
        assert rows.runs.latest_walk_except([]) is None
        _patients(rows)
        patient(rows, "m3")
        state(rows, "m3", walked_to=date(2026, 10, 1))
        assert rows.runs.latest_walk_except([]) == date(2026, 11, 1)
        assert rows.runs.latest_walk_except(["m1"]) == date(2026, 10, 1)
        assert rows.runs.latest_walk_except(["m1", "m3"]) is None  # m2 never walked


def test_a_failed_or_read_only_transaction_leaves_no_run(backend_db: Database) -> None:
    """Rolled back: runs, changes and restored columns are as before."""
    with backend_db.transaction() as rows:
        _patients(rows)
    with pytest.raises(RuntimeError), backend_db.transaction() as rows:
        rows.runs.add_run(_run(1))
        rows.runs.add_changes([_change("run-1", 1)])
        rows.runs.restore("mapping", "m1", {"status": "closed"}, LATER)
        raise RuntimeError("the work failed")
    with backend_db.transaction(write=False) as rows:
        rows.runs.add_run(_run(1))
    with backend_db.transaction(write=False) as rows:
        assert rows.runs.runs(20) == []
        assert rows.runs.with_changes() == set()
        assert rows.runs.columns("mapping", ["m1"], ("status", "row_version")) == {
            "m1": {"status": "active", "row_version": 1}
        }


# -- the run journal over the rows ----------------------------------------------------------


def test_the_journal_keeps_what_a_run_changes_on_every_backend(backend_db: Database) -> None:
    """A run notes rows as they were (first state counts, ciphertexts as hex), writes them
    at its end, and an undo reads them back and puts a mapping back."""
    with backend_db.transaction() as rows:
        _patients(rows)
        journal = RunJournal(rows.runs, NOW)
        journal.recorded(["l7"])
        journal.reports_before(["l1", "l9"], "supersede")
        journal.mappings_before(["m1"])
        journal.states_before(["m1", "m4"])
        rows.runs.restore("mapping", "m1", {"status": "closed"}, NOW)
        journal.mappings_before(["m1"])  # changed since: the first state counts
        run_id = journal.finish(DAY, "tester", 1)
    with backend_db.transaction() as rows:
        journal = RunJournal(rows.runs, LATER)
        (run,) = journal.runs()
        assert (run.run_id, run.seq, run.as_of, run.recorded, run.undoable) == (
            run_id,
            1,
            DAY,
            1,
            True,
        )
        got = journal.changes(run_id)
        assert journal.shredded(["m1", "m2", "m9"]) == ["m2"]
        journal.restore("mapping", "m1", {"status": (got[2].before or {})["status"]})
        journal.mark_undone(run_id)
    assert got == [
        Change("recorded", "l7", None),
        Change(
            "report",
            "l1",
            {
                "by": "supersede",
                "note_ct": b"nc".hex(),
                "note_nonce": b"nn".hex(),
                "slot_key": "slot|l1",  # a withdrawal gives it up: undo puts it back (D-80)
                "state": "pending",
                "superseded": False,
            },
        ),
        Change(
            "mapping",
            "m1",
            {
                "closed_on": None,
                "codes_ct": b"c1".hex(),
                "codes_nonce": b"n1".hex(),
                "first_use": "2026-01-02",
                "last_use": None,
                "status": "active",
            },
        ),
        Change("state", "m1", {"live": True, "walked_to": "2026-11-01"}),
        Change("state", "m4", {"missing": True}),
    ]
    with backend_db.transaction(write=False) as rows:
        journal = RunJournal(rows.runs, LATER)
        assert [(r.state, r.undoable) for r in journal.runs()] == [("undone", False)]
        assert rows.runs.columns("mapping", ["m1"], ("status", "row_version")) == {
            "m1": {"status": "active", "row_version": 3}
        }
        assert journal.latest_walk_except(["m1"]) is None


def test_only_the_newest_runs_keep_their_changes(backend_db: Database) -> None:
    """Past KEPT_RUNS runs, the oldest run's changes are dropped and it cannot be undone."""
    with backend_db.transaction() as rows:
        for _ in range(KEPT_RUNS + 1):
            journal = RunJournal(rows.runs, NOW)
            journal.recorded(["l1"])
            journal.finish(DAY, "tester", 1)
    with backend_db.transaction(write=False) as rows:
        runs = RunJournal(rows.runs, NOW).runs(limit=100)
    assert [r.seq for r in runs] == list(range(KEPT_RUNS + 1, 0, -1))
    assert [r.undoable for r in runs] == [True] * KEPT_RUNS + [False]
