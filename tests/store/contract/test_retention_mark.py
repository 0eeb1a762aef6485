"""The mark rows' contract (`MarkRows`), and the retention mark on it, on every backend."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from adapter.store.retention_mark import RetentionMark
from adapter.store.workspace import Database
from tests.storage import NOW
from tests.store.contract.patients import mapping

LATER = NOW + timedelta(hours=1)
TODAY = NOW.date()


def test_the_mark_is_put_replaced_and_dropped(backend_db: Database) -> None:
    """cutoff() is None at first, then the cutoff last put (one row); None once dropped."""
    with backend_db.transaction() as rows:
        assert rows.marks.cutoff() is None
        rows.marks.put(date(2015, 3, 1), NOW)
    with backend_db.transaction() as rows:
        assert rows.marks.cutoff() == date(2015, 3, 1)
        rows.marks.put(date(2014, 1, 1), LATER)  # the rows keep what they are told
    with backend_db.transaction() as rows:
        assert rows.marks.cutoff() == date(2014, 1, 1)
        rows.marks.drop()
        rows.marks.drop()  # no mark: nothing to drop
    with backend_db.transaction(write=False) as rows:
        assert rows.marks.cutoff() is None


def test_a_failed_transaction_leaves_the_mark_as_it_was(backend_db: Database) -> None:
    """A mark put in a transaction that fails is not kept."""
    with backend_db.transaction() as rows:
        rows.marks.put(date(2015, 3, 1), NOW)
    with pytest.raises(RuntimeError), backend_db.transaction() as rows:
        rows.marks.put(date(2016, 3, 1), LATER)
        raise RuntimeError("the work failed")
    with backend_db.transaction(write=False) as rows:
        assert rows.marks.cutoff() == date(2015, 3, 1)


def test_the_last_shredded_treatment_is_of_shredded_patients_only(backend_db: Database) -> None:
    """The latest closed_on among shredded mapping rows; closed or active ones, and
    shredded ones without a day, do not count."""
    with backend_db.transaction() as rows:
        assert rows.marks.last_shredded_closed_on() is None
        mapping(rows, "p1", status="shredded", closed_on=date(2014, 5, 1))
        mapping(rows, "p2", status="shredded", closed_on=date(2015, 2, 1))
        mapping(rows, "p3", status="shredded")
        mapping(rows, "p4", status="closed", closed_on=date(2016, 1, 1))
        mapping(rows, "p5", closed_on=date(2017, 1, 1))
    with backend_db.transaction(write=False) as rows:
        assert rows.marks.last_shredded_closed_on() == date(2015, 2, 1)


# -- the retention mark over the rows ------------------------------------------------------


@pytest.mark.parametrize(
    ("last_shredded", "stored", "repaired"),
    [
        (None, TODAY + timedelta(days=400), None),
        (date(2015, 2, 1), TODAY + timedelta(days=400), date(2015, 2, 2)),
        (TODAY + timedelta(days=30), TODAY + timedelta(days=400), TODAY),
    ],
    ids=["nothing-shredded", "day-after-last-shredded", "today-at-the-latest"],
)
def test_a_mark_in_the_future_is_taken_back(
    backend_db: Database, last_shredded: date | None, stored: date, repaired: date | None
) -> None:
    """A mark after today goes back to the day after the last shredded treatment ended,
    today at the latest, or away when nothing was shredded."""
    with backend_db.transaction() as rows:
        if last_shredded is not None:
            mapping(rows, "p1", status="shredded", closed_on=last_shredded)
        rows.marks.put(stored, NOW)
    with backend_db.transaction() as rows:
        assert RetentionMark(rows.marks, LATER).repair(TODAY) == (stored, repaired)
    with backend_db.transaction(write=False) as rows:
        assert rows.marks.cutoff() == repaired


def test_a_mark_up_to_today_is_left_alone(backend_db: Database) -> None:
    """repair does nothing to no mark or to one not after today."""
    with backend_db.transaction() as rows:
        mark = RetentionMark(rows.marks, NOW)
        assert mark.repair(TODAY) is None
        rows.marks.put(TODAY, NOW)
        assert mark.repair(TODAY) is None
        assert mark.cutoff() == TODAY
