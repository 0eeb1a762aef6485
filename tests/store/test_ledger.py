"""The report ledger: each slot once, sealed payloads, state moves, the reconciler's view.

On the in-memory twin; on SQLite and PostgreSQL as well where the SQL is what is tested:
the UNIQUE slot under two parallel writers, and the sealed BLOB columns as stored (D-119).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from adapter.domain.ledger import STATES, TRANSITIONS
from adapter.domain.payload import report_bytes
from adapter.domain.reconcile import PRACTICE, Planned, Reported
from adapter.errors import LedgerError
from adapter.store.ledger import Entry
from adapter.store.mappings import MappingRow
from adapter.store.schema import report
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, EVERY_KIND, SQL_KINDS, Database, open_store
from tests.store.helpers import (
    CODE,
    OTHER_CODE,
    holds,
    new_patient,
    notice,
    planned,
    race,
    raw_rows,
)

NOV, DEC = date(2026, 11, 3), date(2026, 12, 1)


def _record(store: Store, items: list[tuple[Planned, str]]) -> list[str | None]:
    return store.run(ACTOR, lambda space: space.ledger.record_many(items))


def _pending(store: Store, row: MappingRow, code: str = CODE) -> str:
    (ledger_id,) = _record(store, [(planned(row.mapping_id, code), row.dek_id)])
    assert ledger_id is not None
    return ledger_id


def _move(store: Store, ledger_id: str, state: str, note: str | None = None) -> Entry:
    return store.run(ACTOR, lambda space: space.ledger.move(ledger_id, state, note=note))


def _path_to(state: str) -> list[str]:
    """The moves from pending to `state` along TRANSITIONS (a shortest path)."""
    paths: dict[str, list[str]] = {"pending": []}
    frontier = ["pending"]
    while frontier:
        current = frontier.pop(0)
        for following in TRANSITIONS[current]:  # type: ignore[index]
            if following not in paths:
                paths[following] = [*paths[current], following]
                frontier.append(following)
    return paths[state]


ALLOWED = [(current, new) for current in STATES for new in TRANSITIONS[current]]


# -- recording ---------------------------------------------------------------------------


def test_record_many_records_each_slot_once(db: Database) -> None:
    """A slot already recorded, in this call or an earlier transaction, gives None."""
    store, _ = open_store(db)
    row = new_patient(store)
    anmeldung = (planned(row.mapping_id), row.dek_id)
    abmeldung = (planned(row.mapping_id, kind="abmeldung", day=DEC), row.dek_id)

    first = _record(store, [anmeldung, abmeldung, anmeldung])
    again = _record(store, [abmeldung, anmeldung])

    assert first[0] is not None
    assert first[1] is not None
    assert first[2:] == [None]
    assert again == [None, None]
    assert sorted(r["ledger_id"] for r in raw_rows(store, report)) == sorted(first[:2])


def test_a_waived_report_is_recorded_as_rejected(db: Database) -> None:
    """A waived slot is decided at once: rejected, so no later sync makes it again."""
    store, _ = open_store(db)
    row = new_patient(store)
    (ledger_id,) = _record(store, [(planned(row.mapping_id, origin="waived"), row.dek_id)])
    entry = store.run(ACTOR, lambda space: space.ledger.entry(str(ledger_id)))
    assert (entry.state, entry.origin) == ("rejected", "waived")


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_a_slot_recorded_by_two_parallel_transactions_is_kept_once(db: Database) -> None:
    """Two writers record one slot while both transactions are open: the UNIQUE slot keeps one."""
    # PostgreSQL runs them truly in parallel (no writer lock); SQLite admits one writer at
    # a time (BEGIN IMMEDIATE), so there the two only start together.
    parallel = db.backend == "postgresql"
    store, _ = open_store(db, serialize_writers=not parallel)
    row = new_patient(store)

    results = race(
        store,
        lambda space: space.ledger.record(planned(row.mapping_id), row.dek_id),
        open_together=parallel,
    )

    recorded = [ledger_id for ledger_id in results if ledger_id is not None]
    assert len(recorded) == 1
    assert [r["ledger_id"] for r in raw_rows(store, report)] == recorded


# -- the payload -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_the_payload_comes_back_byte_for_byte(db: Database) -> None:
    """ledger.payload gives the recorded report; its bytes are report_bytes of the one given."""
    store, _ = open_store(db)
    row = new_patient(store)
    given = planned(row.mapping_id)
    ledger_id = _pending(store, row)
    payload = store.run(ACTOR, lambda space: space.ledger.payload(space.ledger.entry(ledger_id)))
    assert payload == given.report
    assert report_bytes(payload) == report_bytes(given.report)


NEEDLES = {
    "code": CODE,
    "doctor's name": "Muster",
    "doctor's street": "Hauptstraße",
    "source": "MedicationAdministration/ma-1",
    "EHR patient id": "Patient/p1",
}


@pytest.mark.parametrize(
    ("kind", "needle"),
    [*(pytest.param("memory", n, id=name) for name, n in NEEDLES.items())]
    + [pytest.param(kind, CODE, id=f"code-{kind}") for kind in SQL_KINDS],
)
def test_no_column_of_a_report_holds_its_contents_in_clear(db: Database, needle: str) -> None:
    """The code, names and sources are inside the sealed payload, never in a clear column."""
    store, _ = open_store(db)
    _pending(store, new_patient(store))
    assert not holds(raw_rows(store, report), needle)


# -- state moves -------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "new"), ALLOWED, ids=[f"{c} to {n}" for c, n in ALLOWED])
def test_each_move_of_the_transitions_is_made(db: Database, current: str, new: str) -> None:
    """Every move TRANSITIONS allows is made and leaves the report in the new state."""
    store, _ = open_store(db)
    ledger_id = _pending(store, new_patient(store))
    for step in _path_to(current):
        _move(store, ledger_id, step)
    assert _move(store, ledger_id, new).state == new


@pytest.mark.parametrize("current", STATES)
def test_every_move_outside_the_transitions_is_refused(db: Database, current: str) -> None:
    """Any other move is a LedgerError naming the report's state; the state stays."""
    store, _ = open_store(db)
    ledger_id = _pending(store, new_patient(store))
    for step in _path_to(current):
        _move(store, ledger_id, step)
    for new in (s for s in STATES if s not in TRANSITIONS[current]):
        with pytest.raises(LedgerError, match=f"cannot become {new}: it is {current}"):
            _move(store, ledger_id, new)
    assert store.run(ACTOR, lambda space: space.ledger.entry(ledger_id)).state == current


