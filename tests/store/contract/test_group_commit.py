"""Group commit (D-175) and readers beside the writer (D-176) on the twin, SQLite and
PostgreSQL: the writes waiting at one moment share one unit of work and one signed
checkpoint, each caller gets its own result or its own error, and a reader never waits
for the writer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from adapter.crypto import generate_keyring
from adapter.store.audit import Actor, verify
from adapter.store.workspace import Database, Store, Workspace
from tests.storage import NOW

RING = generate_keyring(NOW.isoformat())
ACTOR = Actor("ehr", "api-staff")
WAITING = 5  # callers that queue while the first group runs


def _store(database: Database) -> Store:
    store = Store(database, lambda: RING, clock=lambda: NOW)
    store.run(ACTOR, lambda space: space.audit.append(ACTOR, "init", details={}))
    return store


def _append(n: int) -> Callable[[Workspace], int]:
    def work(space: Workspace) -> int:
        return space.audit.append(space.actor, "fhir.write", details={"created": n})

    return work


def _queued_behind_a_busy_leader(
    store: Store, works: list[Callable[[Workspace], int]]
) -> list[Future[int]]:
    """Start one caller whose work waits, then `works` (all queued meanwhile), let go."""
    started, go = threading.Event(), threading.Event()

    def first(space: Workspace) -> int:
        started.set()
        assert go.wait(10)
        return _append(0)(space)

    pool = ThreadPoolExecutor(max_workers=len(works) + 1)
    futures = [pool.submit(store.run_grouped, ACTOR, first)]
    assert started.wait(10)
    futures += [pool.submit(store.run_grouped, ACTOR, work) for work in works]
    while len(store.group._queue) < len(works):  # every later caller is queued
        threading.Event().wait(0.01)
    go.set()
    pool.shutdown(wait=True)
    return futures


def test_callers_waiting_together_share_one_unit_of_work(backend_db: Database) -> None:
    """Five pushes queued behind a running one commit as one group: six answers, two units
    of work, two checkpoints, and the audit chain verifies with every entry in it."""
    store = _store(backend_db)
    before = store.group.groups
    futures = _queued_behind_a_busy_leader(store, [_append(n) for n in range(1, WAITING + 1)])
    seqs = [f.result() for f in futures]
    assert sorted(seqs) == list(range(2, WAITING + 3))  # after the init entry, each its own
    assert store.group.groups - before == 2
    checked = store.read(lambda space: verify(space.audit.rows, space.keys.public_keys()))
    assert checked.ok, checked.problems
    assert checked.entries == WAITING + 2
    assert checked.checkpoints == 3  # init, the first push, the group of five


def test_a_failing_work_gets_its_error_and_the_others_are_kept(backend_db: Database) -> None:
    """One work of a group raises: its caller gets that error, the others are committed
    (run again without it), and nothing of the failed one is kept."""

    def refused(space: Workspace) -> int:
        space.audit.append(space.actor, "fhir.write", details={"refused": 1})
        raise ValueError("refused")

    works = [_append(1), refused, _append(2)]
    futures = _queued_behind_a_busy_leader(store := _store(backend_db), works)
    with pytest.raises(ValueError, match="refused"):
        futures[2].result()
    assert all(isinstance(f.result(), int) for i, f in enumerate(futures) if i != 2)
    kept = store.read(lambda space: space.audit.entries(action="fhir.write"))
    assert sorted(row["details"] for row in kept) == sorted(f'{{"created":{n}}}' for n in (0, 1, 2))
    assert store.read(lambda space: verify(space.audit.rows, space.keys.public_keys())).ok


def test_a_reader_does_not_wait_for_the_writer(backend_db: Database) -> None:
    """While a unit of work holds the writer's lock, a read answers (the last commit)."""
    store = _store(backend_db)
    holding, done = threading.Event(), threading.Event()

    def writer(space: Workspace) -> None:
        space.audit.append(space.actor, "fhir.write", details={"created": 1})
        holding.set()
        assert done.wait(10)

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(store.run, ACTOR, writer)
        assert holding.wait(10)
        try:
            seen = store.read(lambda space: len(space.audit.entries()))
        finally:
            done.set()
        running.result()
    assert seen == 1  # the init entry; the writer's entry is not committed yet
