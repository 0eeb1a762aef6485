"""An incremental sync sends as many SQL statements for six patients as for two: what it
reads and writes of the patients it walks goes in one statement per table (D-139)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from adapter.store.workspace import Store
from tests.storage import Database, make_store
from tests.sync import fhir
from tests.sync.helpers import run_sync

START = date(2025, 3, 3)


@contextmanager
def _counted(store: Store) -> Iterator[list[str]]:
    """The statements sent to the database meanwhile (executemany counts once)."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(args[2])

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def _days(patients: list[str], first: int, last: int) -> list[dict[str, Any]]:
    since, until = START + timedelta(first), START + timedelta(last)
    return [r for p in patients for r in fhir.daily(p, since, until)]


def test_an_incremental_sync_sends_the_same_statements_however_many_patients_it_walks(
    database: Database, tmp_path: Path
) -> None:
    store, _ = make_store(database.url)
    first, later = ["p1", "p2"], ["p3", "p4", "p5", "p6"]
    people = [fhir.patient(p, given=f"Name{p}") for p in [*first, *later]]

    def sync(name: str, resources: list[dict[str, Any]], day: int) -> tuple[int, int, int]:
        path = fhir.write_bundle(tmp_path / f"{name}.json", resources)
        with _counted(store) as sent:
            result = run_sync(store, [path], START + timedelta(day))
        return len(sent), result.walked, result.rebuilt

    sync("base", [fhir.doctor(), *people[:2], *_days(first, 0, 9)], 9)
    two = sync("two", _days(first, 10, 11), 11)
    sync("more", [*people[2:], *_days(later, 0, 11)], 11)
    six = sync("six", _days([*first, *later], 12, 13), 13)

    assert (two[1:], six[1:]) == ((2, 0), (6, 0))  # each resumed, none derived afresh
    assert six[0] == two[0]
