"""Changing some rows reads the audit log's records of those rows only, never the whole
log (D-118): recording a delivered batch costs as much as the batch, however long the
ledger's history. On the twin, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from adapter.crypto import generate_keyring
from adapter.store.workspace import Database, Store, Workspace
from tests.storage import ACTOR, NOW
from tests.submission.seeding import approved, states


class CountingRows:
    """The ledger's rows, counting which audit records are asked for."""

    def __init__(self, rows: Any, asked: list[str | None]) -> None:
        self._rows = rows
        self._asked = asked

    def chained(self, action: str, ledger_id: str | None = None, **subjects: Any) -> Any:
        self._asked.append(ledger_id)
        return self._rows.chained(action, ledger_id, **subjects)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rows, name)


def test_moving_a_batch_reads_the_chain_of_its_rows_only(backend_db: Database) -> None:
    ring = generate_keyring(NOW.isoformat())
    store = Store(backend_db, lambda: ring, clock=lambda: NOW)
    store.run(ACTOR, lambda space: space.audit.append(ACTOR, "init", details={}))
    ids = approved(store, 12)
    batch = ids[3:7]

    def moves(steps: list[tuple[str, str]]) -> list[str | None]:
        asked: list[str | None] = []

        def work(space: Workspace) -> None:
            space.ledger.rows = CountingRows(space.ledger.rows, asked)
            for ledger_id, target in steps:
                space.ledger.move(ledger_id, target)  # type: ignore[arg-type]

        store.run(ACTOR, work)
        return asked

    # Each row's records once, and never the whole log; a row moved twice in one run is
    # checked against the version this run wrote.
    assert moves([(i, "queued") for i in batch] + [(batch[0], "sent")]) == batch
    assert moves([(batch[0], "acknowledged")] + [(i, "sent") for i in batch[1:]]) == batch
    after = states(store)
    assert [after[i] for i in batch] == ["acknowledged"] + ["sent"] * (len(batch) - 1)
    assert {after[i] for i in ids if i not in batch} == {"approved"}
    problems = store.read(lambda space: space.ledger.problems(space.ledger.entries()))
    assert problems == {}