def test_approving_twice_is_refused(db: Database) -> None:
    """The second approval fails and says the report is approved already."""
    store, _ = open_store(db)
    ledger_id = _pending(store, new_patient(store))
    _move(store, ledger_id, "approved")
    with pytest.raises(LedgerError, match="cannot become approved: it is approved; from there"):
        _move(store, ledger_id, "approved")


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_rejection_note_is_sealed_and_readable(db: Database) -> None:
    """A person's reason is stored sealed (not in clear in the row) and opens via note()."""
    store, _ = open_store(db)
    ledger_id = _pending(store, new_patient(store))
    reason = "Herr Beispiel war am 2. November nicht in der Praxis"
    entry = _move(store, ledger_id, "rejected", note=reason)
    assert entry.state == "rejected"
    assert not holds(raw_rows(store, report), "Beispiel")
    assert store.run(ACTOR, lambda space: space.ledger.note(entry)) == reason


def test_a_report_moved_without_a_note_has_none(db: Database) -> None:
    """note() is None when nobody gave a reason."""
    store, _ = open_store(db)
    entry = _move(store, _pending(store, new_patient(store)), "approved")
    assert store.run(ACTOR, lambda space: space.ledger.note(entry)) is None


def test_an_unknown_ledger_id_is_refused(db: Database) -> None:
    """entry() and move() of an id that is not in the ledger raise LedgerError."""
    store, _ = open_store(db)
    for read in (
        lambda space: space.ledger.entry("no-such-id"),
        lambda space: space.ledger.move("no-such-id", "approved"),
    ):
        with pytest.raises(LedgerError, match="no report no-such-id"):
            store.run(ACTOR, read)


