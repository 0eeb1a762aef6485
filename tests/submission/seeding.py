"""Approved reports in a store, made as sync would record them and approved as a person
would: the starting point of every submission test."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from adapter.domain.model import Report
from adapter.domain.reconcile import Planned
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR
from tests.store.helpers import make_report, reference

DOCTORS = ("1234567", "7654321")
FIRST_DAY = date(2026, 11, 2)


def report(number: int, btm: str) -> Report:
    """A distinct Anmeldung (its own patient, day and id) of the doctor `btm`."""
    day = FIRST_DAY - timedelta(days=number % 300)
    base = make_report(f"HAMÜF{number % 1000:03}", btm=btm, day=day, made_on=FIRST_DAY)
    return replace(base, id=f"anm-{number:016x}")


def approved(store: Store, count: int, *, doctors: tuple[str, ...] = DOCTORS) -> list[str]:
    """`count` approved reports, each of its own patient, the doctors taking turns; their
    ledger ids in the order made."""

    def work(space: Workspace) -> list[str]:
        ids = []
        for number in range(count):
            row, _ = space.mappings.find_or_create(reference(f"p{number}"))
            planned = Planned(row.mapping_id, report(number, doctors[number % len(doctors)]))
            ledger_id = space.ledger.record(planned, row.dek_id)
            assert ledger_id is not None
            space.ledger.move(ledger_id, "approved")
            ids.append(ledger_id)
        return ids

    return store.run(ACTOR, work)


def states(store: Store) -> dict[str, str]:
    """Every report's ledger state, by ledger id."""
    return store.run(ACTOR, lambda s: {e.ledger_id: e.state for e in s.ledger.entries()})


def notes(store: Store, ledger_ids: list[str]) -> dict[str, str | None]:
    def read(space: Workspace) -> dict[str, str | None]:
        return {i: space.ledger.note(space.ledger.entry(i)) for i in ledger_ids}

    return store.run(ACTOR, read)