def test_supersede_flags_only_the_reports_named(db: Database) -> None:
    """supersede sets the flag of the given ids and leaves the others."""
    store, _ = open_store(db)
    row = new_patient(store)
    ids = _record(
        store,
        [(planned(row.mapping_id, day=date(2026, 11, d)), row.dek_id) for d in (2, 9)],
    )
    store.run(ACTOR, lambda space: space.ledger.supersede([str(ids[0])]))
    flags = store.run(ACTOR, lambda s: {e.ledger_id: e.superseded for e in s.ledger.entries()})
    assert flags == {ids[0]: True, ids[1]: False}


# -- reading -----------------------------------------------------------------------------


def test_reported_gives_the_reconciler_the_decrypted_codes(db: Database) -> None:
    """Each patient's reports come back as Reported with the code from the payload."""
    store, _ = open_store(db)
    first, second = new_patient(store, "p1"), new_patient(store, "p2")
    one, two = _pending(store, first, CODE), _pending(store, second, OTHER_CODE)

    def view(space: Workspace) -> list[Reported]:
        return space.ledger.reported([first.mapping_id, second.mapping_id])

    reported = sorted(store.run(ACTOR, view), key=lambda r: r.code or "")
    assert [(r.ledger_id, r.subject, r.code, r.state) for r in reported] == [
        (one, first.mapping_id, CODE, "pending"),
        (two, second.mapping_id, OTHER_CODE, "pending"),
    ]
    assert reported[0].slot == planned(first.mapping_id).slot
    assert reported[0].report == planned(first.mapping_id).report


def test_reported_adds_the_practice_notices_when_asked(db: Database) -> None:
    """With notices=True the practice's Mitteilungen come too, as subject PRACTICE."""
    store, _ = open_store(db)
    row = new_patient(store)
    _pending(store, row)
    store.run(ACTOR, lambda space: space.ledger.record(notice(), space.ledger.practice_key()))

    def subjects(notices: bool) -> Callable[[Workspace], list[str]]:
        return lambda s: sorted(
            r.subject for r in s.ledger.reported([row.mapping_id], notices=notices)
        )

    assert store.run(ACTOR, subjects(False)) == [row.mapping_id]
    assert store.run(ACTOR, subjects(True)) == sorted([row.mapping_id, PRACTICE])


def test_reported_of_a_shredded_patient_has_no_code(db: Database) -> None:
    """After crypto-shredding the entry stays (the slot is decided) but its code is gone."""
    store, _ = open_store(db)
    row = new_patient(store)
    ledger_id = _pending(store, row)
    store.run(ACTOR, lambda space: space.mappings.shred(row))
    (entry,) = store.run(ACTOR, lambda space: space.ledger.reported([row.mapping_id]))
    assert (entry.ledger_id, entry.code, entry.report) == (ledger_id, None, None)


def test_entries_filter_by_state_patient_and_period(db: Database) -> None:
    """entries() selects by state, by mapping id and by the day the report was made."""
    store, _ = open_store(db)
    first, second = new_patient(store, "p1"), new_patient(store, "p2")
    made = {
        "nov": (planned(first.mapping_id, made_on=NOV), first.dek_id),
        "dec": (planned(first.mapping_id, kind="abmeldung", made_on=DEC), first.dek_id),
        "other": (planned(second.mapping_id, made_on=DEC), second.dek_id),
    }
    ids = dict(zip(made, _record(store, list(made.values())), strict=True))
    _move(store, str(ids["dec"]), "approved")

    def chosen(**query: object) -> list[str]:
        found = store.run(ACTOR, lambda space: space.ledger.entries(**query))  # type: ignore[arg-type]
        return sorted(
            name for name, ledger_id in ids.items() if ledger_id in {e.ledger_id for e in found}
        )

    assert chosen() == ["dec", "nov", "other"]
    assert chosen(state="approved") == ["dec"]
    assert chosen(state="pending") == ["nov", "other"]
    assert chosen(mapping_ids=[first.mapping_id]) == ["dec", "nov"]
    assert chosen(since=DEC) == ["dec", "other"]
    assert chosen(until=NOV) == ["nov"]
    assert chosen(since=NOV, until=NOV, state="approved") == []
